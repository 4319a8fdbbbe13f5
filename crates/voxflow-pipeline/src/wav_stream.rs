//! A WAV writer for outputs that cannot seek (a pipe, stdout).

use std::io::Write;

use voxflow_core::{AudioFormat, AudioFrame, AudioSink, Error};

use crate::wav_file::{WavFormat, to_i16, to_i24};

/// Conversion scratch in bytes (a multiple of 2, 3 and 4).
const SCRATCH: usize = 12 * 1024;

/// Writes a WAV stream to an output that cannot seek: stdout, a pipe, a socket.
///
/// [`WavSink`](crate::sinks::WavSink) writes with `hound`, which patches the sizes at the end and
/// so needs [`Seek`](std::io::Seek). On a pipe nothing can be patched, so this sink writes the
/// header ffmpeg and sox write there: the RIFF and `data` sizes (and a float file's `fact`
/// count) declared as `0xFFFFFFFF`, which readers take as "until the end of the input". The
/// header is plain `WAVE_FORMAT_PCM` (16-, 24-bit) or `WAVE_FORMAT_IEEE_FLOAT` (with `fact`).
/// Samples are converted through a fixed scratch buffer: nothing allocates after construction.
/// `finish` flushes.
///
/// ```
/// use voxflow_pipeline::sinks::{WavFormat, WavStreamSink};
/// use voxflow_pipeline::{AudioFormat, AudioFrame, AudioSink, MediaTime};
/// let fmt = AudioFormat::new(8_000, 1).unwrap();
/// let mut out = Vec::new();
/// let mut wav = WavStreamSink::new(&mut out, fmt, WavFormat::Pcm24).unwrap();
/// wav.write(&AudioFrame::from_interleaved(fmt, vec![0.5; 80], MediaTime::ZERO).unwrap()).unwrap();
/// wav.finish().unwrap();
/// drop(wav);
/// assert_eq!(out.len(), 44 + 80 * 3);
/// assert_eq!(&out[4..8], &[0xff; 4]);              // RIFF size: unknown
/// assert_eq!(&out[44..47], &[0, 0, 0x40]);          // 0.5 in 24-bit little-endian
/// ```
pub struct WavStreamSink<W: Write + Send> {
    out: W,
    format: AudioFormat,
    sample: WavFormat,
    scratch: Box<[u8]>,
    data_bytes: u64,
}

impl<W: Write + Send> std::fmt::Debug for WavStreamSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavStreamSink")
            .field("format", &self.format)
            .field("sample", &self.sample)
            .field("data_bytes", &self.data_bytes)
            .finish_non_exhaustive()
    }
}

/// The streaming header: every size declared as unknown (`0xFFFFFFFF`).
fn header(format: AudioFormat, sample: WavFormat) -> Vec<u8> {
    let unknown = u32::MAX;
    let ch = format.channels;
    let bytes = sample.bytes() as u16; // cannot truncate: 2..=4
    let (tag, fmt_len): (u16, u32) = match sample {
        WavFormat::Pcm16 | WavFormat::Pcm24 => (1, 16),
        WavFormat::Float32 => (3, 18),
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
    if sample == WavFormat::Float32 {
        h.extend_from_slice(&0u16.to_le_bytes()); // cbSize
        h.extend_from_slice(b"fact");
        h.extend_from_slice(&4u32.to_le_bytes());
        h.extend_from_slice(&unknown.to_le_bytes());
    }
    h.extend_from_slice(b"data");
    h.extend_from_slice(&unknown.to_le_bytes());
    h
}

impl<W: Write + Send> WavStreamSink<W> {
    /// Writes the header to `out` (give it a buffered writer: samples go out in small writes).
    pub fn new(mut out: W, format: AudioFormat, sample: WavFormat) -> Result<Self, Error> {
        out.write_all(&header(format, sample))?;
        Ok(WavStreamSink {
            out,
            format,
            sample,
            scratch: vec![0u8; SCRATCH].into_boxed_slice(),
            data_bytes: 0,
        })
    }

    /// Bytes of sample data written so far.
    pub fn data_bytes(&self) -> u64 {
        self.data_bytes
    }
}

impl<W: Write + Send> AudioSink for WavStreamSink<W> {
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
        let bps = self.sample.bytes() as usize;
        for chunk in frame.samples().chunks(SCRATCH / bps) {
            let buf = &mut self.scratch[..chunk.len() * bps];
            match self.sample {
                WavFormat::Pcm16 => {
                    for (d, &s) in buf.chunks_exact_mut(2).zip(chunk) {
                        d.copy_from_slice(&to_i16(s).to_le_bytes());
                    }
                }
                WavFormat::Pcm24 => {
                    for (d, &s) in buf.chunks_exact_mut(3).zip(chunk) {
                        d.copy_from_slice(&to_i24(s).to_le_bytes()[..3]);
                    }
                }
                WavFormat::Float32 => {
                    for (d, &s) in buf.chunks_exact_mut(4).zip(chunk) {
                        d.copy_from_slice(&s.to_le_bytes());
                    }
                }
            }
            self.out.write_all(buf)?;
        }
        self.data_bytes += (frame.samples().len() * bps) as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_header_declares_unknown_sizes() {
        let fmt = AudioFormat::new(48_000, 2).unwrap();
        let h = header(fmt, WavFormat::Float32);
        assert_eq!(h.len(), 58);
        assert_eq!(u16::from_le_bytes([h[20], h[21]]), 3); // IEEE float
        assert_eq!(&h[4..8], &[0xff; 4]);
        assert_eq!(&h[46..50], &[0xff; 4]); // fact count
        assert_eq!(&h[54..58], &[0xff; 4]); // data size
        let h = header(fmt, WavFormat::Pcm24);
        assert_eq!(h.len(), 44);
        assert_eq!(u16::from_le_bytes([h[34], h[35]]), 24);
        assert_eq!(u16::from_le_bytes([h[32], h[33]]), 6);
    }

    #[test]
    fn sixteen_bit_round_trips_exactly() {
        let fmt = AudioFormat::new(8_000, 1).unwrap();
        let values: Vec<f32> = (-32768i32..32768)
            .step_by(7)
            .map(|v| v as f32 / 32768.0)
            .collect();
        let mut out = Vec::new();
        let mut wav = WavStreamSink::new(&mut out, fmt, WavFormat::Pcm16).unwrap();
        let frame =
            AudioFrame::from_interleaved(fmt, values.clone(), voxflow_core::MediaTime::ZERO)
                .unwrap();
        wav.write(&frame).unwrap();
        wav.finish().unwrap();
        drop(wav);
        let back: Vec<f32> = out[44..]
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect();
        assert_eq!(back, values);
    }
}
