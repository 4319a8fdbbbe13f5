//! The streaming decoder.

use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Arc;

use symphonia::core::errors::{Error as SymError, SeekErrorKind};
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::packet::Packet;
use symphonia::core::units::{TimeBase, Timestamp};
use voxflow_core::{AudioFormat, AudioFrame, AudioSource, MediaTime};

use crate::codec::{Codec, make_codec};
use crate::source::{SeekableReader, SharedBytes, StreamReader};
use crate::wav::{Block, Coding, WavPcm};
use crate::{DecoderConfig, Error};

/// What is known about the decoded stream, from the container and the first decoded packet.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamInfo {
    /// Short name of the container format (`"wave"`, `"flac"`, `"mp3"`, `"ogg"`, `"isomp4"`,
    /// `"mkv"`, ...).
    pub container: &'static str,
    /// Short name of the codec (`"pcm_s16le"`, `"flac"`, `"mp3"`, `"vorbis"`, `"aac"`, ...).
    pub codec: &'static str,
    /// Sample rate of the output, in Hz.
    pub sample_rate: u32,
    /// Channels of the output.
    pub channels: u16,
    /// Bits per decoded sample, when the codec has such a notion (PCM, FLAC).
    pub bits_per_sample: Option<u32>,
    /// Total length of the output in sample frames, when the container says (after gapless
    /// trimming when it is on). See the crate docs for AAC in MP4, where the container's count
    /// includes the encoder delay that symphonia does not trim.
    pub total_frames: Option<u64>,
    /// [`total_frames`](Self::total_frames) as a time.
    pub duration: Option<MediaTime>,
    /// Encoder delay (leading frames) the container signals, trimmed when gapless is on.
    pub encoder_delay: Option<u32>,
    /// Encoder padding (trailing frames) the container signals, trimmed when gapless is on.
    pub encoder_padding: Option<u32>,
    /// Whether [`Decoder::seek`] can go backwards (the input is seekable).
    pub seekable: bool,
}

/// Counters of a decoder's work since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeStats {
    /// Packets decoded successfully.
    pub packets_decoded: u64,
    /// Packets skipped because the demuxer or the codec found them corrupt.
    pub corrupt_packets: u64,
    /// Sample frames of silence put in place of corrupt packets (see
    /// [`DecoderConfig::conceal_corrupt`]).
    pub concealed_frames: u64,
    /// [`AudioFrame`]s handed out.
    pub frames_emitted: u64,
    /// Sample frames (instants across all channels) handed out.
    pub sample_frames_emitted: u64,
    /// Times the internal buffer had to grow because a packet was larger than the codec
    /// announced (0 for all formats tested; each growth allocates once).
    pub buffer_grows: u32,
}

/// What the source-specific part of a seek did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Moved {
    /// The reader is at (or just before) the target: decode up to it.
    Reader,
    /// The seek is complete (the target was buffered, or the input ends before it).
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Packets remain to be read.
    Running,
    /// No more packets: drain the buffer, then deliver `pending` (if any), then end.
    Draining,
}

/// Where packets come from.
enum Source {
    /// symphonia's demuxer (every container; the packets go through `Decoder::codec`).
    Packets(Box<dyn FormatReader>),
    /// PCM WAV read directly: no per-packet allocation (see `crate::wav`).
    Wav(WavPcm),
}

/// A streaming audio decoder: any container and codec symphonia reads (WAV, FLAC, MP3, Ogg
/// Vorbis, AAC/M4A, MKV/WebM), and Ogg/WebM Opus (feature `opus`) in, fixed-duration
/// interleaved `f32` [`AudioFrame`]s out, with sample-accurate pts, gapless trimming, accurate
/// seeking and corrupt-packet recovery.
///
/// Open it from a path ([`open`](Self::open)), shared bytes ([`from_bytes`](Self::from_bytes),
/// [`Preloaded`](crate::Preloaded)), any `Read + Seek` ([`from_reader`](Self::from_reader)) or a
/// forward-only stream ([`from_stream`](Self::from_stream)); then call
/// [`AudioSource::read`] (or [`next_frame`](Self::next_frame) for this crate's error type) in a
/// loop.
pub struct Decoder {
    source: Source,
    /// The codec (for the WAV fast path: symphonia's PCM codec, kept for its name only).
    codec: Box<dyn Codec>,
    track_id: u32,
    time_base: Option<TimeBase>,
    info: StreamInfo,
    format: AudioFormat,
    config: DecoderConfig,
    /// Sample frames per output frame.
    frame_len: usize,
    /// Largest packet (in sample frames) seen or announced.
    max_packet: usize,
    /// Interleaved decoded samples; the live region is `head..tail`.
    pcm: Vec<f32>,
    head: usize,
    tail: usize,
    /// Output sample index of `pcm[head]`.
    next_pts: i64,
    /// Packet-timeline position (in sample frames) of output sample 0.
    origin: Option<i64>,
    /// Packet-timeline position of the first decoded packet (before any lead trim).
    first_start: Option<i64>,
    /// Decoded sample frames still to drop at the start of the stream (Opus pre-skip; other
    /// codecs trim their own delay).
    lead_skip: usize,
    /// Sample frames to decode and discard before a seek target (Opus: 80 ms; 0 otherwise).
    seek_preroll: i64,
    /// After a seek: output sample index where output must resume.
    seek_target: Option<i64>,
    state: State,
    /// A stop error to deliver once the buffer is drained.
    pending: Option<Error>,
    /// A skippable error to deliver on the next read (report_corrupt).
    pending_corrupt: Option<Error>,
    consecutive_errors: u32,
    /// Packet-timeline position (sample frames) where the next packet should start, to detect
    /// packets the demuxer dropped (e.g. a FLAC frame failing its CRC).
    expected_start: Option<i64>,
    stats: DecodeStats,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("info", &self.info)
            .field("frame_len", &self.frame_len)
            .field("next_pts", &self.next_pts)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Runs a symphonia call, turning a panic inside it into an error. A panic in a dependency on
/// untrusted input is that dependency's bug, but it must not become ours: the fuzzer and the
/// property tests found inputs (e.g. a WAV channel mask that overflows a shift in
/// symphonia-format-riff 0.6.1) where symphonia panics. The default panic hook still prints the
/// message to stderr.
fn guarded<T>(what: &'static str, f: impl FnOnce() -> Result<T, SymError>) -> Result<T, SymError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or(Err(SymError::LimitError(what)))
}

fn is_eof(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::UnexpectedEof
}

/// Maps an error from opening (probing, reading headers).
fn open_error(e: SymError, context: &'static str) -> Error {
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
        let mss = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
        let mut h = Hint::new();
        if let Some(ext) = hint {
            h.with_extension(ext);
        }
        let reader = guarded("the demuxer panicked on this header", || {
            symphonia::default::get_probe().probe(
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
        })?;
        Self::from_format_reader(reader, seekable, config)
    }

    fn from_format_reader(
        reader: Box<dyn FormatReader>,
        seekable: bool,
        config: DecoderConfig,
    ) -> Result<Self, Error> {
        let container = reader.format_info().short_name;
        let track = reader
            .default_track(TrackType::Audio)
            .filter(|t| t.codec_params.as_ref().and_then(|p| p.audio()).is_some())
            .or_else(|| {
                reader
                    .tracks()
                    .iter()
                    .find(|t| t.codec_params.as_ref().and_then(|p| p.audio()).is_some())
            })
            .ok_or(Error::NoAudioTrack { container })?;
        let Some(params) = track.codec_params.as_ref().and_then(|p| p.audio()) else {
            return Err(Error::NoAudioTrack { container });
        };
        let codec = make_codec(params, config.gapless)?;
        let track_id = track.id;
        let time_base = track.time_base;
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
        // PCM WAV is read directly (after symphonia parsed the header), unless turned off.
        let wav_coding = Coding::from_codec(params.codec)
            .filter(|_| config.wav_fast_path && container == "wave")
            .filter(|_| rate > 0 && channels > 0);
        let bits_per_sample = params.bits_per_sample;
        let source = match wav_coding {
            // The reader has read the header only: its stream is at the first data byte.
            Some(coding) => match WavPcm::new(reader.into_inner(), coding, channels, num_frames) {
                Some(wav) => Source::Wav(wav),
                None => {
                    return Err(Error::Malformed {
                        context: "WAV format chunk",
                        detail: "zero bytes per sample frame".into(),
                    });
                }
            },
            None => Source::Packets(reader),
        };
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
            track_id,
            time_base,
            info,
            // Placeholder until checked below.
            format: AudioFormat {
                rate: 1,
                channels: 1,
            },
            config,
            frame_len: 1,
            max_packet: announced_max.min(1 << 20),
            pcm: Vec::new(),
            head: 0,
            tail: 0,
            next_pts: 0,
            origin: None,
            first_start: None,
            lead_skip,
            seek_preroll,
            seek_target: None,
            state: State::Running,
            pending: None,
            pending_corrupt: None,
            consecutive_errors: 0,
            expected_start: None,
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
        if matches!(self.source, Source::Wav(_)) {
            return self.prime_wav();
        }
        let mut first: Option<(u32, usize, usize, usize, i64)> = None; // rate, ch, frames, cap, start
        let mut errors = 0u32;
        while first.is_none() {
            let packet = match self.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(SymError::DecodeError(_)) => {
                    errors += 1;
                    self.stats.corrupt_packets += 1;
                    if errors >= self.config.max_consecutive_errors {
                        return Err(Error::Malformed {
                            context: "first packets",
                            detail: format!("{errors} consecutive corrupt packets"),
                        });
                    }
                    continue;
                }
                Err(e) => return Err(open_error(e, "first packet")),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let start = self.packet_start(&packet);
            let codec = &mut self.codec;
            let decoded = guarded("the codec panicked on this packet", || {
                codec
                    .decode(&packet)
                    .map(|d| (d.frames > 0).then_some((d.rate, d.channels, d.frames, d.capacity)))
            })
            .map_err(|e| match e {
                SymError::LimitError(what) => SymError::DecodeError(what),
                other => other,
            });
            match decoded {
                Ok(buf) => {
                    self.stats.packets_decoded += 1;
                    if let Some((rate, planes, frames, cap)) = buf {
                        first = Some((rate, planes, frames, cap, start));
                    }
                }
                Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                    errors += 1;
                    self.stats.corrupt_packets += 1;
                    if errors >= self.config.max_consecutive_errors {
                        return Err(Error::Malformed {
                            context: "first packets",
                            detail: format!("{errors} consecutive corrupt packets"),
                        });
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
        let (rate, channels) = match first {
            Some((r, c, ..)) => (r, c),
            None => (self.info.sample_rate, usize::from(self.info.channels)),
        };
        self.set_format(rate, channels)?;
        if let Some((_, _, frames, cap, _)) = first {
            self.max_packet = self.max_packet.max(frames).max(cap);
        }
        if self.max_packet == 0 {
            self.max_packet = 8192;
        }
        self.allocate_pcm();
        if let Some((_, _, frames, _, start)) = first {
            self.first_start = Some(start);
            self.origin = Some(start.saturating_add(self.lead_skip as i64));
            self.expected_start = Some(start.saturating_add(frames as i64));
            let lead = self.take_lead(frames);
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
        self.max_packet = self.frame_len.max(1024);
        if let Source::Wav(wav) = &mut self.source {
            wav.allocate(self.max_packet);
        }
        self.allocate_pcm();
        self.origin = Some(0);
        self.read_wav_block();
        match self.pending.take() {
            // Nothing at all where the header promised data: an open error, as on the
            // symphonia path.
            Some(Error::Truncated { .. }) if self.tail == 0 => Err(Error::Truncated {
                context: "first packet",
                at: MediaTime::ZERO,
            }),
            Some(Error::Io(e)) if self.tail == 0 => Err(Error::Io(e)),
            other => {
                self.pending = other;
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

    /// Allocates the sample buffer: room for one output frame plus two of the largest packets,
    /// so compaction is rare.
    fn allocate_pcm(&mut self) {
        let cap = (self.frame_len + 2 * self.max_packet) * usize::from(self.format.channels);
        self.pcm = vec![0.0; cap];
    }

    /// Packet-timeline position (sample frames) of the first sample the codec will output for
    /// `p` (after its trimming).
    fn packet_start(&self, p: &Packet) -> i64 {
        let trim = if self.config.gapless {
            i64::try_from(p.trim_start.get()).unwrap_or(i64::MAX)
        } else {
            0
        };
        self.ts_to_frames(p.pts.get())
            .saturating_add(self.ts_dur_to_frames(trim))
    }

    fn ts_to_frames(&self, ts: i64) -> i64 {
        match self.time_base {
            Some(tb) if tb.numer.get() == 1 && tb.denom.get() == self.rate_hint() => ts,
            Some(tb) => {
                let num =
                    i128::from(ts) * i128::from(tb.numer.get()) * i128::from(self.rate_hint());
                let den = i128::from(tb.denom.get());
                let q = (num + den / 2).div_euclid(den);
                q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
            }
            None => ts,
        }
    }

    fn ts_dur_to_frames(&self, d: i64) -> i64 {
        self.ts_to_frames(d)
    }

    fn frames_to_ts(&self, frames: i64) -> i64 {
        match self.time_base {
            Some(tb) if tb.numer.get() == 1 && tb.denom.get() == self.rate_hint() => frames,
            Some(tb) => {
                let num = i128::from(frames) * i128::from(tb.denom.get());
                let den = i128::from(tb.numer.get()) * i128::from(self.rate_hint());
                num.div_euclid(den.max(1))
                    .clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
            }
            None => frames,
        }
    }

    fn rate_hint(&self) -> u32 {
        if self.format.rate > 1 {
            self.format.rate
        } else {
            self.info.sample_rate.max(1)
        }
    }

    /// Makes room for `samples` more samples at `tail`, compacting and (rarely) growing.
    fn reserve(&mut self, samples: usize) {
        if self.tail + samples <= self.pcm.len() {
            return;
        }
        if self.head > 0 {
            self.pcm.copy_within(self.head..self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
        if self.tail + samples > self.pcm.len() {
            // A packet larger than the codec announced: grow once to fit it.
            self.pcm.resize(self.tail + samples, 0.0);
            self.stats.buffer_grows += 1;
        }
    }

    /// Appends the codec's last decoded buffer, dropping its first `skip` sample frames.
    fn copy_last_decoded(&mut self, skip: usize) {
        let (frames, n) = self.codec.last_len();
        self.max_packet = self.max_packet.max(frames);
        self.reserve(n);
        let (tail, pcm) = (self.tail, &mut self.pcm);
        self.codec.copy_last_decoded(&mut pcm[tail..tail + n]);
        self.commit(frames, skip);
    }

    /// How many of the `frames` just decoded fall in the stream's lead trim (Opus pre-skip),
    /// counting them off.
    fn take_lead(&mut self, frames: usize) -> usize {
        let n = self.lead_skip.min(frames);
        self.lead_skip -= n;
        n
    }

    /// Makes the `frames` sample frames written at `tail` part of the buffer, dropping the
    /// first `skip` of them.
    fn commit(&mut self, frames: usize, skip: usize) {
        let ch = usize::from(self.format.channels);
        self.tail += frames * ch;
        self.head += skip.min(frames) * ch;
        if self.head >= self.tail {
            self.head = 0;
            self.tail = 0;
        }
    }

    /// After a seek: how many leading frames of `frames` decoded ones starting at output
    /// position `pos` to drop to reach the seek target (clearing the target once reached), or
    /// `None` when all of them lie before it. `Some(0)` without a seek target.
    fn seek_skip(&mut self, pos: i64, frames: usize) -> Option<usize> {
        let Some(target) = self.seek_target else {
            return Some(0);
        };
        let end = pos.saturating_add(frames as i64);
        if end <= target {
            return None;
        }
        self.seek_target = None;
        self.next_pts = pos.max(target);
        Some(usize::try_from(target.saturating_sub(pos)).unwrap_or(0))
    }

    /// Appends `frames` sample frames of concealment (Opus: its loss concealment; other
    /// codecs: silence).
    fn append_concealment(&mut self, frames: usize) {
        let n = frames * usize::from(self.format.channels);
        self.reserve(n);
        self.codec.conceal(&mut self.pcm[self.tail..self.tail + n]);
        self.tail += n;
        self.stats.concealed_frames += frames as u64;
    }

    fn buffered_frames(&self) -> usize {
        (self.tail - self.head) / usize::from(self.format.channels)
    }

    /// Position (output sample index) of the next sample to be appended to the buffer.
    fn buffer_end_pts(&self) -> i64 {
        self.next_pts + self.buffered_frames() as i64
    }

    /// Decodes packets until a full frame is buffered or the input ends. A skippable error is
    /// returned only with `report_corrupt`; stop errors are parked in `pending`.
    fn fill(&mut self) -> Result<(), Error> {
        while self.state == State::Running && self.buffered_frames() < self.frame_len {
            if matches!(self.source, Source::Wav(_)) {
                self.read_wav_block();
                continue;
            }
            let packet = match self.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => {
                    self.state = State::Draining;
                    break;
                }
                Err(SymError::DecodeError(what)) => {
                    self.on_corrupt(what, 0)?;
                    continue;
                }
                Err(SymError::IoError(e)) if is_eof(&e) => {
                    self.finish_with(Error::Truncated {
                        context: "packet",
                        at: MediaTime::ZERO,
                    });
                    break;
                }
                Err(SymError::IoError(e)) => {
                    self.finish_with(Error::Io(e));
                    break;
                }
                Err(SymError::ResetRequired) => {
                    self.finish_with(Error::FormatChanged {
                        expected: self.format,
                        rate: 0,
                        channels: 0,
                    });
                    break;
                }
                Err(e) => {
                    self.finish_with(Error::Malformed {
                        context: "container",
                        detail: e.to_string(),
                    });
                    break;
                }
            };
            if packet.track_id != self.track_id {
                continue;
            }
            self.decode_packet(&packet)?;
        }
        Ok(())
    }

    /// The demuxer's next packet (`None` on the WAV fast path, which has no packets).
    fn next_packet(&mut self) -> Result<Option<Packet>, SymError> {
        match &mut self.source {
            Source::Packets(reader) => guarded("the demuxer panicked on this input", || {
                reader.next_packet()
            }),
            Source::Wav(_) => Ok(None),
        }
    }

    /// WAV fast path: reads one block straight into the sample buffer (one "packet").
    fn read_wav_block(&mut self) {
        let Source::Wav(wav) = &mut self.source else {
            return;
        };
        let room = wav.block_frames() * usize::from(self.format.channels);
        self.reserve(room);
        let Source::Wav(wav) = &mut self.source else {
            return;
        };
        match wav.read_block(&mut self.pcm[self.tail..]) {
            Ok(Block::Frames { start, frames }) => {
                self.stats.packets_decoded += 1;
                if let Some(skip) = self.seek_skip(start, frames) {
                    self.commit(frames, skip);
                }
            }
            Ok(Block::End) => self.state = State::Draining,
            Ok(Block::Truncated) => self.finish_with(Error::Truncated {
                context: "packet",
                at: MediaTime::ZERO,
            }),
            Err(e) => self.finish_with(Error::Io(e)),
        }
    }

    fn finish_with(&mut self, e: Error) {
        self.state = State::Draining;
        if self.pending.is_none() {
            self.pending = Some(e);
        }
    }

    fn decode_packet(&mut self, packet: &Packet) -> Result<(), Error> {
        let start = self.packet_start(packet);
        // Opus conceals a gap with its decoder state, so before this packet is decoded; the
        // other codecs' gaps are found after decoding, as packets decoding to nothing
        // (priming) must not count.
        let fill_first = self.codec.conceals_lost_audio();
        if fill_first {
            self.fill_gap(start, self.expected_start)?;
        }
        let codec = &mut self.codec;
        let result = guarded("the codec panicked on this packet", || {
            codec.decode(packet).map(|d| (d.frames, d.rate, d.channels))
        })
        // A codec panic is handled like a corrupt packet: skipped, counted, bounded by
        // `max_consecutive_errors`.
        .map_err(|e| match e {
            SymError::LimitError(what) => SymError::DecodeError(what),
            other => other,
        });
        match result {
            Ok((frames, rate, planes)) => {
                self.stats.packets_decoded += 1;
                self.consecutive_errors = 0;
                if frames == 0 {
                    return Ok(());
                }
                if rate != self.format.rate || planes != usize::from(self.format.channels) {
                    self.finish_with(Error::FormatChanged {
                        expected: self.format,
                        rate,
                        channels: planes,
                    });
                    return Ok(());
                }
                let origin = *self.origin.get_or_insert(start);
                let pos = start.saturating_sub(origin);
                let expected = self
                    .expected_start
                    .replace(start.saturating_add(frames as i64));
                if !fill_first {
                    self.fill_gap(start, expected)?;
                }
                let lead = self.take_lead(frames);
                // (`None`: entirely before the seek target, discarded.)
                if let Some(skip) = self.seek_skip(pos.saturating_add(lead as i64), frames - lead) {
                    self.copy_last_decoded(lead + skip);
                }
                Ok(())
            }
            Err(SymError::DecodeError(what)) => {
                let dur = self.lost_packet_frames(packet);
                self.expected_start = Some(start.saturating_add(dur));
                self.on_corrupt(what, usize::try_from(dur).unwrap_or(0))
            }
            Err(SymError::IoError(_)) => {
                let dur = self.lost_packet_frames(packet);
                self.expected_start = Some(start.saturating_add(dur));
                self.on_corrupt("packet data ended early", usize::try_from(dur).unwrap_or(0))
            }
            Err(SymError::ResetRequired) => {
                self.codec.reset();
                self.on_corrupt("decoder reset required", 0)
            }
            Err(e) => {
                self.finish_with(Error::Unsupported {
                    codec: self.info.codec.to_owned(),
                    detail: e.to_string(),
                });
                Ok(())
            }
        }
    }

    /// Sample frames a packet that failed to decode stood for: its TOC duration for Opus, else
    /// the duration the demuxer gave.
    fn lost_packet_frames(&self, packet: &Packet) -> i64 {
        match self.codec.lost_packet_frames(packet) {
            Some(n) => i64::try_from(n).unwrap_or(0),
            None => self.ts_dur_to_frames(i64::try_from(packet.dur.get()).unwrap_or(0)),
        }
    }

    /// Conceals the audio between `expected` (where the previous packet ended) and `start`
    /// (where this one begins) when the demuxer skipped data it could not parse.
    fn fill_gap(&mut self, start: i64, expected: Option<i64>) -> Result<(), Error> {
        if let (Some(exp), None) = (expected, self.seek_target) {
            let gap = start.saturating_sub(exp);
            if gap > self.gap_tolerance() {
                let limit = self.max_packet.saturating_mul(64) as i64;
                self.on_corrupt_with_fill(
                    "packets lost (demuxer resynchronised)",
                    usize::try_from(gap.min(limit)).unwrap_or(0),
                )?;
            }
        }
        Ok(())
    }

    /// Largest forward jump of packet pts not counted as lost packets: exact for sample-rate
    /// time bases, one time-base tick (plus one sample) for coarser ones (MKV milliseconds).
    fn gap_tolerance(&self) -> i64 {
        match self.time_base {
            Some(tb) if tb.numer.get() == 1 && tb.denom.get() == self.rate_hint() => 0,
            Some(_) => self.ts_dur_to_frames(1).saturating_add(1),
            None => i64::MAX,
        }
    }

    /// A lost stretch found by pts: always concealed (when configured), never resetting the
    /// consecutive-error count.
    fn on_corrupt_with_fill(&mut self, detail: &'static str, dur: usize) -> Result<(), Error> {
        self.stats.corrupt_packets += 1;
        let at = MediaTime::new(self.buffer_end_pts(), self.format.rate);
        if self.config.conceal_corrupt && dur > 0 {
            self.append_concealment(dur);
        }
        if self.config.report_corrupt {
            // Deliver the report before the audio that follows the gap.
            self.pending_corrupt = Some(Error::Corrupt { at, detail });
        }
        Ok(())
    }

    /// Counts a corrupt packet of `dur` sample frames, conceals it, and reports it when asked.
    fn on_corrupt(&mut self, detail: &'static str, dur: usize) -> Result<(), Error> {
        if self.seek_target.is_some() {
            // Pre-roll packets after a seek (e.g. MP3 frames missing their bit reservoir) are
            // discarded anyway: not counted.
            return Ok(());
        }
        self.stats.corrupt_packets += 1;
        self.consecutive_errors += 1;
        let at = MediaTime::new(self.buffer_end_pts(), self.format.rate);
        if self.consecutive_errors >= self.config.max_consecutive_errors {
            self.finish_with(Error::Malformed {
                context: "stream",
                detail: format!("{} consecutive corrupt packets", self.consecutive_errors),
            });
            return Ok(());
        }
        if self.config.conceal_corrupt && dur > 0 {
            // Never trust a corrupt packet's duration beyond the largest packet seen.
            self.append_concealment(dur.min(self.max_packet));
        }
        if self.config.report_corrupt {
            return Err(Error::Corrupt { at, detail });
        }
        Ok(())
    }

    /// The stream's description (container, codec, rate, channels, length, ...).
    pub fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// The format of every output frame (the stream's native rate and channels).
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// Counters since open.
    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    /// The configuration in use.
    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// Sample frames per output frame (every frame but possibly the last).
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// Pts of the next frame [`next_frame`](Self::next_frame) will return.
    pub fn position(&self) -> MediaTime {
        MediaTime::new(self.next_pts, self.format.rate)
    }

    /// Writes the next frame into `out` (cleared first; format, pts and samples set). Returns
    /// `Ok(false)` at the end of the stream. Like [`AudioSource::read`], with this crate's
    /// error type. Does not allocate when `out` can hold [`frame_len`](Self::frame_len) sample
    /// frames (otherwise it grows `out` once).
    pub fn next_frame(&mut self, out: &mut AudioFrame) -> Result<bool, Error> {
        out.reset(self.format);
        if let Some(e) = self.pending_corrupt.take() {
            return Err(e);
        }
        if self.buffered_frames() < self.frame_len && self.state == State::Running {
            // An error here is a reported corrupt packet: deliver it now, the audio next call.
            self.fill()?;
        }
        let n = self.buffered_frames().min(self.frame_len);
        if n == 0 {
            return match self.pending.take() {
                Some(Error::Truncated { context, .. }) => Err(Error::Truncated {
                    context,
                    at: self.position(),
                }),
                Some(e) => Err(e),
                None => Ok(false),
            };
        }
        if out.capacity_frames() < n {
            out.reserve_frames(self.frame_len);
        }
        let ch = usize::from(self.format.channels);
        let end = self.head + n * ch;
        out.extend_from_interleaved(&self.pcm[self.head..end])
            .map_err(|e| Error::Malformed {
                context: "output frame",
                detail: e.to_string(),
            })?;
        out.set_pts(self.position());
        self.head = end;
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
        }
        self.next_pts += n as i64;
        self.stats.frames_emitted += 1;
        self.stats.sample_frames_emitted += n as u64;
        Ok(true)
    }

    /// Decodes the rest of the stream into `out` (interleaved), returning the number of sample
    /// frames appended. Convenience for tests and offline tools: it allocates as `out` grows.
    /// Corrupt packets are skipped (and counted) even when `report_corrupt` is set.
    pub fn read_to_end(&mut self, out: &mut Vec<f32>) -> Result<usize, Error> {
        let mut frame = AudioFrame::with_capacity(self.format, self.frame_len);
        let mut total = 0;
        loop {
            match self.next_frame(&mut frame) {
                Ok(true) => {
                    out.extend_from_slice(frame.samples());
                    total += frame.frames();
                }
                Ok(false) => return Ok(total),
                Err(e) if e.is_skippable() => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves to `to` (sample-accurate): the next frame's pts is `to` rounded to the nearest
    /// sample, and its samples are those a linear decode has there. Seeks back need a seekable
    /// input; on a stream, forward seeks decode and discard. Returns the new position.
    ///
    /// On [`Error::SeekOutOfRange`] and [`Error::NotSeekable`] nothing changes; after any other
    /// error the position is undefined (seek again or drop the decoder).
    pub fn seek(&mut self, to: MediaTime) -> Result<MediaTime, Error> {
        let rate = self.format.rate;
        let target = to.rescale(rate).ticks();
        let out_of_range = Error::SeekOutOfRange {
            requested: to,
            duration: self.info.duration,
        };
        if target < 0 {
            return Err(out_of_range);
        }
        if let Some(total) = self.info.total_frames {
            let total = i64::try_from(total).unwrap_or(i64::MAX);
            if target > total {
                return Err(out_of_range);
            }
        }
        if !self.info.seekable && target < self.next_pts {
            return Err(Error::NotSeekable { requested: to });
        }
        let moved = match self.source {
            Source::Packets(_) => self.seek_packets(target, to, out_of_range)?,
            Source::Wav(_) => self.seek_wav(target, to)?,
        };
        if moved == Moved::Done {
            return Ok(self.position());
        }
        self.codec.reset();
        self.head = 0;
        self.tail = 0;
        self.next_pts = target;
        self.seek_target = Some(target);
        // The seek target (never before output sample 0) drops the lead trim now.
        self.lead_skip = 0;
        self.expected_start = None;
        self.state = State::Running;
        self.pending = None;
        self.pending_corrupt = None;
        self.consecutive_errors = 0;
        // Decode up to the target now, so the position returned is the real one.
        // (`fill` discards packets before the target and never reports corrupt ones while
        // a seek target is set.)
        while self.seek_target.is_some() && self.state == State::Running {
            if let Err(e) = self.fill() {
                self.pending_corrupt = Some(e);
            }
        }
        if self.seek_target.take().is_some() {
            // The stream ended before the target.
            self.next_pts = target;
        }
        Ok(self.position())
    }

    /// Seeks symphonia's demuxer to (near) `target`.
    fn seek_packets(
        &mut self,
        target: i64,
        to: MediaTime,
        out_of_range: Error,
    ) -> Result<Moved, Error> {
        let origin = self.origin.unwrap_or(0);
        // Opus needs its decoder warmed up on the audio before the target (pre-roll), and
        // never earlier than the first packet.
        let from = target
            .saturating_add(origin)
            .saturating_sub(self.seek_preroll)
            .max(self.first_start.unwrap_or(i64::MIN));
        let ts = self.frames_to_ts(from);
        let Source::Packets(reader) = &mut self.source else {
            return Ok(Moved::Reader);
        };
        let seeked = reader.seek(
            SeekMode::Accurate,
            SeekTo::Timestamp {
                ts: Timestamp::new(ts),
                track_id: self.track_id,
            },
        );
        match seeked {
            Ok(_) => Ok(Moved::Reader),
            Err(SymError::SeekError(SeekErrorKind::OutOfRange)) => {
                // Past the last packet: the stream is over at this point.
                if self.info.total_frames.is_some() {
                    self.end_at(target);
                    return Ok(Moved::Done);
                }
                Err(out_of_range)
            }
            Err(SymError::SeekError(SeekErrorKind::ForwardOnly | SeekErrorKind::Unseekable)) => {
                Err(Error::NotSeekable { requested: to })
            }
            Err(SymError::IoError(e)) if is_eof(&e) => {
                self.end_at(target);
                Ok(Moved::Done)
            }
            Err(SymError::IoError(e)) => Err(Error::Io(e)),
            Err(e) => Err(Error::Malformed {
                context: "seek",
                detail: e.to_string(),
            }),
        }
    }

    /// WAV fast path: a target inside the buffered samples drops up to it; otherwise the
    /// reader moves to the target's byte offset exactly (seekable input) or reads and discards
    /// up to it (stream).
    fn seek_wav(&mut self, target: i64, to: MediaTime) -> Result<Moved, Error> {
        if target >= self.next_pts && target <= self.buffer_end_pts() {
            let skip = usize::try_from(target - self.next_pts).unwrap_or(0);
            self.head += skip * usize::from(self.format.channels);
            if self.head >= self.tail {
                self.head = 0;
                self.tail = 0;
            }
            self.next_pts = target;
            return Ok(Moved::Done);
        }
        let Source::Wav(wav) = &mut self.source else {
            return Ok(Moved::Reader);
        };
        match wav.seek_frame(u64::try_from(target).unwrap_or(0)) {
            Ok(()) => Ok(Moved::Reader),
            Err(e) if is_eof(&e) => {
                // A stream that ends before the target.
                self.end_at(target);
                Ok(Moved::Done)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                Err(Error::NotSeekable { requested: to })
            }
            Err(e) => Err(Error::Io(e)),
        }
    }

    fn end_at(&mut self, target: i64) {
        self.codec.reset();
        self.head = 0;
        self.tail = 0;
        self.next_pts = target;
        self.seek_target = None;
        self.state = State::Draining;
        self.pending = None;
        self.pending_corrupt = None;
    }
}

impl AudioSource for Decoder {
    fn name(&self) -> &'static str {
        "decode"
    }

    fn format(&self) -> AudioFormat {
        self.format
    }

    fn max_frames(&self) -> usize {
        self.frame_len
    }

    fn read(&mut self, out: &mut AudioFrame) -> Result<bool, voxflow_core::Error> {
        self.next_frame(out).map_err(Into::into)
    }
}
