//! The crate's error type.

use voxflow_core::AudioFormat;

/// Errors from [`Resampler`](crate::Resampler). Each variant says what the caller should do:
/// **skip** (drop this input and go on), **reset** (call `reset`, then go on) or **stop**.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range or inconsistent: an input or output format with
    /// rate 0 or above [`MAX_SAMPLE_RATE`](voxflow_core::MAX_SAMPLE_RATE) or channels 0 or above
    /// [`MAX_CHANNELS`](voxflow_core::MAX_CHANNELS); an output frame size of zero or above one
    /// second; a `max_input_frames` of zero or above 10 seconds; a
    /// [`Remix::Matrix`](crate::Remix::Matrix) without `output × input` finite gains; or a
    /// configuration rubato refused. **Stop**: fix the configuration (raised at construction
    /// only).
    #[error("invalid {what}: {reason}")]
    InvalidConfig {
        /// The setting that is wrong.
        what: &'static str,
        /// Why it is wrong: the value given and what is allowed.
        reason: String,
    },
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

impl From<rubato::ResamplerConstructionError> for Error {
    fn from(e: rubato::ResamplerConstructionError) -> Self {
        Error::InvalidConfig {
            what: "resampler",
            reason: e.to_string(),
        }
    }
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
            Error::InvalidConfig { what, reason } => {
                voxflow_core::Error::InvalidConfig { what, reason }
            }
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
        let e: voxflow_core::Error = Error::InvalidConfig {
            what: "output frame size",
            reason: "0 sample frames (allowed: 1..=48000)".into(),
        }
        .into();
        assert!(matches!(
            e,
            voxflow_core::Error::InvalidConfig {
                what: "output frame size",
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "invalid output frame size: 0 sample frames (allowed: 1..=48000)"
        );
    }
}
