//! A fixed-size log-linear latency histogram.

use std::fmt;
use std::time::Duration;

/// Sub-buckets per power of two: relative bucket width 1/64 (1.6 %), so a reported percentile
/// (the bucket's midpoint) is within 0.8 % of a recorded value.
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Values below this are counted exactly (one bucket per nanosecond).
const LINEAR: u64 = 2 * SUB;
/// Largest recordable value (~34 s); larger values are clamped into the last bucket (and still
/// reported exactly by [`Histogram::max`]).
const MAX_NS: u64 = (1 << 35) - 1;
/// Number of buckets: the linear part plus 64 per octave from 2^7 to 2^34.
pub(crate) const BUCKETS: usize = (LINEAR + (35 - 7) * SUB) as usize;

/// A latency histogram with fixed, log-linear buckets (HDR-like): exact below 128 ns, then 64
/// buckets per power of two up to ~34 s, so percentiles have ~1.6 % resolution over the whole
/// range from 1 µs to 10 s.
///
/// The bucket array (1 920 counters, 15 KiB) is allocated once by [`new`](Self::new);
/// [`record`](Self::record) never allocates, locks or fails.
///
/// ```
/// use std::time::Duration;
/// use voxflow_pipeline::Histogram;
/// let mut h = Histogram::new();
/// for us in 1..=1000 {
///     h.record(Duration::from_micros(us));
/// }
/// let p50 = h.percentile(0.5).as_micros();
/// assert!((495..=505).contains(&p50));
/// assert_eq!(h.max(), Duration::from_micros(1000));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: Box<[u64]>,
    count: u64,
    sum_ns: u64,
    min_ns: u64,
    max_ns: u64,
}

fn bucket_of(ns: u64) -> usize {
    let v = ns.min(MAX_NS);
    if v < LINEAR {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // >= 7
    let top = v >> (e - SUB_BITS); // in [64, 128)
    (LINEAR + u64::from(e - 7) * SUB + (top - SUB)) as usize
}

/// Lowest value and width of bucket `i`.
fn bucket_range(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < LINEAR {
        return (i, 1);
    }
    let g = (i - LINEAR) / SUB;
    let e = g + 7;
    let top = SUB + (i - LINEAR) % SUB;
    let shift = e - u64::from(SUB_BITS);
    (top << shift, 1 << shift)
}

impl Histogram {
    /// An empty histogram. Allocates its bucket array (15 KiB): do it before the real-time loop.
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            count: 0,
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
        }
    }

    /// Records one value. Never allocates.
    pub fn record(&mut self, d: Duration) {
        self.record_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Records one value given in nanoseconds. Never allocates.
    pub fn record_nanos(&mut self, ns: u64) {
        self.counts[bucket_of(ns)] += 1;
        self.count += 1;
        self.sum_ns = self.sum_ns.saturating_add(ns);
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Smallest recorded value (exact); zero when empty.
    pub fn min(&self) -> Duration {
        if self.count == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(self.min_ns)
        }
    }

    /// Largest recorded value (exact); zero when empty.
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max_ns)
    }

    /// Arithmetic mean (exact up to saturation); zero when empty.
    pub fn mean(&self) -> Duration {
        Duration::from_nanos(self.sum_ns.checked_div(self.count).unwrap_or(0))
    }

    /// The value below or at which a fraction `q` (0.0..=1.0, clamped) of the recorded values
    /// lie: the midpoint of the bucket holding that rank, clamped to the exact min and max.
    /// Zero when empty.
    pub fn percentile(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let q = if q.is_nan() { 1.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (low, width) = bucket_range(i);
                let mid = low + width / 2;
                return Duration::from_nanos(mid.clamp(self.min_ns, self.max_ns));
            }
        }
        self.max()
    }

    /// Forgets all values. Never allocates.
    pub fn clear(&mut self) {
        self.counts.fill(0);
        self.count = 0;
        self.sum_ns = 0;
        self.min_ns = u64::MAX;
        self.max_ns = 0;
    }

    /// Makes `self` equal to `other` without allocating.
    pub fn copy_from(&mut self, other: &Histogram) {
        self.counts.copy_from_slice(&other.counts);
        self.count = other.count;
        self.sum_ns = other.sum_ns;
        self.min_ns = other.min_ns;
        self.max_ns = other.max_ns;
    }

    /// Adds all of `other`'s values to `self`. Never allocates.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.count += other.count;
        self.sum_ns = self.sum_ns.saturating_add(other.sum_ns);
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count)
            .field("p50", &self.percentile(0.5))
            .field("p99", &self.percentile(0.99))
            .field("max", &self.max())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn buckets_are_contiguous_and_ordered() {
        let mut prev_end = 0u64;
        for i in 0..BUCKETS {
            let (low, width) = bucket_range(i);
            assert_eq!(low, prev_end, "bucket {i}");
            assert_eq!(bucket_of(low), i);
            assert_eq!(bucket_of(low + width - 1), i);
            prev_end = low + width;
        }
        assert_eq!(prev_end, MAX_NS + 1);
    }

    #[test]
    fn known_durations_give_known_percentiles() {
        // 1 µs .. 10 ms uniform, plus the extremes of the promised range.
        let mut h = Histogram::new();
        for us in 1..=10_000u64 {
            h.record(Duration::from_micros(us));
        }
        let within = |got: Duration, want_us: f64| {
            let g = got.as_nanos() as f64 / 1000.0;
            assert!(
                (g - want_us).abs() <= want_us * 0.016,
                "got {g} µs, want {want_us} µs"
            );
        };
        within(h.percentile(0.5), 5000.0);
        within(h.percentile(0.95), 9500.0);
        within(h.percentile(0.99), 9900.0);
        assert_eq!(h.max(), Duration::from_millis(10));
        assert_eq!(h.min(), Duration::from_micros(1));
        assert_eq!(h.count(), 10_000);
        within(h.mean(), 5000.5);

        let mut big = Histogram::new();
        big.record(Duration::from_secs(10));
        within(big.percentile(0.5), 10_000_000.0);
    }

    #[test]
    fn empty_and_bimodal() {
        let h = Histogram::new();
        assert_eq!(h.percentile(0.99), Duration::ZERO);
        let mut h = Histogram::new();
        for _ in 0..90 {
            h.record(Duration::from_micros(100));
        }
        for _ in 0..10 {
            h.record(Duration::from_millis(20));
        }
        // Both sides: the reported percentile is its bucket's midpoint, within 0.8 % (1/128)
        // of the recorded 100 µs (the bucket there is 1 024 ns wide).
        for q in [0.5, 0.9] {
            let p = h.percentile(q).as_nanos() as f64;
            assert!((p - 100_000.0).abs() <= 100_000.0 / 128.0, "p{q}: {p} ns");
        }
        assert!(h.percentile(0.91) > Duration::from_millis(19));
        let mut m = Histogram::new();
        m.merge(&h);
        m.merge(&h);
        assert_eq!(m.count(), 200);
        let mut c = Histogram::new();
        c.copy_from(&h);
        assert_eq!(c, h);
        c.clear();
        assert!(c.is_empty());
    }

    proptest! {
        #[test]
        fn percentile_is_within_resolution(ns in 1_000u64..10_000_000_000) {
            let mut h = Histogram::new();
            // Neighbours below and above, so the exact min/max clamp does not help.
            h.record_nanos(1);
            h.record_nanos(ns);
            h.record_nanos(MAX_NS);
            let p = h.percentile(0.5).as_nanos() as f64;
            prop_assert!((p - ns as f64).abs() <= ns as f64 / 64.0);
        }
    }
}
