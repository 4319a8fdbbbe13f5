//! Opening a [`Decoder`]: the input adapters, probing, track choice, the codec, and the first
//! packet (which fixes the output format and sizes the buffers).

use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Arc;

use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatReader;
use symphonia::core::io::MediaSource;
use voxflow_core::{AudioFormat, MediaTime};

use super::{DecodeStats, Decoder, Faults, State, StreamInfo};
use crate::codec::make_codec;
use crate::demux::{self, Source, guarded, open_error};
use crate::pcm::Pcm;
use crate::source::{SeekableReader, SharedBytes, StreamReader};
use crate::timeline::Timeline;
use crate::{DecoderConfig, Error};

/// The first packet that decoded to audio.
struct First {
    rate: u32,
    channels: usize,
    frames: usize,
    capacity: usize,
    /// Its packet-timeline position.
    start: i64,
}

impl Decoder {
    /// Opens the file at `path` with the default [`DecoderConfig`] (20 ms frames, gapless).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(path, DecoderConfig::default())
    }

    /// Opens the file at `path`; its extension is the format hint.
    pub fn open_with(path: impl AsRef<Path>, config: DecoderConfig) -> Result<Self, Error> {
        let path = path.as_ref();
        let file = std::fs::File::open(path)?;
        let hint = path.extension().and_then(|e| e.to_str());
        Self::from_reader(file, hint, config)
    }

    /// Decodes bytes already in memory, shared (not copied): one `Arc<[u8]>` can feed any
    /// number of decoders. `hint` is a file extension such as `"mp3"` (optional).
    pub fn from_bytes(
        bytes: Arc<[u8]>,
        hint: Option<&str>,
        config: DecoderConfig,
    ) -> Result<Self, Error> {
        if bytes.is_empty() {
            return Err(Error::Empty);
        }
        let src: SharedBytes = std::io::Cursor::new(bytes);
        Self::from_media_source(Box::new(src), hint, config)
    }

    /// Decodes any seekable reader (a file, a `Cursor`, ...).
    pub fn from_reader<R: Read + Seek + Send + 'static>(
        reader: R,
        hint: Option<&str>,
        config: DecoderConfig,
    ) -> Result<Self, Error> {
        let src = SeekableReader::new(reader);
        if src.byte_len_hint() == Some(0) {
            return Err(Error::Empty);
        }
        Self::from_media_source(Box::new(src), hint, config)
    }

    /// Decodes a forward-only reader (a pipe, a socket, an HTTP body) as its bytes arrive.
    /// Reads block as the reader blocks. [`seek`](Self::seek) can then only go forwards (it
    /// decodes and discards), and formats that keep their index at the end of the file (MP4
    /// with `moov` last) cannot be opened this way.
    pub fn from_stream<R: Read + Send + 'static>(
        reader: R,
        hint: Option<&str>,
        config: DecoderConfig,
    ) -> Result<Self, Error> {
        Self::from_media_source(Box::new(StreamReader::new(reader)), hint, config)
    }

    /// Decodes any symphonia [`MediaSource`].
    pub fn from_media_source(
        source: Box<dyn MediaSource>,
        hint: Option<&str>,
        config: DecoderConfig,
    ) -> Result<Self, Error> {
        config.validate()?;
        let seekable = source.is_seekable();
        let reader = demux::probe(source, hint)?;
        Self::from_format_reader(reader, seekable, config)
    }

    fn from_format_reader(
        reader: Box<dyn FormatReader>,
        seekable: bool,
        config: DecoderConfig,
    ) -> Result<Self, Error> {
        let container = reader.format_info().short_name;
        let (track, params) = demux::audio_track(&*reader)?;
        let codec = make_codec(params, config.gapless)?;
        let track_id = track.id;
        let padding = track.padding;
        // Opus: 48 kHz, the OpusHead's channels and pre-skip (see `Codec::track_override`).
        let over = codec.track_override(track);
        let rate = over.map_or(params.sample_rate.unwrap_or(0), |o| o.rate);
        let channels = over.map_or(params.channels.as_ref().map_or(0, |c| c.count()), |o| {
            o.channels
        });
        let delay = over.map_or(track.delay, |o| Some(o.delay));
        let num_frames = over.map_or(track.num_frames, |o| o.num_frames);
        let (lead_skip, seek_preroll) = over.map_or((0, 0), |o| (o.lead_skip, o.seek_preroll));
        let timeline = Timeline::new(
            track.time_base,
            rate,
            config.gapless,
            lead_skip,
            seek_preroll,
        );
        let total_frames = num_frames.map(|n| {
            if config.gapless {
                n
            } else {
                n + u64::from(delay.unwrap_or(0)) + u64::from(padding.unwrap_or(0))
            }
        });
        let announced_max = params
            .max_frames_per_packet
            .or(codec.max_frames_per_packet())
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0);
        let bits_per_sample = params.bits_per_sample;
        // PCM WAV is read directly (after symphonia parsed the header), unless turned off.
        let codec_id = params.codec;
        let source = Source::new(
            reader,
            codec_id,
            track_id,
            (rate, channels),
            num_frames,
            config.wav_fast_path,
        )?;
        let info = StreamInfo {
            container,
            codec: codec.name(),
            sample_rate: rate,
            channels: u16::try_from(channels).unwrap_or(0),
            bits_per_sample,
            total_frames,
            duration: None,
            encoder_delay: delay,
            encoder_padding: padding,
            seekable,
        };
        let mut dec = Decoder {
            source,
            codec,
            info,
            // Placeholder until checked below.
            format: AudioFormat {
                rate: 1,
                channels: 1,
            },
            config,
            frame_len: 1,
            pcm: Pcm::new(announced_max.min(1 << 20)),
            timeline,
            state: State::Running,
            faults: Faults::default(),
            stats: DecodeStats::default(),
        };
        // Decode the first packet now: it fixes the true output format (which the container
        // may not state), sizes the buffer from the decoder's real packet capacity, and turns a
        // file that cannot be decoded at all into an error here rather than at the first read.
        dec.prime()?;
        Ok(dec)
    }

    /// Reads packets until one decodes to audio (or the stream ends), then sets the format and
    /// allocates the sample buffer. The WAV fast path reads its first block instead.
    fn prime(&mut self) -> Result<(), Error> {
        if self.source.is_wav() {
            return self.prime_wav();
        }
        let mut first: Option<First> = None;
        let mut errors = 0u32;
        let too_many = |errors: u32| Error::Malformed {
            context: "first packets",
            detail: format!("{errors} consecutive corrupt packets"),
        };
        while first.is_none() {
            let packet = match self.source.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(SymError::DecodeError(_)) => {
                    errors += 1;
                    self.stats.corrupt_packets += 1;
                    if errors >= self.config.max_consecutive_errors {
                        return Err(too_many(errors));
                    }
                    continue;
                }
                Err(e) => return Err(open_error(e, "first packet")),
            };
            let start = self.timeline.packet_start(&packet);
            let codec = &mut self.codec;
            let decoded = guarded("the codec panicked on this packet", || {
                codec.decode(&packet)
            })
            .map_err(|e| match e {
                SymError::LimitError(what) => SymError::DecodeError(what),
                other => other,
            });
            match decoded {
                Ok(d) => {
                    self.stats.packets_decoded += 1;
                    if d.frames > 0 {
                        first = Some(First {
                            rate: d.rate,
                            channels: d.channels,
                            frames: d.frames,
                            capacity: d.capacity,
                            start,
                        });
                    }
                }
                Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                    errors += 1;
                    self.stats.corrupt_packets += 1;
                    if errors >= self.config.max_consecutive_errors {
                        return Err(too_many(errors));
                    }
                }
                Err(e) => {
                    return Err(Error::Unsupported {
                        codec: self.info.codec.to_owned(),
                        detail: e.to_string(),
                    });
                }
            }
        }
        let (rate, channels) = match &first {
            Some(f) => (f.rate, f.channels),
            None => (self.info.sample_rate, usize::from(self.info.channels)),
        };
        self.set_format(rate, channels)?;
        if let Some(f) = &first {
            self.pcm.max_packet = self.pcm.max_packet.max(f.frames).max(f.capacity);
        }
        if self.pcm.max_packet == 0 {
            self.pcm.max_packet = 8192;
        }
        self.pcm.allocate(self.format.channels, self.frame_len);
        if let Some(f) = first {
            let t = &mut self.timeline;
            t.first_start = Some(f.start);
            t.origin = Some(f.start.saturating_add(t.lead_skip as i64));
            t.expected_start = Some(f.start.saturating_add(f.frames as i64));
            let lead = t.take_lead(f.frames);
            self.copy_last_decoded(lead);
        } else {
            self.state = State::Draining;
        }
        Ok(())
    }

    /// [`prime`](Self::prime) for the WAV fast path: the header gives the format; the first
    /// block is read now, as the first packet is on the other path.
    fn prime_wav(&mut self) -> Result<(), Error> {
        self.set_format(self.info.sample_rate, usize::from(self.info.channels))?;
        // Blocks of at least 1024 sample frames (fewer, larger reads), one output frame when
        // frames are longer.
        self.pcm.max_packet = self.frame_len.max(1024);
        self.source.allocate_wav(self.pcm.max_packet);
        self.pcm.allocate(self.format.channels, self.frame_len);
        self.timeline.origin = Some(0);
        self.read_wav_block();
        match self.faults.pending.take() {
            // Nothing at all where the header promised data: an open error, as on the
            // symphonia path.
            Some(Error::Truncated { .. }) if self.pcm.frames() == 0 => Err(Error::Truncated {
                context: "first packet",
                at: MediaTime::ZERO,
            }),
            Some(Error::Io(e)) if self.pcm.frames() == 0 => Err(Error::Io(e)),
            other => {
                self.faults.pending = other;
                Ok(())
            }
        }
    }

    /// Sets the output format (and what follows from it: frame length, duration).
    fn set_format(&mut self, rate: u32, channels: usize) -> Result<(), Error> {
        let channels_u16 = u16::try_from(channels).unwrap_or(0);
        self.format = AudioFormat::new(rate, channels_u16).map_err(|e| Error::Malformed {
            context: "stream format",
            detail: e.to_string(),
        })?;
        self.timeline.set_rate(rate);
        self.info.sample_rate = rate;
        self.info.channels = channels_u16;
        self.frame_len = self.format.frames_in(self.config.frame_duration);
        if self.frame_len == 0 {
            return Err(Error::InvalidConfig {
                what: "frame_duration",
                reason: format!(
                    "{:?} is less than one sample at {rate} Hz",
                    self.config.frame_duration
                ),
            });
        }
        self.info.duration = self
            .info
            .total_frames
            .map(|n| MediaTime::new(i64::try_from(n).unwrap_or(i64::MAX), rate));
        Ok(())
    }
}
