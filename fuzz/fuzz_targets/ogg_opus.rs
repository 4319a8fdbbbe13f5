//! Fuzz target: the Ogg Opus reader on arbitrary bytes. It must never panic; errors are typed
//! (`voxflow_encode::Error`) and end the stream. Every packet it hands out parses as Opus (its
//! TOC agrees with the duration it reports), lies inside the input, keeps no more samples than
//! it decodes to, and positions run on without gaps.
//!
//! The first byte is a selector: when its low bit is set, the page CRCs of the rest are
//! recomputed first (pages walked from the start while their layout holds), so that mutated
//! pages reach the reader's page and packet parsing instead of being skipped as corrupt.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use voxflow_encode::{OggOpusReader, ogg_crc, parse_packet};

/// Rewrites the CRC of every whole page found back to back from the start of `b`.
fn fix_crcs(b: &mut [u8]) {
    let mut at = 0;
    while b.len() >= at + 27 && &b[at..at + 4] == b"OggS" {
        let nsegs = usize::from(b[at + 26]);
        let Some(lacing) = b.get(at + 27..at + 27 + nsegs) else {
            return;
        };
        let body: usize = lacing.iter().map(|&l| usize::from(l)).sum();
        let end = at + 27 + nsegs + body;
        if end > b.len() {
            return;
        }
        b[at + 22..at + 26].fill(0);
        let crc = ogg_crc(&b[at..end]);
        b[at + 22..at + 26].copy_from_slice(&crc.to_le_bytes());
        at = end;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = rest.to_vec();
    if sel & 1 == 1 {
        fix_crcs(&mut bytes);
    }
    let len = bytes.len();
    let Ok(mut reader) = OggOpusReader::new(Cursor::new(bytes)) else {
        return;
    };
    assert!(reader.head().channels >= 1);
    let mut buf = Vec::new();
    let mut next_start = 0u64;
    // Bounded work: the input holds at most one packet per byte (plus empty laces).
    for _ in 0..=len * 2 {
        match reader.next_packet(&mut buf) {
            Ok(Some(p)) => {
                assert!(buf.len() <= len);
                let info = parse_packet(&buf).expect("a packet handed out parses");
                assert_eq!(p.samples_48k, info.samples_48k());
                assert!(p.keep_48k <= p.samples_48k);
                assert_eq!(p.start_48k, next_start);
                next_start = p.start_48k + u64::from(p.samples_48k);
            }
            Ok(None) => break,
            Err(e) => {
                assert!(!e.to_string().is_empty());
                break;
            }
        }
    }
});
