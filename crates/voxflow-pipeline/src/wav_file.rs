//! WAV files written with `hound` (sizes patched at the end, so the output must seek).

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::Path;

use voxflow_core::{AudioFormat, AudioFrame, AudioSink, Error};

/// Sample encoding of a [`WavSink`] file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WavFormat {
    /// 16-bit signed integer PCM: samples scaled by 32768, rounded and clamped to
    /// `-32768..=32767` — the inverse of the decoder's `n / 32768`, so 16-bit input written back
    /// is bit-exact.
    Pcm16,
    /// 24-bit signed integer PCM: samples scaled by 8 388 608, rounded and clamped.
    Pcm24,
    /// 32-bit IEEE float (written as is).
    Float32,
}

impl WavFormat {
    pub(crate) fn bytes(self) -> u64 {
        match self {
            WavFormat::Pcm16 => 2,
            WavFormat::Pcm24 => 3,
            WavFormat::Float32 => 4,
        }
    }

    fn spec(self, format: AudioFormat) -> hound::WavSpec {
        let (bits_per_sample, sample_format) = match self {
            WavFormat::Pcm16 => (16, hound::SampleFormat::Int),
            WavFormat::Pcm24 => (24, hound::SampleFormat::Int),
            WavFormat::Float32 => (32, hound::SampleFormat::Float),
        };
        hound::WavSpec {
            channels: format.channels,
            sample_rate: format.rate,
            bits_per_sample,
            sample_format,
        }
    }
}

/// The 16-bit value of a sample: scaled by 32768, rounded, clamped.
pub(crate) fn to_i16(s: f32) -> i16 {
    (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// The 24-bit value of a sample: scaled by 8 388 608, rounded, clamped.
pub(crate) fn to_i24(s: f32) -> i32 {
    (s * 8_388_608.0).round().clamp(-8_388_608.0, 8_388_607.0) as i32
}

/// A `hound` error as this crate's error: I/O stays I/O, the rest (which the sink's own checks
/// rule out: format, sizes) is `Unsupported`.
fn wav_error(e: hound::Error) -> Error {
    match e {
        hound::Error::IoError(e) => Error::Io(e),
        other => Error::Unsupported(format!("WAV writer: {other}")),
    }
}

/// Writes a RIFF/WAVE file with [`hound`]: 16- or 24-bit PCM or 32-bit float, chosen at
/// construction. It needs [`Seek`] to patch the sizes; for a pipe use
/// [`WavStreamSink`](crate::sinks::WavStreamSink).
///
/// The header is written at once (by `hound`: a 44-byte `WAVE_FORMAT_PCM` header for 16-bit
/// mono or stereo, a 68-byte `WAVE_FORMAT_EXTENSIBLE` one for float or more than two channels)
/// and its sizes are patched by `finish` (via [`Seek`]); a sink dropped without `finish` patches
/// on a best-effort basis. Samples go straight into the writer (a 64 KiB [`BufWriter`] for
/// [`create`](WavSink::create)): 16-bit frames through `hound`'s reusable sample buffer, which
/// grows only when a frame is larger than every one before, float samples one by one; so
/// after the first frame `write` allocates nothing (`tests/wav_alloc.rs` counts it). WAV sizes
/// are 32-bit: a frame that would take the file past 4 GiB is refused with
/// [`Error::Unsupported`] and nothing of it is written (what came before stays a valid file).
///
/// ```
/// use voxflow_pipeline::sinks::{WavFormat, WavSink};
/// use voxflow_pipeline::{AudioFormat, AudioFrame, AudioSink, MediaTime};
/// let path = std::env::temp_dir().join(format!("voxflow-doc-{}.wav", std::process::id()));
/// let fmt = AudioFormat::new(16_000, 1).unwrap();
/// let mut wav = WavSink::create(&path, fmt, WavFormat::Pcm16).unwrap();
/// let f = AudioFrame::from_interleaved(fmt, vec![0.5; 160], MediaTime::ZERO).unwrap();
/// wav.write(&f).unwrap();
/// wav.finish().unwrap(); // patches the sizes and flushes
/// let bytes = std::fs::read(&path).unwrap();
/// # std::fs::remove_file(&path).unwrap();
/// assert_eq!(bytes.len(), 44 + 320);
/// assert_eq!(&bytes[0..4], b"RIFF");
/// ```
pub struct WavSink<W: Write + Seek + Send = BufWriter<File>> {
    /// `None` once finished.
    w: Option<hound::WavWriter<W>>,
    format: AudioFormat,
    sample: WavFormat,
    data_bytes: u64,
    limit: u64,
}

impl<W: Write + Seek + Send> std::fmt::Debug for WavSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink")
            .field("format", &self.format)
            .field("sample", &self.sample)
            .field("data_bytes", &self.data_bytes)
            .finish_non_exhaustive()
    }
}

impl WavSink<BufWriter<File>> {
    /// Creates (truncates) `path` and writes the header.
    pub fn create(
        path: impl AsRef<Path>,
        format: AudioFormat,
        sample: WavFormat,
    ) -> Result<Self, Error> {
        let f = File::create(path)?;
        WavSink::new(BufWriter::with_capacity(64 * 1024, f), format, sample)
    }
}

impl<W: Write + Seek + Send> WavSink<W> {
    /// Writes the header to `w` (which must be at offset 0).
    pub fn new(w: W, format: AudioFormat, sample: WavFormat) -> Result<Self, Error> {
        let writer = hound::WavWriter::new(w, sample.spec(format)).map_err(wav_error)?;
        // hound's layout: WAVE_FORMAT_PCM (44 bytes) for 16-bit mono/stereo, else
        // WAVE_FORMAT_EXTENSIBLE (68 bytes; counting 68 where hound writes 44 only makes the
        // 4 GiB limit 24 bytes stricter).
        let header_len: u64 = if format.channels > 2 || sample != WavFormat::Pcm16 {
            68
        } else {
            44
        };
        let block = sample.bytes() * u64::from(format.channels);
        let max = u64::from(u32::MAX) - (header_len - 8);
        Ok(WavSink {
            w: Some(writer),
            format,
            sample,
            data_bytes: 0,
            limit: max - max % block,
        })
    }

    /// Bytes of sample data written so far.
    pub fn data_bytes(&self) -> u64 {
        self.data_bytes
    }

    #[cfg(test)]
    fn with_limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    fn finalize(&mut self) -> Result<(), Error> {
        match self.w.take() {
            Some(w) => w.finalize().map_err(wav_error),
            None => Ok(()),
        }
    }
}

impl<W: Write + Seek + Send> AudioSink for WavSink<W> {
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
        let Some(w) = self.w.as_mut() else {
            return Err(Error::Closed("wav file"));
        };
        let samples = frame.samples();
        let bytes = samples.len() as u64 * self.sample.bytes();
        if self.data_bytes + bytes > self.limit {
            return Err(Error::Unsupported(format!(
                "WAV data would reach {} bytes; the format's 32-bit sizes allow at most {}",
                self.data_bytes + bytes,
                self.limit
            )));
        }
        match self.sample {
            WavFormat::Pcm16 => {
                // `samples.len()` fits in u32: the size check above keeps it under 2^31.
                let n = samples.len() as u32;
                // The spec is 16-bit integer (from `WavFormat::Pcm16`), so hound does not panic.
                let mut out = w.get_i16_writer(n);
                for &s in samples {
                    out.write_sample(to_i16(s));
                }
                // Exactly `n` samples were written, as `flush` requires.
                out.flush().map_err(wav_error)?;
            }
            WavFormat::Pcm24 => {
                for &s in samples {
                    w.write_sample(to_i24(s)).map_err(wav_error)?;
                }
            }
            WavFormat::Float32 => {
                for &s in samples {
                    w.write_sample(s).map_err(wav_error)?;
                }
            }
        }
        self.data_bytes += bytes;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.finalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voxflow_core::MediaTime;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }

    /// A fresh temp path for one test.
    fn scratch(tag: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("voxflow-wav-{tag}-{}.wav", std::process::id()))
    }

    /// Writes `frames` through a sink made by `make` into a temp file and returns the bytes.
    fn written(
        tag: &str,
        make: impl FnOnce(&Path) -> WavSink,
        frames: &[AudioFrame],
    ) -> (Vec<u8>, Vec<Result<(), Error>>) {
        let path = scratch(tag);
        let mut wav = make(&path);
        let results = frames.iter().map(|f| wav.write(f)).collect();
        wav.finish().unwrap();
        assert!(matches!(wav.write(&frames[0]), Err(Error::Closed(_))));
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        (bytes, results)
    }

    #[test]
    fn pcm16_header_and_samples() {
        let fmt = AudioFormat::new(8_000, 2).unwrap();
        let f =
            AudioFrame::from_interleaved(fmt, vec![1.0, -1.0, 0.5, -2.0], MediaTime::ZERO).unwrap();
        let (b, r) = written(
            "pcm16",
            |p| WavSink::create(p, fmt, WavFormat::Pcm16).unwrap(),
            std::slice::from_ref(&f),
        );
        assert!(r.iter().all(Result::is_ok));
        assert_eq!(b.len(), 44 + 8);
        assert_eq!(&b[8..16], b"WAVEfmt ");
        assert_eq!(u32_at(&b, 4), 36 + 8);
        assert_eq!(u32_at(&b, 16), 16);
        assert_eq!(u16_at(&b, 20), 1); // WAVE_FORMAT_PCM
        assert_eq!(u16_at(&b, 22), 2);
        assert_eq!(u32_at(&b, 24), 8_000);
        assert_eq!(u32_at(&b, 28), 8_000 * 4);
        assert_eq!(u16_at(&b, 34), 16);
        assert_eq!(&b[36..40], b"data");
        assert_eq!(u32_at(&b, 40), 8);
        let s: Vec<i16> = b[44..]
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(s, [32767, -32768, 16384, -32768]);
    }

    #[test]
    fn pcm16_round_trips_every_16_bit_value_exactly() {
        let fmt = AudioFormat::new(48_000, 1).unwrap();
        let all: Vec<i16> = (i16::MIN..=i16::MAX).collect();
        // Two frames of different sizes (the sample buffer grows once, then is reused).
        let frames: Vec<AudioFrame> = all
            .chunks(40_000)
            .map(|c| {
                let x = c.iter().map(|&v| f32::from(v) / 32768.0).collect();
                AudioFrame::from_interleaved(fmt, x, MediaTime::ZERO).unwrap()
            })
            .collect();
        let (b, _) = written(
            "exact",
            |p| WavSink::create(p, fmt, WavFormat::Pcm16).unwrap(),
            &frames,
        );
        let back: Vec<i16> = hound::WavReader::new(std::io::Cursor::new(b))
            .unwrap()
            .into_samples::<i16>()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, all);
    }

    #[test]
    fn float_header_is_extensible_ieee_float_and_samples_exact() {
        let fmt = AudioFormat::new(48_000, 1).unwrap();
        let samples: Vec<f32> = (0..10_000).map(|i| i as f32 / 10_000.0).collect();
        let f = AudioFrame::from_interleaved(fmt, samples.clone(), MediaTime::ZERO).unwrap();
        let (b, _) = written(
            "float",
            |p| WavSink::create(p, fmt, WavFormat::Float32).unwrap(),
            std::slice::from_ref(&f),
        );
        assert_eq!(b.len(), 68 + 40_000);
        assert_eq!(u32_at(&b, 16), 40); // WAVEFORMATEXTENSIBLE
        assert_eq!(u16_at(&b, 20), 0xFFFE);
        assert_eq!(u16_at(&b, 34), 32);
        assert_eq!(u16_at(&b, 38), 32); // valid bits
        assert_eq!(u32_at(&b, 44), 3); // KSDATAFORMAT_SUBTYPE_IEEE_FLOAT starts 03 00 00 00
        assert_eq!(&b[60..64], b"data");
        assert_eq!(u32_at(&b, 64), 40_000);
        assert_eq!(u32_at(&b, 4), 60 + 40_000);
        let back: Vec<f32> = b[68..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(back, samples);
        let spec = hound::WavReader::new(std::io::Cursor::new(b))
            .unwrap()
            .spec();
        assert_eq!(spec.sample_format, hound::SampleFormat::Float);
    }

    #[test]
    fn refuses_to_pass_the_size_limit_and_stays_valid() {
        let fmt = AudioFormat::new(8_000, 1).unwrap();
        let f = AudioFrame::from_interleaved(fmt, vec![0.0; 4], MediaTime::ZERO).unwrap();
        let (b, r) = written(
            "limit",
            |p| {
                WavSink::create(p, fmt, WavFormat::Pcm16)
                    .unwrap()
                    .with_limit(10)
            },
            &[f.clone(), f],
        );
        assert!(r[0].is_ok());
        let e = r[1].as_ref().unwrap_err();
        assert!(matches!(e, Error::Unsupported(_)), "{e}");
        assert!(!e.is_skippable());
        assert_eq!(u32_at(&b, 40), 8);
        assert_eq!(b.len(), 44 + 8);
        // The real limit keeps the RIFF size within 32 bits.
        for (sample, ch, header) in [(WavFormat::Pcm16, 1, 44), (WavFormat::Float32, 6, 68)] {
            let fmt = AudioFormat::new(8_000, ch).unwrap();
            let w = WavSink::new(std::io::Cursor::new(Vec::new()), fmt, sample).unwrap();
            assert!(w.limit + header - 8 <= u64::from(u32::MAX));
            assert_eq!(w.limit % (sample.bytes() * u64::from(ch)), 0);
        }
    }

    #[test]
    fn wrong_format_is_skippable_and_a_dropped_sink_patches_the_header() {
        let fmt = AudioFormat::new(8_000, 1).unwrap();
        let path = scratch("drop");
        let mut wav = WavSink::create(&path, fmt, WavFormat::Pcm16).unwrap();
        let other = AudioFormat::new(16_000, 1).unwrap();
        let f = AudioFrame::from_interleaved(other, vec![0.0; 4], MediaTime::ZERO).unwrap();
        assert!(wav.write(&f).unwrap_err().is_skippable());
        let f = AudioFrame::from_interleaved(fmt, vec![0.25; 6], MediaTime::ZERO).unwrap();
        wav.write(&f).unwrap();
        drop(wav); // patched on drop
        let b = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(b.len(), 44 + 12);
        assert_eq!(u32_at(&b, 4), 36 + 12);
        assert_eq!(u32_at(&b, 40), 12);
    }
}
