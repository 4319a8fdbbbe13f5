//! Untrusted input: typed errors, never a panic; corrupt packets are skipped and counted.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use proptest::prelude::*;
use voxflow_core::AudioFrame;
use voxflow_decode::testing::{WavEncoding, wav_bytes};
use voxflow_decode::{Decoder, DecoderConfig, Error};
use voxflow_testkit::data::shared_data;

/// Outcome of decoding `bytes` completely: Ok(sample frames) or the first stop error.
/// A panic inside is turned into a test failure that names the input.
fn decode_all(bytes: Vec<u8>, hint: Option<&str>, label: &str) -> Result<(u64, Decoder), Error> {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut d = Decoder::from_bytes(Arc::from(bytes), hint, DecoderConfig::default())?;
        let mut f = AudioFrame::with_capacity(d.format(), d.frame_len());
        let mut n = 0u64;
        loop {
            match d.next_frame(&mut f) {
                Ok(true) => n += f.frames() as u64,
                Ok(false) => return Ok((n, d)),
                Err(e) if e.is_skippable() => continue,
                Err(Error::Truncated { .. }) => {
                    // Everything before the cut was delivered; the next read ends the stream.
                    assert!(!d.next_frame(&mut f).unwrap());
                    return Ok((n, d));
                }
                Err(e) => return Err(e),
            }
        }
    }));
    match r {
        Ok(r) => r,
        Err(_) => panic!("panic while decoding {label}"),
    }
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn empty_input_is_typed() {
    assert!(matches!(
        Decoder::from_bytes(Arc::from(Vec::new()), None, DecoderConfig::default()),
        Err(Error::Empty)
    ));
    assert!(matches!(
        Decoder::from_reader(
            std::io::Cursor::new(Vec::<u8>::new()),
            None,
            DecoderConfig::default()
        ),
        Err(Error::Empty)
    ));
    let e =
        Decoder::from_stream(std::io::empty(), Some("mp3"), DecoderConfig::default()).unwrap_err();
    assert!(
        matches!(e, Error::Truncated { .. } | Error::UnknownFormat { .. }),
        "{e}"
    );
}

#[test]
fn random_bytes_are_an_unknown_format() {
    let mut rng = Lcg(7);
    for len in [1usize, 3, 16, 100, 4096, 100_000] {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        for hint in [None, Some("mp3"), Some("wav"), Some("flac")] {
            match decode_all(bytes.clone(), hint, "random bytes") {
                Err(
                    Error::UnknownFormat { .. } | Error::Truncated { .. } | Error::Malformed { .. },
                ) => {}
                Err(e) => panic!("random {len} bytes: unexpected error {e:?}"),
                // A false sync inside random data may "decode"; it must stay finite and small.
                Ok((n, _)) => assert!(n < 10 * len as u64 + 100_000, "{n}"),
            }
        }
    }
    let text = b"this is not an audio file, it is a sentence.".repeat(50);
    assert!(matches!(
        decode_all(text, None, "text"),
        Err(Error::UnknownFormat { .. }) | Err(Error::Truncated { .. })
    ));
}

/// A file cut short delivers what is there: for every cut of 1 % or more, `Ok` with at least
/// 0.8 x the fraction kept of the file's known full length (and never more than the full
/// length). A header-sized cut (0.05 %) may deliver nothing or be an error, and then only `Truncated` or
/// `UnknownFormat`. M4A is the exception: its `moov` box (the sample table) is at the end of
/// the file, so any cut loses it and the file is `UnknownFormat` (the README says so).
#[test]
fn truncated_files_deliver_what_is_there() {
    if shared_data("media").is_none() {
        return;
    }
    // (file, full decoded length in sample frames, bytes before which a cut may deliver
    // nothing). Ogg pages are checked whole (CRC), so a cut inside the first audio page leaves
    // no packet: the first audio page is 1 s of audio, in the Vorbis file bytes 4_392..14_297
    // (1.7 %), in the Opus file 841..5_576 (1.7 %).
    for (name, full_len, header_bytes) in [
        ("speech_44k1_stereo.flac", 2_646_000u64, 0usize),
        ("speech_44k1_stereo.mp3", 2_646_000, 0),
        ("speech_44k1_stereo_10s.wav", 441_000, 0),
        ("speech_44k1_stereo.ogg", 2_646_000, 14_297),
        ("speech_44k1_stereo.m4a", 2_647_040, 0),
        #[cfg(feature = "opus")]
        ("speech_48k_stereo.opus", 2_880_000, 5_576),
    ] {
        let full = std::fs::read(shared_data(&format!("media/{name}")).unwrap()).unwrap();
        for frac in [0.0005, 0.01, 0.25, 0.5, 0.999] {
            let cut = ((full.len() as f64) * frac) as usize;
            let part = full[..cut].to_vec();
            let got = decode_all(part, None, name);
            println!(
                "{name} cut at {cut} ({frac}): {:?} of {full_len}",
                got.as_ref().map(|r| r.0).map_err(|e| e.to_string())
            );
            if name.ends_with(".m4a") {
                assert!(
                    matches!(got, Err(Error::UnknownFormat { .. })),
                    "{name} at {frac}: without its moov box: {:?}",
                    got.map(|r| r.0)
                );
                continue;
            }
            match got {
                Ok((n, _)) => {
                    assert!(n <= full_len, "{name} at {frac}: {n} > {full_len}");
                    // A header-sized cut may deliver nothing (the first packet is cut).
                    let expect = if frac < 0.01 || cut < header_bytes {
                        0.0
                    } else {
                        full_len as f64 * frac
                    };
                    assert!(
                        (n as f64) >= expect * 0.8,
                        "{name} at {frac}: {n} frames, want >= {:.0}",
                        expect * 0.8
                    );
                }
                Err(Error::Truncated { .. } | Error::UnknownFormat { .. })
                    if frac < 0.01 || cut < header_bytes => {}
                Err(e) => panic!("{name} cut at {cut} ({frac}): {e:?}"),
            }
        }
    }
}

#[test]
fn flipped_bytes_are_skipped_and_counted() {
    if shared_data("media").is_none() {
        return;
    }
    for name in [
        "speech_44k1_stereo.flac",
        "speech_44k1_stereo.mp3",
        "speech_44k1_stereo.ogg",
    ] {
        let mut bytes = std::fs::read(shared_data(&format!("media/{name}")).unwrap()).unwrap();
        let len = bytes.len();
        let mut rng = Lcg(42);
        // Ten bursts of 16 flipped bytes across the middle of the file.
        for k in 0..10 {
            let at = len / 4 + k * (len / 20) + (rng.next() as usize % 1000);
            for b in &mut bytes[at..at + 16] {
                *b ^= 0xA5;
            }
        }
        let (n, d) = decode_all(bytes, None, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let st = d.stats();
        println!("{name} with flipped bytes: {n} frames (of 2646000), {st:?}");
        if name.ends_with(".mp3") {
            // MP3 frames carry no checksum here: flipped audio bits decode as (wrong) audio,
            // and a frame the demuxer drops while resyncing leaves no pts gap to detect. Only
            // the length is checked.
        } else {
            // FLAC (frame CRC, dropped by the demuxer: found by the pts gap) and Ogg (page
            // CRC) detect the damage.
            assert!(st.corrupt_packets >= 1, "{name}: no corrupt packet counted");
            assert!(st.concealed_frames > 0, "{name}");
        }
        let diff = (n as f64 - 2_646_000.0).abs() / 2_646_000.0;
        assert!(diff < 0.02, "{name}: length off by {:.2} %", diff * 100.0);
    }
}

#[test]
fn reported_corrupt_packets_are_skippable() {
    let Some(p) = shared_data("media/speech_44k1_stereo.flac") else {
        return;
    };
    let mut bytes = std::fs::read(p).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0xFF;
    }
    let cfg = DecoderConfig::default().with_report_corrupt(true);
    let mut d = Decoder::from_bytes(Arc::from(bytes), None, cfg).unwrap();
    let mut f = AudioFrame::with_capacity(d.format(), d.frame_len());
    let (mut reported, mut frames) = (0, 0u64);
    loop {
        match d.next_frame(&mut f) {
            Ok(true) => frames += f.frames() as u64,
            Ok(false) => break,
            Err(e @ Error::Corrupt { .. }) => {
                reported += 1;
                let core: voxflow_core::Error = e.into();
                assert!(core.is_skippable());
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(reported >= 1);
    assert_eq!(reported, d.stats().corrupt_packets);
    // Concealment keeps the length exact when the demuxer passes the packet through.
    println!("reported {reported}, frames {frames}, {:?}", d.stats());
    assert!((frames as i64 - 2_646_000).abs() < 10_000);
}

#[test]
fn wav_header_lying_about_its_size() {
    let samples: Vec<f32> = (0..8000)
        .map(|i| ((i % 100) as f32 - 50.0) / 64.0)
        .collect();
    let mut wav = wav_bytes(WavEncoding::S16, 8000, 1, &samples);
    // data chunk claims 10x more bytes than there are; RIFF size too.
    let data_pos = wav.windows(4).position(|w| w == b"data").unwrap();
    let claimed = (samples.len() * 2 * 10) as u32;
    wav[data_pos + 4..data_pos + 8].copy_from_slice(&claimed.to_le_bytes());
    wav[4..8].copy_from_slice(&(claimed + 36).to_le_bytes());
    let (n, d) = decode_all(wav.clone(), Some("wav"), "lying wav").unwrap();
    assert_eq!(n, 8000, "all real samples delivered");
    assert_eq!(d.info().total_frames, Some(80_000)); // what the header claims
    // A streaming-style header (0xFFFFFFFF sizes, as pipes produce).
    wav[data_pos + 4..data_pos + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    wav[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let (n, _) = decode_all(wav, Some("wav"), "streaming wav").unwrap();
    assert_eq!(n, 8000);
    // A header that claims fewer bytes than there are: only the claimed part is audio.
    let mut short = wav_bytes(WavEncoding::S16, 8000, 1, &samples);
    short[data_pos + 4..data_pos + 8].copy_from_slice(&2000u32.to_le_bytes());
    let (n, _) = decode_all(short, Some("wav"), "short wav").unwrap();
    assert_eq!(n, 1000);
}

#[test]
fn invalid_config_is_rejected() {
    let wav = wav_bytes(WavEncoding::S16, 8000, 1, &[0.0; 100]);
    let cfg = DecoderConfig::default().with_frame_duration(std::time::Duration::from_micros(10));
    // 10 µs at 8 kHz rounds to 0 sample frames.
    assert!(matches!(
        Decoder::from_bytes(Arc::from(wav), None, cfg),
        Err(Error::InvalidConfig { .. })
    ));
}

/// Fuzz-style damage that must be seen, not only survived: 20 mutations (1–24 random bytes
/// changed in the audio, between 20 KB and 120 KB of a 200 KB prefix) of each file
/// whose container checks its data (FLAC frame CRC, Ogg page CRC). Deterministic (fixed seed),
/// so the counts are asserted: every mutated file decodes (`Ok`), and the damage is counted in
/// `stats().corrupt_packets` in nearly every one. The random-seed property tests below only
/// check that nothing panics.
#[test]
fn mutated_files_count_their_damage() {
    let Some(dir) = shared_data("media") else {
        return;
    };
    // (file, minimum mutated files, of 20, with a corrupt packet counted). Measured
    // (2026-12-04): 20 of 20 for each file (62, 36 and 88 corrupt packets counted); the bound
    // leaves 2 files of margin for a changed codec or demuxer.
    for (name, min_detected) in [
        ("speech_44k1_stereo.flac", 18),
        ("speech_44k1_stereo.ogg", 18),
        #[cfg(feature = "opus")]
        ("speech_48k_stereo.opus", 18),
    ] {
        let full = std::fs::read(dir.join(name)).unwrap();
        // Ogg: cut at a page boundary, so only the mutations damage pages.
        let end = if name.ends_with(".flac") {
            200_000
        } else {
            ogg_page_starts(&full)
                .take_while(|&p| p <= 200_000)
                .last()
                .unwrap()
        };
        let base = full[..end].to_vec();
        let mut rng = Lcg(9);
        let (mut corrupt, mut detected) = (0u64, 0);
        for i in 0..20 {
            let mut b = base.clone();
            for _ in 0..1 + rng.next() % 24 {
                let at = 20_000 + rng.next() as usize % 100_000;
                b[at] ^= (rng.next() % 255 + 1) as u8;
            }
            let (_, d) =
                decode_all(b, None, name).unwrap_or_else(|e| panic!("{name}, mutation {i}: {e:?}"));
            let c = d.stats().corrupt_packets;
            corrupt += c;
            detected += usize::from(c > 0);
        }
        println!(
            "{name}: 20 mutated files, {detected} with damage counted, {corrupt} corrupt packets"
        );
        assert!(
            detected >= min_detected,
            "{name}: damage counted in only {detected} of 20 mutated files"
        );
    }
}

/// The byte offsets where an Ogg file's pages start (read from the page headers).
fn ogg_page_starts(b: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at + 27 > b.len() || &b[at..at + 4] != b"OggS" {
            return None;
        }
        let segments = usize::from(b[at + 26]);
        let body: usize = b
            .get(at + 27..at + 27 + segments)?
            .iter()
            .map(|&s| usize::from(s))
            .sum();
        let start = at;
        at += 27 + segments + body;
        Some(start)
    })
}

fn small_real_files() -> Vec<Vec<u8>> {
    let mut v = vec![
        wav_bytes(WavEncoding::S16, 8000, 2, &[0.25; 400]),
        wav_bytes(WavEncoding::F32, 16000, 1, &[0.5; 300]),
        wav_bytes(WavEncoding::S24, 48000, 1, &[-0.5; 300]),
    ];
    if let Some(dir) = shared_data("media") {
        for name in [
            "speech_44k1_stereo.mp3",
            "speech_44k1_stereo.flac",
            "speech_44k1_stereo.ogg",
            "word_nn_48k.opus",
        ] {
            let b = std::fs::read(dir.join(name)).unwrap();
            v.push(b[..b.len().min(24_000)].to_vec());
        }
        let m4a = std::fs::read(dir.join("speech_44k1_stereo.m4a")).unwrap();
        // Keep the moov box (at the end) and a little of mdat.
        let moov = m4a.windows(4).position(|w| w == b"moov").unwrap() - 4;
        let mut cut = m4a[..20_000].to_vec();
        cut.extend_from_slice(&m4a[moov..]);
        v.push(cut);
    }
    v
}

/// What untrusted bytes may end in: a decode (any length), or one of the typed stop errors
/// for bad input. Never `Io` (the bytes are in memory), a seek error or a config error.
fn check_untrusted_outcome(r: Result<(u64, Decoder), Error>) -> Result<(), TestCaseError> {
    match r {
        Ok(_)
        | Err(
            Error::UnknownFormat { .. }
            | Error::Truncated { .. }
            | Error::Malformed { .. }
            | Error::NoAudioTrack { .. }
            | Error::Unsupported { .. }
            | Error::FormatChanged { .. },
        ) => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!("unexpected error kind: {e:?}"))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096), hint in proptest::option::of(prop_oneof![Just("wav"), Just("mp3"), Just("flac"), Just("ogg"), Just("m4a")])) {
        if bytes.is_empty() {
            return Ok(());
        }
        check_untrusted_outcome(decode_all(bytes, hint, "arbitrary bytes"))?;
    }

    #[test]
    fn mutated_real_files_never_panic(which in 0usize..8, edits in proptest::collection::vec((any::<u32>(), any::<u8>()), 1..24), cut in 0.05f64..1.0) {
        let files = small_real_files();
        let mut b = files[which % files.len()].clone();
        for (pos, val) in edits {
            let i = pos as usize % b.len();
            b[i] = val;
        }
        let keep = ((b.len() as f64) * cut) as usize;
        b.truncate(keep.max(1));
        check_untrusted_outcome(decode_all(b, None, "mutated file"))?;
    }
}

/// symphonia-format-riff 0.6.1 overflows a shift (a panic with overflow checks on) when a
/// WAVE_FORMAT_EXTENSIBLE header declares 32 or more channels more than its channel mask has
/// bits. Found by the property test above; the decoder must turn it into an error.
#[test]
fn extensible_wav_with_an_impossible_channel_mask_is_an_error_not_a_panic() {
    use std::sync::Arc;
    use voxflow_decode::testing::{WavEncoding, wav_bytes};
    use voxflow_decode::{Decoder, DecoderConfig};
    let mut wav = wav_bytes(WavEncoding::S24, 8_000, 1, &[0.0; 64]);
    wav[22..24].copy_from_slice(&40u16.to_le_bytes()); // channels
    wav[40..44].copy_from_slice(&0u32.to_le_bytes()); // channel mask
    let got = std::panic::catch_unwind(|| {
        Decoder::from_bytes(Arc::from(wav), Some("wav"), DecoderConfig::default()).map(|_| ())
    });
    let got = got.expect("the decoder let a symphonia panic through");
    // The demuxer's panic, caught by the decoder's guard, is a broken header.
    assert!(
        matches!(got, Err(Error::Malformed { .. })),
        "expected Malformed, got {got:?}"
    );
}
