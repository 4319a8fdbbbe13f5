//! Decoded audio waiting to be played, with what each stretch of it is (decoded, concealed, …)
//! and when its packet arrived, so the counters attribute every played sample exactly.

use std::collections::VecDeque;
use std::time::Instant;

/// What a run of samples in the sync buffer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Decoded from a packet that arrived (time-stretched or not).
    Decoded,
    /// Recovered from the FEC of the next packet.
    Fec,
    /// Packet loss concealment.
    Conceal,
    /// Fill of a DTX gap (comfort noise or silence).
    Dtx,
}

impl Kind {
    pub(crate) fn concealed(self) -> bool {
        matches!(self, Kind::Conceal | Kind::Dtx)
    }
}

/// A run of samples of one kind (and one packet's arrival).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment {
    pub frames: usize,
    pub kind: Kind,
    pub arrival: Option<Instant>,
}

/// Per-pull tally of what was taken out of the sync buffer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Taken {
    /// Sample frames from packets (decoded or FEC).
    pub emitted: u64,
    /// Of `emitted`, recovered by FEC.
    pub fec: u64,
    /// Sum over emitted sample frames of (now − arrival), in seconds.
    pub delay_secs: f64,
    pub concealed: u64,
    pub silent: u64,
    /// Runs of concealment that started after a non-concealed sample.
    pub events: u64,
    pub any_fec: bool,
}

/// Interleaved samples in one contiguous buffer (compacted when the tail would not fit) plus the
/// segment list. Capacity is fixed at construction; nothing allocates afterwards.
pub(crate) struct SyncBuffer {
    channels: usize,
    buf: Vec<f32>,
    start: usize,
    end: usize,
    segments: VecDeque<Segment>,
    /// Whether the last sample taken out was concealed (for concealment events).
    last_concealed: Option<bool>,
}

impl SyncBuffer {
    pub(crate) fn new(channels: usize, max_frames: usize) -> Self {
        SyncBuffer {
            channels,
            buf: vec![0.0; max_frames * channels],
            start: 0,
            end: 0,
            segments: VecDeque::with_capacity(256),
            last_concealed: None,
        }
    }

    /// Sample frames held.
    pub(crate) fn frames(&self) -> usize {
        (self.end - self.start) / self.channels
    }

    /// Sample frames that can still be appended.
    pub(crate) fn room(&self) -> usize {
        (self.buf.len() - (self.end - self.start)) / self.channels
    }

    pub(crate) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
        self.segments.clear();
    }

    /// Forget whether the last played sample was concealed (a new stream starts).
    pub(crate) fn forget_history(&mut self) {
        self.last_concealed = None;
    }

    /// Appends interleaved `samples` of `kind`; returns the sample frames appended (fewer than
    /// given only when the buffer is full, which the caller's sizing rules out).
    pub(crate) fn push(&mut self, samples: &[f32], kind: Kind, arrival: Option<Instant>) -> usize {
        let frames = (samples.len() / self.channels).min(self.room());
        if frames == 0 {
            return 0;
        }
        let n = frames * self.channels;
        self.make_room(n);
        self.buf[self.end..self.end + n].copy_from_slice(&samples[..n]);
        self.end += n;
        self.push_segment(frames, kind, arrival);
        frames
    }

    /// Appends `frames` sample frames of silence of `kind`.
    pub(crate) fn push_silence(&mut self, frames: usize, kind: Kind) -> usize {
        let frames = frames.min(self.room());
        if frames == 0 {
            return 0;
        }
        let n = frames * self.channels;
        self.make_room(n);
        self.buf[self.end..self.end + n].fill(0.0);
        self.end += n;
        self.push_segment(frames, kind, None);
        frames
    }

    /// Moves the held samples to the front when `n` more would not fit after them (the caller
    /// checked `room`).
    fn make_room(&mut self, n: usize) {
        if self.end + n > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    fn push_segment(&mut self, frames: usize, kind: Kind, arrival: Option<Instant>) {
        if let Some(last) = self.segments.back_mut() {
            if last.kind == kind && last.arrival == arrival {
                last.frames += frames;
                return;
            }
        }
        if self.segments.len() == self.segments.capacity() {
            // Cannot happen with the sizes the buffer uses (a segment holds at least 2.5 ms and
            // the buffer far less than 256 × 2.5 ms); merge into the last rather than allocate.
            if let Some(last) = self.segments.back_mut() {
                last.frames += frames;
            }
            return;
        }
        self.segments.push_back(Segment {
            frames,
            kind,
            arrival,
        });
    }

    /// The leading run of decoded audio (the only kind the stretcher touches, possibly from
    /// several packets), at most `max` sample frames, as interleaved samples.
    pub(crate) fn decoded_head(&self, max: usize) -> &[f32] {
        let mut frames = 0;
        for s in &self.segments {
            if s.kind != Kind::Decoded || frames >= max {
                break;
            }
            frames += s.frames;
        }
        let frames = frames.min(max);
        &self.buf[self.start..self.start + frames * self.channels]
    }

    /// Replaces the first `old_frames` sample frames (all inside the leading decoded run) with
    /// `new` (interleaved). The caller has checked there is room for any growth.
    pub(crate) fn replace_head(&mut self, old_frames: usize, new: &[f32]) {
        let ch = self.channels;
        let new_frames = new.len() / ch;
        let old = old_frames * ch;
        let newn = new_frames * ch;
        if newn <= old {
            // Shrinks: write the new head so that it ends where the old one did.
            let at = self.start + old - newn;
            self.buf[at..at + newn].copy_from_slice(&new[..newn]);
            self.start = at;
        } else {
            let grow = newn - old;
            if self.start >= grow {
                let at = self.start - grow;
                self.buf[at..at + newn].copy_from_slice(&new[..newn]);
                self.start = at;
            } else {
                // Move the tail right to make room.
                let tail_from = self.start + old;
                let tail_len = self.end - tail_from;
                let dst = self.start + newn;
                self.buf.copy_within(tail_from..tail_from + tail_len, dst);
                self.buf[self.start..self.start + newn].copy_from_slice(&new[..newn]);
                self.end = dst + tail_len;
            }
        }
        if new_frames >= old_frames {
            if let Some(s) = self.segments.front_mut() {
                s.frames += new_frames - old_frames;
            }
        } else {
            // Take the removed frames from the leading segments (all decoded).
            let mut cut = old_frames - new_frames;
            while cut > 0 {
                let Some(s) = self.segments.front_mut() else {
                    break;
                };
                let k = s.frames.min(cut);
                s.frames -= k;
                cut -= k;
                if s.frames == 0 {
                    self.segments.pop_front();
                }
            }
        }
    }

    /// Moves `frames` sample frames into `out` (interleaved) and tallies them against `now`.
    pub(crate) fn take(&mut self, frames: usize, out: &mut [f32], now: Instant) -> Taken {
        let ch = self.channels;
        let frames = frames.min(self.frames()).min(out.len() / ch);
        let n = frames * ch;
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        let mut t = Taken::default();
        let mut left = frames;
        while left > 0 {
            let Some(seg) = self.segments.front_mut() else {
                break;
            };
            let k = seg.frames.min(left);
            let concealed = seg.kind.concealed();
            if concealed {
                t.concealed += k as u64;
                if seg.kind == Kind::Dtx {
                    t.silent += k as u64;
                }
                if self.last_concealed == Some(false) {
                    t.events += 1;
                }
            } else {
                t.emitted += k as u64;
                if seg.kind == Kind::Fec {
                    t.fec += k as u64;
                    t.any_fec = true;
                }
                if let Some(a) = seg.arrival {
                    t.delay_secs += now.saturating_duration_since(a).as_secs_f64() * k as f64;
                }
            }
            self.last_concealed = Some(concealed);
            seg.frames -= k;
            left -= k;
            if seg.frames == 0 {
                self.segments.pop_front();
            }
        }
        t
    }

    /// What the next `frames` sample frames are: how many are concealment, how many of those
    /// DTX fill, and whether any came from FEC.
    pub(crate) fn kinds_ahead(&self, frames: usize) -> Ahead {
        let mut a = Ahead::default();
        let mut left = frames;
        for s in &self.segments {
            if left == 0 {
                break;
            }
            let k = s.frames.min(left);
            match s.kind {
                Kind::Conceal => a.concealed += k,
                Kind::Dtx => {
                    a.concealed += k;
                    a.dtx += k;
                }
                Kind::Fec => a.fec = true,
                Kind::Decoded => {}
            }
            left -= k;
        }
        a
    }
}

/// See [`SyncBuffer::kinds_ahead`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ahead {
    pub concealed: usize,
    pub dtx: usize,
    pub fec: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_attributes_kinds_and_delay() {
        let t0 = Instant::now();
        let mut s = SyncBuffer::new(1, 100);
        s.push(&[1.0; 20], Kind::Decoded, Some(t0));
        s.push_silence(10, Kind::Conceal);
        s.push(&[2.0; 10], Kind::Fec, Some(t0));
        let mut out = [0.0; 40];
        let later = t0 + std::time::Duration::from_millis(10);
        let t = s.take(40, &mut out, later);
        assert_eq!((t.emitted, t.concealed, t.fec, t.events), (30, 10, 10, 1));
        assert!((t.delay_secs - 30.0 * 0.010).abs() < 1e-9);
        assert_eq!(&out[..20], &[1.0; 20]);
        assert_eq!(&out[20..30], &[0.0; 10]);
        assert_eq!(&out[30..], &[2.0; 10]);
    }

    #[test]
    fn replace_head_shrinks_and_grows() {
        let mut s = SyncBuffer::new(1, 64);
        let a: Vec<f32> = (0..30).map(|i| i as f32).collect();
        s.push(&a, Kind::Decoded, None);
        s.push_silence(5, Kind::Conceal);
        s.replace_head(20, &[9.0; 15]);
        assert_eq!(s.frames(), 30);
        s.replace_head(15, &[7.0; 25]);
        assert_eq!(s.frames(), 40);
        let mut out = [0.0; 40];
        let t = s.take(40, &mut out, Instant::now());
        assert_eq!(&out[..25], &[7.0; 25]);
        assert_eq!(out[25], 20.0);
        assert_eq!(out[34], 29.0);
        assert_eq!((t.emitted, t.concealed), (35, 5));
    }
}
