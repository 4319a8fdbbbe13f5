//! The crate's error type.

/// Errors from `voxflow-vad`. Each variant says whether to **skip** the input, **reset**, or
/// **stop**.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range. **Stop**: fix the configuration (raised at
    /// construction only).
    #[error("invalid {what}: {reason}")]
    InvalidConfig {
        /// The setting that is wrong.
        what: &'static str,
        /// Why it is wrong.
        reason: String,
    },
    /// The internal resampler refused the input (wrong format, a frame larger than
    /// `max_input_frames`, or input after `finish`). **Skip** the frame if it was the wrong
    /// format or too large; **reset** after `finish`.
    #[error("resampler: {0}")]
    Resample(voxflow_core::Error),
    /// The requested model is not compiled into this build. **Stop** (or enable the cargo
    /// feature named in `feature`).
    #[error("model {model} needs the cargo feature `{feature}`")]
    ModelUnavailable {
        /// The model asked for.
        model: &'static str,
        /// The feature that provides it.
        feature: &'static str,
    },
    /// A WAV file could not be read (evaluation helpers only). **Skip** that file.
    #[error("wav {path}: {reason}")]
    Wav {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A label file is malformed or does not match its audio (evaluation helpers only).
    /// **Skip** that file.
    #[error("labels {path}: {reason}")]
    Labels {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An I/O error while reading evaluation files. **Stop**.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl From<Error> for voxflow_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidConfig { what, reason } => {
                voxflow_core::Error::InvalidConfig { what, reason }
            }
            Error::Resample(e) => e,
            other => voxflow_core::Error::Stage {
                stage: "vad",
                source: Box::new(other),
            },
        }
    }
}

impl From<voxflow_resample::Error> for Error {
    fn from(e: voxflow_resample::Error) -> Self {
        Error::Resample(e.into())
    }
}
