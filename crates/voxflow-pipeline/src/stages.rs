//! Small ready-made stages.

use voxflow_core::{AudioFormat, AudioFrame, AudioStage, Error};

/// An [`AudioStage`] from a closure that edits samples in place (gain, mute, a test fault…).
/// One frame in, the same frame out: format and frame size are unchanged.
///
/// The closure gets the interleaved samples; an `Err` it returns is passed on as the stage's
/// error (skippable ones make the runtime drop that frame and go on).
///
/// ```
/// use voxflow_core::AudioFormat;
/// use voxflow_pipeline::stages::FnStage;
/// let fmt = AudioFormat::new(48_000, 2).unwrap();
/// let gain = FnStage::new("gain", fmt, 960, |s: &mut [f32]| {
///     s.iter_mut().for_each(|x| *x *= 0.5);
///     Ok(())
/// });
/// # let _ = gain;
/// ```
pub struct FnStage<F> {
    name: &'static str,
    format: AudioFormat,
    max_frames: usize,
    f: F,
    buf: AudioFrame,
    ready: bool,
}

impl<F> std::fmt::Debug for FnStage<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnStage")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("max_frames", &self.max_frames)
            .finish_non_exhaustive()
    }
}

impl<F> FnStage<F>
where
    F: FnMut(&mut [f32]) -> Result<(), Error> + Send,
{
    /// A stage named `name` for frames of `format` of up to `max_frames` sample frames.
    /// Allocates its one frame buffer here.
    pub fn new(name: &'static str, format: AudioFormat, max_frames: usize, f: F) -> Self {
        let max_frames = max_frames.max(1);
        FnStage {
            name,
            format,
            max_frames,
            f,
            buf: AudioFrame::with_capacity(format, max_frames),
            ready: false,
        }
    }
}

impl<F> AudioStage for FnStage<F>
where
    F: FnMut(&mut [f32]) -> Result<(), Error> + Send,
{
    fn name(&self) -> &'static str {
        self.name
    }
    fn input_format(&self) -> AudioFormat {
        self.format
    }
    fn output_format(&self) -> AudioFormat {
        self.format
    }
    fn max_input_frames(&self) -> usize {
        self.max_frames
    }
    fn max_output_frames(&self) -> usize {
        self.max_frames
    }
    fn input_frames_next(&self) -> usize {
        if self.ready { 0 } else { 1 }
    }
    fn push(&mut self, input: &AudioFrame) -> Result<(), Error> {
        if input.format() != self.format {
            return Err(Error::FormatMismatch {
                expected: self.format,
                actual: input.format(),
            });
        }
        if input.frames() > self.max_frames {
            return Err(Error::FrameTooLarge {
                max_frames: self.max_frames,
                frames: input.frames(),
            });
        }
        self.buf.copy_from(input)?;
        (self.f)(self.buf.samples_mut())?;
        self.ready = true;
        Ok(())
    }
    fn poll(&mut self, out: &mut AudioFrame) -> Result<bool, Error> {
        if !self.ready {
            return Ok(false);
        }
        self.ready = false;
        if out.capacity_frames() >= self.max_frames && out.channels() == self.format.channels {
            std::mem::swap(&mut self.buf, out);
        } else {
            out.copy_from(&self.buf)?;
        }
        Ok(true)
    }
    fn finish(&mut self) -> Result<(), Error> {
        Ok(())
    }
    fn reset(&mut self) {
        self.ready = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voxflow_core::MediaTime;

    #[test]
    fn applies_the_closure_once_per_frame() {
        let fmt = AudioFormat::new(8_000, 1).unwrap();
        let mut g = FnStage::new("x2", fmt, 4, |s: &mut [f32]| {
            s.iter_mut().for_each(|x| *x *= 2.0);
            Ok(())
        });
        let f =
            AudioFrame::from_interleaved(fmt, vec![1.0, 2.0], MediaTime::new(5, 8_000)).unwrap();
        let mut out = AudioFrame::with_capacity(fmt, 4);
        g.push(&f).unwrap();
        assert!(g.poll(&mut out).unwrap());
        assert_eq!(out.samples(), [2.0, 4.0]);
        assert_eq!(out.pts(), MediaTime::new(5, 8_000));
        assert!(!g.poll(&mut out).unwrap());
        let big = AudioFrame::from_interleaved(fmt, vec![0.0; 5], MediaTime::ZERO).unwrap();
        assert!(g.push(&big).unwrap_err().is_skippable());
    }
}
