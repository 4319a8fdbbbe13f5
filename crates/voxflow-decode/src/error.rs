//! The crate's error type.

use voxflow_core::{AudioFormat, MediaTime};

/// Errors from opening, reading and seeking a [`Decoder`](crate::Decoder).
///
/// Each variant says what the caller should do: **skip** (the unit of input is lost, keep
/// reading), **stop** (the stream cannot go on), or **retry** a call with other arguments.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input holds no bytes at all. **Stop**.
    #[error("empty input")]
    Empty,
    /// No supported container format was recognised in the input (random bytes, a text file,
    /// or a container this build does not include). **Stop**.
    #[error("unknown format: {detail}")]
    UnknownFormat {
        /// What the prober said.
        detail: String,
    },
    /// The container holds no audio track with codec parameters. **Stop**.
    #[error("no audio track in the {container} container")]
    NoAudioTrack {
        /// Short name of the container format.
        container: &'static str,
    },
    /// The audio codec (or a feature of it) is not supported by this build: e.g. AC-3, Opus
    /// with more than two channels, or any Opus when the `opus` feature is off. **Stop**.
    #[error("unsupported codec {codec}: {detail}")]
    Unsupported {
        /// Short name of the codec (e.g. `"opus"`), or its numeric id when the name is unknown.
        codec: String,
        /// What the codec library said.
        detail: String,
    },
    /// A header or container structure is malformed, or a safety limit was hit, so that the
    /// stream cannot be decoded further. **Stop**.
    #[error("malformed {context}: {detail}")]
    Malformed {
        /// What was being read.
        context: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The input ended in the middle of a header or a packet (a truncated file or a cut
    /// connection). **Stop**: every sample decoded before the cut has been delivered.
    #[error("input truncated while reading {context} (at {at})")]
    Truncated {
        /// What was being read when the input ended.
        context: &'static str,
        /// Stream position reached (samples delivered so far).
        at: MediaTime,
    },
    /// One packet could not be decoded and was skipped (and, if
    /// [`DecoderConfig::conceal_corrupt`](crate::DecoderConfig::conceal_corrupt) is set,
    /// replaced by silence). Only returned when
    /// [`DecoderConfig::report_corrupt`](crate::DecoderConfig::report_corrupt) is set; it is
    /// always counted in [`DecodeStats::corrupt_packets`](crate::DecodeStats::corrupt_packets).
    /// **Skip**: the next read goes on with the stream.
    #[error("corrupt packet near {at} skipped: {detail}")]
    Corrupt {
        /// Stream position where the packet belonged.
        at: MediaTime,
        /// What the codec library said.
        detail: &'static str,
    },
    /// The decoded audio changed sample rate or channel count mid-stream (e.g. a chained Ogg
    /// stream). voxflow frames have one format per source. **Stop**, then open a new decoder at
    /// this point if needed.
    #[error("audio format changed mid-stream from {expected} to {rate} Hz, {channels} ch")]
    FormatChanged {
        /// The format announced by [`Decoder::format`](crate::Decoder::format).
        expected: AudioFormat,
        /// The new sample rate.
        rate: u32,
        /// The new channel count.
        channels: usize,
    },
    /// An I/O error from the underlying file or reader. **Stop**, unless the reader can be
    /// retried (e.g. `Interrupted`).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The input cannot seek there: a non-seekable stream asked to go backwards (forward seeks
    /// decode and discard). **Retry** with a later position, or reopen the input.
    #[error("input is not seekable to {requested}")]
    NotSeekable {
        /// The position asked for.
        requested: MediaTime,
    },
    /// The seek target lies before zero or after the end of the stream. **Retry** with a
    /// position inside `0..=duration`; the decoder's position is unchanged.
    #[error("seek to {requested} is outside the stream (duration {duration:?})")]
    SeekOutOfRange {
        /// The position asked for.
        requested: MediaTime,
        /// The stream's duration, when known.
        duration: Option<MediaTime>,
    },
    /// A [`DecoderConfig`](crate::DecoderConfig) value is out of range. **Stop**: fix the
    /// configuration (raised at construction only).
    #[error("invalid {what}: {reason}")]
    InvalidConfig {
        /// The setting that is wrong.
        what: &'static str,
        /// Why it is wrong.
        reason: String,
    },
}

impl Error {
    /// True when the caller may keep reading after this error (only [`Error::Corrupt`]).
    pub fn is_skippable(&self) -> bool {
        matches!(self, Error::Corrupt { .. })
    }
}

impl From<Error> for voxflow_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Corrupt { at, detail } => voxflow_core::Error::Malformed {
                what: "packet",
                detail: format!("corrupt packet near {at} skipped: {detail}"),
            },
            Error::Truncated { .. } => voxflow_core::Error::Truncated(e.to_string()),
            Error::Io(io) => voxflow_core::Error::Io(io),
            Error::Unsupported { .. } => voxflow_core::Error::Unsupported(e.to_string()),
            Error::InvalidConfig { what, reason } => {
                voxflow_core::Error::InvalidConfig { what, reason }
            }
            other => voxflow_core::Error::Stage {
                stage: "decode",
                source: Box::new(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_maps_to_a_skippable_core_error() {
        let e = Error::Corrupt {
            at: MediaTime::ZERO,
            detail: "bad crc",
        };
        assert!(e.is_skippable());
        let core: voxflow_core::Error = e.into();
        assert!(core.is_skippable());
    }

    #[test]
    fn stop_errors_are_not_skippable_in_core() {
        let errs = [
            Error::Empty,
            Error::UnknownFormat { detail: "x".into() },
            Error::Unsupported {
                codec: "opus".into(),
                detail: "x".into(),
            },
            Error::Truncated {
                context: "packet",
                at: MediaTime::ZERO,
            },
        ];
        for e in errs {
            assert!(!e.is_skippable());
            let msg = e.to_string();
            let core: voxflow_core::Error = e.into();
            assert!(!core.is_skippable(), "{msg}");
        }
    }
}
