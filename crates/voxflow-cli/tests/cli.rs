//! The `voxflow` binary as a user runs it: exit codes, messages, JSON reports, output files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;
use common::{json_of, scratch_dir, voxflow};
use voxflow_testkit::data::shared_data;

/// Sample frames in a WAV file, from its header (data chunk size / block align).
fn wav_frames(path: &Path) -> (u32, u16, u64) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[0..4], b"RIFF");
    let mut i = 12;
    let (mut rate, mut ch, mut block) = (0, 0, 1);
    while i + 8 <= b.len() {
        let id = &b[i..i + 4];
        let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().unwrap()) as usize;
        if id == b"fmt " {
            ch = u16::from_le_bytes([b[i + 10], b[i + 11]]);
            rate = u32::from_le_bytes(b[i + 12..i + 16].try_into().unwrap());
            block = u16::from_le_bytes([b[i + 20], b[i + 21]]);
        }
        if id == b"data" {
            return (rate, ch, (len / usize::from(block)) as u64);
        }
        i += 8 + len + (len & 1);
    }
    panic!("no data chunk");
}

/// The bytes of a WAV file's `data` chunk.
fn wav_data(b: &[u8]) -> &[u8] {
    assert_eq!(&b[0..4], b"RIFF");
    let mut i = 12;
    while i + 8 <= b.len() {
        let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().unwrap()) as usize;
        if &b[i..i + 4] == b"data" {
            return &b[i + 8..i + 8 + len];
        }
        i += 8 + len + (len & 1);
    }
    panic!("no data chunk");
}

const REPORT_KEYS: [&str; 7] = [
    "frames",
    "samples",
    "duration_s",
    "wall_ms",
    "first_frame_ms",
    "dropped",
    "stages",
];

fn check_report(v: &Value) {
    for k in REPORT_KEYS {
        assert!(v.get(k).is_some(), "report lacks {k}: {v}");
    }
    let stages = v["stages"].as_object().unwrap();
    assert!(stages.contains_key("decode"), "{v}");
    for (name, s) in stages {
        for k in ["p50_us", "p95_us", "p99_us", "max_us"] {
            assert!(s[k].as_f64().is_some(), "stage {name} lacks {k}");
        }
        assert!(s["p50_us"].as_f64() <= s["p99_us"].as_f64());
        assert!(s["p99_us"].as_f64() <= s["max_us"].as_f64());
    }
    assert_eq!(v["dropped"], 0);
}

#[test]
fn demo_runs_on_the_embedded_clip() {
    let v = json_of(&voxflow(&["demo", "--report", "json"]));
    check_report(&v);
    assert_eq!(v["output"]["rate"], 48_000);
    assert_eq!(v["output"]["channels"], 2);
    // 9.83 s of 22.05 kHz audio resampled to 48 kHz: exact length.
    assert_eq!(v["samples"], 471_719);
    assert!(v["stages"].as_object().unwrap().contains_key("resample"));
    let table = voxflow(&["demo"]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("p99") && text.contains("resample"), "{text}");
}

#[test]
fn decode_reports_every_shared_format() {
    let Some(media) = shared_data("media") else {
        return;
    };
    for (file, frames) in [
        ("speech_44k1_stereo.flac", 2_646_000u64),
        ("speech_44k1_stereo.mp3", 2_646_000),
        ("speech_44k1_stereo.ogg", 2_646_000),
        ("speech_44k1_stereo_10s.wav", 441_000),
        ("librivox_16k_mono.wav", 113_600),
        // Not gapless (symphonia 0.6.1 ignores the MP4 edit list): the decoder's 2_647_040,
        // see voxflow-decode's `m4a_decodes_to_its_edit_list_length`.
        ("speech_44k1_stereo.m4a", 2_647_040),
        ("speech_48k_stereo.opus", 2_880_000),
        ("word_nn_48k.opus", 48_538),
    ] {
        let path = media.join(file);
        let v = json_of(&voxflow(&[
            "decode",
            path.to_str().unwrap(),
            "--null",
            "--report",
            "json",
        ]));
        check_report(&v);
        assert_eq!(v["samples"], frames, "{file}");
        assert!(v["first_frame_ms"].as_f64().unwrap() < 1_000.0);
    }
}

#[test]
fn decode_and_resample_write_wav_files_of_the_right_length() {
    let Some(input) = shared_data("media/speech_44k1_stereo_10s.wav") else {
        return;
    };
    let dir = scratch_dir("cli");
    let out = dir.join("16k.wav");
    let v = json_of(&voxflow(&[
        "resample",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--rate",
        "16000",
        "--channels",
        "1",
        "--report",
        "json",
    ]));
    check_report(&v);
    assert_eq!(wav_frames(&out), (16_000, 1, 160_000));
    let out2 = dir.join("copy.wav");
    let st = voxflow(&[
        "decode",
        input.to_str().unwrap(),
        "-o",
        out2.to_str().unwrap(),
    ]);
    assert!(st.status.success());
    assert_eq!(wav_frames(&out2), (44_100, 2, 441_000));
    // A lossless copy: the whole data chunk (441_000 frames x 4 bytes) is byte-identical to
    // the input's.
    let a = std::fs::read(&input).unwrap();
    let b = std::fs::read(&out2).unwrap();
    let (da, db) = (wav_data(&a), wav_data(&b));
    assert_eq!(da.len(), 1_764_000);
    assert_eq!(db.len(), da.len());
    assert!(da == db, "16-bit round trip is not bit-exact");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn info_describes_a_file() {
    let Some(path) = shared_data("media/speech_44k1_stereo.flac") else {
        return;
    };
    let v = json_of(&voxflow(&["info", path.to_str().unwrap(), "--json"]));
    assert_eq!(v["container"], "flac");
    assert_eq!(v["rate"], 44_100);
    assert_eq!(v["channels"], 2);
    assert_eq!(v["frames"], 2_646_000);
    let text = voxflow(&["info", path.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("44100 Hz"));
}

#[test]
fn opus_files_are_described_and_decoded() {
    let Some(path) = shared_data("media/speech_48k_stereo.opus") else {
        return;
    };
    let v = json_of(&voxflow(&["info", path.to_str().unwrap(), "--json"]));
    assert_eq!(
        (v["container"].as_str(), v["codec"].as_str()),
        (Some("ogg"), Some("opus"))
    );
    assert_eq!(
        (v["rate"].as_u64(), v["channels"].as_u64()),
        (Some(48_000), Some(2))
    );
    assert_eq!(v["frames"], 2_880_000);
    let dir = scratch_dir("cli-opus");
    let out = dir.join("speech.wav");
    let st = voxflow(&[
        "decode",
        path.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    // The length opusdec gives: pre-skip and end padding trimmed.
    assert_eq!(wav_frames(&out), (48_000, 2, 2_880_000));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_fails_with_a_clear_message() {
    let dir = scratch_dir("cli-bad");
    let junk = dir.join("junk.mp3");
    std::fs::write(&junk, b"this is not audio at all, just text pretending").unwrap();
    let empty = dir.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    for (args, needle) in [
        (vec!["decode", junk.to_str().unwrap(), "--null"], "junk.mp3"),
        (
            vec!["decode", empty.to_str().unwrap(), "--null"],
            "empty input",
        ),
        (
            vec!["info", "/nonexistent/file.wav"],
            "/nonexistent/file.wav",
        ),
        (
            vec!["resample", junk.to_str().unwrap(), "/tmp/x.wav"],
            "--rate",
        ),
    ] {
        let out = voxflow(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle),
            "{args:?}: message {err:?} lacks {needle:?}"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
    // Bad arguments: clap's usage error, exit code 2.
    let out = voxflow(&["decode", "x.wav", "--frame-ms", "0", "--null"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn vad_turns_and_eval_commands() {
    let (Some(turns), Some(vad_set)) =
        (shared_data("media/turns_48k_mono.wav"), shared_data("vad"))
    else {
        return;
    };
    let v = json_of(&voxflow(&["turns", turns.to_str().unwrap(), "--json"]));
    let list = v["turns"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{v}");
    for t in list {
        // Each end is reported exactly min_silence (700 ms) after it, within one 10 ms frame.
        let lat = t["latency_ms"].as_f64().unwrap();
        assert!((lat - 700.0).abs() <= 10.0, "{t}");
    }
    let v = json_of(&voxflow(&["vad", turns.to_str().unwrap(), "--json"]));
    let segs = v["segments"].as_array().unwrap();
    assert!(!segs.is_empty());
    for s in segs {
        assert!(s["start_s"].as_f64() < s["end_s"].as_f64());
    }
    let v = json_of(&voxflow(&["vad-eval", vad_set.to_str().unwrap(), "--json"]));
    for k in [
        "pooled",
        "fpr_nonspeech",
        "us_per_10ms",
        "onset_latency_ms",
        "per_file",
    ] {
        assert!(v.get(k).is_some(), "vad-eval JSON lacks {k}");
    }
    assert_eq!(v["per_file"].as_array().unwrap().len(), 8);
    let f1 = v["pooled"]["f1"].as_f64().unwrap();
    assert!(f1 > 0.8, "pooled F1 {f1}");
}

#[test]
fn closing_the_pipe_early_is_not_a_panic() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_voxflow"))
        .args(["demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before anything is printed
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(status.success(), "{status:?}: {err}");
}
