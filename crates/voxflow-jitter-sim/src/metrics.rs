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
//!   in 5–10 s.
//! - **spikes**: a spike is a packet whose network delay (arrival − send) exceeds that of the
//!   previous arrived packet (by sequence) by more than 150 ms (one per 2 s at most). Its
//!   recovery time is the send time of the first played packet at or after it whose delay is
//!   within 20 ms of the mean delay of the packets sent in the 2 s before it, minus the spike's
//!   send time.

use std::collections::{HashMap, HashSet};

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
    /// `(seq, send_ms, delay_ms)` of every played packet, in send order.
    pub series: Vec<(u64, f64, f64)>,
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
    let mut arrived: HashSet<u64> = HashSet::new();
    for r in &trace.rows {
        send.entry(r.seq).or_insert(r.send_ms);
        if r.arrival_ms.is_some() {
            arrived.insert(r.seq);
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
        .iter()
        .filter(|s| !first_decode.contains_key(s))
        .count();

    let mut series: Vec<(u64, f64, f64)> = first_decode
        .iter()
        .filter_map(|(&seq, &t)| send.get(&seq).map(|&s| (seq, s, t - s)))
        .collect();
    series.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let mut delays: Vec<f64> = series.iter().map(|x| x.2).collect();
    delays.sort_by(f64::total_cmp);

    // Real-audio span and concealment.
    let first_t = rec
        .decodes
        .iter()
        .map(|d| d.1)
        .fold(f64::INFINITY, f64::min);
    let is_real = |i: usize, c: FrameClass| c == FrameClass::Audio && pull_time_ms(i) >= first_t;
    let first_real = rec
        .frames
        .iter()
        .enumerate()
        .position(|(i, &c)| is_real(i, c));
    let last_real = rec
        .frames
        .iter()
        .enumerate()
        .rposition(|(i, &c)| is_real(i, c));
    let (concealed_frames, span_frames) = match (first_real, last_real) {
        (Some(a), Some(b)) => (
            rec.frames[a..=b]
                .iter()
                .filter(|&&c| c == FrameClass::Concealed)
                .count(),
            b - a + 1,
        ),
        _ => (0, 0),
    };
    let first_arrival = trace.first_arrival_ms();

    let max_send = series.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
    let drift_growth_ms = match (
        mean(
            series
                .iter()
                .filter(|x| x.1 >= max_send - 5_000.0)
                .map(|x| x.2),
        ),
        mean(
            series
                .iter()
                .filter(|x| (5_000.0..10_000.0).contains(&x.1))
                .map(|x| x.2),
        ),
    ) {
        (Some(late), Some(early)) => Some(late - early),
        _ => None,
    };

    Metrics {
        trace: trace.name.clone(),
        buffer: rec.buffer.clone(),
        played: series.len(),
        lost,
        mean_delay_ms: mean(series.iter().map(|x| x.2)),
        p95_delay_ms: percentile(&delays, 95.0),
        mean_delay_after_5s_ms: mean(series.iter().filter(|x| x.1 >= 5_000.0).map(|x| x.2)),
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
        spikes: spikes(trace, &series),
        series,
    }
}

/// Finds the spikes of `trace` and measures the recovery of the played `series`.
fn spikes(trace: &Trace, series: &[(u64, f64, f64)]) -> Vec<SpikeRecovery> {
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
                .filter(|x| x.1 < at && x.1 >= at - PRE_SPIKE_WINDOW_MS)
                .map(|x| x.2),
        );
        let recovery_ms = pre.and_then(|p| {
            series
                .iter()
                .find(|x| x.1 >= at && (x.2 - p).abs() <= RECOVERY_TOLERANCE_MS)
                .map(|x| x.1 - at)
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
                    .map(|x| json!([x.0, x.1, (x.2 * 100.0).round() / 100.0]))
                    .collect(),
            );
        }
        v
    }
}
