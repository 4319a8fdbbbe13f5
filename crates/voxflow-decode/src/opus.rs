//! Opus (feature `opus`): symphonia demuxes Ogg and Matroska/WebM Opus but has no Opus
//! decoder; its packets go through voxflow-encode's [`OpusDecoder`], held as a
//! `Box<dyn PacketDecoder>`, here.
//!
//! What this module honours: the OpusHead (Ogg: the identification header; Matroska: the
//! `CodecPrivate`), i.e. the channel count (mapping family 0, or family 1 with one or two
//! channels), the output gain (applied to every sample, concealment included) and the
//! pre-skip (dropped by the [`Decoder`](crate::Decoder) from the first decoded samples); and
//! each packet's `trim_start`/`trim_end`, which symphonia's Ogg demuxer sets from the final
//! page's granule position (end trimming). Output is always 48 kHz, Opus's native rate.

use symphonia::core::errors::Error as SymError;
use symphonia::core::packet::Packet;
use voxflow_core::{AudioFrame, PacketDecoder};
use voxflow_encode::{Backend, OpusDecoder, OpusHead};

use crate::Error;
use crate::codec::{Codec, Decoded, TrackOverride};

/// Opus decodes at 48 kHz here whatever the input rate was.
pub(crate) const OPUS_RATE: u32 = 48_000;

/// Recommended decoder pre-roll before a seek target (RFC 7845 §4.6): 80 ms at 48 kHz.
pub(crate) const SEEK_PREROLL: i64 = 3_840;

pub(crate) struct OpusCodec {
    dec: Box<dyn PacketDecoder>,
    /// The last decoded (or concealed) packet, 120 ms capacity.
    frame: AudioFrame,
    /// Sample frames of `frame` to deliver: `lo..hi` after the packet's trimming.
    lo: usize,
    hi: usize,
    gain: f32,
    gapless: bool,
    head: OpusHead,
}

/// Parses an OpusHead, turning what this build cannot decode into [`Error::Unsupported`].
fn parse_head(b: &[u8]) -> Result<OpusHead, Error> {
    if b.len() >= 19 && &b[..8] == b"OpusHead" {
        let (channels, family) = (b[9], b[18]);
        if channels > 2 {
            return Err(Error::Unsupported {
                codec: "opus".into(),
                detail: format!(
                    "{channels} channels (channel mapping family {family}): only mono and \
                     stereo Opus are decoded"
                ),
            });
        }
        if family > 1 {
            return Err(Error::Unsupported {
                codec: "opus".into(),
                detail: format!("channel mapping family {family}"),
            });
        }
    }
    OpusHead::parse(b).map_err(|e| Error::Malformed {
        context: "OpusHead",
        detail: e.to_string(),
    })
}

impl OpusCodec {
    /// A decoder for a track whose codec extra data is `extra` (the OpusHead; without one, a
    /// Matroska track's own channel count is used, with no pre-skip and no gain).
    pub(crate) fn new(
        extra: Option<&[u8]>,
        container_channels: usize,
        gapless: bool,
    ) -> Result<Self, Error> {
        let head = match extra {
            Some(b) => parse_head(b)?,
            None => OpusHead {
                channels: match container_channels {
                    1 => 1,
                    2 => 2,
                    n => {
                        return Err(Error::Unsupported {
                            codec: "opus".into(),
                            detail: format!(
                                "{n} channels without an OpusHead: only mono and stereo Opus \
                                 are decoded"
                            ),
                        });
                    }
                },
                pre_skip: 0,
                input_sample_rate: 0,
                output_gain_q8: 0,
                mapping_family: 0,
            },
        };
        let dec: Box<dyn PacketDecoder> = Box::new(
            OpusDecoder::new(Backend::default(), OPUS_RATE, u16::from(head.channels)).map_err(
                |e| Error::Unsupported {
                    codec: "opus".into(),
                    detail: e.to_string(),
                },
            )?,
        );
        let frame = AudioFrame::with_capacity(dec.format(), dec.max_frames());
        Ok(OpusCodec {
            dec,
            frame,
            lo: 0,
            hi: 0,
            gain: head.gain_factor(),
            gapless,
            head,
        })
    }
}

impl Codec for OpusCodec {
    fn name(&self) -> &'static str {
        "opus"
    }

    /// Decoded at 48 kHz whatever the container says, with the OpusHead's channels; the
    /// pre-skip is the decoder's to drop. symphonia's Ogg track counts frames up to the last
    /// granule position, which includes the pre-skip (and starts at the first page's start).
    fn track_override(&self, track: &symphonia::core::formats::Track) -> Option<TrackOverride> {
        let pre_skip = u64::from(self.head.pre_skip);
        let start = u64::try_from(track.start_ts.get()).unwrap_or(0);
        Some(TrackOverride {
            rate: OPUS_RATE,
            channels: usize::from(self.head.channels),
            delay: u32::from(self.head.pre_skip),
            num_frames: track
                .num_frames
                .map(|n| n.saturating_sub(start.saturating_add(pre_skip))),
            lead_skip: if self.gapless {
                usize::from(self.head.pre_skip)
            } else {
                0
            },
            seek_preroll: SEEK_PREROLL,
        })
    }

    fn max_frames_per_packet(&self) -> Option<u64> {
        Some(self.dec.max_frames() as u64)
    }

    fn reset(&mut self) {
        self.lo = 0;
        self.hi = 0;
        // (A backend whose reset fails keeps its state, which only affects the first packet
        // after a seek, decoded during the pre-roll anyway.)
        self.dec.reset();
    }

    fn lost_packet_frames(&self, packet: &Packet) -> Option<usize> {
        self.dec.packet_frames(&packet.data).ok()
    }

    fn conceals_lost_audio(&self) -> bool {
        true
    }

    fn decode(&mut self, packet: &Packet) -> Result<Decoded, SymError> {
        self.lo = 0;
        self.hi = 0;
        let n = self
            .dec
            .decode(&packet.data, &mut self.frame)
            .map_err(|e| match e {
                voxflow_core::Error::Malformed { .. } => {
                    SymError::DecodeError("opus: malformed packet")
                }
                _ => SymError::DecodeError("opus: the decoder rejected the packet"),
            })?;
        let n = n.min(self.frame.frames());
        let (mut lo, mut hi) = (0, n);
        if self.gapless {
            // Ogg: symphonia's trims are in 48 kHz ticks (the track's time base).
            let start = usize::try_from(packet.trim_start.get()).unwrap_or(usize::MAX);
            let end = usize::try_from(packet.trim_end.get()).unwrap_or(usize::MAX);
            lo = start.min(n);
            hi = n.saturating_sub(end).max(lo);
        }
        self.lo = lo;
        self.hi = hi;
        Ok(Decoded {
            frames: hi - lo,
            capacity: self.frame.capacity_frames(),
            rate: OPUS_RATE,
            channels: usize::from(self.head.channels),
        })
    }

    fn last_len(&self) -> (usize, usize) {
        let frames = self.hi - self.lo;
        (frames, frames * usize::from(self.head.channels))
    }

    fn copy_last_decoded(&self, out: &mut [f32]) {
        let ch = usize::from(self.head.channels);
        let src = self
            .frame
            .samples()
            .get(self.lo * ch..self.hi * ch)
            .unwrap_or(&[]);
        copy_with_gain(src, out, self.gain);
    }

    /// Packet loss concealment for `out.len()` interleaved samples, in steps of at most
    /// 120 ms; a remainder that is not a multiple of 2.5 ms (or a failing backend) is silence.
    fn conceal(&mut self, out: &mut [f32]) {
        self.lo = 0;
        self.hi = 0;
        let ch = usize::from(self.head.channels);
        let quantum = (OPUS_RATE / 400) as usize; // 2.5 ms
        let mut done = 0;
        while done < out.len() {
            let left = (out.len() - done) / ch;
            let n = (left.min(self.dec.max_frames()) / quantum) * quantum;
            if n == 0 || self.dec.conceal(n, &mut self.frame).is_err() {
                out[done..].fill(0.0);
                return;
            }
            let src = self.frame.samples().get(..n * ch).unwrap_or(&[]);
            copy_with_gain(src, &mut out[done..done + src.len()], self.gain);
            done += src.len().max(1);
        }
    }
}

fn copy_with_gain(src: &[f32], out: &mut [f32], gain: f32) {
    let n = src.len().min(out.len());
    if gain == 1.0 {
        out[..n].copy_from_slice(&src[..n]);
    } else {
        for (o, s) in out[..n].iter_mut().zip(src) {
            *o = s * gain;
        }
    }
}
