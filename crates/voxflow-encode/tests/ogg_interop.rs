//! Ogg Opus files: ours decode in opusdec/ffmpeg/opusinfo to the exact length; opusenc's and
//! the shared .opus files decode with our reader to the length opusdec gives.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use voxflow_testkit::data::shared_data;
use voxflow_testkit::tools::have;

use std::process::Command;

use common::encode_all;
use voxflow_encode::{Backend, EncoderConfig, OggOpusReader, OggOpusWriter, OpusDecoder};

fn write_ogg(cfg: EncoderConfig, pcm: &[f32], path: &std::path::Path) {
    let (pkts, enc) = encode_all(cfg, pcm);
    let mut w = OggOpusWriter::new(Vec::new(), &enc, 0xC0FFEE).unwrap();
    for p in &pkts {
        w.write(p).unwrap();
    }
    std::fs::write(path, w.finish().unwrap()).unwrap();
}

/// Sample frames (per channel) opusdec decodes `path` to, at 48 kHz.
fn opusdec_frames(path: &std::path::Path, channels: u16) -> usize {
    let out = common::tmp(&format!(
        "{}.opusdec.raw",
        path.file_name().unwrap().to_string_lossy()
    ));
    let st = Command::new("opusdec")
        .args(["--quiet", "--rate", "48000", "--force-stereo"])
        .arg(path)
        .arg(&out)
        .status()
        .unwrap();
    let _ = channels;
    assert!(st.success(), "opusdec rejected {}", path.display());
    // raw s16 stereo output
    std::fs::metadata(&out).unwrap().len() as usize / 4
}

fn ffmpeg_frames(path: &std::path::Path) -> usize {
    common::ffmpeg_pcm(path, 48_000, 1).len()
}

#[test]
fn our_files_play_at_the_right_length_in_opus_tools_and_ffmpeg() {
    if !(have("opusdec") && have("opusinfo") && have("ffmpeg")) {
        return;
    }
    for &backend in Backend::available() {
        for (ch, frames, ms) in [
            (1u16, 48_000 * 3 + 123, 20u32),
            (2, 48_000 * 2 + 7, 60),
            (1, 7_777, 10),
        ] {
            let pcm: Vec<f32> = (0..frames * usize::from(ch))
                .map(|i| 0.25 * ((i / usize::from(ch)) as f32 * 0.031).sin())
                .collect();
            let cfg = EncoderConfig {
                backend,
                channels: ch,
                frame_duration: voxflow_encode::FrameDuration::from_millis(ms).unwrap(),
                ..EncoderConfig::voip(32_000)
            };
            let path = common::tmp(&format!("ours_{}_{ch}_{ms}.opus", backend.name()));
            write_ogg(cfg, &pcm, &path);
            let info = Command::new("opusinfo").arg(&path).output().unwrap();
            let text = String::from_utf8_lossy(&info.stdout);
            assert!(
                info.status.success() && !text.contains("WARNING"),
                "opusinfo: {text}"
            );
            let od = opusdec_frames(&path, ch);
            let ff = ffmpeg_frames(&path);
            println!(
                "{} {ch} ch {ms} ms: input {frames}, opusdec {od}, ffmpeg {ff}",
                backend.name()
            );
            assert_eq!(od, frames, "opusdec length");
            assert_eq!(ff, frames, "ffmpeg length");
            // and our own reader
            let mut r = OggOpusReader::new(std::fs::File::open(&path).unwrap()).unwrap();
            let mut dec = OpusDecoder::new(backend, 48_000, ch).unwrap();
            assert_eq!(
                r.decode_to_end(&mut dec).unwrap().len(),
                frames * usize::from(ch)
            );
        }
    }
}

#[test]
fn opusenc_and_shared_files_decode_with_our_reader() {
    let Some(media) = shared_data("media") else {
        return;
    };
    if !(have("opusenc") && have("opusdec") && have("ffmpeg")) {
        return;
    }
    let made = common::tmp("opusenc_made.opus");
    let st = Command::new("opusenc")
        .args(["--quiet", "--bitrate", "24"])
        .arg(media.join("librivox_16k_mono.wav"))
        .arg(&made)
        .status()
        .unwrap();
    assert!(st.success());
    let files = [
        made,
        media.join("speech_48k_stereo.opus"),
        media.join("word_nn_48k.opus"),
    ];
    for f in &files {
        let want = opusdec_frames(f, 2);
        for &backend in Backend::available() {
            let mut r = OggOpusReader::new(std::fs::File::open(f).unwrap()).unwrap();
            let ch = r.head().channels.into();
            let mut dec = OpusDecoder::new(backend, 48_000, ch).unwrap();
            let got = r.decode_to_end(&mut dec).unwrap().len() / usize::from(ch);
            println!(
                "{}: opusdec {want}, ours ({}) {got}, pre-skip {}",
                f.display(),
                backend.name(),
                r.head().pre_skip
            );
            assert_eq!(got, want, "{}", f.display());
            assert_eq!(r.bad_pages(), 0);
        }
    }
}

#[test]
fn corrupt_files_are_errors_not_panics() {
    let pcm: Vec<f32> = (0..48_000).map(|i| (i as f32 * 0.01).sin() * 0.2).collect();
    let path = common::tmp("corrupt_src.opus");
    write_ogg(EncoderConfig::voip(32_000), &pcm, &path);
    let bytes = std::fs::read(&path).unwrap();
    // Truncations at every length and single-byte flips must never panic.
    for cut in (0..bytes.len()).step_by(7) {
        if let Ok(mut r) = OggOpusReader::new(&bytes[..cut]) {
            let mut buf = Vec::new();
            while let Ok(Some(_)) = r.next_packet(&mut buf) {}
        }
    }
    for i in (0..bytes.len()).step_by(13) {
        let mut b = bytes.clone();
        b[i] ^= 0x5A;
        if let Ok(mut r) = OggOpusReader::new(&b[..]) {
            let mut dec = OpusDecoder::new(Backend::PureRust, 48_000, 1).unwrap();
            let _ = r.decode_to_end(&mut dec);
        }
    }
}
