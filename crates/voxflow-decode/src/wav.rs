//! The PCM WAV fast path: sample bytes read straight from the input into one byte buffer sized
//! at open, and converted from there into the decoder's interleaved `f32` buffer. No allocation
//! per block (symphonia's WAV demuxer allocates a `Box<[u8]>` for every packet it returns).
//!
//! symphonia still probes the file and parses the RIFF header (format, channels, length); the
//! [`Decoder`](crate::Decoder) then takes its `MediaSourceStream` back, positioned at the first
//! byte of the `data` chunk, and reads from it with the same rules as symphonia's WAV reader:
//! sample frames of `channels × bytes per sample` bytes, stopping at the end of the `data` chunk
//! when its size is known, at the end of the input otherwise.

use std::io::{self, Read, Seek, SeekFrom};

use symphonia::core::codecs::audio::AudioCodecId;
use symphonia::core::codecs::audio::well_known as ids;
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadBytes, SeekBuffered};

/// How one sample is stored in the `data` chunk (always little-endian, interleaved).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    /// Unsigned 8-bit, 128 = silence.
    U8,
    /// Signed 16-bit.
    S16,
    /// Signed 24-bit, packed in 3 bytes.
    S24,
    /// Signed 32-bit.
    S32,
    /// IEEE float, 32-bit.
    F32,
    /// IEEE float, 64-bit.
    F64,
}

impl Coding {
    /// The coding of the PCM codecs symphonia's WAV reader produces (plain PCM, IEEE float and
    /// their `WAVE_FORMAT_EXTENSIBLE` forms); `None` for anything else (ADPCM, A-law, µ-law).
    pub(crate) fn from_codec(id: AudioCodecId) -> Option<Self> {
        Some(match id {
            ids::CODEC_ID_PCM_U8 => Coding::U8,
            ids::CODEC_ID_PCM_S16LE => Coding::S16,
            ids::CODEC_ID_PCM_S24LE => Coding::S24,
            ids::CODEC_ID_PCM_S32LE => Coding::S32,
            ids::CODEC_ID_PCM_F32LE => Coding::F32,
            ids::CODEC_ID_PCM_F64LE => Coding::F64,
            _ => return None,
        })
    }

    /// Bytes per stored sample.
    pub(crate) fn bytes(self) -> usize {
        match self {
            Coding::U8 => 1,
            Coding::S16 => 2,
            Coding::S24 => 3,
            Coding::S32 | Coding::F32 => 4,
            Coding::F64 => 8,
        }
    }

    /// Converts `dst.len()` samples from `src` (`dst.len() × bytes()` bytes). The formulas are
    /// symphonia's sample conversions (`IntoSample` to `f32`), so the output is bit-identical
    /// to decoding through its PCM codec.
    pub(crate) fn convert(self, src: &[u8], dst: &mut [f32]) {
        debug_assert_eq!(src.len(), dst.len() * self.bytes());
        match self {
            Coding::U8 => {
                for (d, &b) in dst.iter_mut().zip(src) {
                    *d = f32::from(b) / 128.0 - 1.0;
                }
            }
            Coding::S16 => {
                for (d, c) in dst.iter_mut().zip(src.chunks_exact(2)) {
                    *d = f32::from(i16::from_le_bytes([c[0], c[1]])) / 32_768.0;
                }
            }
            Coding::S24 => {
                for (d, c) in dst.iter_mut().zip(src.chunks_exact(3)) {
                    // Sign-extend by placing the 24 bits at the top, then shifting back down.
                    let v = i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8;
                    *d = v as f32 / 8_388_608.0;
                }
            }
            Coding::S32 => {
                for (d, c) in dst.iter_mut().zip(src.chunks_exact(4)) {
                    let v = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                    *d = (f64::from(v) / 2_147_483_648.0) as f32;
                }
            }
            Coding::F32 => {
                for (d, c) in dst.iter_mut().zip(src.chunks_exact(4)) {
                    *d = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                }
            }
            Coding::F64 => {
                for (d, c) in dst.iter_mut().zip(src.chunks_exact(8)) {
                    let v = f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
                    *d = v as f32;
                }
            }
        }
    }
}

/// What one [`WavPcm::read_block`] produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Block {
    /// `frames` sample frames (at least one), the first of which is sample frame `start` of
    /// the `data` chunk, written to the start of the output slice.
    Frames {
        /// Index of the first sample frame, counted from the start of the data.
        start: i64,
        /// Sample frames written.
        frames: usize,
    },
    /// The data ended where the header says (or, when the header gives no size, at the end
    /// of the input on a sample-frame boundary).
    End,
    /// The input ended before the size the header promises, or inside a sample frame.
    Truncated,
}

/// Reads the `data` chunk of a PCM WAV directly from symphonia's stream.
pub(crate) struct WavPcm {
    mss: MediaSourceStream<'static>,
    coding: Coding,
    channels: usize,
    /// Bytes per sample frame.
    block_align: usize,
    /// Absolute byte offset of the first sample.
    data_start: u64,
    /// Absolute byte offset where the data chunk ends; `None` when the header does not say
    /// (streaming WAV, size `0xFFFFFFFF`): read to the end of the input.
    data_end: Option<u64>,
    /// Absolute byte offset of the next byte read (`mss.pos()`).
    pos: u64,
    /// Sample frames per block read.
    block_frames: usize,
    /// Raw bytes of one block: `block_frames × block_align`, allocated once.
    buf: Vec<u8>,
    /// Set once the input has ended: what every later read returns.
    ended: Option<Block>,
}

impl WavPcm {
    /// Takes over `mss`, which symphonia's WAV reader left at the first byte of the `data`
    /// chunk. The chunk's size is read back from the header bytes just before it (still in the
    /// stream's read-ahead buffer); should they be unavailable, `fallback_frames` (the track's
    /// frame count) bounds the data instead. `None` when the layout is unusable (no channels).
    pub(crate) fn new(
        mut mss: MediaSourceStream<'static>,
        coding: Coding,
        channels: usize,
        fallback_frames: Option<u64>,
    ) -> Option<Self> {
        let block_align = coding.bytes().checked_mul(channels).filter(|&b| b > 0)?;
        let data_start = mss.pos();
        let data_len = Self::data_chunk_len(&mut mss, data_start)
            .unwrap_or_else(|| fallback_frames.and_then(|n| n.checked_mul(block_align as u64)));
        Some(WavPcm {
            mss,
            coding,
            channels,
            block_align,
            data_start,
            data_end: data_len.map(|len| data_start.saturating_add(len)),
            pos: data_start,
            block_frames: 0,
            buf: Vec::new(),
            ended: None,
        })
    }

    /// The size field of the `data` chunk header ending at `data_start`: `Some(None)` for the
    /// streaming value `0xFFFFFFFF` (as symphonia reads it), `None` when the header bytes are not
    /// buffered any more. Leaves the stream at `data_start`.
    fn data_chunk_len(
        mss: &mut MediaSourceStream<'static>,
        data_start: u64,
    ) -> Option<Option<u64>> {
        let header_at = data_start.checked_sub(8)?;
        let mut found = None;
        if mss.seek_buffered(header_at) == header_at {
            let mut header = [0u8; 8];
            if ReadBytes::read_buf_exact(mss, &mut header).is_ok() && &header[..4] == b"data" {
                let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
                found = Some((len != u32::MAX).then_some(u64::from(len)));
            }
        }
        if mss.seek_buffered(data_start) != data_start {
            // cannot happen: the bytes up to `data_start` were just read from the buffer.
            return None;
        }
        found
    }

    /// Allocates the byte buffer for blocks of `frames` sample frames (called once, at open).
    pub(crate) fn allocate(&mut self, frames: usize) {
        self.block_frames = frames.max(1);
        self.buf = vec![0; self.block_frames * self.block_align];
    }

    /// Sample frames per block: the output slice given to [`read_block`](Self::read_block)
    /// must hold this many times the channel count.
    pub(crate) fn block_frames(&self) -> usize {
        self.block_frames
    }

    /// Reads up to one block of sample frames into `out` (interleaved `f32`). One read per
    /// call (a block is one "packet"); it never allocates.
    pub(crate) fn read_block(&mut self, out: &mut [f32]) -> io::Result<Block> {
        if let Some(end) = self.ended {
            return Ok(end);
        }
        let ba = self.block_align as u64;
        let start =
            i64::try_from(self.pos.saturating_sub(self.data_start) / ba).unwrap_or(i64::MAX);
        let mut want = self.block_frames;
        if let Some(end) = self.data_end {
            let left = end.saturating_sub(self.pos) / ba;
            want = want.min(usize::try_from(left).unwrap_or(usize::MAX));
        }
        if want == 0 {
            self.ended = Some(Block::End);
            return Ok(Block::End);
        }
        let bytes = want * self.block_align;
        let got = read_full(&mut self.mss, &mut self.buf[..bytes]);
        self.pos = self.mss.pos();
        let got = got?;
        let frames = got / self.block_align;
        if got < bytes {
            let partial = got % self.block_align != 0;
            let end = if self.data_end.is_some() || partial {
                Block::Truncated
            } else {
                Block::End
            };
            self.ended = Some(end);
            if frames == 0 {
                return Ok(end);
            }
        }
        let n = frames * self.channels;
        self.coding
            .convert(&self.buf[..frames * self.block_align], &mut out[..n]);
        Ok(Block::Frames { start, frames })
    }

    /// Moves so that the next block starts at sample frame `frame` of the data. A seekable
    /// input seeks; a forward-only one reads and discards (an `Unsupported` error, with nothing
    /// changed, for a position already passed). An `UnexpectedEof` error means the input ended
    /// before `frame`.
    pub(crate) fn seek_frame(&mut self, frame: u64) -> io::Result<()> {
        let to = frame
            .checked_mul(self.block_align as u64)
            .and_then(|b| b.checked_add(self.data_start))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek offset overflows"))?;
        let result = if self.mss.is_seekable() {
            self.mss.seek(SeekFrom::Start(to)).map(|_| ())
        } else if to >= self.pos {
            self.mss.ignore_bytes(to - self.pos)
        } else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "stream input cannot seek backwards",
            ));
        };
        self.pos = self.mss.pos();
        self.ended = None;
        result
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_match_the_symphonia_formulas_at_the_extremes() {
        let mut out = [0.0f32; 3];
        Coding::U8.convert(&[0, 128, 255], &mut out);
        assert_eq!(out, [-1.0, 0.0, 127.0 / 128.0]);
        Coding::S16.convert(&[0x00, 0x80, 0, 0, 0xFF, 0x7F], &mut out);
        assert_eq!(out, [-1.0, 0.0, 32_767.0 / 32_768.0]);
        Coding::S24.convert(&[0, 0, 0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], &mut out);
        assert_eq!(out, [-1.0, -1.0 / 8_388_608.0, 8_388_607.0 / 8_388_608.0]);
        let mut s32 = Vec::new();
        for v in [i32::MIN, -1, i32::MAX] {
            s32.extend_from_slice(&v.to_le_bytes());
        }
        Coding::S32.convert(&s32, &mut out);
        assert_eq!(out, [-1.0, (-1.0f64 / 2_147_483_648.0) as f32, 1.0]);
        let mut f64s = Vec::new();
        for v in [0.1f64, -1.5, 1e-40] {
            f64s.extend_from_slice(&v.to_le_bytes());
        }
        Coding::F64.convert(&f64s, &mut out);
        assert_eq!(out, [0.1f64 as f32, -1.5, 1e-40f64 as f32]);
    }

    #[test]
    fn only_uncompressed_pcm_takes_the_fast_path() {
        assert_eq!(
            Coding::from_codec(ids::CODEC_ID_PCM_S16LE),
            Some(Coding::S16)
        );
        assert_eq!(
            Coding::from_codec(ids::CODEC_ID_PCM_F64LE),
            Some(Coding::F64)
        );
        assert_eq!(Coding::from_codec(ids::CODEC_ID_PCM_ALAW), None);
        assert_eq!(Coding::from_codec(ids::CODEC_ID_ADPCM_MS), None);
    }
}
