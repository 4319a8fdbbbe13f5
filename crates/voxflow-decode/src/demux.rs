//! Where packets come from: symphonia's probe and format readers (every container), or the
//! PCM WAV fast path reading the `data` chunk directly; panics inside symphonia turned into
//! errors; demuxer seeks.

use symphonia::core::codecs::audio::{AudioCodecId, AudioCodecParameters};
use symphonia::core::errors::{Error as SymError, SeekErrorKind};
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo, Track, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::packet::Packet;
use symphonia::core::units::Timestamp;
use voxflow_core::MediaTime;

use crate::Error;
use crate::wav::{Block, Coding, WavPcm};

/// Runs a symphonia call, turning a panic inside it into an error. A panic in a dependency on
/// untrusted input is that dependency's bug, but it must not become ours: the fuzzer and the
/// property tests found inputs (e.g. a WAV channel mask that overflows a shift in
/// symphonia-format-riff 0.6.1) where symphonia panics. The default panic hook still prints the
/// message to stderr.
pub(crate) fn guarded<T>(
    what: &'static str,
    f: impl FnOnce() -> Result<T, SymError>,
) -> Result<T, SymError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or(Err(SymError::LimitError(what)))
}

pub(crate) fn is_eof(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::UnexpectedEof
}

/// Maps an error from opening (probing, reading headers).
pub(crate) fn open_error(e: SymError, context: &'static str) -> Error {
    match e {
        SymError::IoError(io) if is_eof(&io) => Error::Truncated {
            context,
            at: MediaTime::ZERO,
        },
        SymError::IoError(io) => Error::Io(io),
        SymError::Unsupported(what) => Error::UnknownFormat {
            detail: what.to_owned(),
        },
        SymError::DecodeError(what) | SymError::LimitError(what) => Error::Malformed {
            context,
            detail: what.to_owned(),
        },
        other => Error::Malformed {
            context,
            detail: other.to_string(),
        },
    }
}

/// Probes `source` (its container header) into a format reader.
pub(crate) fn probe(
    source: Box<dyn MediaSource>,
    hint: Option<&str>,
) -> Result<Box<dyn FormatReader>, Error> {
    let seekable = source.is_seekable();
    let mss = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
    let mut h = Hint::new();
    if let Some(ext) = hint {
        h.with_extension(ext);
    }
    guarded("the demuxer panicked on this header", || {
        crate::riff_check::probe().probe(
            &h,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
    })
    .map_err(|e| match open_error(e, "container header") {
        Error::Truncated { at, .. } if !seekable => Error::Truncated {
            context: "container header (or empty stream)",
            at,
        },
        other => other,
    })
}

/// The track to decode (the default audio track, else the first audio one) and its codec
/// parameters.
pub(crate) fn audio_track(
    reader: &dyn FormatReader,
) -> Result<(&Track, &AudioCodecParameters), Error> {
    let container = reader.format_info().short_name;
    let audio = |t: &&Track| t.codec_params.as_ref().and_then(|p| p.audio()).is_some();
    let track = reader
        .default_track(TrackType::Audio)
        .filter(audio)
        .or_else(|| reader.tracks().iter().find(audio))
        .ok_or(Error::NoAudioTrack { container })?;
    match track.codec_params.as_ref().and_then(|p| p.audio()) {
        Some(params) => Ok((track, params)),
        None => Err(Error::NoAudioTrack { container }),
    }
}

/// What a demuxer seek did.
pub(crate) enum Sought {
    /// The reader is at (or just before) the target.
    Moved,
    /// The target is past the last packet.
    PastEnd,
    /// The input cannot go there (forward-only).
    NotSeekable,
    /// The input ended before the target.
    Ended,
    /// Any other failure.
    Failed(Error),
}

/// Where packets come from.
pub(crate) enum Source {
    /// symphonia's demuxer (every container; the packets go through the codec), reading the
    /// track `track_id`.
    Packets {
        reader: Box<dyn FormatReader>,
        track_id: u32,
    },
    /// PCM WAV read directly: no per-packet allocation (see `crate::wav`).
    Wav(WavPcm),
}

impl Source {
    /// The PCM WAV fast path when the track is PCM in a WAV file and `fast_path` is on (the
    /// reader has read the header only: its stream is at the first data byte), else the
    /// demuxer.
    pub(crate) fn new(
        reader: Box<dyn FormatReader>,
        codec: AudioCodecId,
        track_id: u32,
        (rate, channels): (u32, usize),
        num_frames: Option<u64>,
        fast_path: bool,
    ) -> Result<Self, Error> {
        let container = reader.format_info().short_name;
        let wav_coding = Coding::from_codec(codec)
            .filter(|_| fast_path && container == "wave")
            .filter(|_| rate > 0 && channels > 0);
        match wav_coding {
            Some(coding) => match WavPcm::new(reader.into_inner(), coding, channels, num_frames) {
                Some(wav) => Ok(Source::Wav(wav)),
                None => Err(Error::Malformed {
                    context: "WAV format chunk",
                    detail: "zero bytes per sample frame".into(),
                }),
            },
            None => Ok(Source::Packets { reader, track_id }),
        }
    }

    pub(crate) fn is_wav(&self) -> bool {
        matches!(self, Source::Wav(_))
    }

    /// The demuxer's next packet of our track (`None` at the end, and on the WAV fast path,
    /// which has no packets).
    pub(crate) fn next_packet(&mut self) -> Result<Option<Packet>, SymError> {
        let Source::Packets { reader, track_id } = self else {
            return Ok(None);
        };
        loop {
            let packet = guarded("the demuxer panicked on this input", || {
                reader.next_packet()
            })?;
            match packet {
                Some(p) if p.track_id != *track_id => continue,
                other => return Ok(other),
            }
        }
    }

    /// WAV fast path: the block size in sample frames (0 on the demuxer path).
    pub(crate) fn wav_block_frames(&self) -> usize {
        match self {
            Source::Wav(wav) => wav.block_frames(),
            Source::Packets { .. } => 0,
        }
    }

    /// WAV fast path: allocates the block buffer (once, at open).
    pub(crate) fn allocate_wav(&mut self, frames: usize) {
        if let Source::Wav(wav) = self {
            wav.allocate(frames);
        }
    }

    /// WAV fast path: reads one block into `out` (`Block::End` on the demuxer path).
    pub(crate) fn read_wav_block(&mut self, out: &mut [f32]) -> std::io::Result<Block> {
        match self {
            Source::Wav(wav) => wav.read_block(out),
            Source::Packets { .. } => Ok(Block::End),
        }
    }

    /// Moves the demuxer to (near) packet-timeline tick `ts`; on the WAV fast path, to sample
    /// frame `frame` exactly.
    pub(crate) fn seek(&mut self, ts: i64, frame: i64) -> Sought {
        match self {
            Source::Packets { reader, track_id } => {
                let to = SeekTo::Timestamp {
                    ts: Timestamp::new(ts),
                    track_id: *track_id,
                };
                match reader.seek(SeekMode::Accurate, to) {
                    Ok(_) => Sought::Moved,
                    Err(SymError::SeekError(SeekErrorKind::OutOfRange)) => Sought::PastEnd,
                    Err(SymError::SeekError(
                        SeekErrorKind::ForwardOnly | SeekErrorKind::Unseekable,
                    )) => Sought::NotSeekable,
                    Err(SymError::IoError(e)) if is_eof(&e) => Sought::Ended,
                    Err(SymError::IoError(e)) => Sought::Failed(Error::Io(e)),
                    Err(e) => Sought::Failed(Error::Malformed {
                        context: "seek",
                        detail: e.to_string(),
                    }),
                }
            }
            Source::Wav(wav) => match wav.seek_frame(u64::try_from(frame).unwrap_or(0)) {
                Ok(()) => Sought::Moved,
                Err(e) if is_eof(&e) => Sought::Ended,
                Err(e) if e.kind() == std::io::ErrorKind::Unsupported => Sought::NotSeekable,
                Err(e) => Sought::Failed(Error::Io(e)),
            },
        }
    }
}
