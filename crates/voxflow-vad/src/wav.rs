//! A minimal WAV reader (PCM 8/16/24/32-bit integer and 32-bit float, any rate and channel
//! count) for the evaluation helpers and tools. Not used in the real-time path.

use std::path::Path;

use crate::error::Error;

/// Decoded WAV audio: interleaved `f32` samples in [-1, 1].
#[derive(Clone, Debug, PartialEq)]
pub struct Wav {
    /// Sample rate in Hz.
    pub rate: u32,
    /// Channel count.
    pub channels: u16,
    /// Interleaved samples.
    pub samples: Vec<f32>,
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::Wav {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Reads a WAV file (allocates).
pub fn read_wav(path: &Path) -> Result<Wav, Error> {
    let bytes = std::fs::read(path)?;
    parse_wav(&bytes).map_err(|r| bad(path, r))
}

/// Parses WAV bytes (allocates). The error string says what is wrong.
pub fn parse_wav(b: &[u8]) -> Result<Wav, String> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        return Err("not a RIFF/WAVE file".into());
    }
    let mut pos = 12;
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    while pos + 8 <= b.len() {
        let id = &b[pos..pos + 4];
        let len = u32le(b, pos + 4).ok_or("truncated chunk header")? as usize;
        let body_start = pos + 8;
        let body_end = body_start.saturating_add(len).min(b.len());
        let body = &b[body_start..body_end];
        if id == b"fmt " {
            let mut tag = u16le(body, 0).ok_or("short fmt chunk")?;
            let ch = u16le(body, 2).ok_or("short fmt chunk")?;
            let rate = u32le(body, 4).ok_or("short fmt chunk")?;
            let bits = u16le(body, 14).ok_or("short fmt chunk")?;
            if tag == 0xFFFE {
                tag = u16le(body, 24).ok_or("short extensible fmt chunk")?;
            }
            if ch == 0 || rate == 0 {
                return Err(format!("bad format: {ch} channels at {rate} Hz"));
            }
            fmt = Some((tag, ch, rate, bits));
        } else if id == b"data" {
            let (tag, ch, rate, bits) = fmt.ok_or("data chunk before fmt chunk")?;
            let samples: Vec<f32> = match (tag, bits) {
                (1, 8) => body
                    .iter()
                    .map(|&v| (f32::from(v) - 128.0) / 128.0)
                    .collect(),
                (1, 16) => body
                    .chunks_exact(2)
                    .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])) / 32768.0)
                    .collect(),
                (1, 24) => body
                    .chunks_exact(3)
                    .map(|c| (i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8) as f32 / 8_388_608.0)
                    .collect(),
                (1, 32) => body
                    .chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32 / 2_147_483_648.0)
                    .collect(),
                (3, 32) => body
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
                _ => {
                    return Err(format!(
                        "unsupported encoding: format tag {tag}, {bits} bits"
                    ));
                }
            };
            let whole = samples.len() - samples.len() % usize::from(ch);
            let mut samples = samples;
            samples.truncate(whole);
            return Ok(Wav {
                rate,
                channels: ch,
                samples,
            });
        }
        pos = body_start.saturating_add(len).saturating_add(len & 1);
    }
    Err("no data chunk".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav16(rate: u32, ch: u16, data: &[i16]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&(36 + 2 * data.len() as u32).to_le_bytes());
        v.extend_from_slice(b"WAVEfmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&ch.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * 2 * u32::from(ch)).to_le_bytes());
        v.extend_from_slice(&(2 * ch).to_le_bytes());
        v.extend_from_slice(&16u16.to_le_bytes());
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(2 * data.len() as u32).to_le_bytes());
        for d in data {
            v.extend_from_slice(&d.to_le_bytes());
        }
        v
    }

    #[test]
    fn parses_s16() {
        let w = parse_wav(&wav16(8000, 2, &[0, 16384, -32768, 1])).unwrap();
        assert_eq!((w.rate, w.channels), (8000, 2));
        assert_eq!(w.samples, vec![0.0, 0.5, -1.0, 1.0 / 32768.0]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_wav(b"RIFF").is_err());
        assert!(parse_wav(&[0u8; 100]).is_err());
        let mut w = wav16(8000, 1, &[1, 2, 3]);
        w.truncate(50);
        let _ = parse_wav(&w);
        let mut w = wav16(8000, 1, &[1, 2, 3]);
        w[22] = 0; // zero channels
        assert!(parse_wav(&w).is_err());
    }
}
