//! Prints the evaluation table of a model on a labelled set.
//!
//! `cargo run --release -p voxflow-vad --example eval -- DIR [voxflow|energy|earshot|webrtc]`

use std::path::PathBuf;

use voxflow_vad::ModelKind;
use voxflow_vad::eval::evaluate_dir;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: eval DIR [MODEL]")?);
    let model = match args.next() {
        Some(m) => ModelKind::from_name(&m).ok_or("unknown model")?,
        None => ModelKind::Voxflow,
    };
    let report = evaluate_dir(&dir, model)?;
    println!("{report}");
    Ok(())
}
