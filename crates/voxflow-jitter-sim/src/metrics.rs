//! The measurements, computed the same way for every buffer from a [`Recording`].
//!
//! - **delay** of a packet: the trace time of the pull during which its payload was first
//!   decoded minus its `send_ms`. `mean_delay_ms`, `p95_delay_ms` (nearest rank) over every
//!   played packet; `mean_delay_after_5s_ms` over played packets with `send_ms ≥ 5000`.
//! - **concealed_pct**: concealed frames ÷ frames from the first to the last frame of real audio
//!   (inclusive), × 100. A frame is real audio when it is decoded (or FEC-recovered, or
//!   time-stretched) audio and at least one packet has been decoded by then.
//! - **late_dropped**: sequence numbers that arrived at least once but were never decoded.
//! - **out_of_order_played**: decodes of a sequence number lower than one decoded before;
//!   **duplicates_played**: sequence numbers decoded more than once.
//! - **first_audio_ms**: time of the first pull of real audio − first arrival.
//! - **drift_growth_ms**: mean delay of packets sent in the last 5 s − mean delay of packets sent
//!   in 5–10 s. The delay mixes the sender's clock (`send_ms`) and the receiver's, so on a trace
//!   whose sender clock drifts, a buffer that holds its queue constant shows the drift itself
//!   (−60 ms over 60 s for a 0.1 % fast sender) and a buffer that never adapts shows 0;
//!   **wait_growth_ms** is the same difference for the receiver-clock wait (decode − arrival),
//!   which shows how much the queue itself grew.
//! - **first_sustained_audio_ms** / **concealed_pct_sustained**: as `first_audio_ms` /
//!   `concealed_pct`, but starting at the first frame of real audio that begins 100 ms (10
//!   frames) of uninterrupted real audio (a buffer that plays one frame and then conceals while
//!   it fills starts there).
//! - **spikes**: a spike is a packet whose network delay (arrival − send) exceeds that of the
//!   previous arrived packet (by sequence) by more than 150 ms (one per 2 s at most). Its
//!   recovery time is the send time of the first played packet at or after it whose delay is
//!   within 20 ms of the mean delay of the packets sent in the 2 s before it, minus the spike's
//!   send time.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::buffers::FrameClass;
use crate::replay::{Recording, pull_time_ms};
use crate::trace::Trace;

/// Network-delay jump that marks a spike, ms.
pub const SPIKE_JUMP_MS: f64 = 150.0;
/// Recovery tolerance around the pre-spike delay, ms.
pub const RECOVERY_TOLERANCE_MS: f64 = 20.0;
/// Window before a spike whose mean delay is the reference, ms.
pub const PRE_SPIKE_WINDOW_MS: f64 = 2_000.0;

/// One detected spike and how the buffer recovered from it.
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeRecovery {
    /// Send time of the first packet of the spike, ms.
    pub at_ms: f64,
    /// The jump in network delay, ms.
    pub jump_ms: f64,
    /// Mean playout delay of packets sent in the 2 s before, ms (`None` when none played).
    pub pre_delay_ms: Option<f64>,
    /// Time until a played packet's delay was back within 20 ms of `pre_delay_ms`, ms (`None`:
    /// never, or no reference).
    pub recovery_ms: Option<f64>,
}

/// One played packet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Played {
    /// Sequence number.
    pub seq: u64,
    /// Send time (sender clock), ms.
    pub send_ms: f64,
    /// First arrival (receiver clock), ms.
    pub arrival_ms: f64,
    /// Delay: decode pull time − send time, ms.
    pub delay_ms: f64,
}

/// Frames of uninterrupted real audio that make playout "sustained".
pub const SUSTAINED_FRAMES: usize = 10;

/// Everything measured for one trace × buffer.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// Trace name.
    pub trace: String,
    /// Buffer name.
    pub buffer: String,
    /// Distinct packets played (decoded at least once).
    pub played: usize,
    /// Packets that never arrived.
    pub lost: usize,
    /// Mean delay over played packets, ms.
    pub mean_delay_ms: Option<f64>,
    /// 95th percentile (nearest rank) of the delay, ms.
    pub p95_delay_ms: Option<f64>,
    /// Mean delay over played packets sent at ≥ 5 s, ms.
    pub mean_delay_after_5s_ms: Option<f64>,
    /// Concealed frames in the real-audio span, percent.
    pub concealed_pct: Option<f64>,
    /// Concealed frames in the real-audio span.
    pub concealed_frames: usize,
    /// Frames from the first to the last frame of real audio.
    pub span_frames: usize,
    /// Arrived but never decoded.
    pub late_dropped: usize,
    /// Decodes of a sequence number lower than one decoded before.
    pub out_of_order_played: usize,
    /// Sequence numbers decoded more than once.
    pub duplicates_played: usize,
    /// First real audio − first arrival, ms.
    pub first_audio_ms: Option<f64>,
    /// Audio removed by accelerating, ms.
    pub accelerate_ms: Option<f64>,
    /// Audio inserted by decelerating, ms.
    pub decelerate_ms: Option<f64>,
    /// The buffer's own statistics.
    pub stats: Value,
    /// Mean delay of the last 5 s of sends − mean of 5–10 s, ms.
    pub drift_growth_ms: Option<f64>,
    /// Spikes found in the trace and the recovery from each.
    pub spikes: Vec<SpikeRecovery>,
    /// Wait in the buffer (receiver clock: decode − arrival), last 5 s − 5–10 s, ms.
    pub wait_growth_ms: Option<f64>,
    /// First real audio that starts 100 ms of uninterrupted real audio − first arrival, ms.
    pub first_sustained_audio_ms: Option<f64>,
    /// Concealed frames from the first sustained real audio to the last real audio, percent.
    pub concealed_pct_sustained: Option<f64>,
    /// Decodes of bytes that were no packet of the run (should be 0).
    pub unknown_decodes: u64,
    /// Packets whose payload bytes equal another packet's.
    pub shared_payload_packets: usize,
    /// Every played packet, in send order.
    pub series: Vec<Played>,
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| s / n as f64)
}

/// Nearest-rank percentile `p` (0–100) of `v` (sorted ascending).
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Computes the metrics of `rec`, a replay of `trace`.
pub fn compute(trace: &Trace, rec: &Recording) -> Metrics {
    let mut send: HashMap<u64, f64> = HashMap::new();
    let mut arrived: HashMap<u64, f64> = HashMap::new();
    for r in &trace.rows {
        send.entry(r.seq).or_insert(r.send_ms);
        if let Some(a) = r.arrival_ms {
            let e = arrived.entry(r.seq).or_insert(a);
            *e = e.min(a);
        }
    }
    let lost = send.len() - arrived.len();

    // Playout order, first decode times, duplicates.
    let mut first_decode: HashMap<u64, f64> = HashMap::new();
    let mut times: HashMap<u64, usize> = HashMap::new();
    let mut out_of_order = 0usize;
    let mut highest: Option<u64> = None;
    for &(seq, t) in &rec.decodes {
        first_decode.entry(seq).or_insert(t);
        *times.entry(seq).or_default() += 1;
        if highest.is_some_and(|h| seq < h) {
            out_of_order += 1;
        }
        highest = Some(highest.map_or(seq, |h| h.max(seq)));
    }
    let duplicates_played = times.values().filter(|&&n| n > 1).count();
    let late_dropped = arrived
        .keys()
        .filter(|s| !first_decode.contains_key(s))
        .count();

    let mut series: Vec<Played> = first_decode
        .iter()
        .filter_map(|(&seq, &t)| {
            let send_ms = *send.get(&seq)?;
            // A decoded packet always arrived; fall back to its send time if not.
            let arrival_ms = arrived.get(&seq).copied().unwrap_or(send_ms);
            Some(Played {
                seq,
                send_ms,
                arrival_ms,
                delay_ms: t - send_ms,
            })
        })
        .collect();
    series.sort_by(|a, b| a.send_ms.total_cmp(&b.send_ms).then(a.seq.cmp(&b.seq)));
    let mut delays: Vec<f64> = series.iter().map(|x| x.delay_ms).collect();
    delays.sort_by(f64::total_cmp);

    // Real-audio span and concealment.
    let first_t = rec
        .decodes
        .iter()
        .map(|d| d.1)
        .fold(f64::INFINITY, f64::min);
    let real: Vec<bool> = rec
        .frames
        .iter()
        .enumerate()
        .map(|(i, &c)| c == FrameClass::Audio && pull_time_ms(i) >= first_t)
        .collect();
    let first_real = real.iter().position(|&r| r);
    let last_real = real.iter().rposition(|&r| r);
    let sustained = real
        .windows(SUSTAINED_FRAMES)
        .position(|w| w.iter().all(|&r| r));
    let concealed_in = |a: usize, b: usize| {
        rec.frames[a..=b]
            .iter()
            .filter(|&&c| c == FrameClass::Concealed)
            .count()
    };
    let (concealed_frames, span_frames) = match (first_real, last_real) {
        (Some(a), Some(b)) => (concealed_in(a, b), b - a + 1),
        _ => (0, 0),
    };
    let concealed_pct_sustained = match (sustained, last_real) {
        (Some(a), Some(b)) if b >= a => {
            Some(100.0 * concealed_in(a, b) as f64 / (b - a + 1) as f64)
        }
        _ => None,
    };
    let first_arrival = trace.first_arrival_ms();

    let max_send = series
        .iter()
        .map(|x| x.send_ms)
        .fold(f64::NEG_INFINITY, f64::max);
    let growth = |f: &dyn Fn(&Played) -> f64| {
        let late = mean(
            series
                .iter()
                .filter(|x| x.send_ms >= max_send - 5_000.0)
                .map(f),
        );
        let early = mean(
            series
                .iter()
                .filter(|x| (5_000.0..10_000.0).contains(&x.send_ms))
                .map(f),
        );
        Some(late? - early?)
    };
    let drift_growth_ms = growth(&|x| x.delay_ms);
    let wait_growth_ms = growth(&|x| x.delay_ms + x.send_ms - x.arrival_ms);

    Metrics {
        trace: trace.name.clone(),
        buffer: rec.buffer.clone(),
        played: series.len(),
        lost,
        mean_delay_ms: mean(series.iter().map(|x| x.delay_ms)),
        p95_delay_ms: percentile(&delays, 95.0),
        mean_delay_after_5s_ms: mean(
            series
                .iter()
                .filter(|x| x.send_ms >= 5_000.0)
                .map(|x| x.delay_ms),
        ),
        concealed_pct: (span_frames > 0)
            .then(|| 100.0 * concealed_frames as f64 / span_frames as f64),
        concealed_frames,
        span_frames,
        late_dropped,
        out_of_order_played: out_of_order,
        duplicates_played,
        first_audio_ms: first_real.map(|i| pull_time_ms(i) - first_arrival),
        accelerate_ms: rec.stretch_ms.0,
        decelerate_ms: rec.stretch_ms.1,
        stats: rec.stats.clone(),
        drift_growth_ms,
        wait_growth_ms,
        first_sustained_audio_ms: sustained.map(|i| pull_time_ms(i) - first_arrival),
        concealed_pct_sustained,
        spikes: spikes(trace, &series),
        unknown_decodes: rec.unknown_decodes,
        shared_payload_packets: rec.shared_payload_packets,
        series,
    }
}

/// Finds the spikes of `trace` and measures the recovery of the played `series`.
fn spikes(trace: &Trace, series: &[Played]) -> Vec<SpikeRecovery> {
    let mut first_rows: HashMap<u64, (f64, f64)> = HashMap::new();
    for r in &trace.rows {
        if let Some(a) = r.arrival_ms {
            first_rows.entry(r.seq).or_insert((r.send_ms, a));
        }
    }
    let mut rows: Vec<(u64, f64, f64)> = first_rows
        .into_iter()
        .map(|(s, (send, a))| (s, send, a - send))
        .collect();
    rows.sort_by_key(|r| r.0);
    let mut out: Vec<SpikeRecovery> = Vec::new();
    for w in rows.windows(2) {
        let jump = w[1].2 - w[0].2;
        let at = w[1].1;
        if jump <= SPIKE_JUMP_MS
            || out
                .last()
                .is_some_and(|s| at - s.at_ms < PRE_SPIKE_WINDOW_MS)
        {
            continue;
        }
        let pre = mean(
            series
                .iter()
                .filter(|x| x.send_ms < at && x.send_ms >= at - PRE_SPIKE_WINDOW_MS)
                .map(|x| x.delay_ms),
        );
        let recovery_ms = pre.and_then(|p| {
            series
                .iter()
                .find(|x| x.send_ms >= at && (x.delay_ms - p).abs() <= RECOVERY_TOLERANCE_MS)
                .map(|x| x.send_ms - at)
        });
        out.push(SpikeRecovery {
            at_ms: at,
            jump_ms: jump,
            pre_delay_ms: pre,
            recovery_ms,
        });
    }
    out
}

fn round(v: Option<f64>, places: i32) -> Value {
    match v {
        Some(x) if x.is_finite() => {
            let f = 10f64.powi(places);
            json!((x * f).round() / f)
        }
        _ => Value::Null,
    }
}

impl Metrics {
    /// The JSON object of one trace × buffer (`series`: include the per-packet delays).
    pub fn to_json(&self, series: bool) -> Value {
        let mut v = json!({
            "trace": self.trace,
            "buffer": self.buffer,
            "mean_delay_ms": round(self.mean_delay_ms, 2),
            "p95_delay_ms": round(self.p95_delay_ms, 2),
            "mean_delay_after_5s_ms": round(self.mean_delay_after_5s_ms, 2),
            "concealed_pct": round(self.concealed_pct, 3),
            "late_dropped": self.late_dropped,
            "out_of_order_played": self.out_of_order_played,
            "duplicates_played": self.duplicates_played,
            "first_audio_ms": round(self.first_audio_ms, 2),
            "accelerate_ms": round(self.accelerate_ms, 2),
            "decelerate_ms": round(self.decelerate_ms, 2),
            "stats": self.stats,
            "played_packets": self.played,
            "lost_packets": self.lost,
            "concealed_frames": self.concealed_frames,
            "audio_span_frames": self.span_frames,
            "drift_growth_ms": round(self.drift_growth_ms, 2),
            "wait_growth_ms": round(self.wait_growth_ms, 2),
            "first_sustained_audio_ms": round(self.first_sustained_audio_ms, 2),
            "concealed_pct_sustained": round(self.concealed_pct_sustained, 3),
            "unknown_decodes": self.unknown_decodes,
            "shared_payload_packets": self.shared_payload_packets,
            "spikes": self.spikes.iter().map(|s| json!({
                "at_ms": round(Some(s.at_ms), 1),
                "jump_ms": round(Some(s.jump_ms), 1),
                "pre_delay_ms": round(s.pre_delay_ms, 2),
                "recovery_ms": round(s.recovery_ms, 1),
            })).collect::<Vec<_>>(),
        });
        if series && let Some(m) = v.as_object_mut() {
            m.insert(
                "delay_series".into(),
                self.series
                    .iter()
                    .map(|x| json!([x.seq, x.send_ms, (x.delay_ms * 100.0).round() / 100.0]))
                    .collect(),
            );
        }
        v
    }
}
