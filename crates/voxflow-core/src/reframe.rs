//! Regrouping a stream of frames of any size into frames of one fixed size.

use crate::{AudioFormat, AudioFrame, AudioStage, Error, MediaTime, SampleFifo, Trace};

const TRACE_SLOTS: usize = 16;

/// An [`AudioStage`] that regroups frames of any size (up to a maximum) into frames of exactly
/// `frame_len` sample frames, keeping sample-accurate pts and the trace of the oldest input in
/// each output. The last frame after [`finish`](AudioStage::finish) may be shorter; nothing is
/// padded or lost.
///
/// Output pts count from the first input's pts by samples emitted: gaps or jumps in later input
/// pts are not honoured (call [`reset`](AudioStage::reset) after a seek).
///
/// ```
/// use voxflow_core::{AudioFormat, AudioFrame, AudioStage, MediaTime, Reframer};
/// let fmt = AudioFormat::new(16_000, 1).unwrap();
/// let mut r = Reframer::new(fmt, 160, 256); // 10 ms out, inputs up to 256 frames
/// let input = AudioFrame::from_interleaved(fmt, vec![0.1; 256], MediaTime::new(0, 16_000)).unwrap();
/// let mut out = AudioFrame::with_capacity(fmt, r.max_output_frames());
/// r.push(&input).unwrap();
/// assert!(r.poll(&mut out).unwrap());
/// assert_eq!((out.frames(), out.pts().ticks()), (160, 0));
/// assert!(!r.poll(&mut out).unwrap()); // 96 left, waiting for 64 more
/// assert_eq!(r.input_frames_next(), 64);
/// r.finish().unwrap();
/// assert!(r.poll(&mut out).unwrap());
/// assert_eq!((out.frames(), out.pts().ticks()), (96, 160));
/// ```
#[derive(Debug, Clone)]
pub struct Reframer {
    format: AudioFormat,
    frame_len: usize,
    max_input: usize,
    buf: SampleFifo,
    /// Pts of the first buffered sample.
    next_pts: Option<MediaTime>,
    /// (sample-frame offset in `buf` where the input starts, its trace), oldest first.
    traces: [(usize, Trace); TRACE_SLOTS],
    n_traces: usize,
    finished: bool,
}

impl Reframer {
    /// A reframer emitting `frame_len` sample frames per output and accepting inputs of up to
    /// `max_input` sample frames. Allocates its buffer here, once.
    pub fn new(format: AudioFormat, frame_len: usize, max_input: usize) -> Self {
        let frame_len = frame_len.max(1);
        Reframer {
            format,
            frame_len,
            max_input,
            buf: SampleFifo::new(format.channels, frame_len.saturating_add(max_input)),
            next_pts: None,
            traces: [(0, Trace::EMPTY); TRACE_SLOTS],
            n_traces: 0,
            finished: false,
        }
    }

    /// The fixed output length in sample frames.
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// Sample frames buffered and not yet emitted.
    pub fn buffered_frames(&self) -> usize {
        self.buf.frames()
    }

    fn consume(&mut self, frames: usize) {
        self.buf.consume(frames);
        if let Some(p) = self.next_pts {
            self.next_pts = Some(p.add_ticks(frames as i64));
        }
        // Drop traces of inputs fully consumed; shift offsets.
        let mut keep = 0;
        for i in 0..self.n_traces {
            let (off, tr) = self.traces[i];
            let next_off = if i + 1 < self.n_traces {
                self.traces[i + 1].0
            } else {
                usize::MAX
            };
            if next_off <= frames {
                continue; // this input ended before the cut
            }
            self.traces[keep] = (off.saturating_sub(frames), tr);
            keep += 1;
        }
        self.n_traces = if self.buf.is_empty() { 0 } else { keep };
    }
}

impl AudioStage for Reframer {
    fn name(&self) -> &'static str {
        "reframe"
    }
    fn input_format(&self) -> AudioFormat {
        self.format
    }
    fn output_format(&self) -> AudioFormat {
        self.format
    }
    fn max_input_frames(&self) -> usize {
        self.max_input
    }
    fn max_output_frames(&self) -> usize {
        self.frame_len
    }
    fn input_frames_next(&self) -> usize {
        self.frame_len.saturating_sub(self.buffered_frames())
    }

    fn push(&mut self, input: &AudioFrame) -> Result<(), Error> {
        if input.format() != self.format {
            return Err(Error::FormatMismatch {
                expected: self.format,
                actual: input.format(),
            });
        }
        let have = self.buffered_frames();
        if input.frames() > self.max_input
            || have + input.frames() > self.frame_len + self.max_input
        {
            return Err(Error::FrameTooLarge {
                max_frames: (self.frame_len + self.max_input).saturating_sub(have),
                frames: input.frames(),
            });
        }
        if input.is_empty() {
            return Ok(());
        }
        if self.next_pts.is_none() {
            self.next_pts = Some(input.pts());
        }
        if self.n_traces < TRACE_SLOTS {
            self.traces[self.n_traces] = (have, *input.trace());
            self.n_traces += 1;
        }
        // When the slots are full the newest input shares the previous input's (older) trace:
        // latency is then over- rather than under-reported.
        self.buf.push(input.samples())?;
        self.finished = false;
        Ok(())
    }

    fn poll(&mut self, out: &mut AudioFrame) -> Result<bool, Error> {
        let have = self.buffered_frames();
        let n = if have >= self.frame_len {
            self.frame_len
        } else if self.finished && have > 0 {
            have
        } else {
            return Ok(false);
        };
        out.reset(self.format);
        out.extend_from_interleaved(self.buf.peek(n))?;
        out.set_pts(self.next_pts.unwrap_or(MediaTime::new(0, self.format.rate)));
        if self.n_traces > 0 {
            out.set_trace(self.traces[0].1);
        }
        self.consume(n);
        Ok(true)
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.finished = true;
        Ok(())
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.next_pts = None;
        self.n_traces = 0;
        self.finished = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    fn fmt2() -> AudioFormat {
        AudioFormat::new(48_000, 2).unwrap()
    }

    #[test]
    fn carries_oldest_trace() {
        let t0 = Instant::now();
        let mut r = Reframer::new(fmt2(), 4, 3);
        let mut out = AudioFrame::with_capacity(fmt2(), 4);
        for i in 0..4u64 {
            let mut f = AudioFrame::from_interleaved(
                fmt2(),
                vec![i as f32; 6],
                MediaTime::new(3 * i as i64, 48_000),
            )
            .unwrap();
            f.trace_mut().restart(t0 + Duration::from_millis(i));
            r.push(&f).unwrap();
            while r.poll(&mut out).unwrap() {
                // Output k starts at sample 4k, which lies in input (4k)/3.
                let first_input = out.pts().ticks() / 3;
                assert_eq!(
                    out.trace().origin(),
                    Some(t0 + Duration::from_millis(first_input as u64))
                );
                assert_eq!(out.samples()[0], first_input as f32);
            }
        }
    }

    #[test]
    fn rejects_wrong_format_and_oversize() {
        let mut r = Reframer::new(fmt2(), 4, 3);
        let mono = AudioFormat::new(48_000, 1).unwrap();
        let f = AudioFrame::from_interleaved(mono, vec![0.0; 2], MediaTime::ZERO).unwrap();
        assert!(matches!(r.push(&f), Err(Error::FormatMismatch { .. })));
        let big = AudioFrame::from_interleaved(fmt2(), vec![0.0; 8], MediaTime::ZERO).unwrap();
        assert!(matches!(r.push(&big), Err(Error::FrameTooLarge { .. })));
        assert_eq!(r.buffered_frames(), 0);
    }

    proptest! {
        #[test]
        fn samples_in_equal_samples_out(sizes in proptest::collection::vec(0usize..50, 1..60), len in 1usize..40) {
            let fmt = fmt2();
            let mut r = Reframer::new(fmt, len, 50);
            let mut out = AudioFrame::with_capacity(fmt, len);
            let mut sent = Vec::new();
            let mut got = Vec::new();
            let mut pts = 0i64;
            for s in sizes {
                let data: Vec<f32> = (0..s * 2).map(|i| (sent.len() + i) as f32).collect();
                sent.extend_from_slice(&data);
                let f = AudioFrame::from_interleaved(fmt, data, MediaTime::new(pts, 48_000)).unwrap();
                pts += s as i64;
                r.push(&f).unwrap();
                while r.poll(&mut out).unwrap() {
                    prop_assert_eq!(out.frames(), len);
                    prop_assert_eq!(out.pts().ticks() as usize, got.len() / 2);
                    got.extend_from_slice(out.samples());
                }
            }
            r.finish().unwrap();
            while r.poll(&mut out).unwrap() {
                prop_assert!(out.frames() <= len);
                got.extend_from_slice(out.samples());
            }
            prop_assert_eq!(sent, got);
        }
    }
}
