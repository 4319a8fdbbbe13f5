//! The codec behind a [`Decoder`](crate::Decoder): one of symphonia's, or (feature `opus`)
//! voxflow-encode's Opus decoder fed with symphonia's demuxed packets.

use symphonia::core::codecs::audio::AudioDecoder;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::Track;
use symphonia::core::packet::Packet;

/// What one decoded packet produced.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Decoded {
    /// Sample frames (after the codec's own trimming).
    pub frames: usize,
    /// Sample frames the codec's buffer can hold.
    pub capacity: usize,
    pub rate: u32,
    pub channels: usize,
}

/// What a codec decoding outside symphonia says about its track, in place of the container's
/// figures.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TrackOverride {
    pub rate: u32,
    pub channels: usize,
    /// Encoder delay (sample frames at `rate`).
    pub delay: u32,
    /// Sample frames of output after gapless trimming, when the container says.
    pub num_frames: Option<u64>,
    /// Decoded sample frames to drop at the start (0 with gapless off).
    pub lead_skip: usize,
    /// Sample frames to decode and discard before a seek target.
    pub seek_preroll: i64,
}

pub(crate) enum Codec {
    Symphonia(Box<dyn AudioDecoder>),
    #[cfg(feature = "opus")]
    Opus(Box<crate::opus::OpusCodec>),
}

impl Codec {
    pub fn name(&self) -> &'static str {
        match self {
            Codec::Symphonia(c) => c.codec_info().short_name,
            #[cfg(feature = "opus")]
            Codec::Opus(_) => "opus",
        }
    }

    /// The codec's own view of the track (Opus), or `None` to keep the container's.
    pub fn track_override(&self, track: &Track) -> Option<TrackOverride> {
        match self {
            Codec::Symphonia(_) => {
                let _ = track;
                None
            }
            #[cfg(feature = "opus")]
            Codec::Opus(o) => Some(o.track_override(track)),
        }
    }

    /// Largest packet the codec announces, in sample frames.
    pub fn max_frames_per_packet(&self) -> Option<u64> {
        match self {
            Codec::Symphonia(c) => c.codec_params().max_frames_per_packet,
            #[cfg(feature = "opus")]
            Codec::Opus(o) => Some(o.max_frames() as u64),
        }
    }

    pub fn reset(&mut self) {
        match self {
            Codec::Symphonia(c) => c.reset(),
            #[cfg(feature = "opus")]
            Codec::Opus(o) => o.reset(),
        }
    }

    /// Decodes `packet`; read the audio with [`copy_last_decoded`](Self::copy_last_decoded).
    pub fn decode(&mut self, packet: &Packet) -> Result<Decoded, SymError> {
        match self {
            Codec::Symphonia(c) => c.decode(packet).map(|buf| Decoded {
                frames: buf.frames(),
                capacity: buf.capacity(),
                rate: buf.spec().rate(),
                channels: buf.num_planes(),
            }),
            #[cfg(feature = "opus")]
            Codec::Opus(o) => o.decode(packet),
        }
    }

    /// Sample frames and interleaved samples of the last decoded packet.
    pub fn last_len(&self) -> (usize, usize) {
        match self {
            Codec::Symphonia(c) => {
                let buf = c.last_decoded();
                (buf.frames(), buf.samples_interleaved())
            }
            #[cfg(feature = "opus")]
            Codec::Opus(o) => o.last_len(),
        }
    }

    /// Copies the last decoded packet, interleaved, into `out` (of [`last_len`](Self::last_len)
    /// samples).
    pub fn copy_last_decoded(&self, out: &mut [f32]) {
        match self {
            Codec::Symphonia(c) => c.last_decoded().copy_to_slice_interleaved::<f32, _>(out),
            #[cfg(feature = "opus")]
            Codec::Opus(o) => o.copy_last_decoded(out),
        }
    }

    /// Sample frames the codec would use to conceal the lost `packet` (Opus: its TOC
    /// duration, when the TOC is readable).
    pub fn lost_packet_frames(&self, packet: &Packet) -> Option<usize> {
        match self {
            Codec::Symphonia(_) => {
                let _ = packet;
                None
            }
            #[cfg(feature = "opus")]
            Codec::Opus(o) => o.packet_frames(&packet.data),
        }
    }

    /// Whether [`conceal`](Self::conceal) synthesises audio from the decoder's state (which
    /// must then run before the next packet is decoded).
    pub fn conceals_lost_audio(&self) -> bool {
        match self {
            Codec::Symphonia(_) => false,
            #[cfg(feature = "opus")]
            Codec::Opus(_) => true,
        }
    }

    /// Writes `out.len()` interleaved samples of concealment for lost audio: Opus's packet loss
    /// concealment, silence for the other codecs.
    pub fn conceal(&mut self, out: &mut [f32]) {
        match self {
            Codec::Symphonia(_) => out.fill(0.0),
            #[cfg(feature = "opus")]
            Codec::Opus(o) => o.conceal(out),
        }
    }
}
