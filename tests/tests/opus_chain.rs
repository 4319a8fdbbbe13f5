//! The send path with a real Opus encoder, as a new user builds it: the encoder's format and
//! frame size are checked when the pipeline is built, 10 ms frames are regrouped for a 20 ms
//! encoder, and a mismatch is a typed error instead of an empty file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use voxflow_core::{AudioFormat, MediaTime};
use voxflow_encode::{EncoderConfig, OpusEncoder, PacketizerConfig, RtpOpusPacketizer};
use voxflow_pipeline::sinks::CollectPackets;
use voxflow_pipeline::sources::Sine;
use voxflow_pipeline::{ChainBuilder, Error, Pipeline};

fn voip48() -> OpusEncoder {
    OpusEncoder::new(EncoderConfig::voip(32_000)).unwrap()
}

#[test]
fn sixteen_khz_into_a_48_khz_encoder_is_refused_when_built() {
    let f16 = AudioFormat::new(16_000, 1).unwrap();
    let e = Pipeline::builder()
        .source(Sine::new(f16, 440.0, 320).duration(Duration::from_secs(1)))
        .encoder(voip48())
        .packet_sink(CollectPackets::new())
        .spawn()
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::FormatMismatch {
                upstream: "sine",
                downstream: "opus",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "format mismatch between sine (16000 Hz, 1 ch) and opus (expects 48000 Hz, 1 ch)"
    );
}

#[test]
fn ten_ms_frames_reach_a_20_ms_encoder_whole() {
    let f48 = AudioFormat::new(48_000, 1).unwrap();
    let sink = CollectPackets::new();
    let got = sink.collected();
    let report =
        ChainBuilder::from_source(Sine::new(f48, 440.0, 480).duration(Duration::from_secs(1)))
            .encoder(voip48())
            .sink(sink)
            .spawn()
            .unwrap()
            .wait()
            .unwrap();
    assert_eq!(report.skipped, 0, "{report}");
    let packets = got.packets();
    let audio: Vec<_> = packets
        .iter()
        .filter(|p| p.trace.get("sine").is_some())
        .collect();
    // 100 frames of 10 ms became 50 packets of 20 ms, in order, covering the whole second.
    assert_eq!(audio.len(), 50);
    for (k, p) in audio.iter().enumerate() {
        assert_eq!(p.pts, MediaTime::from_millis(20 * k as i64));
        assert_eq!(p.duration, MediaTime::from_millis(20));
    }
    let rows: Vec<_> = report.stages.iter().map(|s| s.name).collect();
    assert_eq!(rows, ["sine", "reframe", "opus", "collect"]);
}

#[test]
fn an_rtp_packetizer_runs_after_the_encoder() {
    let f48 = AudioFormat::new(48_000, 1).unwrap();
    let sink = CollectPackets::new();
    let got = sink.collected();
    let cfg = PacketizerConfig {
        seed: Some(3),
        ..Default::default()
    };
    let report =
        ChainBuilder::from_source(Sine::new(f48, 440.0, 960).duration(Duration::from_millis(200)))
            .encoder(voip48())
            .packet_stage(RtpOpusPacketizer::new(cfg))
            .sink(sink)
            .spawn()
            .unwrap()
            .wait()
            .unwrap();
    let packets = got.packets();
    let first = packets[0].rtp.expect("the packetizer sets the RTP facts");
    assert!(first.marker);
    assert_eq!(first.payload_type, 111);
    // Ten 20 ms packets of audio (DTX and the encoder's flush packets are not sent), each one
    // sequence number and 960 timestamp ticks after the last.
    let audio: Vec<_> = packets
        .iter()
        .filter(|p| p.trace.get("sine").is_some())
        .collect();
    assert_eq!(audio.len(), 10);
    for (k, p) in audio.iter().enumerate() {
        let rtp = p.rtp.unwrap();
        assert_eq!(rtp.seq, first.seq + k as u64);
        assert_eq!(rtp.timestamp, first.timestamp.wrapping_add(960 * k as u32));
        assert_eq!(rtp.ssrc, first.ssrc);
        assert_eq!(rtp.marker, k == 0);
        assert!(!p.is_empty());
    }
    let rows: Vec<_> = report.stages.iter().map(|s| s.name).collect();
    assert_eq!(rows, ["sine", "opus", "rtp", "collect"]);
}
