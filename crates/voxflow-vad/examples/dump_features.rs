//! Training tool: writes the default model's feature vectors for every `wav/*.wav` of a set
//! (16 kHz mono) as little-endian f32 rows of `N_FEATURES` to `OUT/<stem>.f32`.
//!
//! `cargo run --release -p voxflow-vad --example dump_features -- DIR OUT`

use std::io::Write;
use std::path::PathBuf;

use voxflow_vad::HOP;
use voxflow_vad::features::{FeatureExtractor, N_FEATURES};
use voxflow_vad::wav::read_wav;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        return Err("usage: dump_features DIR OUT".into());
    }
    let dir = PathBuf::from(&args[1]);
    let out = PathBuf::from(&args[2]);
    std::fs::create_dir_all(&out)?;
    let mut wavs: Vec<PathBuf> = std::fs::read_dir(dir.join("wav"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    wavs.sort();
    for w in wavs {
        let wav = read_wav(&w)?;
        if wav.rate != 16_000 || wav.channels != 1 {
            return Err(format!("{}: need 16 kHz mono", w.display()).into());
        }
        let mut fe = FeatureExtractor::new();
        let stem = w
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(out.join(format!("{stem}.f32")))?);
        for hop in wav.samples.chunks(HOP) {
            let v = fe.process(hop);
            for x in v.iter() {
                f.write_all(&x.to_le_bytes())?;
            }
        }
        println!(
            "{stem} {} frames x {N_FEATURES}",
            wav.samples.len().div_ceil(HOP)
        );
    }
    Ok(())
}
