//! The codec behind a [`Decoder`](crate::Decoder): one of symphonia's, or (feature `opus`)
//! voxflow-encode's Opus decoder fed with symphonia's demuxed packets. Both sit behind the
//! small [`Codec`] trait, so the decoder never matches on which one it holds.

use symphonia::core::codecs::audio::well_known as ids;
use symphonia::core::codecs::audio::{
    AudioCodecId, AudioCodecParameters, AudioDecoder, AudioDecoderOptions,
};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::Track;
use symphonia::core::packet::Packet;

use crate::Error;

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

/// A codec as the [`Decoder`](crate::Decoder) drives it: decode a demuxed packet, then copy
/// its audio out interleaved; conceal lost audio.
pub(crate) trait Codec: Send {
    /// Short codec name (`"flac"`, `"opus"`, ...).
    fn name(&self) -> &'static str;

    /// The codec's own view of the track (Opus), or `None` to keep the container's.
    fn track_override(&self, track: &Track) -> Option<TrackOverride> {
        let _ = track;
        None
    }

    /// Largest packet the codec announces, in sample frames.
    fn max_frames_per_packet(&self) -> Option<u64>;

    /// Forgets decoding state (after a seek).
    fn reset(&mut self);

    /// Decodes `packet`; read the audio with [`copy_last_decoded`](Self::copy_last_decoded).
    fn decode(&mut self, packet: &Packet) -> Result<Decoded, SymError>;

    /// Sample frames and interleaved samples of the last decoded packet.
    fn last_len(&self) -> (usize, usize);

    /// Copies the last decoded packet, interleaved, into `out` (of
    /// [`last_len`](Self::last_len) samples).
    fn copy_last_decoded(&self, out: &mut [f32]);

    /// Sample frames the codec would use to conceal the lost `packet` (Opus: its TOC
    /// duration, when the TOC is readable); `None`: use the demuxer's duration.
    fn lost_packet_frames(&self, packet: &Packet) -> Option<usize> {
        let _ = packet;
        None
    }

    /// Whether [`conceal`](Self::conceal) synthesises audio from the decoder's state (which
    /// must then run before the next packet is decoded).
    fn conceals_lost_audio(&self) -> bool {
        false
    }

    /// Writes `out.len()` interleaved samples of concealment for lost audio (the default:
    /// silence).
    fn conceal(&mut self, out: &mut [f32]) {
        out.fill(0.0);
    }
}

/// One of symphonia's decoders.
struct Symphonia(Box<dyn AudioDecoder>);

impl Codec for Symphonia {
    fn name(&self) -> &'static str {
        self.0.codec_info().short_name
    }

    fn max_frames_per_packet(&self) -> Option<u64> {
        self.0.codec_params().max_frames_per_packet
    }

    fn reset(&mut self) {
        self.0.reset();
    }

    fn decode(&mut self, packet: &Packet) -> Result<Decoded, SymError> {
        self.0.decode(packet).map(|buf| Decoded {
            frames: buf.frames(),
            capacity: buf.capacity(),
            rate: buf.spec().rate(),
            channels: buf.num_planes(),
        })
    }

    fn last_len(&self) -> (usize, usize) {
        let buf = self.0.last_decoded();
        (buf.frames(), buf.samples_interleaved())
    }

    fn copy_last_decoded(&self, out: &mut [f32]) {
        self.0
            .last_decoded()
            .copy_to_slice_interleaved::<f32, _>(out);
    }
}

/// Short name of a codec id that has no decoder in this build (for error messages).
fn codec_name(id: AudioCodecId) -> String {
    let name = match id {
        ids::CODEC_ID_OPUS => "opus",
        ids::CODEC_ID_VORBIS => "vorbis",
        ids::CODEC_ID_SPEEX => "speex",
        ids::CODEC_ID_MP1 => "mp1",
        ids::CODEC_ID_MP2 => "mp2",
        ids::CODEC_ID_MP3 => "mp3",
        ids::CODEC_ID_AAC => "aac",
        ids::CODEC_ID_AC3 => "ac3",
        ids::CODEC_ID_EAC3 => "eac3",
        ids::CODEC_ID_DCA => "dts",
        ids::CODEC_ID_WMA => "wma",
        ids::CODEC_ID_FLAC => "flac",
        ids::CODEC_ID_WAVPACK => "wavpack",
        ids::CODEC_ID_MONKEYS_AUDIO => "ape",
        ids::CODEC_ID_ALAC => "alac",
        ids::CODEC_ID_TTA => "tta",
        ids::CODEC_ID_TRUEHD => "truehd",
        ids::CODEC_ID_ADPCM_G722 => "adpcm_g722",
        ids::CODEC_ID_ADPCM_G726 => "adpcm_g726",
        _ => return format!("codec {id}"),
    };
    name.to_owned()
}

/// The codec for a track: voxflow-encode's Opus decoder for Opus (feature `opus`), else
/// symphonia's.
pub(crate) fn make_codec(
    params: &AudioCodecParameters,
    gapless: bool,
) -> Result<Box<dyn Codec>, Error> {
    #[cfg(feature = "opus")]
    if params.codec == ids::CODEC_ID_OPUS {
        let channels = params.channels.as_ref().map_or(0, |c| c.count());
        let opus = crate::opus::OpusCodec::new(params.extra_data.as_deref(), channels, gapless)?;
        return Ok(Box::new(opus));
    }
    let opts = AudioDecoderOptions::default().gapless(gapless);
    symphonia::default::get_codecs()
        .make_audio_decoder(params, &opts)
        .map(|d| Box::new(Symphonia(d)) as Box<dyn Codec>)
        .map_err(|e| Error::Unsupported {
            codec: codec_name(params.codec),
            detail: e.to_string(),
        })
}
