//! Cost of each VAD model per 10 ms hop of 16 kHz mono audio (criterion).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use voxflow_vad::{HOP, ModelKind};

fn signal() -> Vec<f32> {
    // 2 s of a noisy 150 Hz buzz with on/off modulation (a speech-like workload).
    let mut seed = 1u32;
    (0..32_000)
        .map(|i| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let n = (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            let t = i as f32 / 16_000.0;
            let on = ((t * 3.0) as u32).is_multiple_of(2);
            let v = if on {
                0.2 * (std::f32::consts::TAU * 150.0 * t).sin()
            } else {
                0.0
            };
            v + 0.01 * n
        })
        .collect()
}

fn models(c: &mut Criterion) {
    let x = signal();
    let mut g = c.benchmark_group("vad_10ms_16k_mono");
    g.throughput(Throughput::Elements(HOP as u64));
    for kind in ModelKind::ALL {
        let Ok(mut model) = kind.build() else {
            continue;
        };
        let mut k = 0usize;
        g.bench_function(kind.name(), |b| {
            b.iter(|| {
                let hop = &x[k * HOP..(k + 1) * HOP];
                k = (k + 1) % (x.len() / HOP);
                std::hint::black_box(model.process(std::hint::black_box(hop)))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, models);
criterion_main!(benches);
