//! The latency report: per-stage percentiles, time to first frame, counts and drops.

use std::fmt;
use std::time::Duration;

use crate::{Histogram, Overflow};

/// What a report row measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The source's `read` (from the trace origin, set just before `read`, to its stamp).
    Source,
    /// A stage: from the previous stamp to the moment its `poll` produced the frame (includes
    /// the time the input waited inside the stage, e.g. while a reframer filled up).
    Stage,
    /// A ring link: from the producer's last stamp to the consumer taking the frame out
    /// (queueing time plus wake-up latency).
    Link,
    /// The sink: from the previous stamp to just before `write`.
    Sink,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Source => "source",
            Role::Stage => "stage",
            Role::Link => "link",
            Role::Sink => "sink",
        })
    }
}

/// Latency percentiles of one span (a stage's share of a frame's trace, or the whole trace).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatencyStats {
    /// Frames measured.
    pub count: u64,
    /// Median.
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest (exact).
    pub max: Duration,
    /// Mean (exact).
    pub mean: Duration,
}

impl LatencyStats {
    /// Reads the percentiles of a histogram (~1.6 % resolution).
    pub fn from_histogram(h: &Histogram) -> Self {
        LatencyStats {
            count: h.count(),
            p50: h.percentile(0.50),
            p95: h.percentile(0.95),
            p99: h.percentile(0.99),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// One row of the report: a named element of the pipeline, in pipeline order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageLatency {
    /// The trace stamp name (`name()` of the source, stage or sink; the link's name).
    pub name: &'static str,
    /// What kind of element it is.
    pub role: Role,
    /// Its span's percentiles, measured on frames that reached the sink.
    pub latency: LatencyStats,
}

/// Counters of one ring link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkReport {
    /// The link's name.
    pub name: &'static str,
    /// Its back-pressure policy.
    pub overflow: Overflow,
    /// Its capacity in frames.
    pub slots: usize,
    /// Frames sent into it.
    pub sent: u64,
    /// Frames taken out of it.
    pub delivered: u64,
    /// Frames discarded by the policy.
    pub dropped: u64,
}

/// A snapshot (or the final state) of a running pipeline: per-element latency percentiles in
/// pipeline order, time to first frame, totals and drops. Fields are public and plain (no serde
/// dependency) so callers can print them in any format; [`Display`](fmt::Display) prints a table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// One row per source, stage, link and sink, in pipeline order.
    pub stages: Vec<StageLatency>,
    /// Whole-trace latency: from the origin (just before the source's `read`) to the sink
    /// (the first sink, when a tee adds others).
    pub total: LatencyStats,
    /// With real-time pacing: how late each item was read after the instant its pacing
    /// allowed (the driver's wake-up and scheduling delay). Published when a chain ends.
    pub lateness: LatencyStats,
    /// From `spawn` to the source's first frame.
    pub first_frame_in: Option<Duration>,
    /// From `spawn` to the first frame handed to the sink.
    pub first_frame_out: Option<Duration>,
    /// Audio frames the source produced.
    pub frames_in: u64,
    /// Sample frames (per channel: one per instant) in those frames.
    pub sample_frames_in: u64,
    /// Packets a packet source produced.
    pub packets_in: u64,
    /// Payload bytes of those packets.
    pub bytes_in: u64,
    /// Audio frames delivered: written to audio sinks, plus frames accepted by encoders.
    pub frames_out: u64,
    /// Sample frames (per channel) in those frames.
    pub sample_frames_out: u64,
    /// Packets written to packet sinks.
    pub packets_out: u64,
    /// Payload bytes of those packets.
    pub bytes_out: u64,
    /// Skippable errors that were counted and passed over (see `Event::Skipped`).
    pub skipped: u64,
    /// Time from `spawn` to the end (or to now, while running), on the pipeline's clock.
    pub wall: Duration,
    /// One entry per ring link, in pipeline order.
    pub links: Vec<LinkReport>,
    /// True once every thread has finished.
    pub finished: bool,
    /// True when the pipeline ended because of [`Running::stop`](crate::Running::stop) (or an
    /// error) rather than the end of the source.
    pub stopped: bool,
    /// Events that could not be delivered because the event channel was full.
    pub events_lost: u64,
}

impl Report {
    /// Total frames dropped across all links.
    pub fn dropped(&self) -> u64 {
        self.links.iter().map(|l| l.dropped).sum()
    }
}

struct Us(Duration);

impl fmt::Display for Us {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0.as_secs_f64() * 1e6;
        let s = if us < 1000.0 {
            format!("{us:.1}µs")
        } else if us < 1e6 {
            format!("{:.2}ms", us / 1000.0)
        } else {
            format!("{:.3}s", us / 1e6)
        };
        f.pad(&s)
    }
}

fn opt(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_string(), |d| Us(d).to_string())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self
            .stages
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(5);
        writeln!(
            f,
            "{:<w$}  {:<6}  {:>8}  {:>9}  {:>9}  {:>9}  {:>9}",
            "stage", "role", "frames", "p50", "p95", "p99", "max"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, role: &str, l: &LatencyStats| {
            writeln!(
                f,
                "{:<w$}  {:<6}  {:>8}  {:>9}  {:>9}  {:>9}  {:>9}",
                name,
                role,
                l.count,
                Us(l.p50),
                Us(l.p95),
                Us(l.p99),
                Us(l.max)
            )
        };
        for s in &self.stages {
            row(f, s.name, &s.role.to_string(), &s.latency)?;
        }
        row(f, "total", "", &self.total)?;
        writeln!(
            f,
            "first frame: source {}, sink {}; wall {}{}",
            opt(self.first_frame_in),
            opt(self.first_frame_out),
            Us(self.wall),
            if self.finished {
                if self.stopped {
                    " (stopped)"
                } else {
                    " (finished)"
                }
            } else {
                " (running)"
            }
        )?;
        writeln!(
            f,
            "in: {} frames / {} sample frames; out: {} frames / {} sample frames; skipped errors: {}",
            self.frames_in,
            self.sample_frames_in,
            self.frames_out,
            self.sample_frames_out,
            self.skipped
        )?;
        if self.packets_out > 0 {
            writeln!(
                f,
                "packets out: {} / {} bytes",
                self.packets_out, self.bytes_out
            )?;
        }
        for l in &self.links {
            writeln!(
                f,
                "link {} ({}, {} frames): sent {}, delivered {}, dropped {}",
                l.name, l.overflow, l.slots, l.sent, l.delivered, l.dropped
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_a_table() {
        let mut h = Histogram::new();
        h.record(Duration::from_micros(250));
        let r = Report {
            stages: vec![StageLatency {
                name: "sine",
                role: Role::Source,
                latency: LatencyStats::from_histogram(&h),
            }],
            links: vec![LinkReport {
                name: "ring0",
                overflow: Overflow::DropOldest,
                slots: 4,
                sent: 10,
                delivered: 8,
                dropped: 2,
            }],
            first_frame_out: Some(Duration::from_millis(3)),
            ..Report::default()
        };
        let s = r.to_string();
        assert!(s.contains("sine"), "{s}");
        assert!(s.contains("250.0µs"), "{s}");
        assert!(s.contains("dropped 2"), "{s}");
        assert!(s.contains("sink 3.00ms"), "{s}");
        assert_eq!(r.dropped(), 2);
    }
}
