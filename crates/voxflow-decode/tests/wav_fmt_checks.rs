//! WAVE `fmt ` fields that overflow inside symphonia-format-riff 0.6.1 are refused with a typed
//! error before symphonia parses them (issue 9 item 12: the fuzzer's `decode` target stopped on
//! `read_pcm_fmt`'s channels × bytes-per-sample multiply, reached through an ID3 prefix with the
//! FLAC hint).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use voxflow_decode::{Decoder, DecoderConfig, Error};

/// An ID3v2.4 tag of 10 padding bytes, then a RIFF/WAVE file with the given `fmt ` fields and
/// 64 bytes of sample data.
fn id3_then_wav(tag: u16, channels: u16, bits: u16, mask: Option<u32>) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"ID3\x04\x00\x00\x00\x00\x00\x0a");
    b.extend_from_slice(&[0; 10]);
    let fmt_len: u32 = if mask.is_some() { 40 } else { 16 };
    let data = [0u8; 64];
    let riff_len = 4 + 8 + fmt_len + 8 + data.len() as u32;
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&riff_len.to_le_bytes());
    b.extend_from_slice(b"WAVE");
    b.extend_from_slice(b"fmt ");
    b.extend_from_slice(&fmt_len.to_le_bytes());
    b.extend_from_slice(&tag.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&8_000u32.to_le_bytes());
    let align = channels.wrapping_mul(bits / 8);
    b.extend_from_slice(&(8_000u32.wrapping_mul(u32::from(align))).to_le_bytes());
    b.extend_from_slice(&align.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    if let Some(mask) = mask {
        b.extend_from_slice(&22u16.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(&mask.to_le_bytes());
        // KSDATAFORMAT_SUBTYPE_PCM
        b.extend_from_slice(&[
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38,
            0x9b, 0x71,
        ]);
    }
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&data);
    b
}

/// Opens `bytes` both ways (shared bytes, forward-only stream) with the FLAC hint.
fn open_both(bytes: &[u8]) -> [Result<Decoder, Error>; 2] {
    [
        Decoder::from_bytes(Arc::from(bytes), Some("flac"), DecoderConfig::default()),
        Decoder::from_stream(
            std::io::Cursor::new(bytes.to_vec()),
            Some("flac"),
            DecoderConfig::default(),
        ),
    ]
}

fn assert_malformed(bytes: &[u8], what: &str) {
    for got in open_both(bytes) {
        match got {
            Err(Error::Malformed { detail, .. }) => {
                assert!(detail.contains(what), "detail {detail:?} lacks {what:?}");
            }
            other => panic!("expected Malformed ({what}), got {other:?}"),
        }
    }
}

#[test]
fn the_same_file_with_sane_fields_decodes_through_the_id3_prefix() {
    // The control: the shape below is otherwise a valid file, found behind the ID3 tag.
    for got in open_both(&id3_then_wav(1, 2, 16, None)) {
        let mut d = got.unwrap();
        assert_eq!(d.info().container, "wave");
        let mut pcm = Vec::new();
        assert_eq!(d.read_to_end(&mut pcm).unwrap(), 16);
    }
    for got in open_both(&id3_then_wav(0xFFFE, 2, 16, Some(0x3))) {
        assert_eq!(got.unwrap().info().channels, 2);
    }
}

#[test]
fn pcm_channel_count_that_overflows_the_block_align_product_is_malformed() {
    // 0x8000 channels × 2 bytes overflows u16 in symphonia's read_pcm_fmt (the fuzzer's crash).
    assert_malformed(&id3_then_wav(1, 0x8000, 16, None), "channel count");
    assert_malformed(&id3_then_wav(1, 27, 16, None), "channel count");
    assert_malformed(&id3_then_wav(1, 0, 16, None), "channel count");
}

#[test]
fn bits_per_sample_beyond_64_are_malformed() {
    assert_malformed(&id3_then_wav(3, 2, 0xFFF8, None), "bits per sample");
}

#[test]
fn extensible_channel_mask_without_room_for_the_channels_is_malformed() {
    // Top bit set, one channel short: symphonia would shift a bit to position 32.
    assert_malformed(
        &id3_then_wav(0xFFFE, 2, 16, Some(0x8000_0000)),
        "channel mask",
    );
}
