//! Where decoded audio sits in time: packet timestamps in sample frames, the output origin,
//! gapless lead trimming (Opus pre-skip), lost-packet gaps and the seek target with its
//! pre-roll.

use symphonia::core::packet::Packet;
use symphonia::core::units::TimeBase;

/// The decoder's position bookkeeping. Positions are in sample frames at the output rate:
/// "packet timeline" positions come from packet timestamps, "output" positions count from the
/// first sample delivered (after the lead trim).
#[derive(Debug)]
pub(crate) struct Timeline {
    time_base: Option<TimeBase>,
    /// The output rate once known (else the container's), at least 1.
    rate: u32,
    /// Packet timestamps include the codec's trims (gapless decoding).
    gapless: bool,
    /// Output sample index of the next sample to deliver.
    pub next_pts: i64,
    /// Packet-timeline position of output sample 0.
    pub origin: Option<i64>,
    /// Packet-timeline position of the first decoded packet (before any lead trim).
    pub first_start: Option<i64>,
    /// Decoded sample frames still to drop at the start of the stream (Opus pre-skip; other
    /// codecs trim their own delay).
    pub lead_skip: usize,
    /// Sample frames to decode and discard before a seek target (Opus: 80 ms; 0 otherwise).
    pub seek_preroll: i64,
    /// After a seek: output sample index where output must resume.
    pub seek_target: Option<i64>,
    /// Packet-timeline position where the next packet should start, to detect packets the
    /// demuxer dropped (e.g. a FLAC frame failing its CRC).
    pub expected_start: Option<i64>,
}

impl Timeline {
    pub(crate) fn new(
        time_base: Option<TimeBase>,
        rate: u32,
        gapless: bool,
        lead_skip: usize,
        seek_preroll: i64,
    ) -> Self {
        Timeline {
            time_base,
            rate: rate.max(1),
            gapless,
            next_pts: 0,
            origin: None,
            first_start: None,
            lead_skip,
            seek_preroll,
            seek_target: None,
            expected_start: None,
        }
    }

    /// The output rate is now known.
    pub(crate) fn set_rate(&mut self, rate: u32) {
        self.rate = rate.max(1);
    }

    /// True when packet timestamps are sample frames already.
    fn is_sample_clock(&self, tb: TimeBase) -> bool {
        tb.numer.get() == 1 && tb.denom.get() == self.rate
    }

    /// Packet-timeline position (sample frames) of the first sample the codec will output for
    /// `p` (after its trimming).
    pub(crate) fn packet_start(&self, p: &Packet) -> i64 {
        let trim = if self.gapless {
            i64::try_from(p.trim_start.get()).unwrap_or(i64::MAX)
        } else {
            0
        };
        self.ts_to_frames(p.pts.get())
            .saturating_add(self.ts_to_frames(trim))
    }

    /// A timestamp (or duration) in time-base ticks, in sample frames (rounded).
    pub(crate) fn ts_to_frames(&self, ts: i64) -> i64 {
        match self.time_base {
            Some(tb) if self.is_sample_clock(tb) => ts,
            Some(tb) => {
                let num = i128::from(ts) * i128::from(tb.numer.get()) * i128::from(self.rate);
                let den = i128::from(tb.denom.get());
                let q = (num + den / 2).div_euclid(den);
                q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
            }
            None => ts,
        }
    }

    /// Sample frames in time-base ticks (rounded down).
    pub(crate) fn frames_to_ts(&self, frames: i64) -> i64 {
        match self.time_base {
            Some(tb) if self.is_sample_clock(tb) => frames,
            Some(tb) => {
                let num = i128::from(frames) * i128::from(tb.denom.get());
                let den = i128::from(tb.numer.get()) * i128::from(self.rate);
                num.div_euclid(den.max(1))
                    .clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
            }
            None => frames,
        }
    }

    /// Largest forward jump of packet pts not counted as lost packets: exact for sample-rate
    /// time bases, one time-base tick (plus one sample) for coarser ones (MKV milliseconds).
    pub(crate) fn gap_tolerance(&self) -> i64 {
        match self.time_base {
            Some(tb) if self.is_sample_clock(tb) => 0,
            Some(_) => self.ts_to_frames(1).saturating_add(1),
            None => i64::MAX,
        }
    }

    /// The lost stretch before a packet starting at `start`, when the previous one ended at
    /// `expected` and no seek is under way: `Some(frames)` past the tolerance.
    pub(crate) fn gap(&self, start: i64, expected: Option<i64>) -> Option<i64> {
        let exp = expected.filter(|_| self.seek_target.is_none())?;
        let gap = start.saturating_sub(exp);
        (gap > self.gap_tolerance()).then_some(gap)
    }

    /// How many of the `frames` just decoded fall in the stream's lead trim (Opus pre-skip),
    /// counting them off.
    pub(crate) fn take_lead(&mut self, frames: usize) -> usize {
        let n = self.lead_skip.min(frames);
        self.lead_skip -= n;
        n
    }

    /// After a seek: how many leading frames of `frames` decoded ones starting at output
    /// position `pos` to drop to reach the seek target (clearing the target once reached), or
    /// `None` when all of them lie before it. `Some(0)` without a seek target.
    pub(crate) fn seek_skip(&mut self, pos: i64, frames: usize) -> Option<usize> {
        let Some(target) = self.seek_target else {
            return Some(0);
        };
        let end = pos.saturating_add(frames as i64);
        if end <= target {
            return None;
        }
        self.seek_target = None;
        self.next_pts = pos.max(target);
        Some(usize::try_from(target.saturating_sub(pos)).unwrap_or(0))
    }

    /// Where a demuxer seek for output position `target` must land: the pre-roll before it,
    /// never before the first packet.
    pub(crate) fn seek_from(&self, target: i64) -> i64 {
        target
            .saturating_add(self.origin.unwrap_or(0))
            .saturating_sub(self.seek_preroll)
            .max(self.first_start.unwrap_or(i64::MIN))
    }

    /// Positions reset for a seek to output position `target`.
    pub(crate) fn start_seek(&mut self, target: i64) {
        self.next_pts = target;
        self.seek_target = Some(target);
        // The seek target (never before output sample 0) drops the lead trim now.
        self.lead_skip = 0;
        self.expected_start = None;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn millisecond_time_base_rounds_and_tolerates_one_tick() {
        let tb = TimeBase::try_new(1, 1000);
        let t = Timeline::new(tb, 48_000, true, 0, 0);
        assert_eq!(t.ts_to_frames(20), 960);
        assert_eq!(t.frames_to_ts(959), 19);
        assert_eq!(t.gap_tolerance(), 49);
        let s = Timeline::new(TimeBase::try_new(1, 48_000), 48_000, true, 0, 0);
        assert_eq!(
            (s.ts_to_frames(77), s.frames_to_ts(77), s.gap_tolerance()),
            (77, 77, 0)
        );
        assert_eq!(s.gap(1_000, Some(960)), Some(40));
        assert_eq!(s.gap(960, Some(960)), None);
    }

    #[test]
    fn seek_skip_drops_up_to_the_target_once() {
        let mut t = Timeline::new(None, 48_000, true, 300, 3_840);
        assert_eq!(t.take_lead(200), 200);
        assert_eq!(t.take_lead(200), 100);
        t.origin = Some(1_000);
        t.first_start = Some(0);
        assert_eq!(t.seek_from(10_000), 10_000 + 1_000 - 3_840);
        assert_eq!(t.seek_from(100), 0);
        t.start_seek(5_000);
        assert_eq!(t.seek_skip(3_000, 960), None);
        assert_eq!(t.seek_skip(4_500, 960), Some(500));
        assert_eq!((t.seek_target, t.next_pts), (None, 5_000));
        assert_eq!(t.seek_skip(5_460, 960), Some(0));
    }
}
