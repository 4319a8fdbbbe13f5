//! Synthetic sources for demos, tests and benches: [`Sine`], [`Silence`], [`Counter`].
//!
//! All of them write frames of a fixed length (the last one may be shorter), set exact pts
//! (sample counts) and never allocate in `read`.

use std::time::Duration;

use voxflow_core::{AudioFormat, AudioFrame, AudioSource, Error, MediaTime};

/// Shared bookkeeping: format, frame length, position and optional end.
#[derive(Clone, Debug)]
struct Clip {
    format: AudioFormat,
    frame_len: usize,
    pos: u64,
    total: Option<u64>,
}

impl Clip {
    fn new(format: AudioFormat, frame_len: usize) -> Self {
        Clip {
            format,
            frame_len: frame_len.max(1),
            pos: 0,
            total: None,
        }
    }

    /// Prepares `out` for the next frame; returns its length in sample frames (0 at the end).
    fn next(&mut self, out: &mut AudioFrame) -> Result<usize, Error> {
        if out.format() == self.format {
            out.clear();
        } else {
            out.reset(self.format);
        }
        let left = self.total.map_or(u64::MAX, |t| t.saturating_sub(self.pos));
        let n = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(self.frame_len);
        out.set_frames(n)?;
        out.set_pts(MediaTime::new(
            i64::try_from(self.pos).unwrap_or(i64::MAX),
            self.format.rate,
        ));
        Ok(n)
    }
}

/// A sine tone, the same on every channel.
///
/// ```
/// use std::time::Duration;
/// use voxflow_core::{AudioFormat, AudioFrame, AudioSource};
/// use voxflow_pipeline::sources::Sine;
/// let fmt = AudioFormat::new(48_000, 2).unwrap();
/// let mut sine = Sine::new(fmt, 440.0, 960).amplitude(0.5).duration(Duration::from_millis(30));
/// let mut f = AudioFrame::with_capacity(fmt, sine.max_frames());
/// assert!(sine.read(&mut f).unwrap());
/// assert_eq!(f.frames(), 960);
/// assert!(sine.read(&mut f).unwrap());
/// assert_eq!(f.frames(), 480); // 30 ms = 1.5 frames
/// assert!(!sine.read(&mut f).unwrap());
/// ```
#[derive(Clone, Debug)]
pub struct Sine {
    clip: Clip,
    freq: f64,
    amplitude: f32,
}

impl Sine {
    /// An endless tone of `freq_hz` at amplitude 0.5, in frames of `frame_len` sample frames.
    pub fn new(format: AudioFormat, freq_hz: f32, frame_len: usize) -> Self {
        Sine {
            clip: Clip::new(format, frame_len),
            freq: f64::from(freq_hz),
            amplitude: 0.5,
        }
    }

    /// Sets the amplitude (0..=1).
    pub fn amplitude(mut self, a: f32) -> Self {
        self.amplitude = a;
        self
    }

    /// Ends the stream after `d` (rounded to the nearest sample).
    pub fn duration(mut self, d: Duration) -> Self {
        self.clip.total = Some(self.clip.format.frames_in(d) as u64);
        self
    }

    /// Ends the stream after `frames` sample frames.
    pub fn frames(mut self, frames: u64) -> Self {
        self.clip.total = Some(frames);
        self
    }
}

impl AudioSource for Sine {
    fn name(&self) -> &'static str {
        "sine"
    }
    fn format(&self) -> AudioFormat {
        self.clip.format
    }
    fn max_frames(&self) -> usize {
        self.clip.frame_len
    }
    fn read(&mut self, out: &mut AudioFrame) -> Result<bool, Error> {
        let n = self.clip.next(out)?;
        if n == 0 {
            return Ok(false);
        }
        let ch = usize::from(self.clip.format.channels);
        let step = self.freq / f64::from(self.clip.format.rate);
        let start = self.clip.pos;
        for (i, f) in out.samples_mut().chunks_exact_mut(ch).enumerate() {
            let phase = ((start + i as u64) as f64 * step).fract();
            let v = self.amplitude * (std::f64::consts::TAU * phase).sin() as f32;
            f.fill(v);
        }
        self.clip.pos += n as u64;
        Ok(true)
    }
}

/// Digital silence.
#[derive(Clone, Debug)]
pub struct Silence {
    clip: Clip,
}

impl Silence {
    /// Endless silence in frames of `frame_len` sample frames.
    pub fn new(format: AudioFormat, frame_len: usize) -> Self {
        Silence {
            clip: Clip::new(format, frame_len),
        }
    }

    /// Ends the stream after `d`.
    pub fn duration(mut self, d: Duration) -> Self {
        self.clip.total = Some(self.clip.format.frames_in(d) as u64);
        self
    }

    /// Ends the stream after `frames` sample frames.
    pub fn frames(mut self, frames: u64) -> Self {
        self.clip.total = Some(frames);
        self
    }
}

impl AudioSource for Silence {
    fn name(&self) -> &'static str {
        "silence"
    }
    fn format(&self) -> AudioFormat {
        self.clip.format
    }
    fn max_frames(&self) -> usize {
        self.clip.frame_len
    }
    fn read(&mut self, out: &mut AudioFrame) -> Result<bool, Error> {
        let n = self.clip.next(out)?;
        self.clip.pos += n as u64;
        Ok(n > 0)
    }
}

/// A ramp for exactness tests: interleaved sample number `k` of the stream has the value
/// `(k mod 2^24) as f32`, which `f32` holds exactly, so any lost, repeated or reordered sample
/// is visible.
#[derive(Clone, Debug)]
pub struct Counter {
    clip: Clip,
}

/// The value of interleaved sample `k` of a [`Counter`] stream.
pub fn counter_value(k: u64) -> f32 {
    (k % (1 << 24)) as f32
}

impl Counter {
    /// An endless ramp in frames of `frame_len` sample frames.
    pub fn new(format: AudioFormat, frame_len: usize) -> Self {
        Counter {
            clip: Clip::new(format, frame_len),
        }
    }

    /// Ends the stream after `frames` sample frames.
    pub fn frames(mut self, frames: u64) -> Self {
        self.clip.total = Some(frames);
        self
    }
}

impl AudioSource for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }
    fn format(&self) -> AudioFormat {
        self.clip.format
    }
    fn max_frames(&self) -> usize {
        self.clip.frame_len
    }
    fn read(&mut self, out: &mut AudioFrame) -> Result<bool, Error> {
        let n = self.clip.next(out)?;
        if n == 0 {
            return Ok(false);
        }
        let first = self.clip.pos * u64::from(self.clip.format.channels);
        for (i, s) in out.samples_mut().iter_mut().enumerate() {
            *s = counter_value(first + i as u64);
        }
        self.clip.pos += n as u64;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_counts_and_ends() {
        let fmt = AudioFormat::new(8_000, 2).unwrap();
        let mut c = Counter::new(fmt, 3).frames(4);
        let mut f = AudioFrame::with_capacity(fmt, 3);
        assert!(c.read(&mut f).unwrap());
        assert_eq!(f.samples(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(c.read(&mut f).unwrap());
        assert_eq!(f.samples(), [6.0, 7.0]);
        assert_eq!(f.pts(), MediaTime::new(3, 8_000));
        assert!(!c.read(&mut f).unwrap());
        assert!(f.is_empty());
    }

    #[test]
    fn sine_is_continuous_across_frames() {
        let fmt = AudioFormat::new(8_000, 1).unwrap();
        let mut a = Sine::new(fmt, 1000.0, 7).frames(70);
        let mut b = Sine::new(fmt, 1000.0, 70).frames(70);
        let mut f = AudioFrame::with_capacity(fmt, 70);
        let mut joined = Vec::new();
        while a.read(&mut f).unwrap() {
            joined.extend_from_slice(f.samples());
        }
        assert!(b.read(&mut f).unwrap());
        assert_eq!(joined, f.samples());
        assert!((f.samples()[2] - 0.5).abs() < 1e-6); // 1 kHz at 8 kHz: sample 2 is the peak
        let mut s = Silence::new(fmt, 10).duration(Duration::from_micros(2500));
        assert!(s.read(&mut f).unwrap());
        assert_eq!(f.samples(), [0.0; 10]);
        assert!(s.read(&mut f).unwrap());
        assert!(!s.read(&mut f).unwrap());
    }
}
