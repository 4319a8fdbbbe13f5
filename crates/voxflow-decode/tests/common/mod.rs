//! Shared helpers for the integration tests.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::type_complexity
)]

use std::path::PathBuf;

use voxflow_core::AudioFrame;
use voxflow_decode::{Decoder, DecoderConfig};

/// `../shared/data/media` from the repository root, or `None` (with a printed reason) when it
/// is absent and `VOXFLOW_REQUIRE_DATA` is not set.
pub fn media_dir() -> Option<PathBuf> {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let cand = dir.join("../shared/data/media");
        if cand.is_dir() {
            return Some(cand);
        }
        if !dir.pop() {
            break;
        }
    }
    if std::env::var("VOXFLOW_REQUIRE_DATA").as_deref() == Ok("1") {
        panic!("VOXFLOW_REQUIRE_DATA=1 but ../shared/data/media was not found");
    }
    eprintln!("skipping: ../shared/data/media not found");
    None
}

pub fn media(name: &str) -> Option<PathBuf> {
    media_dir().map(|d| d.join(name))
}

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
    let p = media(name)?;
    let mut dec = Decoder::open_with(&p, DecoderConfig::default()).unwrap();
    let (m, s) = drain(&mut dec);
    Some((dec, m, s))
}

/// `Some(name)` when the external program `name` can be started, else `None` with a printed
/// reason (a failure when `VOXFLOW_REQUIRE_TOOLS=1`).
pub fn tool(name: &str) -> Option<&str> {
    if std::process::Command::new(name)
        .arg("--help")
        .output()
        .is_ok()
    {
        return Some(name);
    }
    if std::env::var("VOXFLOW_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("VOXFLOW_REQUIRE_TOOLS=1 but {name} is not installed");
    }
    eprintln!("skipping: {name} is not installed");
    None
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
