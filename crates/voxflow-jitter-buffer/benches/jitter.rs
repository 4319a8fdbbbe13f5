//! Cost of the jitter buffer's two real-time calls at 48 kHz mono, 20 ms packets, 10 ms pulls,
//! with a stand-in codec that decodes a synthetic voiced signal (a 140 Hz harmonic tone with a
//! slow vibrato, so the time-stretcher finds pitch periods as it would in speech):
//!
//! * `insert`: one on-time packet into a buffer in steady state;
//! * `pull_steady`: one pull while the delay sits at its target (time-stretch enabled, none
//!   needed); `pull_steady_stretch_off`: the same with time-stretch disabled;
//! * `pull_accelerate`, `pull_fast_accelerate`: one pull that stretches. A
//!   delay error is set up (a head start of buffered audio above or below `min_delay`), and
//!   only the pulls that report that operation are timed; when the error has been worked off
//!   the buffer is reset and the set-up repeated (untimed). The buffer spends at most a
//!   quarter (fast path: a half) of the audio played on stretching, and a splice is a whole
//!   pitch period, so not every pull under an error stretches: the figure is the cost of one
//!   that does.
//!
//! Each timed call is bracketed by `Instant::now()` (about 20–40 ns included in the figures).
#![allow(missing_docs, clippy::unwrap_used)]

use std::f64::consts::TAU;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use voxflow_core::{AudioFormat, AudioFrame, Error, Packet, PacketDecoder, RtpInfo};
use voxflow_jitter_buffer::{JitterBuffer, JitterConfig, Playout, Pull};

const RATE: u32 = 48_000;
/// Sample frames per 20 ms packet.
const PKT: usize = 960;

/// A stand-in codec: any 2-byte payload is 20 ms of a voiced signal (140 Hz with ±2 % vibrato
/// at 3 Hz, eight harmonics falling 6 dB per octave, a syllable-rate level swing), read from 2 s
/// computed up front so that decoding costs a copy, as little of the figures as possible;
/// concealment continues it at half level. Nothing allocates after construction.
struct Voiced {
    signal: Vec<f32>,
    pos: usize,
}

impl Voiced {
    fn new() -> Voiced {
        let dt = 1.0 / f64::from(RATE);
        let mut phase = 0.0f64;
        let signal = (0..2 * RATE as usize)
            .map(|i| {
                let t = i as f64 * dt;
                let f0 = 140.0 * (1.0 + 0.02 * (TAU * 3.0 * t).sin());
                let level = 0.6 + 0.4 * (TAU * 4.0 * t).sin().abs();
                let v: f64 = (1..=8)
                    .map(|k| (phase * f64::from(k)).sin() / f64::from(k))
                    .sum();
                phase = (phase + TAU * f0 * dt) % TAU;
                (level * 0.2 * v) as f32
            })
            .collect();
        Voiced { signal, pos: 0 }
    }

    fn write(&mut self, n: usize, gain: f32, out: &mut AudioFrame) -> Result<usize, Error> {
        out.set_frames(n)?;
        for s in out.samples_mut() {
            *s = gain * self.signal[self.pos];
            self.pos = (self.pos + 1) % self.signal.len();
        }
        Ok(n)
    }
}

impl PacketDecoder for Voiced {
    fn name(&self) -> &'static str {
        "voiced"
    }
    fn format(&self) -> AudioFormat {
        AudioFormat {
            rate: RATE,
            channels: 1,
        }
    }
    fn max_frames(&self) -> usize {
        5_760
    }
    fn packet_frames(&self, p: &[u8]) -> Result<usize, Error> {
        if p.len() == 2 {
            Ok(PKT)
        } else {
            Err(Error::Malformed {
                what: "voiced",
                detail: format!("{} bytes", p.len()),
            })
        }
    }
    fn decode(&mut self, p: &[u8], out: &mut AudioFrame) -> Result<usize, Error> {
        let n = self.packet_frames(p)?;
        self.write(n, 1.0, out)
    }
    fn conceal(&mut self, n: usize, out: &mut AudioFrame) -> Result<usize, Error> {
        self.write(n, 0.5, out)
    }
    fn reset(&mut self) {}
}

/// A stream replayed on a virtual clock: packet `i` is sent at `20 i` ms and arrives at
/// `max(20 i - head, 0)` ms (the first `head` ms of audio arrive at once: a head start that
/// sets the delay to `head`); a pull at `10 k + 1` ms.
struct Sim {
    jb: JitterBuffer,
    out: AudioFrame,
    packet: Packet,
    head_ms: u64,
    /// The virtual clock's zero for the current stream.
    base: Instant,
    /// Packets inserted and pulls made in the current stream.
    sent: u64,
    pulls: u64,
    /// Extended sequence number and timestamp of the next packet (kept across resets).
    seq: u64,
    ts: u32,
}

impl Sim {
    fn new(cfg: JitterConfig, head_ms: u64) -> Sim {
        let jb = JitterBuffer::new(cfg, Box::new(Voiced::new())).unwrap();
        let out = AudioFrame::with_capacity(jb.format(), jb.frame_frames());
        let mut packet = Packet::with_capacity(2);
        packet.set_data(&[0, 0]);
        Sim {
            jb,
            out,
            packet,
            head_ms,
            base: Instant::now(),
            sent: 0,
            pulls: 0,
            seq: 65_000,
            ts: u32::MAX - 100 * PKT as u32,
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.base + Duration::from_millis(ms)
    }

    /// Inserts the packets due by the next pull (returns the time spent in `insert` and how
    /// many), then pulls (returns what it did and its time).
    fn step(&mut self) -> (Duration, u64, Pull, Duration) {
        let now_ms = self.pulls * 10 + 1;
        let (mut ins, mut n) = (Duration::ZERO, 0);
        while (self.sent * 20).saturating_sub(self.head_ms) < now_ms {
            let arrival_ms = (self.sent * 20).saturating_sub(self.head_ms);
            self.packet.rtp = Some(RtpInfo {
                seq: self.seq,
                timestamp: self.ts,
                marker: false,
                ssrc: 7,
                payload_type: 111,
            });
            let arrival = self.at(arrival_ms);
            let t = Instant::now();
            let r = self.jb.insert(black_box(&self.packet), arrival);
            ins += t.elapsed();
            r.unwrap();
            n += 1;
            self.sent += 1;
            self.seq += 1;
            self.ts = self.ts.wrapping_add(PKT as u32);
        }
        let now = self.at(now_ms);
        let t = Instant::now();
        let p = self.jb.pull(now, &mut self.out).unwrap();
        let pull = t.elapsed();
        black_box(self.out.samples());
        self.pulls += 1;
        (ins, n, p, pull)
    }

    /// Starts a new stream (the old one forgotten, allocations kept) one second later.
    fn restart(&mut self) {
        self.jb.reset();
        self.base = self.at(self.pulls * 10 + 1_000);
        self.sent = 0;
        self.pulls = 0;
    }

    /// Total time of `iters` pulls that `want` accepts; pulls in between run untimed. With
    /// `restart_after`, a stream in which no wanted pull came for that many pulls is restarted.
    fn time_pulls(
        &mut self,
        iters: u64,
        want: impl Fn(Playout) -> bool,
        restart_after: Option<u64>,
    ) -> Duration {
        let mut total = Duration::ZERO;
        let (mut done, mut since) = (0, 0);
        while done < iters {
            let (_, _, p, d) = self.step();
            if want(p.playout) {
                total += d;
                done += 1;
                since = 0;
            } else {
                since += 1;
                if restart_after.is_some_and(|r| since >= r) {
                    self.restart();
                    since = 0;
                }
            }
        }
        total
    }
}

fn cfg(min_delay_ms: u64, stretch: bool) -> JitterConfig {
    JitterConfig {
        min_delay: Duration::from_millis(min_delay_ms),
        time_stretch: stretch,
        ..JitterConfig::default()
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("jitter/48k_mono_20ms_packets_10ms_pulls");

    let mut sim = Sim::new(cfg(0, true), 0);
    for _ in 0..500 {
        sim.step();
    }
    g.bench_function("insert", |b| {
        b.iter_custom(|iters| {
            let (mut total, mut done) = (Duration::ZERO, 0);
            while done < iters {
                let (d, n, _, _) = sim.step();
                total += d;
                done += n;
            }
            total
        })
    });

    for (name, stretch) in [("pull_steady", true), ("pull_steady_stretch_off", false)] {
        let mut sim = Sim::new(cfg(0, stretch), 0);
        for _ in 0..500 {
            sim.step();
        }
        let mut other = 0u64;
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (_, _, p, d) = sim.step();
                    total += d;
                    other += u64::from(p.playout != Playout::Normal);
                }
                total
            })
        });
        // Steady state means no stretch and no concealment: say so if that did not hold.
        if other > 0 {
            eprintln!("{name}: {other} pulls were not Normal");
        }
    }

    // min_delay 100 ms: playout starts 100 ms after the first packet, with 40 ms more audio
    // already in hand: 40 ms over the target (normal accelerate).
    let mut sim = Sim::new(cfg(100, true), 40);
    g.bench_function("pull_accelerate", |b| {
        b.iter_custom(|iters| sim.time_pulls(iters, |p| p == Playout::Accelerate, Some(30)))
    });
    // 300 ms more in hand: the fast path.
    let mut sim = Sim::new(cfg(100, true), 300);
    g.bench_function("pull_fast_accelerate", |b| {
        b.iter_custom(|iters| sim.time_pulls(iters, |p| p == Playout::FastAccelerate, Some(30)))
    });
    // Deceleration happens when the target rises above the delay with 30 ms of audio in hand,
    // which this stream never does; its cost is one `TimeStretcher::expand` call, measured by
    // `--bench stretch` (expand, 30 ms voiced).
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
