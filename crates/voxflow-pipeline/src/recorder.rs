//! Per-sink latency histograms, published to the handle now and then without ever waiting.

use std::time::{Duration, Instant};

use voxflow_core::Trace;

use crate::Histogram;
use crate::shared::Shared;

/// Histograms as last published by the sinks: one per report row, plus the whole-trace total.
pub(crate) struct Published {
    pub(crate) hists: Vec<Histogram>,
    pub(crate) total: Histogram,
    pub(crate) lateness: Histogram,
}

impl Published {
    pub(crate) fn new(rows: usize) -> Self {
        Published {
            hists: (0..rows).map(|_| Histogram::new()).collect(),
            total: Histogram::new(),
            lateness: Histogram::new(),
        }
    }
}

/// The histograms one sink keeps for the rows on its path from the source. With a tee, a row
/// shared by several paths is owned (published) by the first sink built on it.
pub(crate) struct Recorder {
    /// Row names along the path, in order (to match trace spans).
    names: Vec<&'static str>,
    /// The report row of each path entry, and whether this recorder publishes it.
    rows: Vec<(usize, bool)>,
    hists: Vec<Histogram>,
    /// The whole-trace histogram (kept by the primary sink only).
    total: Option<Histogram>,
    last_publish: Option<Instant>,
    interval: Duration,
}

impl Recorder {
    pub(crate) fn new(
        names: Vec<&'static str>,
        rows: Vec<(usize, bool)>,
        primary: bool,
        interval: Duration,
    ) -> Self {
        Recorder {
            hists: names.iter().map(|_| Histogram::new()).collect(),
            names,
            rows,
            total: primary.then(Histogram::new),
            last_publish: None,
            interval,
        }
    }

    pub(crate) fn record(&mut self, trace: &Trace) {
        // Match spans to path entries in order (names may repeat).
        let mut cursor = 0;
        for (name, d) in trace.spans() {
            if let Some(j) = self.names[cursor..].iter().position(|&n| n == name) {
                self.hists[cursor + j].record(d);
                cursor += j + 1;
            }
        }
        if let (Some(total), Some(t)) = (self.total.as_mut(), trace.total()) {
            total.record(t);
        }
    }

    fn copy_into(&self, p: &mut Published) {
        for (h, &(row, owned)) in self.hists.iter().zip(&self.rows) {
            if owned && let Some(dst) = p.hists.get_mut(row) {
                dst.copy_from(h);
            }
        }
        if let Some(t) = &self.total {
            p.total.copy_from(t);
        }
    }

    /// Publishes if the interval has passed and the lock is free (never waits).
    pub(crate) fn maybe_publish(&mut self, sh: &Shared, now: Instant) {
        let last = *self.last_publish.get_or_insert(now);
        if now.saturating_duration_since(last) < self.interval {
            return;
        }
        if let Ok(mut p) = sh.published.try_lock() {
            self.copy_into(&mut p);
            self.last_publish = Some(now);
        }
    }

    pub(crate) fn publish_final(&self, sh: &Shared) {
        let mut p = sh.published();
        self.copy_into(&mut p);
    }
}
