//! Resampler throughput: 60 s of generated audio streamed through push/poll with pre-allocated
//! frames, grouped by preset, channel count and output frame size.
//!
//! `cargo bench -p voxflow-benches --bench resample`
#![allow(clippy::expect_used)] // a bench that cannot set up should stop loudly

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use voxflow_core::{AudioFormat, AudioFrame, AudioStage, MediaTime};
use voxflow_resample::{FrameSize, Preset, Resampler, ResamplerConfig};

const SECONDS: usize = 60;

fn signal(rate: u32, channels: u16) -> Vec<f32> {
    let ch = usize::from(channels);
    (0..rate as usize * SECONDS * ch)
        .map(|i| {
            let t = (i / ch) as f32 / rate as f32;
            0.5 * (2.0 * std::f32::consts::PI * 997.0 * t).sin()
        })
        .collect()
}

/// Streams `input` through `rs` in 10 ms input frames; returns output sample frames.
fn stream(
    rs: &mut Resampler,
    input: &[f32],
    frame: &mut AudioFrame,
    out: &mut AudioFrame,
) -> usize {
    let inf = rs.input_format();
    let ch = usize::from(inf.channels);
    let step = (inf.rate / 100) as usize;
    rs.reset();
    let mut total = 0;
    for (k, chunk) in input.chunks(step * ch).enumerate() {
        frame.reset(inf);
        frame.extend_from_interleaved(chunk).expect("fits");
        frame.set_pts(MediaTime::new((k * step) as i64, inf.rate));
        rs.push(frame).expect("push");
        while rs.poll(out).expect("poll") {
            total += out.frames();
        }
    }
    rs.finish().expect("finish");
    while rs.poll(out).expect("poll") {
        total += out.frames();
    }
    total
}

fn bench_pair(c: &mut Criterion, fin: u32, fout: u32, channel_set: &[u16], frame_ms: &[u64]) {
    for &channels in channel_set {
        let inf = AudioFormat::new(fin, channels).expect("format");
        let outf = AudioFormat::new(fout, channels).expect("format");
        let input = signal(fin, channels);
        let mut group = c.benchmark_group(format!("resample/{fin}->{fout}/{channels}ch"));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(3));
        group.throughput(Throughput::Elements(input.len() as u64));
        for preset in [Preset::LowLatency, Preset::Balanced, Preset::High] {
            for &ms in frame_ms {
                let mut rs = Resampler::new(
                    ResamplerConfig::new(inf, outf)
                        .preset(preset)
                        .frame(FrameSize::Duration(Duration::from_millis(ms))),
                )
                .expect("resampler");
                let mut frame = AudioFrame::with_capacity(inf, (fin / 100) as usize);
                let mut out = AudioFrame::with_capacity(outf, rs.max_output_frames());
                group.bench_function(
                    BenchmarkId::new(format!("{preset:?}"), format!("{ms}ms")),
                    |b| b.iter(|| black_box(stream(&mut rs, &input, &mut frame, &mut out))),
                );
            }
        }
        group.finish();
    }
}

fn resample(c: &mut Criterion) {
    bench_pair(c, 44_100, 48_000, &[1, 2], &[10, 20]);
    bench_pair(c, 48_000, 16_000, &[1], &[20]);
}

criterion_group!(benches, resample);
criterion_main!(benches);
