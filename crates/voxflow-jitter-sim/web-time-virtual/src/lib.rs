//! A virtual-clock stand-in for the `web-time` crate (version 1.1.0), for the voxflow jitter
//! simulator.
//!
//! On native targets the real crate re-exports `std::time`. This one re-exports everything of
//! `std::time` except [`Instant`], which is replaced by a virtual instant: [`Instant::now`] returns
//! a per-thread virtual time that the simulator sets with [`set_virtual_now`] before each call
//! into the code under test. Virtual time starts at zero on every thread and never moves unless
//! set. The API of [`Instant`] is that of `std::time::Instant` (now, elapsed, duration_since and
//! its checked/saturating forms, checked_add/checked_sub, `+`/`-`/`+=`/`-=` with a `Duration`, and
//! `Instant - Instant`).
//!
//! It is wired in with `[patch.crates-io] web-time = { path = ... }` in the workspace root, which
//! replaces `web-time` for every crate of the build: only crates that depend on `web-time` in the
//! build are affected (in the voxflow workspace, the optional `neteq` dependency of
//! `voxflow-jitter-sim`; indicatif's optional `web-time` is wasm-only).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::cell::Cell;
use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};

pub use std::time::{Duration, SystemTime, SystemTimeError, TryFromFloatSecsError, UNIX_EPOCH};

thread_local! {
    static NOW: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// Sets this thread's virtual time (a duration since the virtual epoch). Later calls to
/// [`Instant::now`] on this thread return it until it is set again.
pub fn set_virtual_now(since_epoch: Duration) {
    NOW.with(|n| n.set(since_epoch));
}

/// This thread's virtual time as a duration since the virtual epoch.
pub fn virtual_now() -> Duration {
    NOW.with(Cell::get)
}

/// A point on this thread's virtual clock: a duration since the virtual epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The thread's current virtual time (see [`set_virtual_now`]).
    pub fn now() -> Self {
        Instant(virtual_now())
    }

    /// The virtual instant `since_epoch` after the virtual epoch.
    pub fn from_virtual(since_epoch: Duration) -> Self {
        Instant(since_epoch)
    }

    /// This instant as a duration since the virtual epoch.
    pub fn as_virtual(&self) -> Duration {
        self.0
    }

    /// Time from `earlier` to `self`, zero when `earlier` is later (as `std` does since 1.60).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }

    /// Time from `earlier` to `self`, `None` when `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_sub(earlier.0)
    }

    /// Time from `earlier` to `self`, zero when `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// Virtual time passed since `self`.
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + duration`, `None` on overflow.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_add(duration).map(Instant)
    }

    /// `self - duration`, `None` before the virtual epoch.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_sub(duration).map(Instant)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant(virtual {:?})", self.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Panics on overflow, as `std::time::Instant` does.
    fn add(self, rhs: Duration) -> Instant {
        match self.checked_add(rhs) {
            Some(t) => t,
            None => panic!("overflow when adding duration to instant"),
        }
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// Panics before the virtual epoch, as `std::time::Instant` does before its origin.
    fn sub(self, rhs: Duration) -> Instant {
        match self.checked_sub(rhs) {
            Some(t) => t,
            None => panic!("overflow when subtracting duration from instant"),
        }
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.duration_since(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_follows_the_virtual_clock_per_thread() {
        set_virtual_now(Duration::from_millis(30));
        let a = Instant::now();
        set_virtual_now(Duration::from_millis(75));
        assert_eq!(a.elapsed(), Duration::from_millis(45));
        assert_eq!(Instant::now() - a, Duration::from_millis(45));
        assert_eq!(a.duration_since(Instant::now()), Duration::ZERO);
        assert_eq!(a.checked_duration_since(Instant::now()), None);
        assert_eq!(a + Duration::from_millis(45), Instant::now());
        let other = std::thread::spawn(|| Instant::now().as_virtual())
            .join()
            .ok();
        assert_eq!(other, Some(Duration::ZERO));
    }
}
