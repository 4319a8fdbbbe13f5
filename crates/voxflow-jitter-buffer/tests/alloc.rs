//! Steady state allocates nothing: every `insert` and every `pull` is counted on its own with
//! the testkit's counting allocator (this thread only, so parallel tests cannot disturb the
//! count), after a warm-up, while the buffer reorders, conceals (PLC and FEC), drops duplicates,
//! late packets and overflow, time-stretches both ways and fills DTX gaps. Each scenario also
//! checks that what it claims to exercise happened inside the measured window (the counter it
//! names moved), so a scenario that silently stops exercising its path fails.
//!
//! The decoders here do not allocate (`Tagged` from `common` fills the frame it is given; `Voiced`
//! below computes a tone in place). Opus from voxflow-encode's default pure-Rust backend
//! allocates inside its PLC, so it is not used here.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::{PKT, RATE, Tagged, packet};
use voxflow_core::{AudioFormat, AudioFrame, Error, Packet, PacketDecoder, RtpInfo};
use voxflow_jitter_buffer::{DtxFill, JitterBuffer, JitterConfig, JitterStats, Playout};
use voxflow_testkit::alloc::{CountingAlloc, is_installed, this_thread};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// A voiced stand-in codec: a 4-byte payload `[_, _, n_hi, n_lo]` decodes to `n` sample frames of
/// a 150 Hz harmonic tone (phase carried across packets, so splices find a clean period);
/// concealment continues the tone at a lower level. Nothing allocates.
struct Voiced {
    phase: f64,
}

impl Voiced {
    fn write(&mut self, n: usize, gain: f32, out: &mut AudioFrame) -> Result<usize, Error> {
        out.set_frames(n)?;
        for s in out.samples_mut() {
            let mut v = 0.0;
            for k in 1..=6 {
                v += (self.phase * f64::from(k)).sin() / f64::from(k);
            }
            *s = gain * 0.2 * v as f32;
            self.phase += 2.0 * std::f64::consts::PI * 150.0 / f64::from(RATE);
            if self.phase > 2.0 * std::f64::consts::PI {
                self.phase -= 2.0 * std::f64::consts::PI;
            }
        }
        Ok(n)
    }
}

impl PacketDecoder for Voiced {
    fn name(&self) -> &'static str {
        "voiced"
    }
    fn format(&self) -> AudioFormat {
        Tagged.format()
    }
    fn max_frames(&self) -> usize {
        Tagged.max_frames()
    }
    fn packet_frames(&self, p: &[u8]) -> Result<usize, Error> {
        Tagged.packet_frames(p)
    }
    fn decode(&mut self, p: &[u8], out: &mut AudioFrame) -> Result<usize, Error> {
        let n = self.packet_frames(p)?;
        self.write(n, 1.0, out)
    }
    fn conceal(&mut self, n: usize, out: &mut AudioFrame) -> Result<usize, Error> {
        self.write(n, 0.5, out)
    }
    fn reset(&mut self) {
        self.phase = 0.0;
    }
}

/// A 1-byte payload: Tagged's DTX frame (20 ms that carry no audio).
fn dtx_packet(seq: u16, ts: u32) -> Packet {
    let mut p = Packet::with_capacity(1);
    p.set_data(&[0]);
    p.rtp = Some(RtpInfo {
        seq: u64::from(seq),
        timestamp: ts,
        marker: false,
        ssrc: 7,
        payload_type: 96,
    });
    p
}

/// A deterministic jitter source (xorshift), in `0..max` ms.
struct Jitter(u64);

impl Jitter {
    fn ms(&mut self, max: f64) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * max
    }
}

/// What happened while the window was open.
struct Measured {
    insert_allocs: u64,
    pull_allocs: u64,
    inserts: usize,
    pulls: usize,
    /// Counters at the opening and the close of the window.
    before: JitterStats,
    after: JitterStats,
    playouts: Vec<Playout>,
}

/// Replays `(packet, arrival_ms)` (any order; sorted here by arrival, stable) with a pull every
/// 10 ms up to `end_ms`, and counts the allocations of every insert and pull made at or after
/// `window_ms`. Everything is built before the replay, so only the buffer's work is counted.
fn run(
    mut jb: JitterBuffer,
    mut arrivals: Vec<(Packet, f64)>,
    window_ms: u32,
    end_ms: u32,
) -> Measured {
    assert!(is_installed(), "the counting allocator is not installed");
    arrivals.sort_by(|a, b| a.1.total_cmp(&b.1));
    let t0 = Instant::now();
    let at = |ms: f64| t0 + Duration::from_micros((ms * 1000.0) as u64);
    let mut out = AudioFrame::with_capacity(jb.format(), jb.frame_frames());
    let mut playouts = Vec::with_capacity(end_ms as usize / 10 + 1);
    let mut before = None;
    let (mut insert_allocs, mut pull_allocs, mut inserts, mut pulls) = (0, 0, 0, 0);
    let mut next = 0;
    for k in 1..=end_ms / 10 {
        let now_ms = k * 10;
        let measuring = now_ms >= window_ms;
        if measuring && before.is_none() {
            before = Some(jb.stats().clone());
        }
        while next < arrivals.len() && arrivals[next].1 <= f64::from(now_ms) {
            let (p, a) = &arrivals[next];
            let c = this_thread();
            let r = jb.insert(p, at(*a));
            let n = this_thread() - c;
            r.unwrap();
            if measuring {
                insert_allocs += n;
                inserts += 1;
            }
            next += 1;
        }
        let c = this_thread();
        let r = jb.pull(at(f64::from(now_ms)), &mut out);
        let n = this_thread() - c;
        let p = r.unwrap();
        assert_eq!(out.frames(), jb.frame_frames());
        if measuring {
            pull_allocs += n;
            pulls += 1;
            playouts.push(p.playout);
        }
    }
    Measured {
        insert_allocs,
        pull_allocs,
        inserts,
        pulls,
        before: before.unwrap(),
        after: jb.stats().clone(),
        playouts,
    }
}

fn assert_no_allocs(what: &str, m: &Measured) {
    assert!(
        m.inserts >= 50 && m.pulls >= 100,
        "{what}: window too short"
    );
    assert_eq!(
        m.insert_allocs, 0,
        "{what}: {} inserts allocated {} times",
        m.inserts, m.insert_allocs
    );
    assert_eq!(
        m.pull_allocs, 0,
        "{what}: {} pulls allocated {} times",
        m.pulls, m.pull_allocs
    );
}

fn tagged(cfg: JitterConfig) -> JitterBuffer {
    JitterBuffer::new(cfg, Box::new(Tagged)).unwrap()
}

/// Packet `i` of the test stream (20 ms each), near the sequence-number wrap.
fn nth(i: u32) -> Packet {
    common::nth(i, 65_000, 1_000)
}

/// Send time of packet `i` in ms.
fn send(i: u32) -> f64 {
    f64::from(i * 20)
}

#[test]
fn the_decoders_used_here_do_not_allocate() {
    let fmt = Tagged.format();
    let mut out = AudioFrame::with_capacity(fmt, 5_760);
    let p = packet(1, 0, 7, 3);
    let mut tagged = Tagged;
    let mut voiced = Voiced { phase: 0.0 };
    let c = this_thread();
    for d in [&mut tagged as &mut dyn PacketDecoder, &mut voiced] {
        d.packet_frames(p.data()).unwrap();
        d.decode(p.data(), &mut out).unwrap();
        d.decode(&[0], &mut out).unwrap();
        d.conceal(960, &mut out).unwrap();
        d.decode_fec(p.data(), 960, &mut out).unwrap();
    }
    assert_eq!(this_thread() - c, 0);
    assert!(is_installed());
}

#[test]
fn normal_playout() {
    let mut j = Jitter(1);
    let arr = (0..400).map(|i| (nth(i), send(i) + j.ms(4.0))).collect();
    let m = run(tagged(JitterConfig::default()), arr, 2_000, 8_000);
    assert_no_allocs("normal playout", &m);
    let normal = m.playouts.iter().filter(|p| **p == Playout::Normal).count();
    assert!(
        normal * 10 >= m.pulls * 9,
        "{normal} of {} pulls normal",
        m.pulls
    );
}

#[test]
fn reordering() {
    // Every pair of packets arrives swapped, 5 ms apart, plus up to 40 ms of jitter per pair.
    let mut j = Jitter(2);
    let mut arr = vec![];
    for pair in 0..200 {
        let extra = j.ms(40.0);
        let (a, b) = (2 * pair, 2 * pair + 1);
        arr.push((nth(b), send(b) + extra));
        arr.push((nth(a), send(b) + extra + 5.0));
    }
    let m = run(tagged(JitterConfig::default()), arr, 2_000, 8_000);
    assert_no_allocs("reordering", &m);
    // Most of the 150 swapped pairs of the window were put back in order (the first of a pair
    // arrived while the second was held), not dropped as late: the reorder path ran.
    let late = m.after.packets_late - m.before.packets_late;
    assert!(late < 50, "{late} late packets in the window");
    let decoded = m.after.jitter_buffer_emitted_count - m.before.jitter_buffer_emitted_count;
    let total = m.after.total_samples_received - m.before.total_samples_received;
    assert!(
        decoded * 10 >= total * 9,
        "{decoded} of {total} samples decoded"
    );
}

#[test]
fn loss_with_fec_and_plc() {
    // Every 7th packet lost alone (FEC from the next one), and every 50th a burst of three (PLC).
    let arr = (0..400)
        .filter(|i| i % 7 != 3 && !(i % 50 >= 20 && i % 50 < 23))
        .map(|i| (nth(i), (send(i) + 1.0).max(61.0)))
        .collect();
    // A 60 ms floor on the target and a 60 ms head start (the first packets arrive together):
    // the packet after a single loss is there in time for FEC.
    let cfg = JitterConfig {
        min_delay: Duration::from_millis(60),
        ..JitterConfig::default()
    };
    let m = run(tagged(cfg), arr, 2_000, 8_000);
    assert_no_allocs("loss", &m);
    assert!(
        m.after.fec_samples > m.before.fec_samples,
        "no FEC in the window"
    );
    assert!(
        m.after.concealed_samples > m.before.concealed_samples,
        "no concealment in the window"
    );
    assert!(m.playouts.contains(&Playout::Fec) && m.playouts.contains(&Playout::Conceal));
}

#[test]
fn duplicates() {
    let mut arr = vec![];
    for i in 0..400 {
        arr.push((nth(i), send(i) + 1.0));
        if i % 3 == 0 {
            arr.push((nth(i), send(i) + 2.0 + f64::from(i % 30)));
        }
    }
    let m = run(tagged(JitterConfig::default()), arr, 2_000, 8_000);
    assert_no_allocs("duplicates", &m);
    assert!(
        m.after.packets_duplicated >= m.before.packets_duplicated + 50,
        "{} → {} duplicates",
        m.before.packets_duplicated,
        m.after.packets_duplicated
    );
}

#[test]
fn late_drops() {
    // One packet in 20 is 300 ms late: too rare for the target to wait for it.
    let arr = (0..400)
        .map(|i| (nth(i), send(i) + if i % 20 == 10 { 300.0 } else { 1.0 }))
        .collect();
    let m = run(tagged(JitterConfig::default()), arr, 2_000, 8_000);
    assert_no_allocs("late drops", &m);
    assert!(
        m.after.packets_late >= m.before.packets_late + 5,
        "{} → {} late",
        m.before.packets_late,
        m.after.packets_late
    );
}

#[test]
fn overflow() {
    // Bursts of 12 packets every 240 ms into a store of 4 packets.
    let cfg = JitterConfig {
        max_packets: 4,
        ..JitterConfig::default()
    };
    let arr = (0..400)
        .map(|i| (nth(i), f64::from(i / 12 * 240) + 1.0))
        .collect();
    let m = run(tagged(cfg), arr, 2_000, 8_000);
    assert_no_allocs("overflow", &m);
    assert!(
        m.after.packets_overflow >= m.before.packets_overflow + 50,
        "{} → {} overflow",
        m.before.packets_overflow,
        m.after.packets_overflow
    );
}

#[test]
fn time_stretch_both_ways() {
    // A 100 ms floor on the target, and a head start: the first 100 ms of packets arrive
    // together, so 100 ms of audio is held from the start. Then the network delay steps
    // between 51 ms and 1 ms every 3 s. A step down brings packets 50 ms early: the delay is
    // over the target at once (accelerate). After a step up the buffer holds 50 ms less, but
    // the floor (the minimum over the last 2 s) still reads the old delay; when it follows the
    // step, the delay reads 50 ms under the target (decelerate, with audio in hand to stretch).
    let net = |i: u32| {
        if ((send(i) / 3_000.0) as u32).is_multiple_of(2) {
            51.0
        } else {
            1.0
        }
    };
    let arr = (0..900)
        .map(|i| (nth(i), (send(i) + net(i)).max(101.0)))
        .collect();
    let cfg = JitterConfig {
        min_delay: Duration::from_millis(100),
        ..JitterConfig::default()
    };
    let jb = JitterBuffer::new(cfg, Box::new(Voiced { phase: 0.0 })).unwrap();
    let m = run(jb, arr, 3_000, 18_000);
    assert_no_allocs("time-stretch", &m);
    assert!(
        m.after.removed_samples_for_acceleration > m.before.removed_samples_for_acceleration,
        "no acceleration in the window"
    );
    assert!(
        m.after.inserted_samples_for_deceleration > m.before.inserted_samples_for_deceleration,
        "no deceleration in the window"
    );
    assert!(
        m.playouts.contains(&Playout::Accelerate) || m.playouts.contains(&Playout::FastAccelerate)
    );
    assert!(m.playouts.contains(&Playout::Decelerate));
}

#[test]
fn dtx_gaps() {
    // Talk spurts of 10 packets, each followed by one DTX packet and a 400 ms gap in which the
    // sequence number runs on by one and the timestamp jumps.
    for fill in [DtxFill::ComfortNoise, DtxFill::Silence] {
        let mut arr = vec![];
        let (mut seq, mut ts, mut t) = (65_400u16, u32::MAX - 100_000, 0.0);
        for spurt in 0..40u16 {
            for k in 0..10u16 {
                arr.push((packet(seq, ts, 7, spurt * 10 + k + 1), t + 1.0));
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(PKT as u32);
                t += 20.0;
            }
            arr.push((dtx_packet(seq, ts), t + 1.0));
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(PKT as u32 * 21);
            t += 420.0;
        }
        let cfg = JitterConfig {
            dtx_fill: fill,
            ..JitterConfig::default()
        };
        let m = run(tagged(cfg), arr, 3_000, 20_000);
        assert_no_allocs("dtx", &m);
        assert!(
            m.after.silent_concealed_samples >= m.before.silent_concealed_samples + 48_000,
            "{fill:?}: {} → {} silent concealed",
            m.before.silent_concealed_samples,
            m.after.silent_concealed_samples
        );
        assert!(m.playouts.contains(&Playout::Dtx));
    }
}
