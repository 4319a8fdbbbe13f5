//! The streaming decoder: the public [`Decoder`] type and the orchestration of its parts
//! (demux source, codec, timeline, sample buffer). Opening is in `open`.

mod open;

use symphonia::core::errors::Error as SymError;
use symphonia::core::packet::Packet;
use voxflow_core::{AudioFormat, AudioFrame, AudioSource, MediaTime};

use crate::codec::Codec;
use crate::demux::{Sought, Source, guarded, is_eof};
use crate::pcm::Pcm;
use crate::timeline::Timeline;
use crate::wav::Block;
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

/// Errors waiting to be delivered, and the run of corrupt packets.
#[derive(Debug, Default)]
struct Faults {
    /// A stop error to deliver once the buffer is drained.
    pending: Option<Error>,
    /// A skippable error to deliver on the next read (report_corrupt).
    pending_corrupt: Option<Error>,
    /// Corrupt packets in a row.
    consecutive: u32,
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
    info: StreamInfo,
    format: AudioFormat,
    config: DecoderConfig,
    /// Sample frames per output frame.
    frame_len: usize,
    /// Decoded samples awaiting output; the first one is at output position
    /// `timeline.next_pts`.
    pcm: Pcm,
    timeline: Timeline,
    state: State,
    faults: Faults,
    stats: DecodeStats,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("info", &self.info)
            .field("frame_len", &self.frame_len)
            .field("next_pts", &self.timeline.next_pts)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Decoder {
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
        MediaTime::new(self.timeline.next_pts, self.format.rate)
    }

    /// Writes the next frame into `out` (cleared first; format, pts and samples set). Returns
    /// `Ok(false)` at the end of the stream. Like [`AudioSource::read`], with this crate's
    /// error type. Does not allocate when `out` can hold [`frame_len`](Self::frame_len) sample
    /// frames (otherwise it grows `out` once).
    pub fn next_frame(&mut self, out: &mut AudioFrame) -> Result<bool, Error> {
        out.reset(self.format);
        if let Some(e) = self.faults.pending_corrupt.take() {
            return Err(e);
        }
        if self.pcm.frames() < self.frame_len && self.state == State::Running {
            // An error here is a reported corrupt packet: deliver it now, the audio next call.
            self.fill()?;
        }
        let n = self.pcm.frames().min(self.frame_len);
        if n == 0 {
            return match self.faults.pending.take() {
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
        self.pcm.pop_into(n, out).map_err(|e| Error::Malformed {
            context: "output frame",
            detail: e.to_string(),
        })?;
        out.set_pts(self.position());
        self.timeline.next_pts += n as i64;
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
        if !self.info.seekable && target < self.timeline.next_pts {
            return Err(Error::NotSeekable { requested: to });
        }
        if self.seek_source(target, to, out_of_range)? == Moved::Done {
            return Ok(self.position());
        }
        self.codec.reset();
        self.pcm.clear();
        self.timeline.start_seek(target);
        self.state = State::Running;
        self.faults = Faults::default();
        // Decode up to the target now, so the position returned is the real one.
        // (`fill` discards packets before the target and never reports corrupt ones while
        // a seek target is set.)
        while self.timeline.seek_target.is_some() && self.state == State::Running {
            if let Err(e) = self.fill() {
                self.faults.pending_corrupt = Some(e);
            }
        }
        if self.timeline.seek_target.take().is_some() {
            // The stream ended before the target.
            self.timeline.next_pts = target;
        }
        Ok(self.position())
    }

    /// Moves the source to (near) `target`: the demuxer to the pre-roll before it; the WAV
    /// fast path exactly there, or only drops buffered samples when the target is buffered.
    fn seek_source(
        &mut self,
        target: i64,
        to: MediaTime,
        out_of_range: Error,
    ) -> Result<Moved, Error> {
        let wav = self.source.is_wav();
        let next_pts = self.timeline.next_pts;
        if wav && target >= next_pts && target <= self.buffer_end_pts() {
            self.pcm
                .consume(usize::try_from(target - next_pts).unwrap_or(0));
            self.timeline.next_pts = target;
            return Ok(Moved::Done);
        }
        let ts = self.timeline.frames_to_ts(self.timeline.seek_from(target));
        match self.source.seek(ts, target) {
            Sought::Moved => Ok(Moved::Reader),
            // Past the last packet: the stream is over at this point.
            Sought::PastEnd if self.info.total_frames.is_some() => {
                self.end_at(target);
                Ok(Moved::Done)
            }
            Sought::PastEnd => Err(out_of_range),
            Sought::NotSeekable => Err(Error::NotSeekable { requested: to }),
            Sought::Ended => {
                self.end_at(target);
                Ok(Moved::Done)
            }
            Sought::Failed(e) => Err(e),
        }
    }

    fn end_at(&mut self, target: i64) {
        self.codec.reset();
        self.pcm.clear();
        self.timeline.next_pts = target;
        self.timeline.seek_target = None;
        self.state = State::Draining;
        self.faults.pending = None;
        self.faults.pending_corrupt = None;
    }

    /// Position (output sample index) of the next sample to be appended to the buffer.
    fn buffer_end_pts(&self) -> i64 {
        self.timeline.next_pts + self.pcm.frames() as i64
    }

    /// Decodes packets until a full frame is buffered or the input ends. A skippable error is
    /// returned only with `report_corrupt`; stop errors are parked in `faults.pending`.
    fn fill(&mut self) -> Result<(), Error> {
        while self.state == State::Running && self.pcm.frames() < self.frame_len {
            if self.source.is_wav() {
                self.read_wav_block();
                continue;
            }
            let packet = match self.source.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => {
                    self.state = State::Draining;
                    break;
                }
                Err(SymError::DecodeError(what)) => {
                    self.on_corrupt(what, 0)?;
                    continue;
                }
                Err(e) => {
                    self.finish_with(match e {
                        SymError::IoError(e) if is_eof(&e) => Error::Truncated {
                            context: "packet",
                            at: MediaTime::ZERO,
                        },
                        SymError::IoError(e) => Error::Io(e),
                        SymError::ResetRequired => Error::FormatChanged {
                            expected: self.format,
                            rate: 0,
                            channels: 0,
                        },
                        e => Error::Malformed {
                            context: "container",
                            detail: e.to_string(),
                        },
                    });
                    break;
                }
            };
            self.decode_packet(&packet)?;
        }
        Ok(())
    }

    /// WAV fast path: reads one block straight into the sample buffer (one "packet").
    fn read_wav_block(&mut self) {
        let (slot, grew) = self.pcm.slot(self.source.wav_block_frames());
        self.stats.buffer_grows += u32::from(grew);
        match self.source.read_wav_block(slot) {
            Ok(Block::Frames { start, frames }) => {
                self.stats.packets_decoded += 1;
                // (`None`: entirely before the seek target, discarded.)
                if let Some(skip) = self.timeline.seek_skip(start, frames) {
                    self.pcm.commit(frames, skip);
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
        if self.faults.pending.is_none() {
            self.faults.pending = Some(e);
        }
    }

    fn decode_packet(&mut self, packet: &Packet) -> Result<(), Error> {
        let start = self.timeline.packet_start(packet);
        // Opus conceals a gap with its decoder state, so before this packet is decoded; the
        // other codecs' gaps are found after decoding, as packets decoding to nothing
        // (priming) must not count.
        let fill_first = self.codec.conceals_lost_audio();
        if fill_first {
            self.fill_gap(start, self.timeline.expected_start)?;
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
                self.faults.consecutive = 0;
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
                let t = &mut self.timeline;
                let origin = *t.origin.get_or_insert(start);
                let pos = start.saturating_sub(origin);
                let expected = t
                    .expected_start
                    .replace(start.saturating_add(frames as i64));
                if !fill_first {
                    self.fill_gap(start, expected)?;
                }
                let lead = self.timeline.take_lead(frames);
                // (`None`: entirely before the seek target, discarded.)
                let at = pos.saturating_add(lead as i64);
                if let Some(skip) = self.timeline.seek_skip(at, frames - lead) {
                    self.copy_last_decoded(lead + skip);
                }
                Ok(())
            }
            Err(SymError::DecodeError(what)) => {
                let dur = self.lost_packet_frames(packet);
                self.timeline.expected_start = Some(start.saturating_add(dur));
                self.on_corrupt(what, usize::try_from(dur).unwrap_or(0))
            }
            Err(SymError::IoError(_)) => {
                let dur = self.lost_packet_frames(packet);
                self.timeline.expected_start = Some(start.saturating_add(dur));
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

    /// Appends the codec's last decoded buffer, dropping its first `skip` sample frames.
    fn copy_last_decoded(&mut self, skip: usize) {
        let (frames, _) = self.codec.last_len();
        self.pcm.max_packet = self.pcm.max_packet.max(frames);
        let (slot, grew) = self.pcm.slot(frames);
        self.stats.buffer_grows += u32::from(grew);
        self.codec.copy_last_decoded(slot);
        self.pcm.commit(frames, skip);
    }

    /// Appends `frames` sample frames of concealment (Opus: its loss concealment; other
    /// codecs: silence).
    fn append_concealment(&mut self, frames: usize) {
        let (slot, grew) = self.pcm.slot(frames);
        self.stats.buffer_grows += u32::from(grew);
        self.codec.conceal(slot);
        self.pcm.commit(frames, 0);
        self.stats.concealed_frames += frames as u64;
    }

    /// Sample frames a packet that failed to decode stood for: its TOC duration for Opus, else
    /// the duration the demuxer gave.
    fn lost_packet_frames(&self, packet: &Packet) -> i64 {
        match self.codec.lost_packet_frames(packet) {
            Some(n) => i64::try_from(n).unwrap_or(0),
            None => self
                .timeline
                .ts_to_frames(i64::try_from(packet.dur.get()).unwrap_or(0)),
        }
    }

    /// Conceals the audio between `expected` (where the previous packet ended) and `start`
    /// (where this one begins) when the demuxer skipped data it could not parse.
    fn fill_gap(&mut self, start: i64, expected: Option<i64>) -> Result<(), Error> {
        if let Some(gap) = self.timeline.gap(start, expected) {
            let limit = self.pcm.max_packet.saturating_mul(64) as i64;
            self.on_corrupt_with_fill(
                "packets lost (demuxer resynchronised)",
                usize::try_from(gap.min(limit)).unwrap_or(0),
            )?;
        }
        Ok(())
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
            self.faults.pending_corrupt = Some(Error::Corrupt { at, detail });
        }
        Ok(())
    }

    /// Counts a corrupt packet of `dur` sample frames, conceals it, and reports it when asked.
    fn on_corrupt(&mut self, detail: &'static str, dur: usize) -> Result<(), Error> {
        if self.timeline.seek_target.is_some() {
            // Pre-roll packets after a seek (e.g. MP3 frames missing their bit reservoir) are
            // discarded anyway: not counted.
            return Ok(());
        }
        self.stats.corrupt_packets += 1;
        self.faults.consecutive += 1;
        let at = MediaTime::new(self.buffer_end_pts(), self.format.rate);
        if self.faults.consecutive >= self.config.max_consecutive_errors {
            self.finish_with(Error::Malformed {
                context: "stream",
                detail: format!("{} consecutive corrupt packets", self.faults.consecutive),
            });
            return Ok(());
        }
        if self.config.conceal_corrupt && dur > 0 {
            // Never trust a corrupt packet's duration beyond the largest packet seen.
            self.append_concealment(dur.min(self.pcm.max_packet));
        }
        if self.config.report_corrupt {
            return Err(Error::Corrupt { at, detail });
        }
        Ok(())
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
