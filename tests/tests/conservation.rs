#![allow(clippy::unwrap_used)] // test helpers: a panic is a failure
//! Samples in = samples out across decode → resample → rings → sink, with resampling accounted
//! for: random rates, layouts, frame sizes, ring capacities and numbers of thread boundaries.

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use voxflow_core::AudioFormat;
use voxflow_decode::testing::{WavEncoding, wav_bytes};
use voxflow_decode::{Decoder, DecoderConfig};
use voxflow_pipeline::sinks::CollectSink;
use voxflow_pipeline::{Link, Pipeline};
use voxflow_resample::{FrameSize, Preset, Resampler, ResamplerConfig};

const RATES: [u32; 8] = [
    8_000, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000, 96_000,
];

/// A deterministic test signal: a value that changes every sample (exactness is checked on it
/// when no resampling happens).
fn signal(frames: usize, channels: u16) -> Vec<f32> {
    (0..frames * usize::from(channels))
        .map(|i| ((i * 7919) % 65_521) as f32 / 65_536.0 - 0.5)
        .collect()
}

fn run(
    in_fmt: AudioFormat,
    out_fmt: AudioFormat,
    frames: usize,
    decode_ms: u64,
    out_ms: u64,
    boundaries: &[usize],
    preset: Preset,
) -> (Vec<f32>, Vec<f32>, u64) {
    let input = signal(frames, in_fmt.channels);
    let bytes: Arc<[u8]> = Arc::from(wav_bytes(
        WavEncoding::F32,
        in_fmt.rate,
        in_fmt.channels,
        &input,
    ));
    let config = DecoderConfig::default().with_frame_duration(Duration::from_millis(decode_ms));
    let decoder = Decoder::from_bytes(bytes, Some("wav"), config).unwrap();
    let max_in = decoder.frame_len();
    let sink = CollectSink::new();
    let collected = sink.collected();
    let mut b = Pipeline::builder().source(decoder);
    if let Some(&cap) = boundaries.first() {
        b = b.boundary(Link::ring(cap));
    }
    let cfg = ResamplerConfig::new(in_fmt, out_fmt)
        .preset(preset)
        .frame(FrameSize::Duration(Duration::from_millis(out_ms)))
        .max_input_frames(max_in);
    b = b.stage(Resampler::new(cfg).unwrap());
    for &cap in boundaries.iter().skip(1) {
        b = b.boundary(Link::ring(cap));
    }
    let report = b.sink(sink).spawn().unwrap().wait().unwrap();
    (input, collected.samples(), report.dropped())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn resampled_length_is_exact(
        ri in 0usize..RATES.len(), ro in 0usize..RATES.len(),
        ci in 1u16..=2, co in 1u16..=2,
        frames in 1usize..30_000,
        decode_ms in 1u64..=60, out_ms in 1u64..=40,
        boundaries in proptest::collection::vec(1usize..6, 0..3),
        preset in prop_oneof![Just(Preset::LowLatency), Just(Preset::Balanced), Just(Preset::High)],
    ) {
        let in_fmt = AudioFormat::new(RATES[ri], ci).unwrap();
        let out_fmt = AudioFormat::new(RATES[ro], co).unwrap();
        let (_, out, dropped) = run(in_fmt, out_fmt, frames, decode_ms, out_ms, &boundaries, preset);
        prop_assert_eq!(dropped, 0);
        prop_assert_eq!(out.len() % usize::from(co), 0);
        let got = out.len() / usize::from(co);
        let want = (frames as u64 * u64::from(out_fmt.rate) + u64::from(in_fmt.rate) / 2)
            / u64::from(in_fmt.rate);
        prop_assert_eq!(got as u64, want, "{} → {}: {} frames in", in_fmt, out_fmt, frames);
    }

    #[test]
    fn equal_formats_are_bit_exact(
        ri in 0usize..RATES.len(), ch in 1u16..=2,
        frames in 1usize..20_000,
        decode_ms in 1u64..=60, out_ms in 1u64..=40,
        boundaries in proptest::collection::vec(1usize..6, 0..3),
    ) {
        let fmt = AudioFormat::new(RATES[ri], ch).unwrap();
        let (input, out, _) = run(fmt, fmt, frames, decode_ms, out_ms, &boundaries, Preset::High);
        prop_assert_eq!(input, out);
    }
}
