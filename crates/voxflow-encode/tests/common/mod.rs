//! Shared test support: data paths, external tools, speech loading.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod metrics;

use std::path::{Path, PathBuf};
use std::process::Command;

use voxflow_core::{AudioFormat, AudioFrame, MediaTime, Packet};
use voxflow_encode::{EncoderConfig, OpusEncoder};

/// `../shared/data` from the repository root, or None (printing why) when absent.
pub fn data_dir() -> Option<PathBuf> {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let cand = dir.join("../shared/data");
        if cand.join("media").is_dir() {
            return Some(cand);
        }
        if !dir.pop() {
            break;
        }
    }
    if std::env::var("VOXFLOW_REQUIRE_DATA").as_deref() == Ok("1") {
        panic!("test data ../shared/data not found and VOXFLOW_REQUIRE_DATA=1");
    }
    eprintln!("skipping: test data ../shared/data not found");
    None
}

/// True when `tool` runs; otherwise prints why the test is skipped (or panics when
/// VOXFLOW_REQUIRE_TOOLS=1).
pub fn have_tool(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg(if tool == "ffmpeg" {
            "-version"
        } else {
            "--version"
        })
        .output()
        .is_ok();
    if !ok {
        if std::env::var("VOXFLOW_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("{tool} not found and VOXFLOW_REQUIRE_TOOLS=1");
        }
        eprintln!("skipping: {tool} not found (install opus-tools / ffmpeg)");
    }
    ok
}

pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("voxflow-encode-tests-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Decodes any audio file to interleaved f32 at `rate`/`channels` with ffmpeg.
pub fn ffmpeg_pcm(path: &Path, rate: u32, channels: u16) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-ar",
            &rate.to_string(),
            "-ac",
            &channels.to_string(),
            "-f",
            "f32le",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg failed on {}", path.display());
    out.stdout
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// 10 s of real speech at 48 kHz (mono or stereo), or None when data/ffmpeg are absent.
pub fn speech_48k(channels: u16) -> Option<Vec<f32>> {
    let dir = data_dir()?;
    if !have_tool("ffmpeg") {
        return None;
    }
    Some(ffmpeg_pcm(
        &dir.join("media/speech_44k1_stereo_10s.wav"),
        48_000,
        channels,
    ))
}

/// Encodes interleaved `pcm` (a short last frame is allowed) and flushes; returns packets.
pub fn encode_all(cfg: EncoderConfig, pcm: &[f32]) -> (Vec<Packet>, OpusEncoder) {
    let mut enc = OpusEncoder::new(cfg).unwrap();
    let fmt = enc.input_format();
    let ch = usize::from(fmt.channels);
    let fs = enc.frame_size();
    let mut frame = AudioFrame::with_capacity(fmt, fs);
    let mut pkts = Vec::new();
    let mut pkt = Packet::with_capacity(voxflow_encode::MAX_PACKET_BYTES);
    for (i, chunk) in pcm.chunks(fs * ch).enumerate() {
        frame.clear();
        frame.extend_from_interleaved(chunk).unwrap();
        frame.set_pts(MediaTime::new((i * fs) as i64, fmt.rate));
        enc.encode(&frame, &mut pkt).unwrap();
        pkts.push(pkt.clone());
    }
    while enc.flush(&mut pkt).unwrap() {
        pkts.push(pkt.clone());
    }
    (pkts, enc)
}

pub fn fmt(rate: u32, ch: u16) -> AudioFormat {
    AudioFormat::new(rate, ch).unwrap()
}

/// Seeded 10 % loss mask (xorshift64), never losing the first or last packet.
pub fn loss_mask(n: usize, seed: u64) -> Vec<bool> {
    let mut x = seed | 1;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            i > 0 && i + 1 < n && x.is_multiple_of(10)
        })
        .collect()
}
