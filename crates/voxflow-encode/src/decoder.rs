//! The Opus decoder: normal decode, loss concealment, FEC recovery.

use voxflow_core::{AudioFormat, AudioFrame, Packet, PacketDecoder};

use crate::backend::{Backend, DecoderBackend};
use crate::error::Error;
use crate::toc::parse_packet;

/// Decodes Opus packets into [`AudioFrame`]s at any Opus rate (8/12/16/24/48 kHz) and
/// channel count (1/2), whatever the packets were encoded at.
///
/// Output frames must have capacity for [`max_frames`](Self::max_frames) (120 ms) to take any
/// packet without allocating; a 20 ms stream needs only 20 ms.
///
/// It is also a [`voxflow_core::PacketDecoder`] (with FEC), so a jitter buffer or the file
/// decoder can hold it as `Box<dyn PacketDecoder>`; through the trait, output frames must hold
/// [`max_frames`](Self::max_frames) and errors are core errors (a malformed packet is
/// [`voxflow_core::Error::Malformed`]).
///
/// ```
/// use voxflow_core::{AudioFrame, PacketDecoder};
/// use voxflow_encode::{Backend, OpusDecoder};
///
/// let mut dec: Box<dyn PacketDecoder> = Box::new(OpusDecoder::new(Backend::default(), 48_000, 1)?);
/// let mut out = AudioFrame::with_capacity(dec.format(), dec.max_frames());
/// // A TOC byte alone (20 ms CELT, no frame data): a DTX packet, decoded as concealment.
/// assert_eq!(dec.decode(&[0xf8], &mut out)?, 960);
/// assert_eq!(dec.conceal(480, &mut out)?, 480);
/// assert!(matches!(dec.decode(&[], &mut out), Err(voxflow_core::Error::Malformed { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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

/// Maps this decoder's errors to core errors of the same kind: a malformed packet (bad TOC, or
/// data the codec rejects) is [`voxflow_core::Error::Malformed`] (skip), an output frame too
/// small is [`voxflow_core::Error::FrameTooLarge`], a bad concealment length is
/// [`voxflow_core::Error::InvalidConfig`].
fn core_error(e: Error) -> voxflow_core::Error {
    match e {
        Error::OutputTooSmall { needed, capacity } => voxflow_core::Error::FrameTooLarge {
            max_frames: capacity,
            frames: needed,
        },
        Error::Codec {
            backend,
            op: op @ ("decode" | "decode_fec"),
            detail,
        } => voxflow_core::Error::Malformed {
            what: "Opus packet",
            detail: format!("{backend} {op}: {detail}"),
        },
        other => other.into(),
    }
}

/// The core trait over the inherent methods (no second copy of the logic). Through the trait,
/// `out` must hold [`max_frames`](OpusDecoder::max_frames) sample frames (the trait's
/// contract), or the call is [`voxflow_core::Error::FrameTooLarge`] and writes nothing.
impl PacketDecoder for OpusDecoder {
    fn name(&self) -> &'static str {
        "opus"
    }

    fn format(&self) -> AudioFormat {
        self.format
    }

    fn max_frames(&self) -> usize {
        OpusDecoder::max_frames(self)
    }

    fn packet_frames(&self, packet: &[u8]) -> voxflow_core::Result<usize> {
        OpusDecoder::packet_frames(self, packet).map_err(core_error)
    }

    fn decode(&mut self, packet: &[u8], out: &mut AudioFrame) -> voxflow_core::Result<usize> {
        self.check_capacity(out)?;
        OpusDecoder::decode(self, packet, out).map_err(core_error)
    }

    fn conceal(&mut self, frames: usize, out: &mut AudioFrame) -> voxflow_core::Result<usize> {
        self.check_capacity(out)?;
        OpusDecoder::conceal(self, Some(frames), out).map_err(core_error)
    }

    fn decode_fec(
        &mut self,
        next: &[u8],
        frames: usize,
        out: &mut AudioFrame,
    ) -> voxflow_core::Result<usize> {
        self.check_capacity(out)?;
        OpusDecoder::decode_fec(self, next, Some(frames), out).map_err(core_error)
    }

    fn has_fec(&self) -> bool {
        true
    }

    fn reset(&mut self) {
        // Both built-in backends' reset cannot fail (opus-pure resets plain state; libopus's
        // OPUS_RESET_STATE has no failure case); a custom backend that fails keeps its state,
        // which affects only the next packet or two.
        let _ = OpusDecoder::reset(self);
    }
}

impl OpusDecoder {
    /// The trait's contract: output frames hold [`max_frames`](Self::max_frames).
    fn check_capacity(&self, out: &AudioFrame) -> voxflow_core::Result<()> {
        let need = self.max_frames();
        if out.capacity_frames() < need {
            return Err(voxflow_core::Error::FrameTooLarge {
                max_frames: out.capacity_frames(),
                frames: need,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{EncoderConfig, OpusEncoder};

    /// 20 ms packets of a speech-like buzz, with in-band FEC.
    fn packets(n: usize) -> Vec<Vec<u8>> {
        let mut cfg = EncoderConfig::voip(24_000);
        cfg.fec = true;
        cfg.expected_loss_percent = 20;
        let mut enc = OpusEncoder::new(cfg).unwrap();
        let mut buf = vec![0u8; crate::MAX_PACKET_BYTES];
        (0..n)
            .map(|k| {
                let pcm: Vec<f32> = (0..960)
                    .map(|i| {
                        let t = (k * 960 + i) as f32 / 48_000.0;
                        0.3 * (std::f32::consts::TAU * 180.0 * t).sin()
                            + 0.1 * (std::f32::consts::TAU * 720.0 * t).sin()
                    })
                    .collect();
                let len = enc.encode_interleaved(&pcm, &mut buf).unwrap();
                buf[..len].to_vec()
            })
            .collect()
    }

    fn new_dec() -> OpusDecoder {
        OpusDecoder::new(Backend::PureRust, 48_000, 1).unwrap()
    }

    #[test]
    fn trait_object_matches_inherent_methods() {
        let pkts = packets(12);
        let mut inherent = new_dec();
        let mut boxed: Box<dyn PacketDecoder> = Box::new(new_dec());
        assert_eq!(boxed.name(), "opus");
        assert!(boxed.has_fec());
        assert_eq!(boxed.format(), inherent.format());
        assert_eq!(PacketDecoder::max_frames(&*boxed), 5_760);
        let fmt = inherent.format();
        let mut a = AudioFrame::with_capacity(fmt, 5_760);
        let mut b = AudioFrame::with_capacity(fmt, 5_760);
        for (i, p) in pkts.iter().enumerate() {
            assert_eq!(boxed.packet_frames(p).unwrap(), 960);
            let (na, nb) = match i % 4 {
                // Every fourth packet "lost" and recovered from the next one's FEC.
                1 => (
                    inherent
                        .decode_fec(&pkts[i + 1], Some(960), &mut a)
                        .unwrap(),
                    boxed.decode_fec(&pkts[i + 1], 960, &mut b).unwrap(),
                ),
                // Every fourth lost without FEC: concealed.
                3 => (
                    inherent.conceal(Some(960), &mut a).unwrap(),
                    boxed.conceal(960, &mut b).unwrap(),
                ),
                _ => (
                    inherent.decode(p, &mut a).unwrap(),
                    boxed.decode(p, &mut b).unwrap(),
                ),
            };
            assert_eq!((na, nb), (960, 960), "packet {i}");
            assert_eq!(a.format(), b.format());
            assert_eq!(a.samples(), b.samples(), "packet {i}");
            assert!(
                b.samples().iter().any(|&s| s != 0.0),
                "packet {i} is silent"
            );
        }
        // reset through the trait resets the state as the inherent one does.
        inherent.reset().unwrap();
        boxed.reset();
        inherent.decode(&pkts[5], &mut a).unwrap();
        boxed.decode(&pkts[5], &mut b).unwrap();
        assert_eq!(a.samples(), b.samples());
    }

    #[test]
    fn decode_packet_default_carries_pts() {
        let pkts = packets(1);
        let mut dec: Box<dyn PacketDecoder> = Box::new(new_dec());
        let mut p = Packet::with_capacity(64);
        p.set_data(&pkts[0]);
        p.pts = voxflow_core::MediaTime::new(4_800, 48_000);
        let mut out = AudioFrame::with_capacity(dec.format(), dec.max_frames());
        assert_eq!(dec.decode_packet(&p, &mut out).unwrap(), 960);
        assert_eq!(out.pts(), voxflow_core::MediaTime::new(4_800, 48_000));
    }

    #[test]
    fn errors_map_to_core_kinds() {
        let pkts = packets(2);
        let mut dec: Box<dyn PacketDecoder> = Box::new(new_dec());
        let mut out = AudioFrame::with_capacity(dec.format(), dec.max_frames());
        // Malformed TOC: empty packet; code 1 with an odd payload; code 3 with zero frames.
        for bad in [&[][..], &[0x01, 0, 0, 0][..], &[0x03, 0x00][..]] {
            assert!(
                matches!(
                    dec.decode(bad, &mut out),
                    Err(voxflow_core::Error::Malformed {
                        what: "Opus packet",
                        ..
                    })
                ),
                "{bad:?}"
            );
            assert!(matches!(
                dec.packet_frames(bad),
                Err(voxflow_core::Error::Malformed { .. })
            ));
            assert!(matches!(
                dec.decode_fec(bad, 960, &mut out),
                Err(voxflow_core::Error::Malformed { .. })
            ));
        }
        // Still usable after a malformed packet.
        assert_eq!(dec.decode(&pkts[0], &mut out).unwrap(), 960);
        // A bad concealment length (not a multiple of 2.5 ms; zero; over 120 ms).
        for n in [100, 0, 5_760 + 120] {
            assert!(
                matches!(
                    dec.conceal(n, &mut out),
                    Err(voxflow_core::Error::InvalidConfig { .. })
                ),
                "{n}"
            );
        }
        // An output frame smaller than max_frames: FrameTooLarge, nothing written.
        let mut small = AudioFrame::with_capacity(dec.format(), 960);
        let err = dec.decode(&pkts[1], &mut small).unwrap_err();
        assert!(
            matches!(
                err,
                voxflow_core::Error::FrameTooLarge {
                    max_frames: 960,
                    frames: 5_760
                }
            ),
            "{err:?}"
        );
        assert!(small.is_empty());
        // The inherent error behind it, for a frame too small for the packet itself.
        let mut tiny = AudioFrame::with_capacity(dec.format(), 480);
        let inner = new_dec().decode(&pkts[1], &mut tiny).unwrap_err();
        assert!(matches!(
            core_error(inner),
            voxflow_core::Error::FrameTooLarge {
                max_frames: 480,
                frames: 960
            }
        ));
    }

    #[test]
    fn is_send_and_object_safe() {
        let dec: Box<dyn PacketDecoder> = Box::new(new_dec());
        let name = std::thread::spawn(move || dec.name()).join().unwrap();
        assert_eq!(name, "opus");
    }
}
