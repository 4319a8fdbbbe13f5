//! The small trait an Opus implementation plugs in through, and the two built-in backends.

use crate::config::{Application, BitrateMode, EncoderConfig};
use crate::error::Error;

/// Which Opus implementation to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Pure Rust (the `opus-pure` crate): builds with cargo alone. The default.
    #[default]
    PureRust,
    /// The reference C libopus through `audiopus` (feature `libopus`; needs the system
    /// libopus).
    Libopus,
}

impl Backend {
    /// The backends compiled into this build.
    pub fn available() -> &'static [Backend] {
        #[cfg(feature = "libopus")]
        {
            &[Backend::PureRust, Backend::Libopus]
        }
        #[cfg(not(feature = "libopus"))]
        {
            &[Backend::PureRust]
        }
    }

    /// A short name (`"opus-pure"`, `"libopus"`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::PureRust => "opus-pure",
            Backend::Libopus => "libopus",
        }
    }

    pub(crate) fn make_encoder(
        self,
        cfg: &EncoderConfig,
    ) -> Result<Box<dyn EncoderBackend>, Error> {
        match self {
            Backend::PureRust => Ok(Box::new(pure::PureEncoder::new(cfg)?)),
            #[cfg(feature = "libopus")]
            Backend::Libopus => Ok(Box::new(libopus::LibEncoder::new(cfg)?)),
            #[cfg(not(feature = "libopus"))]
            Backend::Libopus => Err(Error::BackendUnavailable {
                backend: "libopus",
                feature: "libopus",
            }),
        }
    }

    pub(crate) fn make_decoder(
        self,
        rate: u32,
        channels: u16,
    ) -> Result<Box<dyn DecoderBackend>, Error> {
        match self {
            Backend::PureRust => Ok(Box::new(pure::PureDecoder::new(rate, channels)?)),
            #[cfg(feature = "libopus")]
            Backend::Libopus => Ok(Box::new(libopus::LibDecoder::new(rate, channels)?)),
            #[cfg(not(feature = "libopus"))]
            Backend::Libopus => {
                let _ = (rate, channels);
                Err(Error::BackendUnavailable {
                    backend: "libopus",
                    feature: "libopus",
                })
            }
        }
    }
}

/// An Opus encoder implementation. Implement it to plug in another library with
/// [`OpusEncoder::with_backend`](crate::OpusEncoder::with_backend).
///
/// Contract: `encode` must not allocate in steady state; settings are applied at construction.
pub trait EncoderBackend: Send {
    /// A short name for errors and reports.
    fn name(&self) -> &'static str;
    /// Encodes `frame_size` sample frames of interleaved `pcm` into `out`; returns the packet
    /// length (1–2 bytes means a DTX frame that need not be sent).
    fn encode(&mut self, pcm: &[f32], frame_size: usize, out: &mut [u8]) -> Result<usize, Error>;
    /// Encoder delay (pre-skip) in sample frames at the encoder's rate.
    fn lookahead(&self) -> usize;
    /// Forgets all coding state, keeping the settings.
    fn reset(&mut self) -> Result<(), Error>;
}

/// An Opus decoder implementation (see [`OpusDecoder`](crate::OpusDecoder)).
///
/// Contract: calls must not allocate in steady state; `out` holds exactly `frame_size *
/// channels` samples.
pub trait DecoderBackend: Send {
    /// A short name for errors and reports.
    fn name(&self) -> &'static str;
    /// Decodes a packet into `out`; returns sample frames written.
    fn decode(&mut self, packet: &[u8], frame_size: usize, out: &mut [f32])
    -> Result<usize, Error>;
    /// Conceals `frame_size` lost sample frames (packet loss concealment).
    fn conceal(&mut self, frame_size: usize, out: &mut [f32]) -> Result<usize, Error>;
    /// Recovers the packet before `next` from `next`'s in-band FEC (falls back to concealment
    /// when `next` carries none).
    fn decode_fec(
        &mut self,
        next: &[u8],
        frame_size: usize,
        out: &mut [f32],
    ) -> Result<usize, Error>;
    /// Forgets all decoding state.
    fn reset(&mut self) -> Result<(), Error>;
}

fn codec_err(backend: &'static str, op: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Codec {
        backend,
        op,
        detail: e.to_string(),
    }
}

mod pure {
    use super::*;

    const NAME: &str = "opus-pure";

    pub(super) struct PureEncoder(opus_pure::OpusEncoder);

    impl PureEncoder {
        pub(super) fn new(cfg: &EncoderConfig) -> Result<Self, Error> {
            let app = match cfg.application {
                Application::Voip => opus_pure::Application::Voip,
                Application::Audio => opus_pure::Application::Audio,
                Application::RestrictedLowDelay => opus_pure::Application::RestrictedLowDelay,
            };
            let mut e = opus_pure::OpusEncoder::new(
                cfg.sample_rate as i32, // cannot truncate: validated <= 48000
                usize::from(cfg.channels),
                app,
            )
            .map_err(|e| codec_err(NAME, "create", e))?;
            e.bitrate_bps = cfg.bitrate as i32; // cannot truncate: validated <= 510000
            e.complexity = i32::from(cfg.complexity);
            e.rate_control = match cfg.bitrate_mode {
                BitrateMode::Vbr => opus_pure::RateControl::Vbr,
                BitrateMode::ConstrainedVbr => opus_pure::RateControl::ConstrainedVbr,
                BitrateMode::Cbr => opus_pure::RateControl::Cbr,
            };
            e.use_inband_fec = cfg.fec;
            e.packet_loss_perc = i32::from(cfg.expected_loss_percent);
            e.use_dtx = cfg.dtx;
            Ok(PureEncoder(e))
        }
    }

    impl EncoderBackend for PureEncoder {
        fn name(&self) -> &'static str {
            NAME
        }
        fn encode(
            &mut self,
            pcm: &[f32],
            frame_size: usize,
            out: &mut [u8],
        ) -> Result<usize, Error> {
            self.0
                .encode(pcm, frame_size, out)
                .map_err(|e| codec_err(NAME, "encode", e))
        }
        fn lookahead(&self) -> usize {
            self.0.lookahead()
        }
        fn reset(&mut self) -> Result<(), Error> {
            self.0
                .reset_state()
                .map_err(|e| codec_err(NAME, "reset", e))
        }
    }

    pub(super) struct PureDecoder(opus_pure::OpusDecoder);

    impl PureDecoder {
        pub(super) fn new(rate: u32, channels: u16) -> Result<Self, Error> {
            opus_pure::OpusDecoder::new(rate as i32, usize::from(channels)) // cannot truncate: validated
                .map(PureDecoder)
                .map_err(|e| codec_err(NAME, "create", e))
        }
    }

    impl DecoderBackend for PureDecoder {
        fn name(&self) -> &'static str {
            NAME
        }
        fn decode(
            &mut self,
            packet: &[u8],
            frame_size: usize,
            out: &mut [f32],
        ) -> Result<usize, Error> {
            self.0
                .decode(packet, frame_size, out)
                .map_err(|e| codec_err(NAME, "decode", e))
        }
        fn conceal(&mut self, frame_size: usize, out: &mut [f32]) -> Result<usize, Error> {
            self.0
                .decode(&[], frame_size, out)
                .map_err(|e| codec_err(NAME, "conceal", e))
        }
        fn decode_fec(
            &mut self,
            next: &[u8],
            frame_size: usize,
            out: &mut [f32],
        ) -> Result<usize, Error> {
            self.0
                .decode_fec(next, frame_size, out)
                .map_err(|e| codec_err(NAME, "decode_fec", e))
        }
        fn reset(&mut self) -> Result<(), Error> {
            self.0
                .reset_state()
                .map_err(|e| codec_err(NAME, "reset", e))
        }
    }
}

#[cfg(feature = "libopus")]
mod libopus {
    use super::*;
    use audiopus::coder::{Decoder, Encoder, GenericCtl};
    use audiopus::{Bitrate, Channels, MutSignals, SampleRate, packet::Packet};

    const NAME: &str = "libopus";

    fn rate(r: u32) -> Result<SampleRate, Error> {
        Ok(match r {
            8000 => SampleRate::Hz8000,
            12000 => SampleRate::Hz12000,
            16000 => SampleRate::Hz16000,
            24000 => SampleRate::Hz24000,
            48000 => SampleRate::Hz48000,
            _ => {
                return Err(Error::invalid(
                    "sample rate",
                    i64::from(r),
                    "8000, 12000, 16000, 24000 or 48000 Hz",
                ));
            }
        })
    }

    fn channels(c: u16) -> Channels {
        if c == 1 {
            Channels::Mono
        } else {
            Channels::Stereo
        }
    }

    pub(super) struct LibEncoder {
        enc: Encoder,
        channels: usize,
        lookahead: usize,
    }

    impl LibEncoder {
        pub(super) fn new(cfg: &EncoderConfig) -> Result<Self, Error> {
            let app = match cfg.application {
                Application::Voip => audiopus::Application::Voip,
                Application::Audio => audiopus::Application::Audio,
                Application::RestrictedLowDelay => audiopus::Application::LowDelay,
            };
            let e = |x| codec_err(NAME, "configure", x);
            let mut enc =
                Encoder::new(rate(cfg.sample_rate)?, channels(cfg.channels), app).map_err(e)?;
            enc.set_bitrate(Bitrate::BitsPerSecond(cfg.bitrate as i32)) // cannot truncate
                .map_err(e)?;
            enc.set_complexity(cfg.complexity).map_err(e)?;
            enc.set_vbr(cfg.bitrate_mode != BitrateMode::Cbr)
                .map_err(e)?;
            enc.set_vbr_constraint(cfg.bitrate_mode == BitrateMode::ConstrainedVbr)
                .map_err(e)?;
            enc.set_inband_fec(cfg.fec).map_err(e)?;
            enc.set_packet_loss_perc(cfg.expected_loss_percent)
                .map_err(e)?;
            enc.set_dtx(cfg.dtx).map_err(e)?;
            let lookahead = enc.lookahead().map_err(e)? as usize;
            Ok(LibEncoder {
                enc,
                channels: usize::from(cfg.channels),
                lookahead,
            })
        }
    }

    impl EncoderBackend for LibEncoder {
        fn name(&self) -> &'static str {
            NAME
        }
        fn encode(
            &mut self,
            pcm: &[f32],
            frame_size: usize,
            out: &mut [u8],
        ) -> Result<usize, Error> {
            let n = frame_size * self.channels;
            let input = pcm.get(..n).ok_or(Error::OutputTooSmall {
                needed: n,
                capacity: pcm.len(),
            })?;
            self.enc
                .encode_float(input, out)
                .map_err(|e| codec_err(NAME, "encode", e))
        }
        fn lookahead(&self) -> usize {
            self.lookahead
        }
        fn reset(&mut self) -> Result<(), Error> {
            self.enc
                .reset_state()
                .map_err(|e| codec_err(NAME, "reset", e))
        }
    }

    pub(super) struct LibDecoder {
        dec: Decoder,
        channels: usize,
    }

    impl LibDecoder {
        pub(super) fn new(r: u32, c: u16) -> Result<Self, Error> {
            let dec =
                Decoder::new(rate(r)?, channels(c)).map_err(|e| codec_err(NAME, "create", e))?;
            Ok(LibDecoder {
                dec,
                channels: usize::from(c),
            })
        }

        fn run(
            &mut self,
            packet: Option<&[u8]>,
            fec: bool,
            frame_size: usize,
            out: &mut [f32],
            op: &'static str,
        ) -> Result<usize, Error> {
            let n = frame_size * self.channels;
            let cap = out.len();
            let out = out.get_mut(..n).ok_or(Error::OutputTooSmall {
                needed: n,
                capacity: cap,
            })?;
            let pkt = match packet {
                Some(p) => Some(Packet::try_from(p).map_err(|e| codec_err(NAME, op, e))?),
                None => None,
            };
            let sig = MutSignals::try_from(out).map_err(|e| codec_err(NAME, op, e))?;
            self.dec
                .decode_float(pkt, sig, fec)
                .map_err(|e| codec_err(NAME, op, e))
        }
    }

    impl DecoderBackend for LibDecoder {
        fn name(&self) -> &'static str {
            NAME
        }
        fn decode(
            &mut self,
            packet: &[u8],
            frame_size: usize,
            out: &mut [f32],
        ) -> Result<usize, Error> {
            self.run(Some(packet), false, frame_size, out, "decode")
        }
        fn conceal(&mut self, frame_size: usize, out: &mut [f32]) -> Result<usize, Error> {
            self.run(None, false, frame_size, out, "conceal")
        }
        fn decode_fec(
            &mut self,
            next: &[u8],
            frame_size: usize,
            out: &mut [f32],
        ) -> Result<usize, Error> {
            self.run(Some(next), true, frame_size, out, "decode_fec")
        }
        fn reset(&mut self) -> Result<(), Error> {
            self.dec
                .reset_state()
                .map_err(|e| codec_err(NAME, "reset", e))
        }
    }
}
