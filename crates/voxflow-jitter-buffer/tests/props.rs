//! Properties over arbitrary input (proptest):
//!
//! * any script of inserts (random or nearly-in-order sequence numbers and timestamps, three
//!   SSRCs, payloads empty, DTX, of any duration, unparseable or oversize, packets without RTP
//!   facts, arrival instants moving forward and backward) and pulls (frames too small
//!   included) never panics; insert errors are `Malformed` exactly when the packet is; every
//!   successful pull writes exactly `frame_frames` finite samples; at most `max_packets` are
//!   held; `total_samples_received == emitted + concealed`; `packets_received >=
//!   packets_duplicated`; no counter ever decreases;
//! * a stream that crosses the 16-bit sequence wrap and the 32-bit timestamp wrap, reordered
//!   at random within 60 ms, plays every packet exactly once and in order.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::{PKT, RATE, Tagged, level, runs};
use proptest::prelude::*;
use voxflow_core::{AudioFormat, AudioFrame, Error, Packet, PacketDecoder, RtpInfo};
use voxflow_jitter_buffer::{DtxFill, Insert, JitterBuffer, JitterConfig, JitterStats};

/// A payload for the `Tagged` codec.
#[derive(Clone, Debug)]
enum Payload {
    /// No bytes (malformed).
    Empty,
    /// One byte: a DTX frame.
    Dtx,
    /// A tagged packet of `frames` sample frames (0 and more than 5 760 are malformed).
    Tagged { tag: u16, frames: u16 },
    /// 2, 3 or 5..=64 bytes: the codec cannot size it (malformed).
    Junk(usize),
    /// More than `max_payload` (malformed).
    Oversize(usize),
}

impl Payload {
    fn bytes(&self, buf: &mut Vec<u8>) {
        buf.clear();
        match *self {
            Payload::Empty => {}
            Payload::Dtx => buf.push(0),
            Payload::Tagged { tag, frames } => {
                buf.extend_from_slice(&tag.to_be_bytes());
                buf.extend_from_slice(&frames.to_be_bytes());
            }
            Payload::Junk(n) | Payload::Oversize(n) => buf.resize(n, 0x5a),
        }
    }

    /// True when `insert` must refuse it (with the default `max_payload` of 1 500 bytes).
    fn malformed(&self) -> bool {
        match *self {
            Payload::Dtx => false,
            Payload::Tagged { frames, .. } => frames == 0 || frames > 5_760,
            _ => true,
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Insert {
        /// Sequence number: `Some(delta)` from the last in-stream one, `None`: `raw`.
        seq_delta: Option<i16>,
        raw_seq: u16,
        /// Timestamp: `Some(jitter ticks)` from the in-stream position, `None`: `raw_ts`.
        ts_jitter: Option<i32>,
        raw_ts: u32,
        ssrc: u32,
        payload: Payload,
        rtp: bool,
        /// Arrival, in ms from the previous op's instant (may go backward).
        dt_ms: i32,
    },
    Pull {
        dt_ms: i32,
        /// The output frame's capacity: `None` = exactly `frame_frames`, `Some(n)` = n.
        capacity: Option<usize>,
    },
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        1 => Just(Payload::Empty),
        2 => Just(Payload::Dtx),
        12 => (any::<u16>(), prop_oneof![
            6 => Just(960u16),
            1 => Just(0u16),
            1 => Just(120u16),
            1 => Just(480u16),
            1 => Just(1_920u16),
            1 => Just(5_760u16),
            1 => Just(5_761u16),
            1 => any::<u16>(),
        ])
            .prop_map(|(tag, frames)| Payload::Tagged { tag, frames }),
        1 => prop_oneof![2usize..=3, 5usize..=64].prop_map(Payload::Junk),
        1 => (1_501usize..=2_000).prop_map(Payload::Oversize),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (
            prop_oneof![8 => (-3i16..=6).prop_map(Some), 1 => Just(None)],
            any::<u16>(),
            prop_oneof![8 => (-500i32..=500).prop_map(Some), 1 => Just(None)],
            any::<u32>(),
            prop_oneof![8 => Just(7u32), 1 => Just(8u32), 1 => Just(9u32)],
            payload(),
            prop_oneof![20 => Just(true), 1 => Just(false)],
            prop_oneof![6 => 0i32..=40, 1 => -200i32..=0, 1 => 0i32..=2_000],
        )
            .prop_map(
                |(seq_delta, raw_seq, ts_jitter, raw_ts, ssrc, payload, rtp, dt_ms)| Op::Insert {
                    seq_delta,
                    raw_seq,
                    ts_jitter,
                    raw_ts,
                    ssrc,
                    payload,
                    rtp,
                    dt_ms,
                }
            ),
        2 => (
            prop_oneof![6 => 0i32..=20, 1 => -50i32..=0, 1 => 0i32..=1_000],
            prop_oneof![
                10 => Just(None),
                1 => (0usize..960).prop_map(Some),
                1 => (960usize..2_000).prop_map(Some),
            ],
        )
            .prop_map(|(dt_ms, capacity)| Op::Pull { dt_ms, capacity }),
    ]
}

fn config() -> impl Strategy<Value = JitterConfig> {
    (
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(100usize), 2usize..=8],
        prop_oneof![Just(64 * 1024usize), 1_500usize..=4_000],
        any::<bool>(),
        0u64..=200,
    )
        .prop_map(
            |(frame20, stretch, max_packets, max_bytes, silence, min_ms)| JitterConfig {
                frame: Duration::from_millis(if frame20 { 20 } else { 10 }),
                time_stretch: stretch,
                max_packets,
                max_bytes,
                dtx_fill: if silence {
                    DtxFill::Silence
                } else {
                    DtxFill::ComfortNoise
                },
                min_delay: Duration::from_millis(min_ms),
                ..JitterConfig::default()
            },
        )
}

/// Every counter as a number, for the never-decreases check (`packets_lost` left out: RFC 3550
/// lets it go down).
fn counters(s: &JitterStats) -> [f64; 18] {
    [
        s.jitter_buffer_delay,
        s.jitter_buffer_target_delay,
        s.jitter_buffer_minimum_delay,
        s.jitter_buffer_emitted_count as f64,
        s.total_samples_received as f64,
        s.concealed_samples as f64,
        s.silent_concealed_samples as f64,
        s.concealment_events as f64,
        s.inserted_samples_for_deceleration as f64,
        s.removed_samples_for_acceleration as f64,
        s.packets_discarded as f64,
        s.packets_duplicated as f64,
        s.packets_received as f64,
        s.packets_late as f64,
        s.packets_overflow as f64,
        s.packets_malformed as f64,
        s.fec_samples as f64,
        s.resets as f64,
    ]
}

const COUNTER_NAMES: [&str; 18] = [
    "jitter_buffer_delay",
    "jitter_buffer_target_delay",
    "jitter_buffer_minimum_delay",
    "jitter_buffer_emitted_count",
    "total_samples_received",
    "concealed_samples",
    "silent_concealed_samples",
    "concealment_events",
    "inserted_samples_for_deceleration",
    "removed_samples_for_acceleration",
    "packets_discarded",
    "packets_duplicated",
    "packets_received",
    "packets_late",
    "packets_overflow",
    "packets_malformed",
    "fec_samples",
    "resets",
];

fn check_stats(
    jb: &JitterBuffer,
    prev: &[f64; 18],
    step: usize,
) -> Result<[f64; 18], TestCaseError> {
    let s = jb.stats();
    prop_assert!(
        jb.packets_held() <= jb.config().max_packets,
        "step {step}: {} packets held, max {}",
        jb.packets_held(),
        jb.config().max_packets
    );
    prop_assert_eq!(
        s.total_samples_received,
        s.jitter_buffer_emitted_count + s.concealed_samples,
        "step {}: received = emitted + concealed: {:?}",
        step,
        s
    );
    prop_assert!(
        s.packets_received >= s.packets_duplicated,
        "step {step}: {s:?}"
    );
    let now = counters(s);
    for (i, (a, b)) in prev.iter().zip(&now).enumerate() {
        prop_assert!(
            b >= a,
            "step {step}: {} went down from {a} to {b}",
            COUNTER_NAMES[i]
        );
    }
    Ok(now)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_scripts_keep_every_invariant(
        cfg in config(),
        ops in prop::collection::vec(op(), 1..300),
    ) {
        let mut jb = JitterBuffer::new(cfg, Box::new(Tagged)).unwrap();
        let frame = jb.frame_frames();
        let fmt = jb.format();
        let t0 = Instant::now();
        // The script's clock, in ms after t0 + 10 s (it may step back, never before t0).
        let mut clock: i64 = 10_000;
        let (mut seq, mut ts) = (65_500u16, u32::MAX - 20 * PKT as u32);
        let mut bytes = Vec::new();
        let mut prev = counters(jb.stats());
        for (step, op) in ops.iter().enumerate() {
            match op {
                Op::Insert { seq_delta, raw_seq, ts_jitter, raw_ts, ssrc, payload, rtp, dt_ms } => {
                    clock = (clock + i64::from(*dt_ms)).max(0);
                    let s = match seq_delta {
                        Some(d) => seq.wrapping_add(*d as u16),
                        None => *raw_seq,
                    };
                    let t = match ts_jitter {
                        Some(j) => ts
                            .wrapping_add(u32::from(s.wrapping_sub(seq)).wrapping_mul(PKT as u32))
                            .wrapping_add(*j as u32),
                        None => *raw_ts,
                    };
                    // A step forward moves the stream's position (timestamps follow).
                    if let Some(d) = seq_delta.filter(|d| *d > 0) {
                        seq = s;
                        ts = ts.wrapping_add(u32::from(d as u16) * PKT as u32);
                    }
                    payload.bytes(&mut bytes);
                    let mut p = Packet::with_capacity(bytes.len());
                    p.set_data(&bytes);
                    p.rtp = rtp.then_some(RtpInfo {
                        seq: u64::from(s),
                        timestamp: t,
                        marker: false,
                        ssrc: *ssrc,
                        payload_type: 96,
                    });
                    let malformed_before = jb.stats().packets_malformed;
                    let r = jb.insert(&p, t0 + Duration::from_millis(clock as u64));
                    let refused = !rtp || payload.malformed();
                    match r {
                        Err(Error::Malformed { .. }) => {
                            prop_assert!(refused, "step {step}: {payload:?} refused");
                            prop_assert_eq!(jb.stats().packets_malformed, malformed_before + 1);
                        }
                        Err(e) => prop_assert!(false, "step {}: unexpected error {}", step, e),
                        Ok(outcome) => {
                            prop_assert!(
                                !refused,
                                "step {step}: {payload:?} (rtp {rtp}) accepted as {outcome:?}"
                            );
                            prop_assert_eq!(jb.stats().packets_malformed, malformed_before);
                        }
                    }
                }
                Op::Pull { dt_ms, capacity } => {
                    clock = (clock + i64::from(*dt_ms)).max(0);
                    let cap = capacity.unwrap_or(frame);
                    let mut out = AudioFrame::with_capacity(fmt, cap);
                    let r = jb.pull(t0 + Duration::from_millis(clock as u64), &mut out);
                    if cap < frame {
                        let is_too_small = matches!(r, Err(Error::FrameTooLarge { .. }));
                        prop_assert!(is_too_small, "step {step}: capacity {cap}: {r:?}");
                    } else {
                        let pull = r.map_err(|e| TestCaseError::fail(format!("step {step}: {e}")))?;
                        prop_assert_eq!(out.frames(), frame, "step {}: {:?}", step, pull);
                        prop_assert_eq!(out.samples().len(), frame * usize::from(fmt.channels));
                        prop_assert!(out.samples().iter().all(|s| s.is_finite()));
                    }
                }
            }
            prev = check_stats(&jb, &prev, step)?;
        }
    }

    #[test]
    fn wrapping_reordered_stream_plays_every_packet_once_in_order(
        seq_back in 0u16..100,
        ts_back in 0u32..200,
        ts_extra in 0u32..PKT as u32,
        frame20 in any::<bool>(),
        jitter in prop::collection::vec(0u32..=60, 50..150),
    ) {
        // Packet i (tag i + 1) is sent at 20 i ms and arrives up to 60 ms later, so packets
        // overtake each other. Packet 0 arrives the full 60 ms late and first (the next two
        // are held back to arrive with it at the earliest): the buffer starts playing at once
        // (it has no start-up delay), and that start leaves room for every other packet's
        // jitter. No time-stretch: the levels must come out exactly as sent.
        let n = jitter.len() as u32;
        let seq0 = 65_535u16.wrapping_sub(seq_back);
        let ts0 = u32::MAX.wrapping_sub(ts_back * PKT as u32 + ts_extra);
        let mut arrivals: Vec<(Packet, u32)> = (0..n)
            .map(|i| {
                let j = if i == 0 { 60 } else { jitter[i as usize] };
                (common::nth(i, seq0, ts0), (i * 20 + j).max(60))
            })
            .collect();
        arrivals.sort_by_key(|a| a.1); // stable: packet 0 first among ties
        let cfg = JitterConfig {
            time_stretch: false,
            frame: Duration::from_millis(if frame20 { 20 } else { 10 }),
            ..JitterConfig::default()
        };
        let mut jb = JitterBuffer::new(cfg, Box::new(Tagged)).unwrap();
        let step = if frame20 { 20 } else { 10 };
        let t0 = Instant::now();
        let mut out = AudioFrame::with_capacity(jb.format(), jb.frame_frames());
        let mut audio = Vec::new();
        let mut next = 0;
        let mut now = 0;
        while now <= n * 20 + 200 {
            while next < arrivals.len() && arrivals[next].1 <= now {
                let (p, at) = &arrivals[next];
                let r = jb.insert(p, t0 + Duration::from_millis(u64::from(*at)));
                prop_assert!(matches!(r, Ok(Insert::Queued)), "{:?}", r);
                next += 1;
            }
            jb.pull(t0 + Duration::from_millis(u64::from(now)), &mut out).unwrap();
            audio.extend_from_slice(out.samples());
            now += step;
        }
        // Idle before the first packet (0.0), then every packet's level in order, then
        // concealment (-1.0) after the last one.
        let mut want = vec![0.0f32];
        want.extend((1..=n).map(|i| level(i as u16)));
        want.push(-1.0);
        let got = runs(&audio);
        let got = if got.first() == Some(&0.0) { got } else { [vec![0.0], got].concat() };
        prop_assert_eq!(got, want);
        let s = jb.stats();
        prop_assert_eq!(
            (s.packets_discarded, s.packets_late, s.packets_duplicated, s.packets_lost, s.resets),
            (0, 0, 0, 0, 0)
        );
        prop_assert_eq!(s.jitter_buffer_emitted_count, u64::from(n) * PKT as u64);
    }
}

#[test]
fn the_stand_in_codec_is_what_the_properties_assume() {
    // The tests above rely on Tagged's format and on which payloads it refuses.
    assert_eq!(
        Tagged.format(),
        AudioFormat {
            rate: RATE,
            channels: 1
        }
    );
    let mut b = Vec::new();
    for (p, bad) in [
        (Payload::Empty, true),
        (Payload::Dtx, false),
        (
            Payload::Tagged {
                tag: 1,
                frames: 960,
            },
            false,
        ),
        (Payload::Tagged { tag: 1, frames: 0 }, true),
        (
            Payload::Tagged {
                tag: 1,
                frames: 5_761,
            },
            true,
        ),
        (Payload::Junk(3), true),
        (Payload::Oversize(1_501), true),
    ] {
        p.bytes(&mut b);
        assert_eq!(p.malformed(), bad, "{p:?}");
        let mut jb = JitterBuffer::new(JitterConfig::default(), Box::new(Tagged)).unwrap();
        let mut pk = Packet::with_capacity(b.len());
        pk.set_data(&b);
        pk.rtp = Some(RtpInfo::default());
        assert_eq!(jb.insert(&pk, Instant::now()).is_err(), bad, "{p:?}");
    }
}
