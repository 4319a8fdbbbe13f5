//! Cost of one time-stretch call: accelerate (normal and fast) and expand on 30 ms (and fast
//! on 60 ms) of 48 kHz mono, for a voiced tone (splice made), white noise (analysed, copied)
//! and 16 kHz for comparison. `Throughput::Elements(frames)` of input.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use voxflow_core::AudioFormat;
use voxflow_jitter_buffer::stretch::TimeStretcher;

fn tone(rate: u32, frames: usize) -> Vec<f32> {
    (0..frames)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let v: f64 = (1..=8)
                .map(|k| {
                    let k = f64::from(k);
                    (2.0 * std::f64::consts::PI * 150.0 * k * t).sin() / k
                })
                .sum();
            (0.2 * v) as f32
        })
        .collect()
}

fn noise(frames: usize) -> Vec<f32> {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    (0..frames)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    for rate in [48_000u32, 16_000] {
        let mut ts = TimeStretcher::new(AudioFormat::new(rate, 1).unwrap());
        let n30 = ts.min_input_frames();
        let n60 = ts.max_input_frames();
        let voiced = tone(rate, n60);
        let noisy = noise(n60);
        let mut out = vec![0.0f32; 2 * n60];
        let mut g = c.benchmark_group(format!("stretch/{}k_mono", rate / 1000));
        g.throughput(Throughput::Elements(n30 as u64));
        for (name, x) in [("voiced", &voiced), ("noise", &noisy)] {
            g.bench_function(format!("accelerate_30ms_{name}"), |b| {
                b.iter(|| ts.accelerate(black_box(&x[..n30]), usize::MAX, false, &mut out))
            });
            g.bench_function(format!("expand_30ms_{name}"), |b| {
                b.iter(|| ts.expand(black_box(&x[..n30]), n30, &mut out))
            });
        }
        g.throughput(Throughput::Elements(n60 as u64));
        for (name, x) in [("voiced", &voiced), ("noise", &noisy)] {
            g.bench_function(format!("accelerate_fast_60ms_{name}"), |b| {
                b.iter(|| ts.accelerate(black_box(&x[..]), usize::MAX, true, &mut out))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
