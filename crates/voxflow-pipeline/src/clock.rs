//! Clocks: where the runtime reads the time (trace stamps, pacing, reports).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A source of time for the runtime. The runtime (never a stage) reads it to stamp traces, to
/// pace a [`Pacing::RealTime`](crate::Pacing::RealTime) source and to measure the report's wall
/// time. Inject another implementation with
/// [`PipelineBuilder::clock`](crate::PipelineBuilder::clock), e.g. a [`VirtualClock`] in tests.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Instant;

    /// Returns at `deadline` or later. The runtime calls it with deadlines at most a few
    /// milliseconds away, so a stop request is noticed promptly.
    fn sleep_until(&self, deadline: Instant);
}

/// The real clock: [`Instant::now`] and [`std::thread::sleep`] (which typically overshoots by
/// 50–100 µs on Linux).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, deadline: Instant) {
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
    }
}

/// A clock that only moves when someone sleeps on it or calls [`advance`](Self::advance): a
/// `sleep_until` jumps straight to the deadline. A real-time-paced pipeline on a virtual clock
/// runs as fast as the CPU allows while its report shows exact media-paced times, which makes
/// pacing testable without waiting.
///
/// ```
/// use std::time::Duration;
/// use voxflow_pipeline::{Clock, VirtualClock};
/// let c = VirtualClock::new();
/// let t0 = c.now();
/// c.sleep_until(t0 + Duration::from_millis(20));
/// assert_eq!(c.now() - t0, Duration::from_millis(20));
/// ```
#[derive(Debug)]
pub struct VirtualClock {
    base: Instant,
    offset_ns: AtomicU64,
}

impl VirtualClock {
    /// A virtual clock starting at the real current instant.
    pub fn new() -> Self {
        VirtualClock {
            base: Instant::now(),
            offset_ns: AtomicU64::new(0),
        }
    }

    /// Moves the clock forwards by `d`.
    pub fn advance(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.offset_ns.fetch_add(ns, Ordering::AcqRel);
    }

    /// Virtual time elapsed since construction.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.offset_ns.load(Ordering::Acquire))
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        VirtualClock::new()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        self.base + self.elapsed()
    }

    fn sleep_until(&self, deadline: Instant) {
        let target = u64::try_from(deadline.saturating_duration_since(self.base).as_nanos())
            .unwrap_or(u64::MAX);
        self.offset_ns.fetch_max(target, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_never_goes_back() {
        let c = VirtualClock::new();
        let t0 = c.now();
        c.sleep_until(t0 + Duration::from_millis(5));
        c.sleep_until(t0 + Duration::from_millis(2));
        assert_eq!(c.elapsed(), Duration::from_millis(5));
        c.advance(Duration::from_millis(1));
        assert_eq!(c.now() - t0, Duration::from_millis(6));
    }

    #[test]
    fn system_clock_sleeps() {
        let c = SystemClock;
        let t0 = c.now();
        c.sleep_until(t0 + Duration::from_millis(3));
        assert!(c.now() - t0 >= Duration::from_millis(3));
    }
}
