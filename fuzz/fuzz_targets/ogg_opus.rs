//! Fuzz target: the Ogg Opus reader on arbitrary bytes. It must never panic; errors are typed
//! (`voxflow_encode::Error`) and end the stream. Every packet it hands out parses as Opus (its
//! TOC agrees with the duration it reports), lies inside the input, keeps no more samples than
//! it decodes to, and positions only move forward.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use voxflow_encode::{OggOpusReader, parse_packet};

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = OggOpusReader::new(Cursor::new(data)) else {
        return;
    };
    assert!(reader.head().channels >= 1);
    let mut buf = Vec::new();
    let mut next_start = 0u64;
    // Bounded work: the input holds at most one packet per byte (plus empty laces).
    for _ in 0..=data.len() * 2 {
        match reader.next_packet(&mut buf) {
            Ok(Some(p)) => {
                assert!(buf.len() <= data.len());
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
