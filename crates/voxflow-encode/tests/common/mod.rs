//! Test support specific to the codec tests: speech loading, encoding, loss masks (data paths
//! and tool checks come from `voxflow-testkit`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod metrics;

use std::path::{Path, PathBuf};
use std::process::Command;

use voxflow_testkit::data::shared_data;
use voxflow_testkit::tools::have;

use voxflow_core::{AudioFormat, AudioFrame, MediaTime, Packet};
use voxflow_encode::{EncoderConfig, OpusEncoder};

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
    let path = shared_data("media/speech_44k1_stereo_10s.wav")?;
    if !have("ffmpeg") {
        return None;
    }
    Some(ffmpeg_pcm(&path, 48_000, channels))
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
