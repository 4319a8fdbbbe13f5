//! Fuzz target: the streaming decoder on arbitrary bytes, with and without a format hint,
//! seekable and forward-only. It must never panic and never grow memory without bound; errors
//! are fine. When the decoder opens, it is read to the end (skippable errors are passed over),
//! with a seek in the middle.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use voxflow_core::{AudioFrame, AudioSource, MediaTime};
use voxflow_decode::{Decoder, DecoderConfig};

const HINTS: [Option<&str>; 7] = [
    None,
    Some("wav"),
    Some("mp3"),
    Some("flac"),
    Some("ogg"),
    Some("m4a"),
    Some("mkv"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let hint = HINTS[usize::from(sel) % HINTS.len()];
    let bytes: Arc<[u8]> = Arc::from(bytes);
    let decoder = if sel & 0x80 == 0 {
        Decoder::from_bytes(bytes, hint, DecoderConfig::default())
    } else {
        Decoder::from_stream(std::io::Cursor::new(bytes.to_vec()), hint, DecoderConfig::default())
    };
    let Ok(mut dec) = decoder else {
        return;
    };
    let mut frame = AudioFrame::with_capacity(dec.format(), dec.max_frames());
    // A hard cap on work per input: a tiny file must not decode to hours of audio.
    for i in 0..20_000 {
        match dec.read(&mut frame) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) if e.is_skippable() => {}
            Err(_) => break,
        }
        if i == 5 {
            let _ = dec.seek(MediaTime::new(1, 10));
        }
    }
});
