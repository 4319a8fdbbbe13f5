//! The Opus encoder stage.

use std::time::Instant;

use voxflow_core::{AudioFormat, AudioFrame, MediaTime, Packet, PacketStage};

use crate::backend::EncoderBackend;
use crate::config::EncoderConfig;
use crate::error::Error;

/// Largest packet an encoder writes (RFC 6716: 120 ms of 1275-byte frames plus framing).
/// Give [`OpusEncoder::encode`] a `Packet::with_capacity(MAX_PACKET_BYTES)` and it never
/// allocates.
pub const MAX_PACKET_BYTES: usize = 4000;

/// Encodes fixed-size PCM frames into Opus packets.
///
/// Frames must match the configured rate, channel count and frame size exactly (put
/// `voxflow-resample` and a `voxflow_core::Reframer` in front); one shorter frame is accepted
/// as the last of a stream and padded with silence, its packet's `duration` giving the real
/// length (the Ogg writer trims the end to it).
pub struct OpusEncoder {
    cfg: EncoderConfig,
    backend: Box<dyn EncoderBackend>,
    format: AudioFormat,
    frame_size: usize,
    scratch: Vec<f32>,
    ended: bool,
    real_total: u64,
    coded_total: u64,
    next_pts: MediaTime,
    pending: Packet,
    has_pending: bool,
    finished: bool,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("backend", &self.backend.name())
            .field("config", &self.cfg)
            .finish()
    }
}

impl OpusEncoder {
    /// An encoder with the backend named in `cfg`. Allocates its buffers here.
    pub fn new(cfg: EncoderConfig) -> Result<Self, Error> {
        cfg.validate()?;
        let backend = cfg.backend.make_encoder(&cfg)?;
        Self::with_backend(cfg, backend)
    }

    /// Speech preset: 48 kHz mono VoIP at `bitrate` bit/s (see [`EncoderConfig::voip`]).
    pub fn voip(bitrate: u32) -> Result<Self, Error> {
        Self::new(EncoderConfig::voip(bitrate))
    }

    /// An encoder over your own [`EncoderBackend`] (it must already be configured as `cfg`
    /// says).
    pub fn with_backend(
        cfg: EncoderConfig,
        backend: Box<dyn EncoderBackend>,
    ) -> Result<Self, Error> {
        cfg.validate()?;
        let format = AudioFormat {
            rate: cfg.sample_rate,
            channels: cfg.channels,
        };
        let frame_size = cfg.frame_duration.frames_at(cfg.sample_rate);
        Ok(OpusEncoder {
            scratch: vec![0.0; frame_size * usize::from(cfg.channels)],
            cfg,
            backend,
            format,
            frame_size,
            ended: false,
            real_total: 0,
            coded_total: 0,
            next_pts: MediaTime::ZERO,
            pending: Packet::with_capacity(MAX_PACKET_BYTES),
            has_pending: false,
            finished: false,
        })
    }

    /// The settings.
    pub fn config(&self) -> &EncoderConfig {
        &self.cfg
    }

    /// The backend's name.
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// The input format.
    pub fn input_format(&self) -> AudioFormat {
        self.format
    }

    /// Sample frames (per channel) every input frame must hold.
    pub fn frame_size(&self) -> usize {
        self.frame_size
    }

    /// Encoder delay in sample frames at the input rate: the decoder's output lags the input
    /// by this much.
    pub fn lookahead(&self) -> usize {
        self.backend.lookahead()
    }

    /// The lookahead at 48 kHz: the `pre_skip` of an Ogg Opus header (RFC 7845 §4.2).
    pub fn pre_skip(&self) -> u16 {
        let v = self.lookahead() as u64 * 48_000 / u64::from(self.cfg.sample_rate);
        u16::try_from(v).unwrap_or(u16::MAX)
    }

    /// Encodes interleaved samples (exactly `frame_size() * channels`) into `out`; returns the
    /// packet length. The raw call under [`encode`](Self::encode); no checks on rate.
    pub fn encode_interleaved(&mut self, pcm: &[f32], out: &mut [u8]) -> Result<usize, Error> {
        let want = self.frame_size * usize::from(self.cfg.channels);
        if pcm.len() != want {
            return Err(Error::WrongFrameSize {
                expected: self.frame_size,
                actual: pcm.len() / usize::from(self.cfg.channels),
                after_last: false,
            });
        }
        self.backend.encode(pcm, self.frame_size, out)
    }

    /// Encodes one frame into `out` (payload replaced; pts, duration and trace copied from the
    /// frame). Does not allocate when `out` has [`MAX_PACKET_BYTES`] of capacity. A packet of
    /// 1–2 bytes is a DTX frame (see [`is_dtx`](crate::is_dtx)).
    pub fn encode(&mut self, frame: &AudioFrame, out: &mut Packet) -> Result<(), Error> {
        if frame.format() != self.format {
            return Err(Error::FormatMismatch {
                expected: self.format,
                actual: frame.format(),
            });
        }
        let n = frame.frames();
        if self.ended || n > self.frame_size || n == 0 {
            return Err(Error::WrongFrameSize {
                expected: self.frame_size,
                actual: n,
                after_last: self.ended,
            });
        }
        let buf = out.data_mut();
        buf.clear();
        buf.resize(MAX_PACKET_BYTES, 0);
        let res = if n == self.frame_size {
            self.backend.encode(frame.samples(), self.frame_size, buf)
        } else {
            // The last, short frame of the stream: pad with silence.
            self.ended = true;
            let s = frame.samples().len();
            self.scratch[..s].copy_from_slice(frame.samples());
            self.scratch[s..].fill(0.0);
            self.backend.encode(&self.scratch, self.frame_size, buf)
        };
        match res {
            Ok(len) => {
                buf.truncate(len);
                out.pts = frame.pts();
                out.duration = MediaTime::new(n as i64, self.format.rate);
                out.trace = *frame.trace();
                self.real_total += n as u64;
                self.coded_total += self.frame_size as u64;
                self.next_pts = frame.end();
                Ok(())
            }
            Err(e) => {
                buf.clear();
                Err(e)
            }
        }
    }

    /// At the end of a stream, encodes one frame of silence (packet `duration` zero, pts at
    /// the end of the input) so that the decoder's output, delayed by the
    /// [`lookahead`](Self::lookahead), covers the last input sample. Call until it returns
    /// `Ok(false)`; needed for files (the Ogg writer trims the excess), not for live RTP.
    /// No more frames can be encoded afterwards.
    pub fn flush(&mut self, out: &mut Packet) -> Result<bool, Error> {
        self.ended = true;
        if self.coded_total == 0 || self.coded_total >= self.real_total + self.lookahead() as u64 {
            return Ok(false);
        }
        self.scratch.fill(0.0);
        let buf = out.data_mut();
        buf.clear();
        buf.resize(MAX_PACKET_BYTES, 0);
        match self.backend.encode(&self.scratch, self.frame_size, buf) {
            Ok(len) => buf.truncate(len),
            Err(e) => {
                buf.clear();
                return Err(e);
            }
        }
        self.coded_total += self.frame_size as u64;
        out.pts = self.next_pts;
        out.duration = MediaTime::new(0, self.format.rate);
        out.trace = voxflow_core::Trace::EMPTY;
        Ok(true)
    }

    /// Forgets the coding state (keeping settings), e.g. before an unrelated stream.
    pub fn reset(&mut self) -> Result<(), Error> {
        self.ended = false;
        self.real_total = 0;
        self.coded_total = 0;
        self.has_pending = false;
        self.finished = false;
        self.backend.reset()
    }
}

impl PacketStage for OpusEncoder {
    type Input = AudioFrame;
    type Output = Packet;

    fn name(&self) -> &'static str {
        "opus"
    }

    /// Encodes the frame; the packet waits for `poll`. Pushing a second frame before polling
    /// the first packet replaces it (poll after every push).
    fn push(&mut self, input: &AudioFrame, _now: Instant) -> Result<(), voxflow_core::Error> {
        let mut p = std::mem::take(&mut self.pending);
        let r = self.encode(input, &mut p);
        self.pending = p;
        self.has_pending = r.is_ok();
        r.map_err(Into::into)
    }

    /// Returns the packet of the last push; after `finish`, the flush packets (see
    /// [`OpusEncoder::flush`]) until none is left.
    fn poll(&mut self, out: &mut Packet, _now: Instant) -> Result<bool, voxflow_core::Error> {
        if !self.has_pending {
            if self.finished {
                return self.flush(out).map_err(Into::into);
            }
            return Ok(false);
        }
        self.has_pending = false;
        out.set_data(self.pending.data());
        out.pts = self.pending.pts;
        out.duration = self.pending.duration;
        out.trace = self.pending.trace;
        Ok(true)
    }

    fn finish(&mut self, _now: Instant) -> Result<(), voxflow_core::Error> {
        self.finished = true;
        Ok(())
    }

    fn reset(&mut self) {
        // A backend reset failure leaves the encoder as it was; the next encode reports it.
        let _ = OpusEncoder::reset(self);
    }

    /// The configured rate and channels: a chain checks its frames against it when built.
    fn input_format(&self) -> Option<AudioFormat> {
        Some(self.format)
    }

    /// One Opus frame (e.g. 960 sample frames for 20 ms at 48 kHz): a chain regroups its
    /// frames to this size in front of the encoder.
    fn input_frames(&self) -> Option<usize> {
        Some(self.frame_size)
    }

    /// [`MAX_PACKET_BYTES`].
    fn max_output(&self) -> Option<usize> {
        Some(MAX_PACKET_BYTES)
    }
}

/// True for a DTX packet (1–2 bytes: "nothing to transmit" per libopus): RTP senders skip it.
pub fn is_dtx(packet: &[u8]) -> bool {
    packet.len() <= 2
}
