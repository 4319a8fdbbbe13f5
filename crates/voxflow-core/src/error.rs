//! The base error type shared by all voxflow crates.

use crate::AudioFormat;

/// Errors from voxflow stages. Each variant's documentation says what the caller should do:
/// **skip** (drop this input and go on), **reset** (reset the stage, then go on) or **stop**
/// (the stream cannot continue).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range or inconsistent. **Stop**: fix the configuration;
    /// raised at construction, never mid-stream.
    #[error("invalid {what}: {reason}")]
    InvalidConfig {
        /// The setting that is wrong.
        what: &'static str,
        /// Why it is wrong.
        reason: String,
    },
    /// A frame's format differs from what the stage was built for. **Skip** the frame, or put a
    /// resampler (`voxflow-resample`) in front of the stage so formats match.
    #[error("format mismatch: expected {expected}, got {actual}")]
    FormatMismatch {
        /// What the stage accepts.
        expected: AudioFormat,
        /// What it was given.
        actual: AudioFormat,
    },
    /// A frame is larger than a buffer sized at construction. **Skip** the frame (or split it);
    /// size buffers from the stage's `max_input_frames`/`max_output_frames` before the loop.
    #[error("frame of {frames} sample frames exceeds the capacity of {max_frames}")]
    FrameTooLarge {
        /// The most the buffer holds.
        max_frames: usize,
        /// What was asked for.
        frames: usize,
    },
    /// Samples that do not form whole sample frames. **Skip** the input.
    #[error("bad frame: {reason} ({samples} samples, {channels} channels)")]
    BadFrame {
        /// What is wrong.
        reason: &'static str,
        /// Number of samples given.
        samples: usize,
        /// Channel count expected.
        channels: u16,
    },
    /// Input data is malformed (a corrupt packet, a bad header). **Skip** it: the rest of the
    /// stream can still be used.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The input uses a format, codec or feature this build does not support. **Stop** (or
    /// enable the crate feature that the message names).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The stream ended in the middle of a unit (a truncated file). **Stop**: everything before
    /// the truncation has been delivered.
    #[error("unexpected end of stream: {0}")]
    Truncated(String),
    /// An I/O error from the underlying reader or writer. **Stop**, unless the reader can be
    /// retried (e.g. `Interrupted`).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The other end of a link or channel has gone away. **Stop**.
    #[error("{0} closed")]
    Closed(&'static str),
    /// An error from a named stage, wrapped by a pipeline. What to do depends on the inner error.
    #[error("stage {stage}: {source}")]
    Stage {
        /// The stage's name.
        stage: &'static str,
        /// What went wrong inside it.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl Error {
    /// True when the caller may drop the offending input and continue the stream.
    pub fn is_skippable(&self) -> bool {
        matches!(
            self,
            Error::FormatMismatch { .. }
                | Error::FrameTooLarge { .. }
                | Error::BadFrame { .. }
                | Error::Malformed { .. }
        )
    }
}

/// Result with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
