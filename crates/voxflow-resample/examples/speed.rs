//! Times 60 s of generated 44.1 kHz audio → 48 kHz through push/poll with 10 ms input frames
//! and pre-allocated frames, per preset and channel count (best of 5 runs, wall clock).
//!
//! `cargo run --release -p voxflow-resample --example speed [PRESET] [CHANNELS] [RUNS]`
//! (e.g. `High 2 1`; `RUNS` = 0 only generates the signal, to subtract its cost from a
//! CPU-time measurement such as `/usr/bin/time -f %U`).

use std::time::{Duration, Instant};

use voxflow_core::{AudioFormat, AudioFrame, AudioStage, MediaTime};
use voxflow_resample::{FrameSize, Preset, Resampler, ResamplerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only_preset = args.first().cloned();
    let only_channels: Option<u16> = args.get(1).and_then(|v| v.parse().ok());
    let runs: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(5);
    let (fin, fout, seconds) = (44_100u32, 48_000u32, 60usize);
    for channels in [2u16, 1] {
        if only_channels.is_some_and(|c| c != channels) {
            continue;
        }
        let inf = AudioFormat::new(fin, channels)?;
        let outf = AudioFormat::new(fout, channels)?;
        let n = fin as usize * seconds;
        let ch = usize::from(channels);
        // A 1 kHz tone plus a little deterministic noise.
        let mut seed = 0x1234_5678u32;
        let input: Vec<f32> = (0..n * ch)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let t = (i / ch) as f32 / fin as f32;
                0.5 * (2.0 * std::f32::consts::PI * 1000.0 * t).sin()
                    + (seed as f32 / u32::MAX as f32 - 0.5) * 0.01
            })
            .collect();
        for preset in [Preset::LowLatency, Preset::Balanced, Preset::High] {
            if only_preset
                .as_ref()
                .is_some_and(|p| *p != format!("{preset:?}"))
            {
                continue;
            }
            let mut rs = Resampler::new(
                ResamplerConfig::new(inf, outf)
                    .preset(preset)
                    .frame(FrameSize::Duration(Duration::from_millis(20))),
            )?;
            let step = 441;
            let mut frame = AudioFrame::with_capacity(inf, step);
            let mut out = AudioFrame::with_capacity(outf, rs.max_output_frames());
            let mut best = Duration::MAX;
            let mut total = 0;
            for _ in 0..runs {
                rs.reset();
                total = 0;
                let t0 = Instant::now();
                for (k, chunk) in input.chunks(step * ch).enumerate() {
                    frame.reset(inf);
                    frame.extend_from_interleaved(chunk)?;
                    frame.set_pts(MediaTime::new((k * step) as i64, fin));
                    rs.push(&frame)?;
                    while rs.poll(&mut out)? {
                        total += out.frames();
                    }
                }
                rs.finish()?;
                while rs.poll(&mut out)? {
                    total += out.frames();
                }
                best = best.min(t0.elapsed());
            }
            if runs == 0 {
                continue;
            }
            assert_eq!(total, fout as usize * seconds);
            println!(
                "{preset:?} {channels} ch 44.1->48 kHz, {seconds} s: {:.1} ms ({:.0}x real time), engine {:?}, delay {:.2} ms",
                best.as_secs_f64() * 1e3,
                seconds as f64 / best.as_secs_f64(),
                rs.engine(),
                rs.delay().as_secs_f64() * 1e3,
            );
        }
    }
    Ok(())
}
