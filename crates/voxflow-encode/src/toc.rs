//! Opus packet structure (RFC 6716 §3.1–3.4): the TOC byte, the frame count code and the
//! validity rules, parsed here without the codec so durations are known before decoding.

/// Coding mode of a packet (RFC 6716 §3.1, Table 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// SILK only (speech, up to wideband).
    Silk,
    /// SILK below 8 kHz plus CELT above.
    Hybrid,
    /// CELT only (music, low delay).
    Celt,
}

/// Audio bandwidth coded in the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bandwidth {
    /// 4 kHz.
    Narrow,
    /// 6 kHz.
    Medium,
    /// 8 kHz.
    Wide,
    /// 12 kHz.
    SuperWide,
    /// 20 kHz.
    Full,
}

/// What is wrong with an Opus packet. Every variant means **skip** the packet (conceal it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TocError {
    /// Zero bytes: no TOC.
    #[error("empty packet (no TOC byte)")]
    Empty,
    /// Code 1 (two equal frames) with an odd payload length.
    #[error("code 1 packet with an odd payload of {len} bytes")]
    OddCbrPair {
        /// Payload bytes after the TOC.
        len: usize,
    },
    /// A frame length (or the frame count / padding bytes) runs past the packet end.
    #[error("{what} runs past the end of the {len}-byte packet")]
    PastEnd {
        /// The field.
        what: &'static str,
        /// Packet length.
        len: usize,
    },
    /// Code 3 with a frame count of zero.
    #[error("code 3 packet with zero frames")]
    ZeroFrames,
    /// More than 120 ms of audio in one packet.
    #[error("{frames} frames of {frame_us} µs exceed 120 ms")]
    TooLong {
        /// Frame count.
        frames: u8,
        /// Frame duration in µs.
        frame_us: u32,
    },
    /// Code 3 CBR with a payload not divisible by the frame count.
    #[error("code 3 CBR payload of {len} bytes is not divisible into {frames} frames")]
    UnevenCbr {
        /// Payload bytes.
        len: usize,
        /// Frame count.
        frames: u8,
    },
    /// A frame longer than 1275 bytes.
    #[error("frame of {len} bytes exceeds 1275")]
    FrameTooLong {
        /// Frame bytes.
        len: usize,
    },
}

/// What the TOC and frame-count code say about a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketInfo {
    /// The 5-bit configuration number (0..=31).
    pub config: u8,
    /// Coding mode.
    pub mode: Mode,
    /// Coded bandwidth.
    pub bandwidth: Bandwidth,
    /// True when the packet codes stereo.
    pub stereo: bool,
    /// Frame count code (0: one frame, 1: two equal, 2: two different, 3: arbitrary).
    pub code: u8,
    /// Number of frames (1..=48).
    pub frames: u8,
    /// Samples per frame at 48 kHz (120, 240, 480, 960, 1920 or 2880).
    pub frame_samples_48k: u32,
}

impl PacketInfo {
    /// Total duration in samples at 48 kHz.
    pub fn samples_48k(&self) -> u32 {
        self.frame_samples_48k * u32::from(self.frames)
    }

    /// Total duration in sample frames at `rate` (8/12/16/24/48 kHz divide evenly).
    pub fn samples_at(&self, rate: u32) -> u32 {
        (u64::from(self.samples_48k()) * u64::from(rate) / 48_000) as u32 // cannot truncate: <= 5760
    }
}

/// Duration of one frame of `config`, in 48 kHz samples, plus mode and bandwidth.
fn config_info(config: u8) -> (Mode, Bandwidth, u32) {
    const SILK: [u32; 4] = [480, 960, 1920, 2880];
    const CELT: [u32; 4] = [120, 240, 480, 960];
    let c = usize::from(config);
    match config {
        0..=11 => {
            let bw = [Bandwidth::Narrow, Bandwidth::Medium, Bandwidth::Wide][c / 4];
            (Mode::Silk, bw, SILK[c % 4])
        }
        12..=15 => {
            let bw = if config < 14 {
                Bandwidth::SuperWide
            } else {
                Bandwidth::Full
            };
            (Mode::Hybrid, bw, [480, 960][c % 2])
        }
        _ => {
            let k = c - 16;
            let bw = [
                Bandwidth::Narrow,
                Bandwidth::Wide,
                Bandwidth::SuperWide,
                Bandwidth::Full,
            ][k / 4];
            (Mode::Celt, bw, CELT[k % 4])
        }
    }
}

/// Reads a frame length (1 or 2 bytes, RFC 6716 §3.2.1) at `pos`; returns (length, bytes used).
fn frame_len(p: &[u8], pos: usize) -> Result<(usize, usize), TocError> {
    let past = TocError::PastEnd {
        what: "frame length",
        len: p.len(),
    };
    let &b0 = p.get(pos).ok_or(past.clone())?;
    if b0 < 252 {
        Ok((usize::from(b0), 1))
    } else {
        let &b1 = p.get(pos + 1).ok_or(past)?;
        Ok((usize::from(b1) * 4 + usize::from(b0), 2))
    }
}

/// Parses and validates an Opus packet's structure (RFC 6716 §3.1–3.4, rules R1–R7).
///
/// ```
/// use voxflow_encode::{parse_packet, Mode};
/// let info = parse_packet(&[0xFC, 0xFF, 0xFE]).unwrap(); // config 31, code 0
/// assert_eq!(info.mode, Mode::Celt);
/// assert_eq!(info.samples_48k(), 960);
/// assert!(parse_packet(&[]).is_err());
/// ```
pub fn parse_packet(p: &[u8]) -> Result<PacketInfo, TocError> {
    let &toc = p.first().ok_or(TocError::Empty)?;
    let config = toc >> 3;
    let stereo = toc & 0x04 != 0;
    let code = toc & 0x03;
    let (mode, bandwidth, frame_samples_48k) = config_info(config);
    let len = p.len();
    let frames = match code {
        0 => {
            if len - 1 > 1275 {
                return Err(TocError::FrameTooLong { len: len - 1 });
            }
            1
        }
        1 => {
            if !(len - 1).is_multiple_of(2) {
                return Err(TocError::OddCbrPair { len: len - 1 });
            }
            if (len - 1) / 2 > 1275 {
                return Err(TocError::FrameTooLong { len: (len - 1) / 2 });
            }
            2
        }
        2 => {
            let (n1, used) = frame_len(p, 1)?;
            let rest = len - 1 - used;
            if n1 > rest {
                return Err(TocError::PastEnd {
                    what: "first frame",
                    len,
                });
            }
            if n1 > 1275 || rest - n1 > 1275 {
                return Err(TocError::FrameTooLong {
                    len: n1.max(rest - n1),
                });
            }
            2
        }
        _ => {
            let &fc = p.get(1).ok_or(TocError::PastEnd {
                what: "frame count byte",
                len,
            })?;
            let m = fc & 0x3F;
            let vbr = fc & 0x80 != 0;
            let has_padding = fc & 0x40 != 0;
            if m == 0 {
                return Err(TocError::ZeroFrames);
            }
            if u32::from(m) * frame_samples_48k > 5760 {
                return Err(TocError::TooLong {
                    frames: m,
                    frame_us: frame_samples_48k * 1000 / 48,
                });
            }
            let mut pos = 2usize;
            let mut padding = 0usize;
            if has_padding {
                loop {
                    let &b = p.get(pos).ok_or(TocError::PastEnd {
                        what: "padding length",
                        len,
                    })?;
                    pos += 1;
                    if b == 255 {
                        padding += 254;
                    } else {
                        padding += usize::from(b);
                        break;
                    }
                }
            }
            let mut sizes = 0usize;
            if vbr {
                for _ in 0..m - 1 {
                    let (n, used) = frame_len(p, pos)?;
                    pos += used;
                    if n > 1275 {
                        return Err(TocError::FrameTooLong { len: n });
                    }
                    sizes += n;
                }
            }
            let body = len
                .checked_sub(pos + padding + sizes)
                .ok_or(TocError::PastEnd {
                    what: "frames and padding",
                    len,
                })?;
            if vbr {
                if body > 1275 {
                    return Err(TocError::FrameTooLong { len: body });
                }
            } else {
                if !body.is_multiple_of(usize::from(m)) {
                    return Err(TocError::UnevenCbr {
                        len: body,
                        frames: m,
                    });
                }
                if body / usize::from(m) > 1275 {
                    return Err(TocError::FrameTooLong {
                        len: body / usize::from(m),
                    });
                }
            }
            m
        }
    };
    Ok(PacketInfo {
        config,
        mode,
        bandwidth,
        stereo,
        code,
        frames,
        frame_samples_48k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn durations_of_all_configs() {
        let want = [
            480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 480, 960,
            120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960,
        ];
        for (c, w) in want.iter().enumerate() {
            let info = parse_packet(&[(c as u8) << 3]).unwrap();
            assert_eq!(info.frame_samples_48k, *w, "config {c}");
        }
    }

    #[test]
    fn frame_count_codes() {
        // code 1: two equal frames
        assert_eq!(parse_packet(&[0x01, 1, 2]).unwrap().frames, 2);
        assert_eq!(
            parse_packet(&[0x01, 1]),
            Err(TocError::OddCbrPair { len: 1 })
        );
        // code 2: first frame 1 byte, second 2 bytes
        assert_eq!(parse_packet(&[0x02, 1, 9, 8, 7]).unwrap().frames, 2);
        assert!(matches!(
            parse_packet(&[0x02, 5, 1]),
            Err(TocError::PastEnd { .. })
        ));
        assert!(matches!(
            parse_packet(&[0x02]),
            Err(TocError::PastEnd { .. })
        ));
        // code 3: CBR 3 frames of 2 bytes, 20 ms SILK (config 1)
        let p = [0x08 | 3, 3, 1, 1, 2, 2, 3, 3];
        let i = parse_packet(&p).unwrap();
        assert_eq!((i.frames, i.samples_48k()), (3, 2880));
        assert_eq!(parse_packet(&[0x0B, 0]), Err(TocError::ZeroFrames));
        assert!(matches!(
            parse_packet(&[0x0B, 7, 0, 0]),
            Err(TocError::TooLong { frames: 7, .. })
        ));
        assert!(matches!(
            parse_packet(&[0x0B, 3, 1, 1]),
            Err(TocError::UnevenCbr { .. })
        ));
        // VBR with padding: 2 frames, padding 2, first frame 1 byte, second 1 byte
        let p = [0x0B, 0x80 | 0x40 | 2, 2, 1, 0xAA, 0xBB, 0, 0];
        assert_eq!(parse_packet(&p).unwrap().frames, 2);
        let p = [0x0B, 0x80 | 0x40 | 2, 200, 1, 0xAA];
        assert!(matches!(parse_packet(&p), Err(TocError::PastEnd { .. })));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(i) = parse_packet(&bytes) {
                prop_assert!(i.samples_48k() <= 5760);
                prop_assert!(i.frames >= 1);
            }
        }
    }
}
