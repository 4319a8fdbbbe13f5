//! Prints the per-10 ms probability and decision of the default model over a file.
//!
//! `cargo run --release -p voxflow-vad --example probe -- FILE.wav [FROM_S TO_S]` (model: env `PROBE_MODEL`, default voxflow)

use voxflow_core::{AudioFormat, AudioFrame, MediaTime};
use voxflow_vad::wav::read_wav;
use voxflow_vad::{Vad, VadConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: probe FILE.wav [FROM_S TO_S]")?;
    let from: f64 = args.get(2).map_or(Ok(0.0), |s| s.parse())?;
    let to: f64 = args.get(3).map_or(Ok(f64::MAX), |s| s.parse())?;
    let w = read_wav(std::path::Path::new(path))?;
    let fmt = AudioFormat::new(w.rate, w.channels)?;
    let model = match std::env::var("PROBE_MODEL") {
        Ok(m) => voxflow_vad::ModelKind::from_name(&m).ok_or("unknown model")?,
        Err(_) => voxflow_vad::ModelKind::Voxflow,
    };
    let mut vad = Vad::new(VadConfig::new(fmt).model(model))?;
    let frame = AudioFrame::from_interleaved(fmt, w.samples.clone(), MediaTime::ZERO)?;
    let mut show = |v: &voxflow_vad::VadFrame, hop: &[f32; 160]| {
        let t = v.pts.as_secs_f64();
        if t >= from && t < to {
            let rms = (hop.iter().map(|x| x * x).sum::<f32>() / 160.0).sqrt();
            let db = 20.0 * (rms + 1e-10).log10();
            println!(
                "{t:7.3} {:.3} {} {db:6.1}",
                v.probability,
                u8::from(v.speech)
            );
        }
    };
    vad.process(&frame, &mut show)?;
    vad.flush(&mut show)?;
    Ok(())
}
