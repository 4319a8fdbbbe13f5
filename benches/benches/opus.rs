//! Opus encode/decode cost per 20 ms frame for every compiled backend (the pure-Rust default;
//! libopus with `--features libopus`, which needs libopus-dev and pkg-config); mono/stereo,
//! 32/64 kbit/s, complexity 10. Input: a 1 s synthetic speech-like signal (voiced harmonics with
//! a moving pitch and noise), cycled. Both backends run in the same criterion run, so their
//! figures compare side by side.
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use voxflow_core::{AudioFormat, AudioFrame, Packet};
use voxflow_encode::{Backend, EncoderConfig, MAX_PACKET_BYTES, OpusDecoder, OpusEncoder};

fn signal(channels: u16) -> Vec<f32> {
    let mut seed = 0x1234_5678u32;
    (0..48_000)
        .flat_map(|i| {
            let t = i as f32 / 48_000.0;
            let f0 = 120.0 + 40.0 * (t * 3.0).sin();
            let mut v: f32 = (1..12)
                .map(|h| (2.0 * std::f32::consts::PI * f0 * h as f32 * t).sin() / h as f32)
                .sum();
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            v = 0.15 * v * (0.5 + 0.5 * (t * 4.0).sin())
                + 0.01 * ((seed >> 9) as f32 / 8_388_608.0 - 1.0);
            std::iter::repeat_n(v, usize::from(channels))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    for channels in [1u16, 2] {
        let mut g = c.benchmark_group(format!("opus_{channels}ch_20ms"));
        g.throughput(Throughput::Elements(960));
        let pcm = signal(channels);
        let fmt = AudioFormat::new(48_000, channels).unwrap();
        for &backend in Backend::available() {
            for kbps in [32u32, 64] {
                let cfg = EncoderConfig {
                    backend,
                    channels,
                    ..EncoderConfig::voip(kbps * 1000)
                };
                let mut enc = OpusEncoder::new(cfg.clone()).unwrap();
                let mut frame = AudioFrame::with_capacity(fmt, 960);
                let mut pkt = Packet::with_capacity(MAX_PACKET_BYTES);
                let per = 960 * usize::from(channels);
                let mut i = 0usize;
                g.bench_function(format!("encode_{}_{kbps}k", enc.backend_name()), |b| {
                    b.iter(|| {
                        let at = (i % 50) * per;
                        i += 1;
                        frame.clear();
                        frame.extend_from_interleaved(&pcm[at..at + per]).unwrap();
                        enc.encode(&frame, &mut pkt).unwrap();
                    })
                });
                // Pre-encode one second of packets, then decode them in a loop.
                let mut enc = OpusEncoder::new(cfg).unwrap();
                let pkts: Vec<Vec<u8>> = pcm
                    .chunks_exact(per)
                    .map(|c| {
                        frame.clear();
                        frame.extend_from_interleaved(c).unwrap();
                        enc.encode(&frame, &mut pkt).unwrap();
                        pkt.data().to_vec()
                    })
                    .collect();
                let mut dec = OpusDecoder::new(backend, 48_000, channels).unwrap();
                let mut out = AudioFrame::with_capacity(fmt, dec.max_frames());
                let mut j = 0usize;
                g.bench_function(format!("decode_{}_{kbps}k", enc.backend_name()), |b| {
                    b.iter(|| {
                        dec.decode(&pkts[j % pkts.len()], &mut out).unwrap();
                        j += 1;
                    })
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
