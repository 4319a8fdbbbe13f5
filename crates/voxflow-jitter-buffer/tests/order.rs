//! Reordering, duplicates, late packets and loss: what plays, in which order, and the counters.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use std::time::Instant;
use voxflow_core::AudioFrame;
use voxflow_jitter_buffer::{Insert, Playout};

#[test]
fn first_packet_plays_at_once() {
    let mut jb = buffer(no_stretch());
    let t0 = Instant::now();
    assert_eq!(jb.next_deadline(), None);
    assert_eq!(jb.insert(&nth(0, 0, 0), t0).unwrap(), Insert::Queued);
    assert_eq!(jb.next_deadline(), Some(t0));
    let mut out = AudioFrame::with_capacity(jb.format(), jb.frame_frames());
    let p = jb.pull(t0, &mut out).unwrap();
    assert_eq!(p.playout, Playout::Normal);
    assert_eq!(p.timestamp, Some(0));
    assert!(out.samples().iter().all(|&s| s == level(1)));
}

#[test]
fn idle_before_any_packet_is_not_counted() {
    let mut jb = buffer(no_stretch());
    let mut out = AudioFrame::with_capacity(jb.format(), jb.frame_frames());
    let p = jb.pull(Instant::now(), &mut out).unwrap();
    assert_eq!(p.playout, Playout::Idle);
    assert_eq!(out.frames(), 480);
    assert_eq!(jb.stats().total_samples_received, 0);
}

#[test]
fn reordered_packets_play_in_media_order() {
    let mut jb = buffer(no_stretch());
    // 0 at 5 ms, then 2 before 1, both before 1's playout.
    let arr = vec![
        (nth(0, 0, 0), 5.0),
        (nth(2, 0, 0), 22.0),
        (nth(1, 0, 0), 24.0),
        (nth(3, 0, 0), 65.0),
    ];
    let (audio, _) = replay(&mut jb, &arr, 100);
    let r = runs(&audio);
    let played: Vec<f32> = r.iter().copied().filter(|&v| v > 0.0).collect();
    assert_eq!(played, [level(1), level(2), level(3), level(4)]);
    assert_eq!(jb.stats().packets_discarded, 0);
}

#[test]
fn duplicates_are_counted_and_never_played_twice() {
    let mut jb = buffer(no_stretch());
    let arr = vec![
        (nth(0, 0, 0), 5.0),
        (nth(0, 0, 0), 6.0),
        (nth(1, 0, 0), 25.0),
        (nth(1, 0, 0), 26.0),
        (nth(2, 0, 0), 45.0),
        (nth(0, 0, 0), 47.0), // long after it played
    ];
    let (audio, _) = replay(&mut jb, &arr, 70);
    let r = runs(&audio);
    let played: Vec<f32> = r.iter().copied().filter(|&v| v > 0.0).collect();
    assert_eq!(played, [level(1), level(2), level(3)]);
    let s = jb.stats();
    assert_eq!(s.packets_duplicated, 3);
    assert_eq!(s.packets_received, 6);
    // RFC 3550: 3 expected, 6 received.
    assert_eq!(s.packets_lost, -3);
    assert_eq!(s.packets_discarded, 0, "duplicates are not discards");
}

#[test]
fn a_packet_after_its_playout_is_late_and_counted() {
    let mut jb = buffer(no_stretch());
    let t0 = Instant::now();
    let mut out = AudioFrame::with_capacity(jb.format(), jb.frame_frames());
    jb.insert(&nth(0, 0, 0), t0).unwrap();
    jb.insert(&nth(2, 0, 0), ms(t0, 1.0)).unwrap();
    for k in 0..6 {
        jb.pull(ms(t0, f64::from(k * 10)), &mut out).unwrap();
    }
    // Packet 1's slot (20..40 ms of media) has been concealed: it is late now.
    assert_eq!(
        jb.insert(&nth(1, 0, 0), ms(t0, 61.0)).unwrap(),
        Insert::Late
    );
    let s = jb.stats();
    assert_eq!((s.packets_late, s.packets_discarded), (1, 1));
}

#[test]
fn a_lost_packet_is_recovered_by_fec_when_the_next_one_is_there() {
    let mut jb = buffer(no_stretch());
    let arr = vec![
        (nth(0, 0, 0), 1.0),
        (nth(2, 0, 0), 2.0),
        (nth(3, 0, 0), 3.0),
    ];
    let (audio, pulls) = replay(&mut jb, &arr, 100);
    let r = runs(&audio);
    assert_eq!(r, [level(1), -2.0, level(3), level(4), -1.0]);
    assert!(pulls.iter().any(|p| p.playout == Playout::Fec));
    let s = jb.stats();
    assert_eq!(s.fec_samples, 960);
    assert_eq!(s.packets_lost, 1);
}

#[test]
fn an_underrun_waits_for_a_late_packet_instead_of_dropping_it() {
    let mut jb = buffer(no_stretch());
    // Packet 1 is 50 ms late; nothing else is there meanwhile.
    let arr = vec![
        (nth(0, 0, 0), 1.0),
        (nth(1, 0, 0), 71.0),
        (nth(2, 0, 0), 72.0),
    ];
    let (audio, pulls) = replay(&mut jb, &arr, 140);
    let r = runs(&audio);
    assert_eq!(r, [level(1), -1.0, level(2), level(3), -1.0]);
    assert_eq!(jb.stats().packets_discarded, 0);
    let first_conceal = pulls
        .iter()
        .position(|p| p.playout == Playout::Conceal)
        .unwrap();
    assert_eq!(first_conceal, 2);
    assert_eq!(jb.stats().concealment_events, 2);
}
