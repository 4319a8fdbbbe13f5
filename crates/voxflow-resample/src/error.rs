//! The crate's error type.

use voxflow_core::AudioFormat;

/// Errors from [`Resampler`](crate::Resampler). Each variant says what the caller should do:
/// **skip** (drop this input and go on), **reset** (call `reset`, then go on) or **stop**.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input or output format is out of range (rate 0 or above
    /// [`MAX_SAMPLE_RATE`](voxflow_core::MAX_SAMPLE_RATE), channels 0 or above
    /// [`MAX_CHANNELS`](voxflow_core::MAX_CHANNELS)). **Stop**: fix the configuration.
    #[error("invalid {side} format {format}")]
    InvalidFormat {
        /// `"input"` or `"output"`.
        side: &'static str,
        /// The offending format.
        format: AudioFormat,
    },
    /// The output frame size is zero or too large (more than one second at the output rate).
    /// **Stop**: fix the configuration.
    #[error("invalid output frame size of {frames} sample frames (must be 1..={max})")]
    InvalidFrameSize {
        /// The size asked for, in sample frames at the output rate.
        frames: usize,
        /// The largest accepted size.
        max: usize,
    },
    /// `max_input_frames` is zero or above 10 seconds at the input rate. **Stop**: fix the
    /// configuration.
    #[error("invalid max_input_frames {frames} (must be 1..={max})")]
    InvalidMaxInput {
        /// The value given.
        frames: usize,
        /// The largest accepted value.
        max: usize,
    },
    /// A [`Remix::Matrix`](crate::Remix::Matrix) does not have `output channels × input
    /// channels` finite gains. **Stop**: fix the matrix.
    #[error("remix matrix for {from} -> {to} channels needs {expected} finite gains, got {actual}")]
    InvalidRemix {
        /// Input channels.
        from: u16,
        /// Output channels.
        to: u16,
        /// Gains expected (`to * from`).
        expected: usize,
        /// Gains given (or the index of the first non-finite gain plus one).
        actual: usize,
    },
    /// rubato refused the configuration. **Stop**.
    #[error("resampler construction failed: {0}")]
    Construction(#[from] rubato::ResamplerConstructionError),
    /// A pushed frame's format is not the configured input format. **Skip** the frame.
    #[error("format mismatch: expected {expected}, got {actual}")]
    FormatMismatch {
        /// The configured input format.
        expected: AudioFormat,
        /// The frame's format.
        actual: AudioFormat,
    },
    /// A pushed frame is larger than `max_input_frames`, or output was not drained before the
    /// next push so the input does not fit. **Skip** the frame (or drain with `poll` until it
    /// returns `false`, then push it again).
    #[error("input of {frames} sample frames does not fit: room for {max_frames}")]
    FrameTooLarge {
        /// How many sample frames fit now.
        max_frames: usize,
        /// How many were pushed.
        frames: usize,
    },
    /// `push` after `finish`: the filter tail has already been flushed. **Reset**, then start
    /// the new stream.
    #[error("push after finish (call reset to start a new stream)")]
    Finished,
    /// An internal buffer did not have the size this crate computed for it. A bug in this
    /// crate. **Reset**.
    #[error("internal buffer size error in {what}")]
    Buffer {
        /// Which buffer.
        what: &'static str,
    },
    /// rubato rejected a processing call. This is a bug in this crate (buffers are sized at
    /// construction). **Reset**.
    #[error("resampling failed: {0}")]
    Process(#[from] rubato::ResampleError),
}

impl From<Error> for voxflow_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::FormatMismatch { expected, actual } => {
                voxflow_core::Error::FormatMismatch { expected, actual }
            }
            Error::FrameTooLarge { max_frames, frames } => {
                voxflow_core::Error::FrameTooLarge { max_frames, frames }
            }
            e @ (Error::InvalidFormat { .. }
            | Error::InvalidFrameSize { .. }
            | Error::InvalidMaxInput { .. }
            | Error::InvalidRemix { .. }
            | Error::Construction(_)) => voxflow_core::Error::InvalidConfig {
                what: "resampler",
                reason: e.to_string(),
            },
            e => voxflow_core::Error::Stage {
                stage: "resample",
                source: Box::new(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_to_core_errors_keeping_the_action() {
        let fmt = AudioFormat {
            rate: 48_000,
            channels: 2,
        };
        let e: voxflow_core::Error = Error::FormatMismatch {
            expected: fmt,
            actual: fmt,
        }
        .into();
        assert!(e.is_skippable());
        let e: voxflow_core::Error = Error::FrameTooLarge {
            max_frames: 1,
            frames: 2,
        }
        .into();
        assert!(e.is_skippable());
        let e: voxflow_core::Error = Error::Finished.into();
        assert!(matches!(
            e,
            voxflow_core::Error::Stage {
                stage: "resample",
                ..
            }
        ));
        let e: voxflow_core::Error = Error::InvalidFrameSize { frames: 0, max: 1 }.into();
        assert!(matches!(e, voxflow_core::Error::InvalidConfig { .. }));
    }
}
