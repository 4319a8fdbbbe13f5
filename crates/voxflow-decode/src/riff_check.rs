//! Checks the WAVE `fmt ` chunk before symphonia parses it.
//!
//! symphonia-format-riff 0.6.1 (the latest release) multiplies and shifts the `fmt ` fields in
//! 16- and 32-bit integers without checking them (an overflow panic in debug builds, a wrapped
//! value in release): e.g. channels × bytes per sample, or a channel mask with its top bit set.
//! The decoder catches such panics (`demux::guarded`), but a fuzzer stops at the first one, so
//! these inputs are refused here first with a typed error.
//!
//! The check is a format reader registered ahead of symphonia's WAV reader in our probe: the
//! probe finds the `RIFF` marker wherever it is (after an ID3 tag, junk bytes, whatever the
//! hint), hands the stream to [`CheckedWav::try_probe_new`], which reads the chunk headers up
//! to `fmt ` inside the stream's read-ahead buffer, goes back, and hands the stream on to
//! symphonia's `WavReader`.

use std::sync::OnceLock;

use symphonia::core::common::Tier;
use symphonia::core::errors::{Error as SymError, Result as SymResult};
use symphonia::core::formats::prelude::*;
use symphonia::core::formats::probe::{Probe, ProbeFormatData, ProbeableFormat, Score, Scoreable};
use symphonia::core::io::{MediaSourceStream, ReadBytes, ScopedStream, SeekBuffered};
use symphonia::core::meta::Metadata;
use symphonia::default::formats::WavReader;

/// Most channels accepted: WAVE speaker positions symphonia can map (it refuses more itself).
pub(crate) const MAX_CHANNELS: u16 = 26;
/// Most bits per sample accepted (64-bit float is the widest WAVE coding).
pub(crate) const MAX_BITS: u16 = 64;
/// How far into the RIFF chunk `fmt ` is looked for: chunks before it (`LIST`, `JUNK`, ...)
/// that push it further are left to symphonia unchecked (a stream cannot go back further).
const SCAN_LIMIT: usize = 64 * 1024;

const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// The probe: symphonia's default formats, with [`CheckedWav`] ahead of its WAV reader.
pub(crate) fn probe() -> &'static Probe {
    static PROBE: OnceLock<Probe> = OnceLock::new();
    PROBE.get_or_init(|| {
        let mut probe = Probe::default();
        symphonia::default::register_enabled_formats(&mut probe);
        probe.register_format_at_tier::<CheckedWav>(Tier::Preferred);
        probe
    })
}

/// The fields of a `fmt ` chunk that symphonia computes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FmtFields {
    /// Format tag (1 PCM, 3 float, 0xFFFE extensible, ...).
    pub tag: u16,
    /// Channel count.
    pub channels: u16,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Bytes per sample frame (or per block, for ADPCM).
    pub block_align: u16,
    /// Bits per coded sample.
    pub bits_per_sample: u16,
    /// The channel mask (`WAVE_FORMAT_EXTENSIBLE` only).
    pub channel_mask: Option<u32>,
}

impl FmtFields {
    /// Refuses the field values whose products or shifts overflow in symphonia: `Err` holds
    /// what is wrong.
    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        if self.channels == 0 || self.channels > MAX_CHANNELS {
            return Err("wav fmt: channel count outside 1..=26");
        }
        if self.bits_per_sample > MAX_BITS {
            return Err("wav fmt: more than 64 bits per sample");
        }
        if self.sample_rate == 0 {
            return Err("wav fmt: sample rate 0");
        }
        // With channels ≤ 26 and bits ≤ 64, channels × bits (≤ 1,664) and channels × 7 fit
        // in u16: no product of channels, bits and block align can overflow. ADPCM blocks
        // (tags 2 and 0x11) are sized by block align alone: 0 is no block.
        if self.block_align == 0 && matches!(self.tag, 0x0002 | 0x0011) {
            return Err("wav fmt: ADPCM block align 0");
        }
        if let Some(mask) = self.channel_mask {
            // Missing channel bits are added above the mask's highest bit: they must fit in 32.
            let set = mask.count_ones();
            let missing = u32::from(self.channels).saturating_sub(set);
            let width = 32 - mask.leading_zeros();
            if missing > 0 && width + missing > 32 {
                return Err("wav fmt: channel mask leaves no room for the channel count");
            }
        }
        Ok(())
    }
}

/// Reads the `fmt ` fields from a stream at the start of a RIFF/WAVE file, within
/// [`SCAN_LIMIT`] bytes. `None` when there is no `fmt ` chunk there (or the input ends first):
/// symphonia then reports what is wrong.
fn read_fmt(mss: &mut MediaSourceStream<'_>) -> Option<FmtFields> {
    let mut seen = 0usize;
    let mut take = |n: usize| -> Option<()> {
        seen += n;
        (seen <= SCAN_LIMIT).then_some(())
    };
    take(12)?;
    let riff = mss.read_quad_bytes().ok()?;
    let _len = mss.read_u32().ok()?;
    let wave = mss.read_quad_bytes().ok()?;
    if &riff != b"RIFF" || &wave != b"WAVE" {
        return None;
    }
    loop {
        take(8)?;
        let tag = mss.read_quad_bytes().ok()?;
        let len = mss.read_u32().ok()?;
        match &tag {
            b"fmt " if len >= 16 => {
                take(16)?;
                let tag = mss.read_u16().ok()?;
                let channels = mss.read_u16().ok()?;
                let sample_rate = mss.read_u32().ok()?;
                let _bytes_per_sec = mss.read_u32().ok()?;
                let block_align = mss.read_u16().ok()?;
                let bits_per_sample = mss.read_u16().ok()?;
                // WAVEFORMATEXTENSIBLE: cbSize, valid bits, then the channel mask.
                let channel_mask = if tag == WAVE_FORMAT_EXTENSIBLE && len >= 24 {
                    take(8)?;
                    let _cb_size = mss.read_u16().ok()?;
                    let _valid_bits = mss.read_u16().ok()?;
                    Some(mss.read_u32().ok()?)
                } else {
                    None
                };
                return Some(FmtFields {
                    tag,
                    channels,
                    sample_rate,
                    block_align,
                    bits_per_sample,
                    channel_mask,
                });
            }
            b"fmt " | b"data" => return None,
            _ => {
                // Chunks are padded to an even length.
                let skip = u64::from(len) + u64::from(len & 1);
                take(usize::try_from(skip).ok()?)?;
                mss.ignore_bytes(skip).ok()?;
            }
        }
    }
}

/// Checks the `fmt ` chunk of the RIFF/WAVE file starting at the stream's position, leaving
/// the stream where it was. `Err` is a `DecodeError` naming the bad field.
pub(crate) fn check_wave_fmt(mss: &mut MediaSourceStream<'_>) -> SymResult<()> {
    let start = mss.pos();
    mss.ensure_seekback_buffer(SCAN_LIMIT);
    let fields = read_fmt(mss);
    if mss.seek_buffered(start) != start {
        // Cannot happen: at most SCAN_LIMIT bytes were read, all kept in the seek-back buffer.
        return Err(SymError::DecodeError("wav fmt: cannot rewind the header"));
    }
    match fields.map(|f| f.validate()) {
        Some(Err(what)) => Err(SymError::DecodeError(what)),
        _ => Ok(()),
    }
}

/// symphonia's WAV reader behind the `fmt ` check. Never instantiated (the probe's factory
/// returns the `WavReader` itself): the type exists to register the check with the probe.
pub(crate) enum CheckedWav {}

impl Scoreable for CheckedWav {
    fn score(src: ScopedStream<&mut MediaSourceStream<'_>>) -> SymResult<Score> {
        WavReader::score(src)
    }
}

impl<'s> ProbeableFormat<'s> for CheckedWav {
    fn try_probe_new(
        mut mss: MediaSourceStream<'s>,
        opts: FormatOptions,
    ) -> SymResult<Box<dyn FormatReader + 's>> {
        check_wave_fmt(&mut mss)?;
        Ok(Box::new(WavReader::try_new(mss, opts)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        WavReader::probe_data()
    }
}

// `ProbeableFormat` requires `FormatReader`; the type has no values, so no method can run.
impl FormatReader for CheckedWav {
    fn format_info(&self) -> &FormatInfo {
        match *self {}
    }
    fn media_info(&self) -> &MediaInfo {
        match *self {}
    }
    fn metadata(&mut self) -> Metadata<'_> {
        match *self {}
    }
    fn seek(&mut self, _mode: SeekMode, _to: SeekTo) -> SymResult<SeekedTo> {
        match *self {}
    }
    fn tracks(&self) -> &[Track] {
        match *self {}
    }
    fn next_packet(&mut self) -> SymResult<Option<Packet>> {
        match *self {}
    }
    fn into_inner<'s>(self: Box<Self>) -> MediaSourceStream<'s>
    where
        Self: 's,
    {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcm(channels: u16, bits: u16) -> FmtFields {
        FmtFields {
            tag: 1,
            channels,
            sample_rate: 48_000,
            block_align: channels.wrapping_mul(bits / 8),
            bits_per_sample: bits,
            channel_mask: None,
        }
    }

    #[test]
    fn ordinary_formats_pass() {
        for (ch, bits) in [(1, 8), (2, 16), (6, 24), (26, 32), (2, 64)] {
            assert_eq!(pcm(ch, bits).validate(), Ok(()), "{ch} ch, {bits} bits");
        }
        let ext = FmtFields {
            tag: WAVE_FORMAT_EXTENSIBLE,
            channel_mask: Some(0x3),
            ..pcm(2, 16)
        };
        assert_eq!(ext.validate(), Ok(()));
    }

    #[test]
    fn overflowing_fields_are_refused() {
        assert!(pcm(0, 16).validate().is_err());
        assert!(pcm(27, 16).validate().is_err());
        assert!(pcm(0x8001, 16).validate().is_err());
        assert!(pcm(2, 65).validate().is_err());
        assert!(
            FmtFields {
                sample_rate: 0,
                ..pcm(2, 16)
            }
            .validate()
            .is_err()
        );
        // Top bit set and one channel short: the missing bit would go at bit 32.
        let ext = FmtFields {
            tag: WAVE_FORMAT_EXTENSIBLE,
            channel_mask: Some(0x8000_0000),
            ..pcm(2, 16)
        };
        assert!(ext.validate().is_err());
    }
}
