//! Helpers specific to the decoder's integration tests (data paths and tool checks come from
//! `voxflow-testkit`).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::type_complexity
)]

use std::path::PathBuf;

use voxflow_core::AudioFrame;
use voxflow_decode::{Decoder, DecoderConfig};

/// Every frame of a decoder: (pts ticks, frames) per frame, and all samples.
pub fn drain(dec: &mut Decoder) -> (Vec<(i64, usize)>, Vec<f32>) {
    let mut frame = AudioFrame::with_capacity(dec.format(), dec.frame_len());
    let mut meta = Vec::new();
    let mut all = Vec::new();
    loop {
        match dec.next_frame(&mut frame) {
            Ok(true) => {
                meta.push((frame.pts().ticks(), frame.frames()));
                all.extend_from_slice(frame.samples());
            }
            Ok(false) => break,
            Err(e) if e.is_skippable() => continue,
            Err(e) => panic!("decode error: {e}"),
        }
    }
    (meta, all)
}

pub fn decode_path(name: &str) -> Option<(Decoder, Vec<(i64, usize)>, Vec<f32>)> {
    let p = voxflow_testkit::data::shared_data(&format!("media/{name}"))?;
    let mut dec = Decoder::open_with(&p, DecoderConfig::default()).unwrap();
    let (m, s) = drain(&mut dec);
    Some((dec, m, s))
}

/// A fresh path in the temp directory for this test process.
pub fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("voxflow-decode-{}-{name}", std::process::id()))
}

/// Decodes all of `path` (skippable errors skipped): (decoder, interleaved samples).
pub fn decode_all_of(path: &std::path::Path) -> (Decoder, Vec<f32>) {
    let mut dec = Decoder::open(path).unwrap();
    let (_, s) = drain(&mut dec);
    (dec, s)
}
