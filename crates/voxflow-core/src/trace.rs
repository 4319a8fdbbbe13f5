//! Per-frame latency traces: a fixed-size record of when each stage handed a frame on.

use std::fmt;
use std::time::{Duration, Instant};

/// How many stage stamps a [`Trace`] holds. Stamps past this are counted in
/// [`Trace::overflowed`] and otherwise ignored.
pub const TRACE_CAPACITY: usize = 12;

/// One stamp: the stage's name and the instant it handed the frame on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The stage's name, as given to [`Trace::stamp`] (e.g. `"decode"`, `"resample"`).
    pub stage: &'static str,
    /// When the stage finished with the frame (emitted it, or wrote it to its sink).
    pub at: Instant,
}

/// The latency trace carried by every [`AudioFrame`](crate::AudioFrame) and
/// [`Packet`](crate::Packet).
///
/// It holds the instant the frame's work began (`origin`, e.g. when the decoder started on the
/// packet that produced it) and up to [`TRACE_CAPACITY`] named stamps, one per stage, in the order
/// the stages handled the frame. It is `Copy` and heap-free, so carrying it costs no allocation.
///
/// The time a stage is charged with is the gap between its stamp and the previous one (or the
/// origin for the first): it includes any time the frame waited in a ring before that stage, which
/// is exactly what a user asking "where did my latency go" needs to see.
///
/// ```
/// use std::time::{Duration, Instant};
/// use voxflow_core::Trace;
/// let t0 = Instant::now();
/// let mut trace = Trace::starting_at(t0);
/// trace.stamp("decode", t0 + Duration::from_micros(300));
/// trace.stamp("resample", t0 + Duration::from_micros(350));
/// let spans: Vec<_> = trace.spans().collect();
/// assert_eq!(spans, [("decode", Duration::from_micros(300)), ("resample", Duration::from_micros(50))]);
/// assert_eq!(trace.total(), Some(Duration::from_micros(350)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Trace {
    origin: Option<Instant>,
    stamps: [Option<Stamp>; TRACE_CAPACITY],
    len: u8,
    overflowed: u8,
}

impl Default for Trace {
    fn default() -> Self {
        Trace::EMPTY
    }
}

impl Trace {
    /// A trace with no origin and no stamps.
    pub const EMPTY: Trace = Trace {
        origin: None,
        stamps: [None; TRACE_CAPACITY],
        len: 0,
        overflowed: 0,
    };

    /// An empty trace whose work began at `origin`.
    pub fn starting_at(origin: Instant) -> Self {
        Trace {
            origin: Some(origin),
            ..Trace::EMPTY
        }
    }

    /// Clears all stamps and sets a new origin.
    pub fn restart(&mut self, origin: Instant) {
        *self = Trace::starting_at(origin);
    }

    /// Records that `stage` handed the frame on at `at`. When the trace is full the stamp is
    /// counted in [`overflowed`](Self::overflowed) and dropped.
    pub fn stamp(&mut self, stage: &'static str, at: Instant) {
        let i = usize::from(self.len);
        if i < TRACE_CAPACITY {
            self.stamps[i] = Some(Stamp { stage, at });
            self.len += 1;
        } else {
            self.overflowed = self.overflowed.saturating_add(1);
        }
        if self.origin.is_none() {
            self.origin = Some(at);
        }
    }

    /// When the frame's work began, if known.
    pub fn origin(&self) -> Option<Instant> {
        self.origin
    }

    /// The recorded stamps, in order.
    pub fn stamps(&self) -> impl Iterator<Item = Stamp> + '_ {
        self.stamps[..usize::from(self.len)]
            .iter()
            .flatten()
            .copied()
    }

    /// The stamp of `stage`, if recorded.
    pub fn get(&self, stage: &str) -> Option<Instant> {
        self.stamps().find(|s| s.stage == stage).map(|s| s.at)
    }

    /// Number of stamps recorded.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when no stamp is recorded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stamps that did not fit.
    pub fn overflowed(&self) -> u8 {
        self.overflowed
    }

    /// Each stage's share: the gap from the previous stamp (or the origin) to its own stamp.
    /// A clock step backwards gives a zero span rather than a panic.
    pub fn spans(&self) -> impl Iterator<Item = (&'static str, Duration)> + '_ {
        let mut prev = self.origin;
        self.stamps().map(move |s| {
            let d = prev.map_or(Duration::ZERO, |p| s.at.saturating_duration_since(p));
            prev = Some(s.at);
            (s.stage, d)
        })
    }

    /// From the origin to the last stamp.
    pub fn total(&self) -> Option<Duration> {
        let last = self.stamps().last()?;
        Some(last.at.saturating_duration_since(self.origin?))
    }
}

impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        for (stage, d) in self.spans() {
            l.entry(&format_args!("{stage}: {d:?}"));
        }
        l.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_is_counted_not_lost_silently() {
        let t0 = Instant::now();
        let mut t = Trace::starting_at(t0);
        for _ in 0..TRACE_CAPACITY + 3 {
            t.stamp("x", t0);
        }
        assert_eq!(t.len(), TRACE_CAPACITY);
        assert_eq!(t.overflowed(), 3);
    }

    #[test]
    fn first_stamp_sets_missing_origin() {
        let t0 = Instant::now();
        let mut t = Trace::EMPTY;
        t.stamp("a", t0);
        assert_eq!(t.origin(), Some(t0));
        assert_eq!(t.total(), Some(Duration::ZERO));
        assert_eq!(t.get("a"), Some(t0));
        assert_eq!(t.get("b"), None);
    }

    #[test]
    fn trace_is_small_and_copy() {
        fn is_copy<T: Copy>() {}
        is_copy::<Trace>();
        assert!(std::mem::size_of::<Trace>() <= 512);
    }
}
