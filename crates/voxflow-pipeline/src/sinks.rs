//! Reusable sinks: [`NullSink`] (counts), [`CollectSink`] (keeps everything, for tests) and
//! [`WavSink`] (writes a WAV file); for the packet tail (after an encoder),
//! [`NullPacketSink`] (counts packets and bytes) and [`CollectPackets`] (keeps every packet, for
//! tests).

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use voxflow_core::{AudioFormat, AudioFrame, AudioSink, Error, Packet, PacketSink};

/// Frame and sample counts of a [`NullSink`], readable from any thread while it runs.
#[derive(Clone, Debug, Default)]
pub struct NullCounts {
    frames: Arc<AtomicU64>,
    samples: Arc<AtomicU64>,
}

impl NullCounts {
    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Acquire)
    }

    /// Interleaved samples written so far.
    pub fn samples(&self) -> u64 {
        self.samples.load(Ordering::Acquire)
    }
}

/// Discards audio, counting frames and samples (atomically, without allocating or locking).
#[derive(Debug, Default)]
pub struct NullSink {
    counts: NullCounts,
}

impl NullSink {
    /// A new sink with zero counts.
    pub fn new() -> Self {
        NullSink::default()
    }

    /// A handle on the counts, readable from any thread.
    pub fn counts(&self) -> NullCounts {
        self.counts.clone()
    }
}

impl AudioSink for NullSink {
    fn name(&self) -> &'static str {
        "null"
    }
    fn write(&mut self, frame: &AudioFrame) -> Result<(), Error> {
        self.counts
            .samples
            .fetch_add(frame.samples().len() as u64, Ordering::AcqRel);
        self.counts.frames.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Collection {
    samples: Vec<f32>,
    frames: u64,
    finished: bool,
}

/// What a [`CollectSink`] has collected, readable from any thread.
#[derive(Clone, Debug, Default)]
pub struct Collected(Arc<Mutex<Collection>>);

impl Collected {
    fn lock(&self) -> std::sync::MutexGuard<'_, Collection> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of every sample received so far (interleaved).
    pub fn samples(&self) -> Vec<f32> {
        self.lock().samples.clone()
    }

    /// Frames received so far.
    pub fn frames(&self) -> u64 {
        self.lock().frames
    }

    /// True once the sink's `finish` was called.
    pub fn is_finished(&self) -> bool {
        self.lock().finished
    }
}

/// Keeps every sample in a shared `Vec` — **for tests and small demos only: it allocates as
/// the vector grows and locks a mutex per frame**, so it is not real-time safe.
#[derive(Debug, Default)]
pub struct CollectSink {
    out: Collected,
}

impl CollectSink {
    /// An empty collector.
    pub fn new() -> Self {
        CollectSink::default()
    }

    /// A handle on what is collected.
    pub fn collected(&self) -> Collected {
        self.out.clone()
    }
}

impl AudioSink for CollectSink {
    fn name(&self) -> &'static str {
        "collect"
    }
    fn write(&mut self, frame: &AudioFrame) -> Result<(), Error> {
        let mut c = self.out.lock();
        c.samples.extend_from_slice(frame.samples());
        c.frames += 1;
        Ok(())
    }
    fn finish(&mut self) -> Result<(), Error> {
        self.out.lock().finished = true;
        Ok(())
    }
}

/// Packet and byte counts of a [`NullPacketSink`], readable from any thread while it runs.
#[derive(Clone, Debug, Default)]
pub struct PacketCounts {
    packets: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    finished: Arc<AtomicU64>,
}

impl PacketCounts {
    /// Packets written so far.
    pub fn packets(&self) -> u64 {
        self.packets.load(Ordering::Acquire)
    }

    /// Payload bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Acquire)
    }

    /// True once the sink's `finish` was called.
    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire) > 0
    }
}

/// Discards packets, counting packets and payload bytes (atomically, without allocating or
/// locking).
#[derive(Debug, Default)]
pub struct NullPacketSink {
    counts: PacketCounts,
}

impl NullPacketSink {
    /// A new sink with zero counts.
    pub fn new() -> Self {
        NullPacketSink::default()
    }

    /// A handle on the counts, readable from any thread.
    pub fn counts(&self) -> PacketCounts {
        self.counts.clone()
    }
}

impl PacketSink for NullPacketSink {
    fn name(&self) -> &'static str {
        "null"
    }
    fn write(&mut self, packet: &Packet) -> Result<(), Error> {
        self.counts
            .bytes
            .fetch_add(packet.len() as u64, Ordering::AcqRel);
        self.counts.packets.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
    fn finish(&mut self) -> Result<(), Error> {
        self.counts.finished.store(1, Ordering::Release);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct PacketCollection {
    packets: Vec<Packet>,
    finished: bool,
}

/// What a [`CollectPackets`] sink has collected, readable from any thread.
#[derive(Clone, Debug, Default)]
pub struct CollectedPackets(Arc<Mutex<PacketCollection>>);

impl CollectedPackets {
    fn lock(&self) -> std::sync::MutexGuard<'_, PacketCollection> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of every packet received so far (payload, timing and trace).
    pub fn packets(&self) -> Vec<Packet> {
        self.lock().packets.clone()
    }

    /// Packets received so far.
    pub fn len(&self) -> usize {
        self.lock().packets.len()
    }

    /// True when no packet was received yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once the sink's `finish` was called.
    pub fn is_finished(&self) -> bool {
        self.lock().finished
    }
}

/// Keeps a copy of every packet in a shared `Vec` — **for tests only: it allocates per packet
/// and locks a mutex**, so it is not real-time safe.
#[derive(Debug, Default)]
pub struct CollectPackets {
    out: CollectedPackets,
}

impl CollectPackets {
    /// An empty collector.
    pub fn new() -> Self {
        CollectPackets::default()
    }

    /// A handle on what is collected.
    pub fn collected(&self) -> CollectedPackets {
        self.out.clone()
    }
}

impl PacketSink for CollectPackets {
    fn name(&self) -> &'static str {
        "collect"
    }
    fn write(&mut self, packet: &Packet) -> Result<(), Error> {
        self.out.lock().packets.push(packet.clone());
        Ok(())
    }
    fn finish(&mut self) -> Result<(), Error> {
        self.out.lock().finished = true;
        Ok(())
    }
}

/// Sample encoding of a [`WavSink`] file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WavFormat {
    /// 16-bit signed integer PCM: samples scaled by 32768, rounded and clamped to
    /// `-32768..=32767` — the inverse of the decoder's `n / 32768`, so 16-bit input written back
    /// is bit-exact.
    Pcm16,
    /// 32-bit IEEE float (written as is).
    Float32,
}

impl WavFormat {
    fn bytes(self) -> u64 {
        match self {
            WavFormat::Pcm16 => 2,
            WavFormat::Float32 => 4,
        }
    }
}

/// Conversion scratch size in bytes (a multiple of 4).
const SCRATCH: usize = 16 * 1024;

/// Writes a RIFF/WAVE file: 16-bit PCM or 32-bit float, format chosen at construction.
///
/// The header is written at once with placeholder sizes and patched by `finish` (via
/// [`Seek`]); a sink dropped without `finish` patches on a best-effort basis. Samples are
/// converted into a pre-allocated 16 KiB buffer and written through the writer (a
/// [`BufWriter`] for [`create`](WavSink::create)), so `write` never allocates. WAV sizes are
/// 32-bit: a frame that would take the file past 4 GiB is refused with
/// [`Error::Unsupported`] and nothing of it is written (what came before stays a valid file).
///
/// ```
/// use std::io::Cursor;
/// use voxflow_core::{AudioFormat, AudioFrame, AudioSink, MediaTime};
/// use voxflow_pipeline::sinks::{WavFormat, WavSink};
/// let fmt = AudioFormat::new(16_000, 1).unwrap();
/// let mut wav = WavSink::new(Cursor::new(Vec::new()), fmt, WavFormat::Pcm16).unwrap();
/// let f = AudioFrame::from_interleaved(fmt, vec![0.5; 160], MediaTime::ZERO).unwrap();
/// wav.write(&f).unwrap();
/// let bytes = wav.into_inner().unwrap().into_inner();
/// assert_eq!(bytes.len(), 44 + 320);
/// assert_eq!(&bytes[0..4], b"RIFF");
/// ```
pub struct WavSink<W: Write + Seek + Send = BufWriter<File>> {
    w: Option<W>,
    format: AudioFormat,
    sample: WavFormat,
    scratch: Box<[u8]>,
    data_bytes: u64,
    limit: u64,
    header_len: u64,
    finished: bool,
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
    /// Writes the header to `w` (at its current position, normally 0).
    pub fn new(mut w: W, format: AudioFormat, sample: WavFormat) -> Result<Self, Error> {
        let header = header(format, sample, 0);
        w.write_all(&header)?;
        let header_len = header.len() as u64;
        let block = sample.bytes() * u64::from(format.channels);
        let max = u64::from(u32::MAX) - (header_len - 8);
        Ok(WavSink {
            w: Some(w),
            format,
            sample,
            scratch: vec![0u8; SCRATCH].into_boxed_slice(),
            data_bytes: 0,
            limit: max - max % block,
            header_len,
            finished: false,
        })
    }

    /// Bytes of sample data written so far.
    pub fn data_bytes(&self) -> u64 {
        self.data_bytes
    }

    /// Finishes the file (patching the header) and returns the writer.
    pub fn into_inner(mut self) -> Result<W, Error> {
        self.finalize()?;
        self.w.take().ok_or(Error::Closed("wav writer")) // not reached: only taken here
    }

    #[cfg(test)]
    fn with_limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    fn finalize(&mut self) -> Result<(), Error> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let Some(w) = self.w.as_mut() else {
            return Ok(());
        };
        let riff = u32::try_from(self.header_len - 8 + self.data_bytes).unwrap_or(u32::MAX);
        let data = u32::try_from(self.data_bytes).unwrap_or(u32::MAX);
        w.seek(SeekFrom::Start(4))?;
        w.write_all(&riff.to_le_bytes())?;
        if self.sample == WavFormat::Float32 {
            let frames = self.data_bytes / (4 * u64::from(self.format.channels));
            w.seek(SeekFrom::Start(FLOAT_FACT_AT))?;
            w.write_all(&u32::try_from(frames).unwrap_or(u32::MAX).to_le_bytes())?;
        }
        w.seek(SeekFrom::Start(self.header_len - 4))?;
        w.write_all(&data.to_le_bytes())?;
        w.seek(SeekFrom::End(0))?;
        w.flush()?;
        Ok(())
    }
}

/// Offset of the `fact` chunk's sample-frame count in a float file.
const FLOAT_FACT_AT: u64 = 12 + 8 + 18 + 8;

/// The header, with `data` bytes of samples declared.
fn header(format: AudioFormat, sample: WavFormat, data: u32) -> Vec<u8> {
    let ch = format.channels;
    let bytes = sample.bytes() as u16;
    let (tag, fmt_len): (u16, u32) = match sample {
        WavFormat::Pcm16 => (1, 16),
        WavFormat::Float32 => (3, 18),
    };
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&0u32.to_le_bytes()); // patched by finish
    h.extend_from_slice(b"WAVE");
    h.extend_from_slice(b"fmt ");
    h.extend_from_slice(&fmt_len.to_le_bytes());
    h.extend_from_slice(&tag.to_le_bytes());
    h.extend_from_slice(&ch.to_le_bytes());
    h.extend_from_slice(&format.rate.to_le_bytes());
    let block = u32::from(ch) * u32::from(bytes);
    h.extend_from_slice(&(format.rate.saturating_mul(block)).to_le_bytes());
    h.extend_from_slice(&(block as u16).to_le_bytes());
    h.extend_from_slice(&(bytes * 8).to_le_bytes());
    if sample == WavFormat::Float32 {
        h.extend_from_slice(&0u16.to_le_bytes()); // cbSize
        h.extend_from_slice(b"fact");
        h.extend_from_slice(&4u32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes()); // patched by finish
    }
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data.to_le_bytes());
    h
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
        if self.finished {
            return Err(Error::Closed("wav file"));
        }
        let bps = self.sample.bytes() as usize;
        let bytes = (frame.samples().len() * bps) as u64;
        if self.data_bytes + bytes > self.limit {
            return Err(Error::Unsupported(format!(
                "WAV data would reach {} bytes; the format's 32-bit sizes allow at most {}",
                self.data_bytes + bytes,
                self.limit
            )));
        }
        let Some(w) = self.w.as_mut() else {
            return Err(Error::Closed("wav file"));
        };
        for chunk in frame.samples().chunks(SCRATCH / bps) {
            let n = chunk.len() * bps;
            let buf = &mut self.scratch[..n];
            match self.sample {
                WavFormat::Pcm16 => {
                    for (d, &s) in buf.chunks_exact_mut(2).zip(chunk) {
                        let v = (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
                        d.copy_from_slice(&v.to_le_bytes());
                    }
                }
                WavFormat::Float32 => {
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
        self.finalize()
    }
}

impl<W: Write + Seek + Send> Drop for WavSink<W> {
    fn drop(&mut self) {
        let _ = self.finalize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use voxflow_core::MediaTime;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn pcm16_header_and_samples() {
        let fmt = AudioFormat::new(8_000, 2).unwrap();
        let mut wav = WavSink::new(Cursor::new(Vec::new()), fmt, WavFormat::Pcm16).unwrap();
        let f =
            AudioFrame::from_interleaved(fmt, vec![1.0, -1.0, 0.5, -2.0], MediaTime::ZERO).unwrap();
        wav.write(&f).unwrap();
        wav.finish().unwrap();
        let b = wav.into_inner().unwrap().into_inner();
        assert_eq!(b.len(), 44 + 8);
        assert_eq!(&b[8..16], b"WAVEfmt ");
        assert_eq!(u32_at(&b, 4), 36 + 8);
        assert_eq!(u32_at(&b, 24), 8_000);
        assert_eq!(u32_at(&b, 28), 8_000 * 4);
        assert_eq!(&b[36..40], b"data");
        assert_eq!(u32_at(&b, 40), 8);
        let s: Vec<i16> = b[44..]
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(s, [32767, -32768, 16384, -32768]);
    }

    #[test]
    fn float_header_has_fact_and_exact_samples() {
        let fmt = AudioFormat::new(48_000, 1).unwrap();
        let mut wav = WavSink::new(Cursor::new(Vec::new()), fmt, WavFormat::Float32).unwrap();
        // A frame larger than the scratch buffer, to cross chunk boundaries.
        let samples: Vec<f32> = (0..10_000).map(|i| i as f32 / 10_000.0).collect();
        let f = AudioFrame::from_interleaved(fmt, samples.clone(), MediaTime::ZERO).unwrap();
        wav.write(&f).unwrap();
        let b = wav.into_inner().unwrap().into_inner();
        assert_eq!(b.len(), 58 + 40_000);
        assert_eq!(u32_at(&b, 16), 18);
        assert_eq!(u16::from_le_bytes([b[20], b[21]]), 3);
        assert_eq!(&b[38..42], b"fact");
        assert_eq!(u32_at(&b, 46), 10_000);
        assert_eq!(&b[50..54], b"data");
        assert_eq!(u32_at(&b, 54), 40_000);
        assert_eq!(u32_at(&b, 4), 50 + 40_000);
        let back: Vec<f32> = b[58..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(back, samples);
    }

    #[test]
    fn refuses_to_pass_the_size_limit_and_stays_valid() {
        let fmt = AudioFormat::new(8_000, 1).unwrap();
        let mut wav = WavSink::new(Cursor::new(Vec::new()), fmt, WavFormat::Pcm16)
            .unwrap()
            .with_limit(10);
        let f = AudioFrame::from_interleaved(fmt, vec![0.0; 4], MediaTime::ZERO).unwrap();
        wav.write(&f).unwrap();
        let e = wav.write(&f).unwrap_err();
        assert!(matches!(e, Error::Unsupported(_)), "{e}");
        assert!(!e.is_skippable());
        let b = wav.into_inner().unwrap().into_inner();
        assert_eq!(u32_at(&b, 40), 8);
        assert_eq!(b.len(), 44 + 8);
        // The real limit keeps the RIFF size within 32 bits.
        let w = WavSink::new(Cursor::new(Vec::new()), fmt, WavFormat::Pcm16).unwrap();
        assert!(w.limit + 36 <= u64::from(u32::MAX));
    }

    #[test]
    fn wrong_format_is_skippable_and_create_writes_a_file() {
        let fmt = AudioFormat::new(8_000, 1).unwrap();
        let path = std::env::temp_dir().join(format!("voxflow-wav-{}.wav", std::process::id()));
        let mut wav = WavSink::create(&path, fmt, WavFormat::Pcm16).unwrap();
        let other = AudioFormat::new(16_000, 1).unwrap();
        let f = AudioFrame::from_interleaved(other, vec![0.0; 4], MediaTime::ZERO).unwrap();
        assert!(wav.write(&f).unwrap_err().is_skippable());
        drop(wav); // patched on drop
        let b = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(b.len(), 44);
        assert_eq!(u32_at(&b, 4), 36);
    }

    #[test]
    fn null_and_collect_count() {
        let fmt = AudioFormat::new(8_000, 2).unwrap();
        let f = AudioFrame::from_interleaved(fmt, vec![1.0; 6], MediaTime::ZERO).unwrap();
        let mut n = NullSink::new();
        let c = n.counts();
        n.write(&f).unwrap();
        assert_eq!((c.frames(), c.samples()), (1, 6));
        let mut s = CollectSink::new();
        let got = s.collected();
        s.write(&f).unwrap();
        s.finish().unwrap();
        assert_eq!(got.samples(), vec![1.0; 6]);
        assert_eq!(got.frames(), 1);
        assert!(got.is_finished());
    }
}
