//! The packets every buffer receives: a speech file as 20 ms Opus packets, one per trace
//! sequence number, and their loss-free decode (the reference for quality measurements).
//!
//! The audio is decoded (voxflow-decode), mixed down to mono and resampled to 48 kHz
//! (voxflow-resample), looped to cover the trace, and encoded with voxflow-encode's default
//! (pure-Rust) Opus encoder: 48 kHz mono, VoIP, 20 ms, 32 kbit/s constrained VBR, in-band FEC on
//! with 10 % expected loss (what a WebRTC peer sends after negotiating `useinbandfec=1`), no DTX.
//! Packet `seq` of the trace carries samples `seq × 960 ..` of the looped audio and goes out as
//! RTP sequence number `seq mod 65536`, timestamp `seq × 960`, SSRC [`SSRC`], payload type
//! [`PAYLOAD_TYPE`].

use std::path::Path;
use std::sync::Arc;

use voxflow_core::{AudioFormat, AudioFrame, AudioStage, PacketDecoder, RtpInfo};
use voxflow_decode::{Decoder, DecoderConfig, Preloaded};
use voxflow_encode::{Backend, EncoderConfig, MAX_PACKET_BYTES, OpusDecoder, OpusEncoder};
use voxflow_resample::{Resampler, ResamplerConfig};

use crate::SimError;

/// Output and packet sample rate.
pub const RATE: u32 = 48_000;
/// Sample frames per packet (20 ms at 48 kHz).
pub const PACKET_FRAMES: usize = 960;
/// Sample frames per pull (10 ms at 48 kHz).
pub const PULL_FRAMES: usize = 480;
/// RTP payload type of the Opus packets (WebRTC's usual dynamic type for Opus).
pub const PAYLOAD_TYPE: u8 = 111;
/// The one SSRC of the stream.
pub const SSRC: u32 = 0x766f_7866;
/// Encoder bitrate, bit/s.
pub const BITRATE: u32 = 32_000;
/// Expected loss the encoder's FEC is tuned for, percent.
pub const EXPECTED_LOSS_PERCENT: u8 = 10;

/// The mono 48 kHz format of everything here.
pub fn format() -> AudioFormat {
    AudioFormat {
        rate: RATE,
        channels: 1,
    }
}

/// The RTP facts of packet `seq`.
pub fn rtp_info(seq: u64) -> RtpInfo {
    RtpInfo {
        seq,
        timestamp: (seq.wrapping_mul(PACKET_FRAMES as u64) & 0xffff_ffff) as u32,
        marker: false,
        ssrc: SSRC,
        payload_type: PAYLOAD_TYPE,
    }
}

/// Encoded packets indexed by sequence number, and their loss-free decode.
#[derive(Clone, Debug, Default)]
pub struct PacketSet {
    /// `payloads[seq]`: the Opus payload of packet `seq`.
    pub payloads: Vec<Vec<u8>>,
    /// All packets decoded in order by a fresh decoder (48 kHz mono), the reference a listener
    /// would hear with no loss and no jitter.
    pub reference: Vec<f32>,
}

/// Decodes an audio file to 48 kHz mono.
pub fn load_audio_file(path: &Path) -> Result<Vec<f32>, SimError> {
    let dec = Decoder::open_with(path, DecoderConfig::default())?;
    to_mono_48k(dec)
}

/// Decodes in-memory audio (`hint`: the file extension, e.g. `"flac"`) to 48 kHz mono.
pub fn load_audio_bytes(bytes: Arc<[u8]>, hint: Option<&str>) -> Result<Vec<f32>, SimError> {
    let dec = Preloaded::from_bytes(bytes, hint).decoder(DecoderConfig::default())?;
    to_mono_48k(dec)
}

fn to_mono_48k(mut dec: Decoder) -> Result<Vec<f32>, SimError> {
    let input = dec.format();
    let mut rs = Resampler::new(
        ResamplerConfig::new(input, format()).max_input_frames(dec.frame_len().max(1)),
    )?;
    let mut frame = AudioFrame::with_capacity(input, dec.frame_len().max(1));
    let mut out = AudioFrame::with_capacity(format(), rs.max_output_frames());
    let mut samples = Vec::new();
    loop {
        match dec.next_frame(&mut frame) {
            Ok(true) => {
                rs.push(&frame)?;
                while rs.poll(&mut out)? {
                    samples.extend_from_slice(out.samples());
                }
            }
            Ok(false) => break,
            Err(e) if e.is_skippable() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    rs.finish()?;
    while rs.poll(&mut out)? {
        samples.extend_from_slice(out.samples());
    }
    if samples.is_empty() {
        return Err(SimError::EmptyAudio);
    }
    Ok(samples)
}

/// Encodes `count` packets (sequence numbers `0..count`) from `audio` (48 kHz mono, looped as
/// often as needed) and decodes them in order for the reference.
pub fn encode_packets(audio: &[f32], count: usize) -> Result<PacketSet, SimError> {
    if audio.is_empty() {
        return Err(SimError::EmptyAudio);
    }
    let cfg = EncoderConfig {
        fec: true,
        expected_loss_percent: EXPECTED_LOSS_PERCENT,
        ..EncoderConfig::voip(BITRATE)
    };
    let mut enc = OpusEncoder::new(cfg)?;
    let mut dec = OpusDecoder::new(Backend::default(), RATE, 1)?;
    let mut pcm = vec![0.0f32; PACKET_FRAMES];
    let mut buf = vec![0u8; MAX_PACKET_BYTES];
    let mut out = AudioFrame::with_capacity(format(), OpusDecoder::max_frames(&dec));
    let mut set = PacketSet {
        payloads: Vec::with_capacity(count),
        reference: Vec::with_capacity(count * PACKET_FRAMES),
    };
    let mut pos = 0usize;
    for _ in 0..count {
        for s in pcm.iter_mut() {
            *s = audio[pos];
            pos = (pos + 1) % audio.len();
        }
        let n = enc.encode_interleaved(&pcm, &mut buf)?;
        let payload = buf[..n].to_vec();
        let frames =
            PacketDecoder::decode(&mut dec, &payload, &mut out).map_err(|e| SimError::Buffer {
                buffer: "reference decoder".into(),
                detail: e.to_string(),
            })?;
        set.reference
            .extend_from_slice(&out.samples()[..frames.min(out.frames())]);
        set.payloads.push(payload);
    }
    Ok(set)
}

/// Writes 48 kHz mono 16-bit WAV.
pub fn write_wav(path: &Path, samples: &[f32]) -> Result<(), SimError> {
    let err = |e: hound::Error| SimError::Wav {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(err)?;
    for &s in samples {
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        w.write_sample(v).map_err(err)?;
    }
    w.finalize().map_err(err)
}
