//! Hand-built WAV files (s16, s24, f32; mono and stereo): exact samples, frame sizes, seeking,
//! every input kind. Runs without the shared data.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::drain;
use voxflow_core::{AudioFrame, MediaTime};
use voxflow_decode::testing::{WavEncoding, wav_bytes};
use voxflow_decode::{Decoder, DecoderConfig, Preloaded};

/// A ramp whose values are exact at the given bit depth.
fn signal(frames: usize, channels: usize, bits: u32) -> Vec<f32> {
    let scale = (1u32 << (bits - 1)) as f32;
    (0..frames * channels)
        .map(|i| {
            let v = (i as i64 * 37 % 2001 - 1000) as f32;
            v / scale
        })
        .collect()
}

#[test]
fn s16_s24_f32_decode_exactly() {
    for (enc, bits, codec) in [
        (WavEncoding::S16, 16, "pcm_s16le"),
        (WavEncoding::S24, 24, "pcm_s24le"),
        (WavEncoding::F32, 24, "pcm_f32le"),
    ] {
        for (rate, ch) in [(8000u32, 1u16), (44_100, 2), (48_000, 2)] {
            let frames = rate as usize / 3 + 17; // not a multiple of the frame length
            let sig = signal(frames, usize::from(ch), bits);
            let wav = wav_bytes(enc, rate, ch, &sig);
            let mut d =
                Decoder::from_bytes(Arc::from(wav), Some("wav"), DecoderConfig::default()).unwrap();
            assert_eq!(d.info().codec, codec);
            assert_eq!(d.info().container, "wave");
            assert_eq!(d.info().bits_per_sample, Some(enc.bytes() as u32 * 8));
            assert_eq!((d.format().rate, d.format().channels), (rate, ch));
            assert_eq!(d.info().total_frames, Some(frames as u64));
            let len = rate as usize / 50;
            assert_eq!(d.frame_len(), len);
            let (meta, got) = drain(&mut d);
            assert!(got == sig, "{enc:?} {rate} {ch}: samples differ");
            for (i, &(pts, n)) in meta.iter().enumerate() {
                assert_eq!(pts, (i * len) as i64);
                if i + 1 < meta.len() {
                    assert_eq!(n, len);
                }
            }
            assert_eq!(meta.last().unwrap().1, frames % len);
        }
    }
}

#[test]
fn frame_duration_is_configurable() {
    let sig = signal(16_000, 1, 16);
    let wav: Arc<[u8]> = Arc::from(wav_bytes(WavEncoding::S16, 16_000, 1, &sig));
    for (ms, len) in [(10u64, 160usize), (20, 320), (32, 512), (100, 1600)] {
        let cfg = DecoderConfig::default().with_frame_duration(Duration::from_millis(ms));
        let mut d = Decoder::from_bytes(wav.clone(), None, cfg).unwrap();
        assert_eq!(d.frame_len(), len);
        let (meta, got) = drain(&mut d);
        assert!(meta[..meta.len() - 1].iter().all(|m| m.1 == len));
        assert!(got == sig);
    }
}

#[test]
fn all_input_kinds_agree_and_seek_is_exact() {
    let sig = signal(24_000, 2, 16);
    let bytes = wav_bytes(WavEncoding::S16, 24_000, 2, &sig);
    let dir = std::env::temp_dir().join(format!("voxflow-decode-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ramp.wav");
    std::fs::write(&path, &bytes).unwrap();

    let mut decs = vec![
        Decoder::open(&path).unwrap(),
        Decoder::from_bytes(Arc::from(bytes.clone()), None, DecoderConfig::default()).unwrap(),
        Decoder::from_reader(
            std::io::Cursor::new(bytes.clone()),
            None,
            DecoderConfig::default(),
        )
        .unwrap(),
        Decoder::from_stream(
            std::io::Cursor::new(bytes.clone()),
            None,
            DecoderConfig::default(),
        )
        .unwrap(),
        Preloaded::read(&path)
            .unwrap()
            .decoder(DecoderConfig::default())
            .unwrap(),
    ];
    for d in &mut decs {
        let (_, got) = drain(d);
        assert!(got == sig);
    }
    // Seek on the seekable ones: exact pts and samples.
    for d in decs.iter_mut().filter(|d| d.info().seekable) {
        for ms in [734i64, 0, 999, 500] {
            let to = MediaTime::from_millis(ms);
            assert_eq!(d.seek(to).unwrap(), to);
            let mut f = AudioFrame::with_capacity(d.format(), d.frame_len());
            assert!(d.next_frame(&mut f).unwrap());
            let at = to.rescale(24_000).ticks() as usize;
            assert_eq!(f.pts(), to);
            assert_eq!(f.samples(), &sig[at * 2..(at + f.frames()) * 2]);
        }
        // A time between samples rounds to the nearest sample.
        let pos = d.seek(MediaTime::new(1, 1_000_000)).unwrap();
        assert_eq!(pos, MediaTime::ZERO);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_data_chunk_is_an_empty_stream() {
    let wav = wav_bytes(WavEncoding::S16, 8000, 1, &[]);
    let mut d = Decoder::from_bytes(Arc::from(wav), None, DecoderConfig::default()).unwrap();
    let mut f = AudioFrame::with_capacity(d.format(), d.frame_len());
    assert!(!d.next_frame(&mut f).unwrap());
    assert!(f.is_empty());
}

#[test]
fn small_output_frames_are_grown_not_refused() {
    let wav = wav_bytes(WavEncoding::S16, 8000, 1, &[0.5; 1000]);
    let mut d = Decoder::from_bytes(Arc::from(wav), None, DecoderConfig::default()).unwrap();
    let mut f = AudioFrame::with_capacity(d.format(), 1);
    assert!(d.next_frame(&mut f).unwrap());
    assert_eq!(f.frames(), 160);
}
