//! Small in-memory WAV files for tests, examples and benches (no file needed).

/// Sample encoding of a WAV written by [`wav_bytes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WavEncoding {
    /// 16-bit signed integer PCM.
    S16,
    /// 24-bit signed integer PCM (packed, 3 bytes per sample).
    S24,
    /// 32-bit IEEE float.
    F32,
}

impl WavEncoding {
    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            WavEncoding::S16 => 2,
            WavEncoding::S24 => 3,
            WavEncoding::F32 => 4,
        }
    }
}

/// A complete RIFF/WAVE file holding `interleaved` (values in `[-1, 1]`, clamped) at `rate` Hz
/// with `channels` channels. Integer encodings scale by `2^(bits-1)` and round, so a value
/// written as `k / 2^(bits-1)` decodes back exactly. A `WAVE_FORMAT_EXTENSIBLE` header is
/// written for 24-bit and float data, a plain PCM header for 16-bit.
///
/// ```
/// use voxflow_decode::testing::{wav_bytes, WavEncoding};
/// let wav = wav_bytes(WavEncoding::S16, 8_000, 1, &[0.0, 0.5, -0.5]);
/// assert_eq!(&wav[..4], b"RIFF");
/// assert_eq!(wav.len(), 44 + 6);
/// ```
pub fn wav_bytes(enc: WavEncoding, rate: u32, channels: u16, interleaved: &[f32]) -> Vec<u8> {
    let bps = enc.bytes();
    let data_len = interleaved.len() * bps;
    let extensible = enc != WavEncoding::S16;
    let fmt_len: u32 = if extensible { 40 } else { 16 };
    let mut out = Vec::with_capacity(data_len + 80);
    let riff_len = 4 + (8 + fmt_len as usize) + (8 + data_len);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(riff_len as u32).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&fmt_len.to_le_bytes());
    let tag: u16 = if extensible { 0xFFFE } else { 1 };
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    let block = u32::from(channels) * bps as u32;
    out.extend_from_slice(&(rate * block).to_le_bytes());
    out.extend_from_slice(&(block as u16).to_le_bytes());
    let bits = (bps * 8) as u16;
    out.extend_from_slice(&bits.to_le_bytes());
    if extensible {
        out.extend_from_slice(&22u16.to_le_bytes()); // cbSize
        out.extend_from_slice(&bits.to_le_bytes()); // valid bits
        let mask: u32 = if channels == 2 {
            0x3
        } else if channels == 1 {
            0x4
        } else {
            0
        };
        out.extend_from_slice(&mask.to_le_bytes());
        // Sub-format GUID: 0000000X-0000-0010-8000-00aa00389b71 (X = 1 PCM, 3 float).
        let sub: u16 = if enc == WavEncoding::F32 { 3 } else { 1 };
        out.extend_from_slice(&sub.to_le_bytes());
        out.extend_from_slice(&[
            0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
        ]);
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data_len as u32).to_le_bytes());
    for &s in interleaved {
        let s = s.clamp(-1.0, 1.0);
        match enc {
            WavEncoding::S16 => {
                let v = (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
                out.extend_from_slice(&v.to_le_bytes());
            }
            WavEncoding::S24 => {
                let v = (s * 8_388_608.0).round().clamp(-8_388_608.0, 8_388_607.0) as i32;
                out.extend_from_slice(&v.to_le_bytes()[..3]);
            }
            WavEncoding::F32 => out.extend_from_slice(&s.to_le_bytes()),
        }
    }
    out
}
