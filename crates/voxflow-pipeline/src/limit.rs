//! [`Limited`]: an [`AudioSource`] that ends after a set length of another source's audio.

use std::time::Duration;

use voxflow_core::{AudioFormat, AudioFrame, AudioSource, Error};

/// Ends `inner`'s stream after a set number of sample frames (the last frame is cut short to
/// land exactly there), or earlier if `inner` ends first. Name, format and frame size are
/// `inner`'s; nothing is allocated or copied (the cut shortens the frame in place).
///
/// ```
/// use std::time::Duration;
/// use voxflow_core::{AudioFormat, AudioFrame, AudioSource};
/// use voxflow_pipeline::Limited;
/// use voxflow_pipeline::sources::Sine;
/// let fmt = AudioFormat::new(16_000, 1).unwrap();
/// let mut src = Limited::new(Sine::new(fmt, 440.0, 320), Duration::from_millis(50));
/// let mut f = AudioFrame::with_capacity(fmt, src.max_frames());
/// let mut frames = 0;
/// while src.read(&mut f).unwrap() {
///     frames += f.frames();
/// }
/// assert_eq!(frames, 800); // 20 + 20 + 10 ms
/// ```
#[derive(Clone, Debug)]
pub struct Limited<S> {
    inner: S,
    left: u64,
}

impl<S: AudioSource> Limited<S> {
    /// Ends after `length` of audio (rounded to the nearest sample frame at `inner`'s rate).
    pub fn new(inner: S, length: Duration) -> Self {
        let frames = inner.format().frames_in(length) as u64;
        Self::frames(inner, frames)
    }

    /// Ends after `frames` sample frames.
    pub fn frames(inner: S, frames: u64) -> Self {
        Limited {
            inner,
            left: frames,
        }
    }

    /// Sample frames still to deliver (at most; the inner source may end first).
    pub fn remaining(&self) -> u64 {
        self.left
    }

    /// The wrapped source.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: AudioSource> AudioSource for Limited<S> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn format(&self) -> AudioFormat {
        self.inner.format()
    }

    fn max_frames(&self) -> usize {
        self.inner.max_frames()
    }

    fn read(&mut self, out: &mut AudioFrame) -> Result<bool, Error> {
        if self.left == 0 {
            out.clear();
            return Ok(false);
        }
        if !self.inner.read(out)? {
            return Ok(false);
        }
        let n = out.frames() as u64;
        if n > self.left {
            // `left < n <= usize::MAX` here, so the conversion cannot fail.
            out.set_frames(usize::try_from(self.left).unwrap_or(usize::MAX))?;
        }
        self.left = self.left.saturating_sub(n);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::sources::{Counter, Sine, counter_value};

    fn drain(src: &mut impl AudioSource) -> (Vec<usize>, Vec<f32>) {
        let mut f = AudioFrame::with_capacity(src.format(), src.max_frames());
        let (mut sizes, mut samples) = (Vec::new(), Vec::new());
        while src.read(&mut f).unwrap() {
            sizes.push(f.frames());
            samples.extend_from_slice(f.samples());
        }
        assert_eq!(f.frames(), 0, "end of stream leaves the frame empty");
        (sizes, samples)
    }

    #[test]
    fn cuts_the_last_frame_exactly_and_keeps_the_content() {
        let fmt = AudioFormat::new(8_000, 2).unwrap();
        let mut src = Limited::frames(Counter::new(fmt, 160), 400);
        let (sizes, samples) = drain(&mut src);
        assert_eq!(sizes, vec![160, 160, 80]);
        let want: Vec<f32> = (0..800u64).map(counter_value).collect();
        assert_eq!(samples, want);
        assert_eq!(src.remaining(), 0);
        // Stays ended.
        let mut f = AudioFrame::with_capacity(fmt, 160);
        assert!(!src.read(&mut f).unwrap());
    }

    #[test]
    fn ends_with_the_inner_source_when_it_is_shorter() {
        let fmt = AudioFormat::new(16_000, 1).unwrap();
        let inner = Sine::new(fmt, 440.0, 320).duration(Duration::from_millis(30));
        let mut src = Limited::new(inner, Duration::from_secs(1));
        let (sizes, _) = drain(&mut src);
        assert_eq!(sizes, vec![320, 160]);
        assert_eq!(src.remaining(), 16_000 - 480);
    }

    #[test]
    fn duration_rounds_to_sample_frames_and_zero_is_empty() {
        let fmt = AudioFormat::new(48_000, 1).unwrap();
        let mut src = Limited::new(Sine::new(fmt, 440.0, 960), Duration::from_micros(30_010));
        assert_eq!(src.remaining(), 1440);
        assert_eq!(drain(&mut src).0, vec![960, 480]);
        let mut none = Limited::new(Sine::new(fmt, 440.0, 960), Duration::ZERO);
        assert!(drain(&mut none).0.is_empty());
        assert_eq!(none.name(), "sine");
    }
}
