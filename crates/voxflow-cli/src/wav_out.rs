//! The WAV writer behind `decode -o` and `resample`: 16-bit, 24-bit or 32-bit float, to a file
//! (sizes patched at the end) or to stdout (a streaming header).
//!
//! On stdout nothing can be patched, so the header declares the largest sizes the format holds
//! (`0xFFFFFFFF` for the RIFF and `data` sizes and the float `fact` count), as ffmpeg and sox
//! do on pipes: readers take the data to run to the end of the input. Nothing is buffered
//! beyond a 64 KiB `BufWriter`.
//!
//! (voxflow-pipeline's `WavSink` needs `Seek` and writes no 24-bit; this is the CLI's until it
//! grows both.)

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Stdout, Write};

use voxflow::{AudioFormat, AudioFrame, AudioSink, Error};

/// How samples are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WavBits {
    /// 16-bit signed PCM (scaled by 32768, rounded, clamped: 16-bit input is written back
    /// bit-exact).
    Pcm16,
    /// 24-bit signed PCM (scaled by 8388608, rounded, clamped).
    Pcm24,
    /// 32-bit IEEE float, as decoded.
    Float32,
}

impl WavBits {
    fn bytes(self) -> usize {
        match self {
            WavBits::Pcm16 => 2,
            WavBits::Pcm24 => 3,
            WavBits::Float32 => 4,
        }
    }
}

/// Where the file goes.
enum Out {
    File(BufWriter<File>),
    Stdout(BufWriter<Stdout>),
}

impl Out {
    fn w(&mut self) -> &mut dyn Write {
        match self {
            Out::File(f) => f,
            Out::Stdout(s) => s,
        }
    }
}

/// Conversion scratch in bytes (a multiple of 2, 3 and 4).
const SCRATCH: usize = 12 * 1024;

/// An [`AudioSink`] writing a WAV stream.
pub struct WavOut {
    out: Out,
    format: AudioFormat,
    bits: WavBits,
    scratch: Box<[u8]>,
    data_bytes: u64,
    limit: u64,
    header_len: u64,
    finished: bool,
}

impl WavOut {
    /// Creates (truncates) `path` and writes the header (sizes patched by `finish`).
    pub fn create(
        path: &std::path::Path,
        format: AudioFormat,
        bits: WavBits,
    ) -> Result<Self, Error> {
        let f = File::create(path)?;
        Self::new(
            Out::File(BufWriter::with_capacity(64 * 1024, f)),
            format,
            bits,
        )
    }

    /// Streams to stdout with a header declaring maximal sizes.
    pub fn stdout(format: AudioFormat, bits: WavBits) -> Result<Self, Error> {
        let s = BufWriter::with_capacity(64 * 1024, std::io::stdout());
        Self::new(Out::Stdout(s), format, bits)
    }

    fn new(mut out: Out, format: AudioFormat, bits: WavBits) -> Result<Self, Error> {
        let streaming = matches!(out, Out::Stdout(_));
        let header = header(format, bits, streaming);
        out.w().write_all(&header)?;
        let header_len = header.len() as u64;
        let block = (bits.bytes() * usize::from(format.channels)) as u64;
        let max = u64::from(u32::MAX) - (header_len - 8);
        Ok(WavOut {
            out,
            format,
            bits,
            scratch: vec![0u8; SCRATCH].into_boxed_slice(),
            data_bytes: 0,
            limit: max - max % block,
            header_len,
            finished: false,
        })
    }
}

/// Offset of the `fact` chunk's sample-frame count in a float file.
const FACT_AT: u64 = 12 + 8 + 18 + 8;

/// The header; `streaming` declares the largest sizes instead of placeholders.
fn header(format: AudioFormat, bits: WavBits, streaming: bool) -> Vec<u8> {
    let unknown = if streaming { u32::MAX } else { 0 };
    let ch = format.channels;
    let bytes = bits.bytes() as u16; // cannot truncate: 2..=4
    let (tag, fmt_len): (u16, u32) = match bits {
        WavBits::Pcm16 | WavBits::Pcm24 => (1, 16),
        WavBits::Float32 => (3, 18),
    };
    let block = u32::from(ch) * u32::from(bytes);
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&unknown.to_le_bytes());
    h.extend_from_slice(b"WAVE");
    h.extend_from_slice(b"fmt ");
    h.extend_from_slice(&fmt_len.to_le_bytes());
    h.extend_from_slice(&tag.to_le_bytes());
    h.extend_from_slice(&ch.to_le_bytes());
    h.extend_from_slice(&format.rate.to_le_bytes());
    h.extend_from_slice(&format.rate.saturating_mul(block).to_le_bytes());
    h.extend_from_slice(&(block as u16).to_le_bytes()); // cannot truncate: ≤ 4 × MAX_CHANNELS
    h.extend_from_slice(&(bytes * 8).to_le_bytes());
    if bits == WavBits::Float32 {
        h.extend_from_slice(&0u16.to_le_bytes()); // cbSize
        h.extend_from_slice(b"fact");
        h.extend_from_slice(&4u32.to_le_bytes());
        h.extend_from_slice(&unknown.to_le_bytes());
    }
    h.extend_from_slice(b"data");
    h.extend_from_slice(&unknown.to_le_bytes());
    h
}

impl AudioSink for WavOut {
    fn name(&self) -> &'static str {
        "wav"
    }

    fn write(&mut self, frame: &AudioFrame) -> Result<(), Error> {
        if frame.format() != self.format {
            return Err(Error::FormatMismatch {
                expected: self.format,
                actual: frame.format(),
            });
        }
        if self.finished {
            return Err(Error::Closed("wav output"));
        }
        let bps = self.bits.bytes();
        let bytes = (frame.samples().len() * bps) as u64;
        if self.data_bytes + bytes > self.limit {
            return Err(Error::Unsupported(format!(
                "WAV data would reach {} bytes; the format's 32-bit sizes allow at most {}",
                self.data_bytes + bytes,
                self.limit
            )));
        }
        let w = self.out.w();
        for chunk in frame.samples().chunks(SCRATCH / bps) {
            let buf = &mut self.scratch[..chunk.len() * bps];
            match self.bits {
                WavBits::Pcm16 => {
                    for (d, &s) in buf.chunks_exact_mut(2).zip(chunk) {
                        let v = (s * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16;
                        d.copy_from_slice(&v.to_le_bytes());
                    }
                }
                WavBits::Pcm24 => {
                    for (d, &s) in buf.chunks_exact_mut(3).zip(chunk) {
                        let v = (s * 8_388_608.0).round().clamp(-8_388_608.0, 8_388_607.0) as i32;
                        d.copy_from_slice(&v.to_le_bytes()[..3]);
                    }
                }
                WavBits::Float32 => {
                    for (d, &s) in buf.chunks_exact_mut(4).zip(chunk) {
                        d.copy_from_slice(&s.to_le_bytes());
                    }
                }
            }
            w.write_all(buf)?;
        }
        self.data_bytes += bytes;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        match &mut self.out {
            Out::Stdout(s) => s.flush()?,
            Out::File(f) => {
                // Both fit: `data_bytes` stays below `limit` < 2^32.
                let riff = u32::try_from(self.header_len - 8 + self.data_bytes).unwrap_or(u32::MAX);
                let data = u32::try_from(self.data_bytes).unwrap_or(u32::MAX);
                f.seek(SeekFrom::Start(4))?;
                f.write_all(&riff.to_le_bytes())?;
                if self.bits == WavBits::Float32 {
                    let frames = self.data_bytes / (4 * u64::from(self.format.channels));
                    f.seek(SeekFrom::Start(FACT_AT))?;
                    f.write_all(&u32::try_from(frames).unwrap_or(u32::MAX).to_le_bytes())?;
                }
                f.seek(SeekFrom::Start(self.header_len - 4))?;
                f.write_all(&data.to_le_bytes())?;
                f.seek(SeekFrom::End(0))?;
                f.flush()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn streaming_header_declares_maximal_sizes() {
        let fmt = AudioFormat::new(48_000, 2).unwrap();
        let h = header(fmt, WavBits::Float32, true);
        assert_eq!(h.len(), 58);
        assert_eq!(&h[4..8], &[0xff; 4]);
        assert_eq!(&h[FACT_AT as usize..FACT_AT as usize + 4], &[0xff; 4]);
        assert_eq!(&h[54..58], &[0xff; 4]);
        let h = header(fmt, WavBits::Pcm24, false);
        assert_eq!(h.len(), 44);
        assert_eq!(u16::from_le_bytes([h[34], h[35]]), 24);
        assert_eq!(u16::from_le_bytes([h[32], h[33]]), 6);
        assert_eq!(&h[40..44], &[0; 4]);
    }
}
