//! Media time: sample-accurate rational timestamps and RTP timestamp unwrapping.

use std::cmp::Ordering;
use std::fmt;
use std::num::NonZeroU32;
use std::ops::{Add, Neg, Sub};
use std::time::Duration;

/// A point (or span) on a media timeline: `ticks / rate` seconds.
///
/// The rate is the time base in ticks per second; for audio it is normally the sample rate, so a
/// `MediaTime` counts samples exactly and never accumulates rounding error. Values at different
/// rates compare and subtract exactly (by cross-multiplication in 128-bit integers); converting to
/// another rate with [`MediaTime::rescale`] rounds to the nearest tick.
///
/// Arithmetic saturates at the ends of the `i64` range instead of wrapping or panicking, so
/// untrusted timestamps can never crash a stage. 32-bit wrapping RTP timestamps are extended to
/// this type with [`RtpTimestampUnwrapper`].
///
/// ```
/// use voxflow_core::MediaTime;
/// let a = MediaTime::new(441, 44_100); // 10 ms
/// let b = MediaTime::new(480, 48_000); // 10 ms
/// assert_eq!(a, b);
/// assert_eq!((a + b).rescale(48_000).ticks(), 960);
/// assert_eq!(MediaTime::from_millis(20).rescale(16_000).ticks(), 320);
/// ```
#[derive(Clone, Copy)]
pub struct MediaTime {
    ticks: i64,
    rate: NonZeroU32,
}

const ONE: NonZeroU32 = NonZeroU32::MIN;

impl MediaTime {
    /// Zero at a 1 Hz time base (equal to zero at any rate).
    pub const ZERO: MediaTime = MediaTime {
        ticks: 0,
        rate: ONE,
    };

    /// `ticks / rate` seconds. A `rate` of 0 is treated as 1 Hz, so the value is never a
    /// division by zero (construct from checked input to avoid relying on this).
    pub const fn new(ticks: i64, rate: u32) -> Self {
        let rate = match NonZeroU32::new(rate) {
            Some(r) => r,
            None => ONE,
        };
        MediaTime { ticks, rate }
    }

    /// A whole number of milliseconds (time base 1000 Hz).
    pub const fn from_millis(ms: i64) -> Self {
        MediaTime::new(ms, 1000)
    }

    /// A `Duration`, at nanosecond precision (saturating above ~292 years).
    pub fn from_duration(d: Duration) -> Self {
        let nanos = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        MediaTime::new(nanos, 1_000_000_000)
    }

    /// The tick count.
    pub const fn ticks(self) -> i64 {
        self.ticks
    }

    /// The time base in ticks per second.
    pub const fn rate(self) -> u32 {
        self.rate.get()
    }

    /// True when this is exactly zero.
    pub const fn is_zero(self) -> bool {
        self.ticks == 0
    }

    /// True when this is before zero.
    pub const fn is_negative(self) -> bool {
        self.ticks < 0
    }

    /// The same instant at another time base, rounded to the nearest tick (halves away from zero).
    /// Exact when `rate` is a multiple of the current rate.
    pub fn rescale(self, rate: u32) -> MediaTime {
        let to = NonZeroU32::new(rate).unwrap_or(ONE);
        if to == self.rate {
            return self;
        }
        let num = i128::from(self.ticks) * i128::from(to.get());
        let den = i128::from(self.rate.get());
        let q = div_round(num, den);
        MediaTime {
            ticks: clamp_i64(q),
            rate: to,
        }
    }

    /// The same instant at another time base, rounded towards negative infinity. Use this to find
    /// the sample that contains an instant.
    pub fn rescale_floor(self, rate: u32) -> MediaTime {
        let to = NonZeroU32::new(rate).unwrap_or(ONE);
        let num = i128::from(self.ticks) * i128::from(to.get());
        let q = num.div_euclid(i128::from(self.rate.get()));
        MediaTime {
            ticks: clamp_i64(q),
            rate: to,
        }
    }

    /// Adds `n` ticks of this value's own time base (e.g. samples), saturating.
    pub const fn add_ticks(self, n: i64) -> MediaTime {
        MediaTime {
            ticks: self.ticks.saturating_add(n),
            rate: self.rate,
        }
    }

    /// Seconds as `f64` (for display and statistics, not for sample arithmetic).
    pub fn as_secs_f64(self) -> f64 {
        self.ticks as f64 / f64::from(self.rate.get())
    }

    /// As a `Duration`, rounded to the nearest nanosecond; `None` when negative.
    pub fn to_duration(self) -> Option<Duration> {
        if self.ticks < 0 {
            return None;
        }
        let ns = self.rescale(1_000_000_000).ticks;
        Some(Duration::from_nanos(u64::try_from(ns).unwrap_or(0)))
    }

    /// Absolute value (saturating at `i64::MAX`).
    pub const fn abs(self) -> MediaTime {
        MediaTime {
            ticks: self.ticks.saturating_abs(),
            rate: self.rate,
        }
    }

    /// Sum at the finer of the two rates' least common multiple when it fits in `u32`, else at the
    /// left-hand rate (rounded). Saturating.
    fn combine(self, rhs: MediaTime, sign: i128) -> MediaTime {
        let (a, b) = (self.rate.get(), rhs.rate.get());
        if a == b {
            let t = i128::from(self.ticks) + sign * i128::from(rhs.ticks);
            return MediaTime {
                ticks: clamp_i64(t),
                rate: self.rate,
            };
        }
        let l = u64::from(a) / gcd(u64::from(a), u64::from(b)) * u64::from(b);
        let out = u32::try_from(l).unwrap_or(a);
        let x = i128::from(self.ticks) * i128::from(out) / i128::from(a);
        let y = div_round(i128::from(rhs.ticks) * i128::from(out), i128::from(b));
        MediaTime::new(clamp_i64(x + sign * y), out)
    }

    fn cmp_exact(&self, other: &MediaTime) -> Ordering {
        let l = i128::from(self.ticks) * i128::from(other.rate.get());
        let r = i128::from(other.ticks) * i128::from(self.rate.get());
        l.cmp(&r)
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

fn div_round(num: i128, den: i128) -> i128 {
    // den > 0 always (a NonZeroU32).
    let half = den / 2;
    if num >= 0 {
        (num + half) / den
    } else {
        -((-num + half) / den)
    }
}

fn clamp_i64(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

impl Default for MediaTime {
    fn default() -> Self {
        MediaTime::ZERO
    }
}

impl PartialEq for MediaTime {
    fn eq(&self, other: &Self) -> bool {
        self.cmp_exact(other) == Ordering::Equal
    }
}
impl Eq for MediaTime {}
impl PartialOrd for MediaTime {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for MediaTime {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_exact(other)
    }
}

impl Add for MediaTime {
    type Output = MediaTime;
    fn add(self, rhs: MediaTime) -> MediaTime {
        self.combine(rhs, 1)
    }
}
impl Sub for MediaTime {
    type Output = MediaTime;
    fn sub(self, rhs: MediaTime) -> MediaTime {
        self.combine(rhs, -1)
    }
}
impl Neg for MediaTime {
    type Output = MediaTime;
    fn neg(self) -> MediaTime {
        MediaTime {
            ticks: self.ticks.saturating_neg(),
            rate: self.rate,
        }
    }
}

impl fmt::Debug for MediaTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}Hz", self.ticks, self.rate)
    }
}
impl fmt::Display for MediaTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6}s", self.as_secs_f64())
    }
}

/// Extends 32-bit RTP timestamps (which wrap every ~24.9 hours at 48 kHz) to a monotonic 64-bit
/// timeline, tolerating reordering of up to half the 32-bit range.
///
/// ```
/// use voxflow_core::RtpTimestampUnwrapper;
/// let mut u = RtpTimestampUnwrapper::new(48_000);
/// assert_eq!(u.unwrap(u32::MAX - 959).ticks(), i64::from(u32::MAX - 959));
/// assert_eq!(u.unwrap(0).ticks(), 1i64 << 32); // wrapped forwards
/// assert_eq!(u.unwrap(u32::MAX).ticks(), (1i64 << 32) - 1); // a late packet from before the wrap
/// ```
#[derive(Clone, Debug)]
pub struct RtpTimestampUnwrapper {
    rate: u32,
    last: Option<i64>,
}

impl RtpTimestampUnwrapper {
    /// An unwrapper for a clock of `rate` Hz (48 000 for Opus).
    pub fn new(rate: u32) -> Self {
        RtpTimestampUnwrapper { rate, last: None }
    }

    /// The extended timestamp of `ts`: the candidate nearest the last one seen.
    pub fn unwrap(&mut self, ts: u32) -> MediaTime {
        let ext = match self.last {
            None => i64::from(ts),
            Some(last) => {
                let delta = ts.wrapping_sub(last as u32) as i32;
                last.saturating_add(i64::from(delta))
            }
        };
        // Only move the reference forwards, so one stray packet cannot drag it back.
        self.last = Some(self.last.map_or(ext, |l| l.max(ext)));
        MediaTime::new(ext, self.rate)
    }

    /// Forgets the history (after a stream reset or SSRC change).
    pub fn reset(&mut self) {
        self.last = None;
    }
}

/// Signed distance from `b` to `a` in 16-bit sequence-number space (RFC 3550 wrap-around):
/// positive when `a` is after `b`.
pub const fn seq_diff(a: u16, b: u16) -> i16 {
    a.wrapping_sub(b) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn compares_across_rates() {
        assert_eq!(MediaTime::new(441, 44_100), MediaTime::new(160, 16_000));
        assert!(MediaTime::new(1, 8_000) > MediaTime::new(5, 48_000));
        assert_eq!(MediaTime::new(7, 0).rate(), 1);
    }

    #[test]
    fn mixed_rate_arithmetic_is_exact_at_lcm() {
        let s = MediaTime::new(1, 44_100) + MediaTime::new(1, 48_000);
        assert_eq!(s.rate(), 7_056_000);
        assert_eq!(s.ticks(), 160 + 147);
        assert_eq!(
            MediaTime::new(48_000, 48_000) - MediaTime::new(44_100, 44_100),
            MediaTime::ZERO
        );
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        let big = MediaTime::new(i64::MAX, 1);
        assert_eq!((big + big).ticks(), i64::MAX);
        assert_eq!((-big - big).ticks(), i64::MIN);
        assert_eq!(big.rescale(192_000).ticks(), i64::MAX);
        assert_eq!(MediaTime::new(i64::MIN, 3).abs().ticks(), i64::MAX);
    }

    #[test]
    fn durations_round_trip() {
        let d = Duration::from_millis(1234);
        assert_eq!(MediaTime::from_duration(d).to_duration(), Some(d));
        assert_eq!(MediaTime::new(-1, 10).to_duration(), None);
    }

    #[test]
    fn floor_rescale_finds_containing_sample() {
        assert_eq!(MediaTime::new(-1, 48_000).rescale_floor(8_000).ticks(), -1);
        assert_eq!(MediaTime::new(5, 48_000).rescale_floor(8_000).ticks(), 0);
        assert_eq!(MediaTime::new(6, 48_000).rescale_floor(8_000).ticks(), 1);
    }

    #[test]
    fn seq_diff_wraps() {
        assert_eq!(seq_diff(2, 65_534), 4);
        assert_eq!(seq_diff(65_534, 2), -4);
    }

    proptest! {
        #[test]
        fn rescale_round_trip_within_half_tick(t in -1_000_000_000i64..1_000_000_000, a in 1u32..200_000, b in 1u32..200_000) {
            let x = MediaTime::new(t, a);
            let y = x.rescale(b);
            // |y - x| <= half a tick of b
            let err = (y - x).abs();
            prop_assert!(err <= MediaTime::new(1, b.saturating_mul(2)));
        }

        #[test]
        fn unwrapper_is_monotonic_for_in_order_streams(start in any::<u32>(), steps in proptest::collection::vec(0u32..100_000, 1..200)) {
            let mut u = RtpTimestampUnwrapper::new(48_000);
            let mut ts = start;
            let mut prev = u.unwrap(ts).ticks();
            let mut expect = prev;
            for s in steps {
                ts = ts.wrapping_add(s);
                expect += i64::from(s);
                let e = u.unwrap(ts).ticks();
                prop_assert!(e >= prev);
                prop_assert_eq!(e, expect);
                prev = e;
            }
        }

        #[test]
        fn ordering_matches_float(t1 in -1_000_000i64..1_000_000, r1 in 1u32..100_000, t2 in -1_000_000i64..1_000_000, r2 in 1u32..100_000) {
            let (a, b) = (MediaTime::new(t1, r1), MediaTime::new(t2, r2));
            let (fa, fb) = (a.as_secs_f64(), b.as_secs_f64());
            if (fa - fb).abs() > 1e-9 {
                prop_assert_eq!(a < b, fa < fb);
            }
        }
    }
}
