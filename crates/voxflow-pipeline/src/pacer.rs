//! Real-time pacing, sans-IO: the pacer says when the source may be read next; whoever drives
//! the chain decides how to wait (a thread sleeps, a scheduler sets a timer).

use std::time::{Duration, Instant};

use voxflow_core::MediaTime;

/// How fast the source is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pacing {
    /// Read as fast as the slowest element (or a [`Overflow::Block`](crate::Overflow::Block)
    /// ring) allows: files, batch jobs, tests.
    #[default]
    AsFastAsPossible,
    /// Read in real time: the source never runs more than `lead` ahead of wall time measured
    /// from the first frame (frame pts against elapsed time). Use it when streaming to a network
    /// peer. `lead` should be at least one frame.
    RealTime {
        /// How far ahead of wall time the source may run.
        lead: Duration,
    },
}

/// Pacing state of one source.
#[derive(Debug)]
pub(crate) struct Pacer {
    lead: Option<Duration>,
    /// Instant and pts of the first item.
    start: Option<(Instant, MediaTime)>,
    /// Expected end of the next item (end of the last + its duration).
    next_end: MediaTime,
}

impl Pacer {
    pub(crate) fn new(p: Pacing) -> Self {
        Pacer {
            lead: match p {
                Pacing::AsFastAsPossible => None,
                Pacing::RealTime { lead } => Some(lead),
            },
            start: None,
            next_end: MediaTime::ZERO,
        }
    }

    /// The instant from which the next item may be read, or `None` when it may be read now
    /// (unpaced, or not started yet). Reading at or after the deadline keeps the source within
    /// `lead` of wall time.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let (Some(lead), Some((t0, p0))) = (self.lead, self.start) else {
            return None;
        };
        let ahead = (self.next_end - p0).to_duration().unwrap_or(Duration::ZERO);
        ahead.checked_sub(lead).map(|wait| t0 + wait)
    }

    /// Records an item of `pts .. end` read at `now`.
    pub(crate) fn item_read(&mut self, pts: MediaTime, end: MediaTime, now: Instant) {
        if self.lead.is_none() {
            return;
        }
        if self.start.is_none() {
            self.start = Some((now, pts));
        }
        self.next_end = end + (end - pts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_keeps_the_source_within_lead() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Pacing::RealTime {
            lead: Duration::from_millis(40),
        });
        assert_eq!(p.deadline(), None, "the first item is read at once");
        let ms = MediaTime::from_millis;
        p.item_read(ms(0), ms(20), t0);
        // Next item ends at 40 ms: within the 40 ms lead, readable now.
        assert_eq!(p.deadline(), Some(t0));
        p.item_read(ms(20), ms(40), t0);
        p.item_read(ms(40), ms(60), t0);
        // Next ends at 80 ms: 40 ms past the lead.
        assert_eq!(p.deadline(), Some(t0 + Duration::from_millis(40)));
        let free = Pacer::new(Pacing::AsFastAsPossible);
        assert_eq!(free.deadline(), None);
    }
}
