//! Sequence numbers: unwrapping the 16-bit field and remembering which ones arrived.

/// How many sequence numbers behind the highest one duplicates are recognised.
pub(crate) const WINDOW: i64 = 1024;

/// Extends 16-bit sequence numbers and detects duplicates within [`WINDOW`] of the highest seen,
/// in fixed memory.
#[derive(Clone, Debug)]
pub(crate) struct SeqTracker {
    highest: Option<i64>,
    first: i64,
    bits: [u64; (WINDOW / 64) as usize],
}

impl SeqTracker {
    pub(crate) fn new() -> Self {
        SeqTracker {
            highest: None,
            first: 0,
            bits: [0; (WINDOW / 64) as usize],
        }
    }

    /// The extended form of `seq16`: the candidate nearest the highest seen.
    pub(crate) fn extend(&self, seq16: u16) -> i64 {
        match self.highest {
            None => i64::from(seq16),
            Some(h) => h + i64::from(seq16.wrapping_sub(h as u16) as i16),
        }
    }

    /// Records `seq` (extended); returns false when it was already recorded (a duplicate).
    /// Sequence numbers more than [`WINDOW`] behind the highest cannot be checked and count as
    /// new.
    pub(crate) fn record(&mut self, seq: i64) -> bool {
        let Some(h) = self.highest else {
            self.highest = Some(seq);
            self.first = seq;
            self.set(seq);
            return true;
        };
        if seq > h {
            // Clear the bits of the numbers the window slides over.
            let steps = (seq - h).min(WINDOW);
            for k in 1..=steps {
                self.clear(h + k);
            }
            self.highest = Some(seq);
            self.set(seq);
            return true;
        }
        if h - seq >= WINDOW {
            return true;
        }
        if self.get(seq) {
            return false;
        }
        self.set(seq);
        // A packet from before the first one received (reordered at the start): the stream
        // began earlier, as libwebrtc's receive statistics also assume.
        self.first = self.first.min(seq);
        true
    }

    /// Packets expected so far (RFC 3550): highest − lowest + 1, 0 before any.
    pub(crate) fn expected(&self) -> i64 {
        self.highest.map_or(0, |h| h - self.first + 1)
    }

    fn idx(seq: i64) -> (usize, u64) {
        let i = seq.rem_euclid(WINDOW);
        ((i / 64) as usize, 1u64 << (i % 64))
    }

    fn set(&mut self, seq: i64) {
        let (w, b) = Self::idx(seq);
        self.bits[w] |= b;
    }

    fn clear(&mut self, seq: i64) {
        let (w, b) = Self::idx(seq);
        self.bits[w] &= !b;
    }

    fn get(&self, seq: i64) -> bool {
        let (w, b) = Self::idx(seq);
        self.bits[w] & b != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwraps_and_finds_duplicates_across_the_wrap() {
        let mut t = SeqTracker::new();
        let mut got = vec![];
        for s in [65_534u16, 65_535, 0, 65_535, 1, 0] {
            let e = t.extend(s);
            got.push((e, t.record(e)));
        }
        assert_eq!(
            got,
            [
                (65_534, true),
                (65_535, true),
                (65_536, true),
                (65_535, false),
                (65_537, true),
                (65_536, false)
            ]
        );
        assert_eq!(t.expected(), 4);
    }

    #[test]
    fn window_slides() {
        let mut t = SeqTracker::new();
        assert!(t.record(0));
        assert!(t.record(2_000)); // far ahead: the window moves
        assert!(t.record(1_999));
        assert!(!t.record(1_999));
        assert!(t.record(0)); // out of the window: cannot tell, counts as new
    }
}
