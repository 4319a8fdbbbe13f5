//! MKV/WebM inputs made on the fly by ffmpeg from the shared 10 s WAV: the decoder reads
//! Matroska FLAC/PCM exactly, Vorbis in WebM with its priming (symphonia does not trim Matroska
//! codec delay), and Opus in WebM through voxflow-encode's decoder.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failure

use std::path::{Path, PathBuf};
use std::process::Command;

use voxflow_core::{AudioFrame, AudioSource as _};
use voxflow_decode::{Decoder, Error};
use voxflow_testkit::{data::shared_data, tools::tool};

fn make(src: &Path, codec: &str, ext: &str) -> PathBuf {
    let out =
        std::env::temp_dir().join(format!("voxflow-mkv-{}-{codec}.{ext}", std::process::id()));
    let st = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(src)
        .args(["-c:a", codec])
        .arg(&out)
        .status()
        .expect("run ffmpeg");
    assert!(st.success(), "ffmpeg -c:a {codec} failed");
    out
}

fn frames_of(path: &Path) -> Result<(u64, Decoder), Error> {
    let mut dec = Decoder::open(path)?;
    let mut f = AudioFrame::with_capacity(dec.format(), dec.max_frames());
    let mut n = 0u64;
    while dec.next_frame(&mut f)? {
        n += f.frames() as u64;
    }
    Ok((n, dec))
}

#[test]
fn matroska_and_webm_inputs() {
    let (Some(src), Some(_)) = (
        shared_data("media/speech_44k1_stereo_10s.wav"),
        tool("ffmpeg"),
    ) else {
        return;
    };
    for (codec, ext) in [("flac", "mkv"), ("pcm_s16le", "mkv")] {
        let f = make(&src, codec, ext);
        let (n, dec) = frames_of(&f).unwrap();
        assert_eq!(dec.info().container, "matroska");
        assert_eq!(n, 441_000, "{codec} in {ext}");
        std::fs::remove_file(f).ok();
    }
    let f = make(&src, "libvorbis", "webm");
    let (n, _) = frames_of(&f).unwrap();
    assert!(
        (441_000..=441_000 + 2_048).contains(&n),
        "vorbis in webm: {n} frames (441 000 + priming expected)"
    );
    std::fs::remove_file(f).ok();
    // Opus through voxflow-encode's decoder, at 48 kHz: pre-skip trimmed, the last packet's
    // padding kept (symphonia does not expose DiscardPadding).
    let f = make(&src, "libopus", "webm");
    let (n, dec) = frames_of(&f).unwrap();
    assert_eq!((dec.info().codec, dec.info().sample_rate), ("opus", 48_000));
    assert!(
        (480_000..480_000 + 960).contains(&n),
        "opus in webm: {n} frames"
    );
    std::fs::remove_file(f).ok();
}
