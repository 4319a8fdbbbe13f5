//! The Opus decoder: normal decode, loss concealment, FEC recovery.

use voxflow_core::{AudioFormat, AudioFrame, Packet};

use crate::backend::{Backend, DecoderBackend};
use crate::error::Error;
use crate::toc::parse_packet;

/// Decodes Opus packets into [`AudioFrame`]s at any Opus rate (8/12/16/24/48 kHz) and
/// channel count (1/2), whatever the packets were encoded at.
///
/// Output frames must have capacity for [`max_frames`](Self::max_frames) (120 ms) to take any
/// packet without allocating; a 20 ms stream needs only 20 ms.
pub struct OpusDecoder {
    backend: Box<dyn DecoderBackend>,
    format: AudioFormat,
    last_frames: usize,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder")
            .field("backend", &self.backend.name())
            .field("format", &self.format)
            .finish()
    }
}

impl OpusDecoder {
    /// A decoder producing `rate` Hz, `channels` channels.
    pub fn new(backend: Backend, rate: u32, channels: u16) -> Result<Self, Error> {
        if !matches!(rate, 8000 | 12000 | 16000 | 24000 | 48000) {
            return Err(Error::invalid(
                "decoder sample rate",
                i64::from(rate),
                "8000, 12000, 16000, 24000 or 48000 Hz",
            ));
        }
        if !matches!(channels, 1 | 2) {
            return Err(Error::invalid(
                "decoder channel count",
                i64::from(channels),
                "1 or 2",
            ));
        }
        let b = backend.make_decoder(rate, channels)?;
        Ok(Self::with_backend(b, AudioFormat { rate, channels }))
    }

    /// A decoder over your own [`DecoderBackend`] (built for `format`).
    pub fn with_backend(backend: Box<dyn DecoderBackend>, format: AudioFormat) -> Self {
        OpusDecoder {
            backend,
            format,
            last_frames: format.rate as usize / 50,
        }
    }

    /// Output format.
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// Most sample frames one packet decodes to (120 ms).
    pub fn max_frames(&self) -> usize {
        self.format.rate as usize * 120 / 1000
    }

    /// Sample frames `packet` decodes to at this decoder's rate (from the TOC alone).
    pub fn packet_frames(&self, packet: &[u8]) -> Result<usize, Error> {
        Ok(parse_packet(packet)?.samples_at(self.format.rate) as usize)
    }

    fn prepare(&self, frames: usize, out: &mut AudioFrame) -> Result<(), Error> {
        if out.format() != self.format {
            let pts = out.pts();
            let trace = *out.trace();
            out.reset(self.format);
            out.set_pts(pts);
            out.set_trace(trace);
        }
        out.set_frames(frames).map_err(|_| Error::OutputTooSmall {
            needed: frames,
            capacity: out.capacity_frames(),
        })
    }

    /// Decodes one packet into `out` (resized to the packet's duration; pts and trace left for
    /// the caller, see [`decode_packet`](Self::decode_packet)). Returns sample frames written.
    /// A malformed packet is a typed error and leaves the decoder usable (conceal the gap).
    pub fn decode(&mut self, packet: &[u8], out: &mut AudioFrame) -> Result<usize, Error> {
        let frames = self.packet_frames(packet)?;
        self.prepare(frames, out)?;
        let n = self.backend.decode(packet, frames, out.samples_mut())?;
        self.last_frames = frames;
        Ok(n)
    }

    /// [`decode`](Self::decode) a [`Packet`], carrying its pts and trace to `out`.
    pub fn decode_packet(&mut self, packet: &Packet, out: &mut AudioFrame) -> Result<usize, Error> {
        let n = self.decode(packet.data(), out)?;
        out.set_pts(packet.pts.rescale(self.format.rate));
        out.set_trace(packet.trace);
        Ok(n)
    }

    /// Packet loss concealment: synthesises `frames` sample frames (a multiple of 2.5 ms; pass
    /// `None` for the last packet's duration) in place of a lost packet.
    pub fn conceal(&mut self, frames: Option<usize>, out: &mut AudioFrame) -> Result<usize, Error> {
        let frames = self.check_loss_frames(frames)?;
        self.prepare(frames, out)?;
        self.backend.conceal(frames, out.samples_mut())
    }

    /// Recovers a lost packet from the in-band FEC of the packet after it (`next`), writing
    /// `frames` sample frames (`None`: the last packet's duration). Decode `next` itself
    /// normally afterwards. Without FEC data in `next` this is concealment.
    pub fn decode_fec(
        &mut self,
        next: &[u8],
        frames: Option<usize>,
        out: &mut AudioFrame,
    ) -> Result<usize, Error> {
        parse_packet(next)?;
        let frames = self.check_loss_frames(frames)?;
        self.prepare(frames, out)?;
        self.backend.decode_fec(next, frames, out.samples_mut())
    }

    fn check_loss_frames(&self, frames: Option<usize>) -> Result<usize, Error> {
        let f = frames.unwrap_or(self.last_frames);
        let quantum = self.format.rate as usize / 400; // 2.5 ms
        if f == 0 || !f.is_multiple_of(quantum) || f > self.max_frames() {
            return Err(Error::invalid(
                "concealment length (sample frames)",
                f as i64,
                "a multiple of 2.5 ms up to 120 ms",
            ));
        }
        Ok(f)
    }

    /// Forgets all decoding state (after a seek or stream change).
    pub fn reset(&mut self) -> Result<(), Error> {
        self.backend.reset()
    }
}
