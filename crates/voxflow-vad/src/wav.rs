//! WAV reading (through `hound`: PCM 8–32-bit integer and 32-bit float, any rate and channel
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

/// Reads a WAV file (allocates).
pub fn read_wav(path: &Path) -> Result<Wav, Error> {
    let bytes = std::fs::read(path)?;
    parse_wav(&bytes).map_err(|r| bad(path, r))
}

/// Parses WAV bytes with `hound` (allocates). The error string says what is wrong. A data
/// chunk cut short (a truncated file) yields the whole sample frames that are there.
pub fn parse_wav(b: &[u8]) -> Result<Wav, String> {
    let mut r = hound::WavReader::new(std::io::Cursor::new(b)).map_err(|e| e.to_string())?;
    let spec = r.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(format!(
            "bad format: {} channels at {} Hz",
            spec.channels, spec.sample_rate
        ));
    }
    let mut samples: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => r.samples::<f32>().map_while(Result::ok).collect(),
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let scale = (1u64 << (bits - 1)) as f32;
            r.samples::<i32>()
                .map_while(Result::ok)
                .map(|v| v as f32 / scale)
                .collect()
        }
        (format, bits) => return Err(format!("unsupported encoding: {format:?}, {bits} bits")),
    };
    let whole = samples.len() - samples.len() % usize::from(spec.channels);
    samples.truncate(whole);
    Ok(Wav {
        rate: spec.sample_rate,
        channels: spec.channels,
        samples,
    })
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
