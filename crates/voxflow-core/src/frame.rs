//! PCM audio frames, their format, and a pool that recycles them.

use std::fmt;
use std::time::Duration;

use crate::{Error, MediaTime, Trace};

/// Highest sample rate voxflow accepts anywhere (Hz).
pub const MAX_SAMPLE_RATE: u32 = 768_000;
/// Most channels voxflow accepts anywhere.
pub const MAX_CHANNELS: u16 = 64;

/// Sample rate and channel count of interleaved PCM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AudioFormat {
    /// Samples per second per channel (Hz), 1..=[`MAX_SAMPLE_RATE`].
    pub rate: u32,
    /// Interleaved channels, 1..=[`MAX_CHANNELS`].
    pub channels: u16,
}

impl AudioFormat {
    /// A format, checked: rate in 1..=[`MAX_SAMPLE_RATE`], channels in 1..=[`MAX_CHANNELS`].
    pub fn new(rate: u32, channels: u16) -> Result<Self, Error> {
        if rate == 0 || rate > MAX_SAMPLE_RATE {
            return Err(Error::InvalidConfig {
                what: "sample rate",
                reason: format!("{rate} Hz is outside 1..={MAX_SAMPLE_RATE}"),
            });
        }
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(Error::InvalidConfig {
                what: "channels",
                reason: format!("{channels} is outside 1..={MAX_CHANNELS}"),
            });
        }
        Ok(AudioFormat { rate, channels })
    }

    /// Sample frames in `d`, rounded to the nearest.
    pub fn frames_in(&self, d: Duration) -> usize {
        let f = MediaTime::from_duration(d).rescale(self.rate).ticks();
        usize::try_from(f).unwrap_or(0)
    }

    /// Duration of `frames` sample frames.
    pub fn duration_of(&self, frames: usize) -> MediaTime {
        MediaTime::new(i64::try_from(frames).unwrap_or(i64::MAX), self.rate)
    }
}

impl fmt::Display for AudioFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Hz, {} ch", self.rate, self.channels)
    }
}

/// A run of PCM audio (normally 10 or 20 ms): interleaved `f32` samples in `[-1, 1]`, their
/// format, the presentation time of the first sample, and a latency [`Trace`].
///
/// Words: a *sample frame* is one instant across all channels (`channels` samples); an
/// `AudioFrame` is a run of sample frames. [`frames`](Self::frames) counts sample frames,
/// [`samples`](Self::samples) gives the interleaved values.
///
/// Frames are meant to be reused: the sample buffer keeps its capacity across
/// [`clear`](Self::clear), [`set_frames`](Self::set_frames) and
/// [`extend_from_interleaved`](Self::extend_from_interleaved), which never allocate while the
/// content fits [`capacity_frames`](Self::capacity_frames). A [`FramePool`] (or the pipeline's
/// return rings) hands spent frames back, so a steady stream allocates nothing.
///
/// ```
/// use voxflow_core::{AudioFormat, AudioFrame, MediaTime};
/// let fmt = AudioFormat::new(48_000, 2).unwrap();
/// let mut f = AudioFrame::with_capacity(fmt, 960);
/// f.extend_from_interleaved(&[0.0; 1920]).unwrap();
/// f.set_pts(MediaTime::new(960, 48_000));
/// assert_eq!(f.frames(), 960);
/// assert_eq!(f.duration(), MediaTime::from_millis(20));
/// assert_eq!(f.end(), MediaTime::from_millis(40));
/// ```
#[derive(Clone, PartialEq)]
pub struct AudioFrame {
    samples: Vec<f32>,
    format: AudioFormat,
    pts: MediaTime,
    trace: Trace,
}

impl AudioFrame {
    /// An empty frame that can hold `frames` sample frames without reallocating.
    /// This allocates; do it before the real-time loop.
    pub fn with_capacity(format: AudioFormat, frames: usize) -> Self {
        AudioFrame {
            samples: Vec::with_capacity(frames * usize::from(format.channels)),
            format,
            pts: MediaTime::new(0, format.rate),
            trace: Trace::EMPTY,
        }
    }

    /// A frame holding `samples` (interleaved). Errors if the length is not a multiple of the
    /// channel count. Takes ownership of the vector (no copy).
    pub fn from_interleaved(
        format: AudioFormat,
        samples: Vec<f32>,
        pts: MediaTime,
    ) -> Result<Self, Error> {
        let ch = usize::from(format.channels);
        if !samples.len().is_multiple_of(ch) {
            return Err(Error::BadFrame {
                reason: "sample count is not a multiple of the channel count",
                samples: samples.len(),
                channels: format.channels,
            });
        }
        Ok(AudioFrame {
            samples,
            format,
            pts,
            trace: Trace::EMPTY,
        })
    }

    /// The format (rate and channels).
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// Sample rate in Hz.
    pub fn rate(&self) -> u32 {
        self.format.rate
    }

    /// Channel count.
    pub fn channels(&self) -> u16 {
        self.format.channels
    }

    /// Number of sample frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.format.channels)
    }

    /// True when the frame holds no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Sample frames this frame holds without reallocating.
    pub fn capacity_frames(&self) -> usize {
        self.samples.capacity() / usize::from(self.format.channels)
    }

    /// The interleaved samples.
    pub fn samples(&self) -> &[f32] {
        &self.samples
    }

    /// The interleaved samples, mutable (length fixed; see [`set_frames`](Self::set_frames)).
    pub fn samples_mut(&mut self) -> &mut [f32] {
        &mut self.samples
    }

    /// Presentation time of the first sample.
    pub fn pts(&self) -> MediaTime {
        self.pts
    }

    /// Sets the presentation time of the first sample.
    pub fn set_pts(&mut self, pts: MediaTime) {
        self.pts = pts;
    }

    /// Duration, at the frame's sample rate.
    pub fn duration(&self) -> MediaTime {
        self.format.duration_of(self.frames())
    }

    /// Presentation time just after the last sample (`pts + duration`).
    pub fn end(&self) -> MediaTime {
        self.pts + self.duration()
    }

    /// The latency trace.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The latency trace, mutable (stages stamp it).
    pub fn trace_mut(&mut self) -> &mut Trace {
        &mut self.trace
    }

    /// Replaces the trace.
    pub fn set_trace(&mut self, trace: Trace) {
        self.trace = trace;
    }

    /// Empties the frame, keeps its capacity, and sets a new format (for reuse). The trace is
    /// cleared and the pts set to zero.
    pub fn reset(&mut self, format: AudioFormat) {
        self.samples.clear();
        self.format = format;
        self.pts = MediaTime::new(0, format.rate);
        self.trace = Trace::EMPTY;
    }

    /// Removes all samples, keeping capacity, format, pts and trace.
    pub fn clear(&mut self) {
        self.samples.clear();
    }

    /// Resizes to `frames` sample frames, filling new samples with silence. Does not allocate when
    /// `frames <= capacity_frames()`; otherwise returns [`Error::FrameTooLarge`] and leaves the
    /// frame unchanged (use [`reserve_frames`](Self::reserve_frames) outside the real-time loop).
    pub fn set_frames(&mut self, frames: usize) -> Result<(), Error> {
        let cap = self.capacity_frames();
        if frames > cap {
            return Err(Error::FrameTooLarge {
                max_frames: cap,
                frames,
            });
        }
        self.samples
            .resize(frames * usize::from(self.format.channels), 0.0);
        Ok(())
    }

    /// Appends interleaved samples. Does not allocate while the result fits
    /// [`capacity_frames`](Self::capacity_frames); otherwise returns [`Error::FrameTooLarge`] and
    /// appends nothing. `samples.len()` must be a multiple of the channel count.
    pub fn extend_from_interleaved(&mut self, samples: &[f32]) -> Result<(), Error> {
        let ch = usize::from(self.format.channels);
        if !samples.len().is_multiple_of(ch) {
            return Err(Error::BadFrame {
                reason: "sample count is not a multiple of the channel count",
                samples: samples.len(),
                channels: self.format.channels,
            });
        }
        let want = self.samples.len() + samples.len();
        if want > self.samples.capacity() {
            return Err(Error::FrameTooLarge {
                max_frames: self.capacity_frames(),
                frames: want / ch,
            });
        }
        self.samples.extend_from_slice(samples);
        Ok(())
    }

    /// Grows the capacity to at least `frames` sample frames. Allocates: not for the real-time
    /// loop.
    pub fn reserve_frames(&mut self, frames: usize) {
        let want = frames * usize::from(self.format.channels);
        if want > self.samples.capacity() {
            self.samples.reserve_exact(want - self.samples.len());
        }
    }

    /// Takes the sample vector out (e.g. to hand to an API that wants a `Vec`).
    pub fn into_samples(self) -> Vec<f32> {
        self.samples
    }

    /// Copies format, pts, trace and samples from `other` into `self`, reusing `self`'s buffer.
    /// Does not allocate when `other` fits `self`'s capacity (in samples).
    pub fn copy_from(&mut self, other: &AudioFrame) -> Result<(), Error> {
        if other.samples.len() > self.samples.capacity() {
            return Err(Error::FrameTooLarge {
                max_frames: self.samples.capacity() / usize::from(other.format.channels),
                frames: other.frames(),
            });
        }
        self.samples.clear();
        self.samples.extend_from_slice(&other.samples);
        self.format = other.format;
        self.pts = other.pts;
        self.trace = other.trace;
        Ok(())
    }
}

impl fmt::Debug for AudioFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AudioFrame")
            .field("format", &self.format)
            .field("frames", &self.frames())
            .field("pts", &self.pts)
            .field("trace", &self.trace)
            .finish()
    }
}

/// A free list of [`AudioFrame`]s of one format and capacity, so a steady stream reuses buffers
/// instead of allocating. Single-threaded; to recycle across threads, the pipeline carries spent
/// frames back on a return ring.
///
/// ```
/// use voxflow_core::{AudioFormat, FramePool};
/// let mut pool = FramePool::new(AudioFormat::new(16_000, 1).unwrap(), 160, 4);
/// let f = pool.get();            // pre-allocated: no heap allocation here
/// assert_eq!(f.capacity_frames(), 160);
/// pool.put(f);
/// assert_eq!(pool.available(), 4);
/// ```
#[derive(Debug)]
pub struct FramePool {
    format: AudioFormat,
    frames: usize,
    free: Vec<AudioFrame>,
    allocated: u64,
}

impl FramePool {
    /// A pool of `preallocate` frames, each holding `frames` sample frames of `format`. The free
    /// list can hold up to `4 * preallocate` returned frames without reallocating.
    pub fn new(format: AudioFormat, frames: usize, preallocate: usize) -> Self {
        let mut free = Vec::with_capacity(preallocate.max(1) * 4);
        free.extend((0..preallocate).map(|_| AudioFrame::with_capacity(format, frames)));
        FramePool {
            format,
            frames,
            free,
            allocated: preallocate as u64,
        }
    }

    /// A cleared frame of the pool's format: a recycled one if available, else a new allocation
    /// (counted in [`allocated`](Self::allocated)).
    pub fn get(&mut self) -> AudioFrame {
        match self.free.pop() {
            Some(mut f) => {
                f.reset(self.format);
                f
            }
            None => {
                self.allocated += 1;
                AudioFrame::with_capacity(self.format, self.frames)
            }
        }
    }

    /// Returns a frame to the pool. Frames smaller than the pool's capacity are dropped (they
    /// would force a reallocation later), as are frames beyond the free list's capacity.
    pub fn put(&mut self, frame: AudioFrame) {
        let fits = frame.samples.capacity() >= self.frames * usize::from(self.format.channels);
        if fits && self.free.len() < self.free.capacity() {
            self.free.push(frame);
        }
    }

    /// Frames ready to hand out.
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// Frames allocated since creation (pre-allocated ones included). Growing in steady state
    /// means frames are not being returned.
    pub fn allocated(&self) -> u64 {
        self.allocated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt() -> AudioFormat {
        AudioFormat::new(48_000, 2).unwrap()
    }

    #[test]
    fn rejects_bad_formats() {
        assert!(AudioFormat::new(0, 1).is_err());
        assert!(AudioFormat::new(48_000, 0).is_err());
        assert!(AudioFormat::new(1_000_000, 2).is_err());
    }

    #[test]
    fn extend_refuses_to_grow() {
        let mut f = AudioFrame::with_capacity(fmt(), 10);
        let cap = f.capacity_frames();
        assert!(f.extend_from_interleaved(&vec![0.0; cap * 2 + 2]).is_err());
        assert!(f.is_empty());
        assert!(f.extend_from_interleaved(&[0.0; 3]).is_err());
        f.extend_from_interleaved(&[0.5; 4]).unwrap();
        assert_eq!(f.frames(), 2);
        assert_eq!(f.capacity_frames(), cap);
    }

    #[test]
    fn set_frames_pads_with_silence() {
        let mut f = AudioFrame::with_capacity(fmt(), 8);
        f.extend_from_interleaved(&[1.0; 2]).unwrap();
        f.set_frames(3).unwrap();
        assert_eq!(f.samples(), &[1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        assert!(f.set_frames(f.capacity_frames() + 1).is_err());
    }

    #[test]
    fn pool_recycles() {
        let mut p = FramePool::new(fmt(), 960, 2);
        let a = p.get();
        let b = p.get();
        let c = p.get();
        assert_eq!(p.allocated(), 3);
        p.put(a);
        p.put(b);
        p.put(c);
        let _ = p.get();
        assert_eq!(p.allocated(), 3);
        p.put(AudioFrame::with_capacity(fmt(), 1));
        assert_eq!(p.available(), 2);
    }

    #[test]
    fn frames_in_duration() {
        assert_eq!(fmt().frames_in(Duration::from_millis(20)), 960);
        assert_eq!(
            AudioFormat::new(44_100, 1)
                .unwrap()
                .frames_in(Duration::from_millis(10)),
            441
        );
    }
}
