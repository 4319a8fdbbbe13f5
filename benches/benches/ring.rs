//! Moving 60 s of 48 kHz audio between two threads: the voxflow ring link (pre-allocated frame
//! slots, buffers swapped, nothing allocated per frame) against a `crossbeam-channel` bounded
//! channel of `Vec<f32>` allocated per frame (what a naive user would write). Both carry the
//! same frames through an 8-frame queue; the producer writes every sample (a copy from a
//! template, as a decoder would) and the consumer reads one. `Throughput::Elements(samples)`
//! (interleaved), grouped by channels and frame size.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use voxflow_core::{AudioFormat, AudioFrame};
use voxflow_pipeline::{Link, frame_ring};

const RATE: u32 = 48_000;
const SECONDS: usize = 60;
const QUEUE: usize = 8;

fn via_ring(fmt: AudioFormat, template: &[f32], frames: usize) -> f32 {
    let len = template.len() / usize::from(fmt.channels);
    let (mut tx, mut rx) = frame_ring(fmt, len, Link::ring(QUEUE)).unwrap();
    let template = template.to_vec();
    let producer = std::thread::spawn(move || {
        let mut f = AudioFrame::with_capacity(fmt, len);
        for _ in 0..frames {
            f.clear();
            f.extend_from_interleaved(&template).unwrap();
            tx.send(&mut f).unwrap();
        }
    });
    let mut out = AudioFrame::with_capacity(fmt, len);
    let mut acc = 0.0;
    while rx.recv(&mut out).unwrap() {
        acc += black_box(out.samples()[out.samples().len() - 1]);
    }
    producer.join().unwrap();
    acc
}

fn via_channel(template: &[f32], frames: usize) -> f32 {
    let (tx, rx) = crossbeam_channel::bounded::<Vec<f32>>(QUEUE);
    let template = template.to_vec();
    let producer = std::thread::spawn(move || {
        for _ in 0..frames {
            tx.send(template.to_vec()).unwrap(); // allocates one Vec per frame
        }
    });
    let mut acc = 0.0;
    for v in rx.iter() {
        acc += black_box(v[v.len() - 1]);
    }
    producer.join().unwrap();
    acc
}

fn bench(c: &mut Criterion) {
    for channels in [1u16, 2] {
        for frame_ms in [10usize, 20] {
            let fmt = AudioFormat::new(RATE, channels).unwrap();
            let len = RATE as usize * frame_ms / 1000;
            let frames = SECONDS * 1000 / frame_ms;
            let template: Vec<f32> = (0..len * usize::from(channels))
                .map(|i| (i as f32 * 0.01).sin())
                .collect();
            let samples = (frames * template.len()) as u64;
            let mut g = c.benchmark_group(format!("ring/{channels}ch"));
            g.sample_size(10);
            g.throughput(Throughput::Elements(samples));
            g.bench_with_input(
                BenchmarkId::new("voxflow_ring", format!("{frame_ms}ms")),
                &template,
                |b, t| b.iter(|| via_ring(fmt, t, frames)),
            );
            g.bench_with_input(
                BenchmarkId::new("crossbeam_vec", format!("{frame_ms}ms")),
                &template,
                |b, t| b.iter(|| via_channel(t, frames)),
            );
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
