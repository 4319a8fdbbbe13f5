//! Stream-level events: wrap-around, SSRC change, timeline jumps, DTX, overflow, bad input.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use std::time::Instant;
use voxflow_core::{AudioFrame, Error, Packet};
use voxflow_jitter_buffer::{Insert, JitterConfig, Playout};

#[test]
fn sequence_and_timestamp_wrap_play_straight_through() {
    let mut jb = buffer(no_stretch());
    let seq0 = 65_530;
    let ts0 = u32::MAX - 3 * PKT as u32 + 1;
    let arr: Vec<_> = (0..12)
        .map(|i| (nth(i, seq0, ts0), f64::from(i * 20) + 1.0))
        .collect();
    let (audio, pulls) = replay(&mut jb, &arr, 240);
    let r = runs(&audio);
    let want: Vec<f32> = (1..=12).map(level).collect();
    assert_eq!(&r[..12], &want[..]);
    let s = jb.stats();
    assert_eq!((s.packets_lost, s.packets_discarded, s.resets), (0, 0, 0));
    assert_eq!(s.concealed_samples, 0);
    // The playout timestamp wraps too.
    let ts: Vec<u32> = pulls.iter().filter_map(|p| p.timestamp).collect();
    assert!(
        ts.windows(2).all(|w| w[1].wrapping_sub(w[0]) == 480),
        "{ts:?}"
    );
}

#[test]
fn a_new_ssrc_resets_and_plays_at_once() {
    let mut jb = buffer(no_stretch());
    let t0 = Instant::now();
    let mut out = AudioFrame::with_capacity(jb.format(), jb.frame_frames());
    for i in 0..3 {
        jb.insert(&nth(i, 100, 5_000), ms(t0, f64::from(i * 20)))
            .unwrap();
    }
    jb.pull(t0, &mut out).unwrap();
    let other = packet(9, 123_456, 99, 777);
    assert_eq!(jb.insert(&other, ms(t0, 15.0)).unwrap(), Insert::Reset);
    let p = jb.pull(ms(t0, 15.0), &mut out).unwrap();
    assert_eq!(p.playout, Playout::Normal);
    assert!(out.samples().iter().all(|&s| s == level(777)));
    let s = jb.stats();
    assert_eq!(s.resets, 1);
    assert_eq!(
        s.packets_overflow, 2,
        "the old stream's held packets are counted as dropped"
    );
}

#[test]
fn one_stray_timestamp_is_dropped_two_agreeing_ones_restart() {
    let mut jb = buffer(no_stretch());
    let t0 = Instant::now();
    let mut out = AudioFrame::with_capacity(jb.format(), jb.frame_frames());
    jb.insert(&nth(0, 0, 0), t0).unwrap();
    jb.pull(t0, &mut out).unwrap();
    // A stray packet 1 000 s ahead: dropped, no reset.
    let stray = packet(1, 48_000_000, 7, 5);
    assert_eq!(jb.insert(&stray, ms(t0, 1.0)).unwrap(), Insert::Late);
    assert_eq!(
        jb.insert(&nth(1, 0, 0), ms(t0, 2.0)).unwrap(),
        Insert::Queued
    );
    assert_eq!(jb.stats().resets, 0);
    // Two packets that agree on a new timeline: the stream restarted.
    assert_eq!(
        jb.insert(&packet(2, 96_000_000, 7, 50), ms(t0, 3.0))
            .unwrap(),
        Insert::Late
    );
    assert_eq!(
        jb.insert(&packet(3, 96_000_960, 7, 51), ms(t0, 4.0))
            .unwrap(),
        Insert::Reset
    );
    assert_eq!(jb.stats().resets, 1);
    let p = jb.pull(ms(t0, 10.0), &mut out).unwrap();
    assert_eq!(p.playout, Playout::Normal);
    assert!(out.samples().iter().all(|&s| s == level(51)));
    assert_eq!(
        jb.stats().packets_discarded,
        2 + 1,
        "the stray, the unconfirmed jump, packet 1"
    );
}

#[test]
fn a_dtx_gap_is_silent_concealment() {
    let mut jb = buffer(no_stretch());
    // Packet 0, a DTX frame, then the sender sends nothing for 200 ms (seq contiguous, the
    // timestamp jumps).
    let pause = 200 * 48;
    let mut dtx = packet(1, 960, 7, 0);
    dtx.set_data(&[0xf8]);
    let arr = vec![
        (packet(0, 0, 7, 1), 1.0),
        (dtx, 21.0),
        (packet(2, 1_920 + pause, 7, 3), 241.0),
    ];
    let (audio, pulls) = replay(&mut jb, &arr, 300);
    let s = jb.stats();
    // Up to the pull that plays packet 2, every concealed frame is DTX fill.
    let resumed = audio.iter().position(|&v| v == level(3)).unwrap() / 480;
    let before = &pulls[..resumed];
    assert!(before.iter().filter(|p| p.playout == Playout::Dtx).count() >= 19);
    assert!(
        !before.iter().any(|p| p.playout == Playout::Conceal),
        "{before:?}"
    );
    assert!(s.silent_concealed_samples >= 190 * 48, "{s:?}");
    assert_eq!(s.packets_lost, 0);
}

#[test]
fn a_timestamp_gap_with_contiguous_sequence_is_dtx_when_the_next_packet_is_there() {
    let mut jb = buffer(no_stretch());
    let pause = 40 * 48;
    let arr = vec![
        (packet(0, 0, 7, 1), 1.0),
        (packet(1, 960 + pause, 7, 2), 2.0),
    ];
    let (audio, _) = replay(&mut jb, &arr, 80);
    let s = jb.stats();
    assert_eq!(
        (s.concealed_samples, s.silent_concealed_samples),
        (1_920, 1_920)
    );
    assert_eq!(&runs(&audio)[..3], &[level(1), -1.0, level(2)]);
}

#[test]
fn memory_is_bounded_and_overflow_counted() {
    let cfg = JitterConfig {
        max_packets: 50,
        ..no_stretch()
    };
    let mut jb = buffer(cfg);
    let t0 = Instant::now();
    for i in 0..200 {
        jb.insert(&nth(i, 0, 0), t0).unwrap();
    }
    assert_eq!(jb.packets_held(), 50);
    let s = jb.stats();
    assert_eq!((s.packets_overflow, s.packets_discarded), (150, 150));
    // Evicting an earlier packet for a later one never happens: the 50 nearest playout stay.
    let mut out = AudioFrame::with_capacity(jb.format(), jb.frame_frames());
    jb.pull(t0, &mut out).unwrap();
    assert!(out.samples().iter().all(|&s| s == level(1)));
}

#[test]
fn malformed_packets_are_typed_errors_and_counted() {
    let mut jb = buffer(no_stretch());
    let t0 = Instant::now();
    let mut p = Packet::with_capacity(8);
    p.set_data(&[1, 2, 3, 4]);
    assert!(matches!(jb.insert(&p, t0), Err(Error::Malformed { .. }))); // no RTP facts
    let mut q = nth(0, 0, 0);
    q.set_data(&[1, 2, 3]); // the codec cannot size it
    assert!(matches!(jb.insert(&q, t0), Err(Error::Malformed { .. })));
    q.set_data(&[]);
    assert!(matches!(jb.insert(&q, t0), Err(Error::Malformed { .. })));
    q.set_data(&[0, 1, 0xff, 0xff]); // 65 535 frames: more than the decoder's maximum
    assert!(matches!(jb.insert(&q, t0), Err(Error::Malformed { .. })));
    let s = jb.stats();
    assert_eq!((s.packets_malformed, s.packets_received), (4, 0));
    // The stream goes on.
    assert_eq!(jb.insert(&nth(0, 0, 0), t0).unwrap(), Insert::Queued);
}

#[test]
fn a_frame_too_small_is_an_error_not_a_panic() {
    let mut jb = buffer(no_stretch());
    let mut small = AudioFrame::with_capacity(jb.format(), 100);
    assert!(matches!(
        jb.pull(Instant::now(), &mut small),
        Err(Error::FrameTooLarge {
            max_frames: 100,
            frames: 480
        })
    ));
}
