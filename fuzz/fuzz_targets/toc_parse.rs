//! Fuzz target: the Opus TOC / packet-structure parser (RFC 6716 §3) must never panic on any
//! bytes; what it accepts must agree with the TOC byte and stay inside Opus's limits (1 to 48
//! frames, at most 120 ms), and what it refuses is a typed `TocError` (`Empty` only for no
//! bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use voxflow_encode::{TocError, parse_packet};

fuzz_target!(|data: &[u8]| {
    match parse_packet(data) {
        Ok(info) => {
            let toc = data[0];
            assert_eq!(info.config, toc >> 3);
            assert_eq!(info.code, toc & 0x03);
            assert_eq!(info.stereo, toc & 0x04 != 0);
            assert!((1..=48).contains(&info.frames), "{} frames", info.frames);
            assert!(
                info.samples_48k() <= 5_760,
                "{} samples",
                info.samples_48k()
            );
            assert_eq!(
                info.samples_48k(),
                u32::from(info.frames) * info.frame_samples_48k
            );
        }
        Err(TocError::Empty) => assert!(data.is_empty()),
        Err(e) => {
            assert!(!data.is_empty());
            // Every refusal says what is wrong.
            assert!(!e.to_string().is_empty());
        }
    }
});
