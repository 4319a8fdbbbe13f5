//! The crate's error type.

use voxflow_core::AudioFormat;

use crate::toc::TocError;

/// Errors from Opus encoding/decoding, RTP packetization and Ogg Opus files. Each variant says
/// what to do: **skip** the input and go on, **reset** the stage, or **stop**.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is outside what Opus allows (rate, channels, bitrate, complexity, loss
    /// percentage, frame duration, concealment length). **Stop**: fix the configuration
    /// (raised at construction, or by the call given the bad value).
    #[error("invalid {what}: {reason}")]
    InvalidConfig {
        /// The setting that is wrong.
        what: &'static str,
        /// Why it is wrong: the value given and what is allowed.
        reason: String,
    },
    /// The backend was not compiled in. **Stop**: enable the named cargo feature.
    #[error(
        "Opus backend {backend} is not available: enable the `{feature}` feature of voxflow-encode"
    )]
    BackendUnavailable {
        /// The backend asked for.
        backend: &'static str,
        /// The cargo feature that provides it.
        feature: &'static str,
    },
    /// A frame's rate or channel count differs from the encoder's. **Skip** the frame; in a
    /// pipeline, put `voxflow-resample` in front of the encoder so formats match.
    #[error(
        "frame format {actual} does not match the Opus encoder's {expected}: put a resampler \
         (voxflow-resample) in front of the encoder"
    )]
    FormatMismatch {
        /// What the encoder takes.
        expected: AudioFormat,
        /// What it was given.
        actual: AudioFormat,
    },
    /// A frame's length is not the encoder's frame size (a shorter frame is accepted once, as
    /// the last one of the stream). **Skip** the frame; in a pipeline, put a
    /// `voxflow_core::Reframer` (or the resampler's fixed output size) in front of the encoder.
    #[error(
        "frame of {actual} sample frames, the Opus encoder takes exactly {expected}{}: put a \
         voxflow_core::Reframer in front of the encoder",
        if *.after_last { " (a short frame already ended the stream)" } else { "" }
    )]
    WrongFrameSize {
        /// Sample frames per channel the encoder takes.
        expected: usize,
        /// Sample frames given.
        actual: usize,
        /// True when a short (final) frame was already encoded.
        after_last: bool,
    },
    /// The output buffer or frame cannot hold the result. **Skip** (nothing was written); size
    /// outputs with `OpusDecoder::max_frames` / `MAX_PACKET_BYTES` before the loop.
    #[error("output holds {capacity}, {needed} needed")]
    OutputTooSmall {
        /// Units needed (sample frames for PCM, bytes for packets).
        needed: usize,
        /// Units available.
        capacity: usize,
    },
    /// An Opus packet is malformed (RFC 6716 §3.4). **Skip** it; conceal the gap with
    /// `OpusDecoder::conceal`.
    #[error("malformed Opus packet: {0}")]
    Malformed(#[from] TocError),
    /// The codec library reported an error. For decoding **skip** the packet (conceal the
    /// gap); for encoding **reset** the encoder.
    #[error("{backend} {op} failed: {detail}")]
    Codec {
        /// Which backend.
        backend: &'static str,
        /// `"encode"` or `"decode"`.
        op: &'static str,
        /// The library's message.
        detail: String,
    },
    /// The Ogg stream is not valid Ogg Opus (bad page, bad CRC, missing or bad OpusHead).
    /// **Stop** for header errors; a bad page in the middle of a file is skipped by the reader
    /// and counted, so this is returned only for what cannot be skipped.
    #[error("bad Ogg Opus stream at byte {offset}: {reason}")]
    Ogg {
        /// Byte offset of the page or packet.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// The stream ended inside a page or packet. **Stop**: everything before was delivered.
    #[error("Ogg stream truncated at byte {offset}")]
    Truncated {
        /// Bytes read.
        offset: u64,
    },
    /// I/O error of the underlying reader or writer. **Stop** (unless `Interrupted`).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// An [`Error::InvalidConfig`] whose reason names the value given and what is allowed.
    pub(crate) fn invalid(what: &'static str, value: i64, allowed: &str) -> Self {
        Error::InvalidConfig {
            what,
            reason: format!("{value} (allowed: {allowed})"),
        }
    }
}

impl From<Error> for voxflow_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidConfig { what, reason } => {
                voxflow_core::Error::InvalidConfig { what, reason }
            }
            Error::FormatMismatch { expected, actual } => {
                voxflow_core::Error::FormatMismatch { expected, actual }
            }
            Error::Malformed(t) => voxflow_core::Error::Malformed {
                what: "Opus packet",
                detail: t.to_string(),
            },
            Error::Io(io) => voxflow_core::Error::Io(io),
            Error::Truncated { offset } => {
                voxflow_core::Error::Truncated(format!("Ogg Opus stream at byte {offset}"))
            }
            other => voxflow_core::Error::Stage {
                stage: "opus",
                source: Box::new(other),
            },
        }
    }
}
