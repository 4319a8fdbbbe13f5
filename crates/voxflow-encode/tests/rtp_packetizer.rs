//! RTP Opus packetizer (RFC 7587): timestamps across DTX gaps, marker bits, sequence numbers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use voxflow_core::{MediaTime, Packet, RtpPacket, seq_diff};
use voxflow_encode::{EncoderConfig, PacketizerConfig, RtpOpusPacketizer, is_dtx};

#[test]
fn timestamps_follow_audio_across_dtx_and_marker_follows_silence() {
    // 1 s tone, 2 s silence, 1 s tone, DTX on.
    let mut pcm: Vec<f32> = (0..48_000).map(|i| 0.3 * (i as f32 * 0.06).sin()).collect();
    pcm.extend(std::iter::repeat_n(0.0, 96_000));
    pcm.extend((0..48_000).map(|i| 0.3 * (i as f32 * 0.05).sin()));
    let cfg = EncoderConfig {
        dtx: true,
        ..EncoderConfig::voip(32_000)
    };
    let (pkts, _) = common::encode_all(cfg, &pcm);
    let mut pk = RtpOpusPacketizer::new(PacketizerConfig {
        seed: Some(42),
        ..Default::default()
    });
    let mut buf = Vec::with_capacity(1500);
    let base = pk.timestamp_base();
    let mut prev_seq: Option<u16> = None;
    let mut markers = Vec::new();
    let mut skipped_before = 0usize;
    for (i, p) in pkts.iter().take(200).enumerate() {
        let sent = pk.packetize(p, &mut buf).unwrap();
        assert_eq!(sent, !is_dtx(p.data()));
        if !sent {
            skipped_before += 1;
            continue;
        }
        let r = RtpPacket::parse(&buf).unwrap();
        assert_eq!(r.header.payload_type, 111);
        assert_eq!(
            r.header.timestamp,
            base.wrapping_add((i * 960) as u32),
            "packet {i}"
        );
        if let Some(s) = prev_seq {
            assert_eq!(seq_diff(r.header.sequence, s), 1);
        }
        prev_seq = Some(r.header.sequence);
        if r.header.marker {
            markers.push((i, skipped_before));
        }
        assert_eq!(r.payload, p.data());
    }
    let (sent, skipped) = pk.counts();
    println!("sent {sent}, DTX skipped {skipped}, markers at {markers:?}");
    assert!(skipped > 50);
    assert_eq!(markers[0], (0, 0));
    assert!(markers.len() >= 2, "a marker after the DTX gap");
    assert!(markers[1..].iter().all(|&(i, _)| i > 50));
}

#[test]
fn random_initial_values_are_seedable_and_wrap() {
    let a = RtpOpusPacketizer::new(PacketizerConfig {
        seed: Some(1),
        ..Default::default()
    });
    let b = RtpOpusPacketizer::new(PacketizerConfig {
        seed: Some(1),
        ..Default::default()
    });
    let c = RtpOpusPacketizer::new(PacketizerConfig {
        seed: Some(2),
        ..Default::default()
    });
    assert_eq!(
        (a.ssrc(), a.next_sequence(), a.timestamp_base()),
        (b.ssrc(), b.next_sequence(), b.timestamp_base())
    );
    assert_ne!(a.ssrc(), c.ssrc());
    let r1 = RtpOpusPacketizer::new(PacketizerConfig::default());
    let r2 = RtpOpusPacketizer::new(PacketizerConfig::default());
    assert_ne!(
        (r1.ssrc(), r1.timestamp_base()),
        (r2.ssrc(), r2.timestamp_base())
    );
    // sequence and timestamp wrap
    let mut pk = RtpOpusPacketizer::new(PacketizerConfig {
        initial_sequence: Some(65_535),
        initial_timestamp: Some(u32::MAX - 500),
        ssrc: Some(9),
        ..Default::default()
    });
    let mut p = Packet::with_capacity(100);
    p.set_data(&[0x78, 1, 2, 3]);
    p.duration = MediaTime::from_millis(20);
    let mut out = Vec::new();
    let mut seqs = Vec::new();
    for i in 0..3 {
        p.pts = MediaTime::new(960 * i, 48_000);
        pk.packetize(&p, &mut out).unwrap();
        let r = RtpPacket::parse(&out).unwrap();
        seqs.push((r.header.sequence, r.header.timestamp, r.header.marker));
    }
    assert_eq!(
        seqs,
        vec![
            (65_535, u32::MAX - 500, true),
            (0, 459, false),
            (1, 1419, false)
        ]
    );
    // a jump in pts (audio never encoded) sets the marker and keeps timestamps on the clock
    p.pts = MediaTime::new(960 * 10, 48_000);
    pk.packetize(&p, &mut out).unwrap();
    let r = RtpPacket::parse(&out).unwrap();
    assert!(r.header.marker);
    assert_eq!(r.header.timestamp, (u32::MAX - 500).wrapping_add(9600));
}
