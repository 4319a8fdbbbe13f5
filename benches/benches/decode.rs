//! Decode throughput per format: the shared 60 s files decoded fully from memory
//! ([`Preloaded`], so file I/O is excluded), `Throughput::Elements(samples)` (interleaved).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use voxflow_core::{AudioFrame, AudioSource};
use voxflow_decode::{DecoderConfig, Preloaded};

fn decode_all(pre: &Preloaded) -> usize {
    let mut d = pre.decoder(DecoderConfig::default()).unwrap();
    let mut f = AudioFrame::with_capacity(d.format(), d.max_frames());
    let mut n = 0;
    while d.read(&mut f).unwrap() {
        n += f.samples().len();
    }
    n
}

fn bench(c: &mut Criterion) {
    let Some(dir) = voxflow_testkit::data::shared_data("media") else {
        return;
    };
    for (group, file) in [
        ("flac", "speech_44k1_stereo.flac"),
        ("mp3", "speech_44k1_stereo.mp3"),
        ("ogg", "speech_44k1_stereo.ogg"),
        ("m4a", "speech_44k1_stereo.m4a"),
        ("wav", "speech_44k1_stereo_10s.wav"),
    ] {
        let Ok(pre) = Preloaded::read(dir.join(file)) else {
            println!("decode bench {group} skipped: {file} not readable");
            continue;
        };
        let samples = decode_all(&pre);
        let mut g = c.benchmark_group(format!("decode/{group}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(samples as u64));
        g.bench_function(file, |b| b.iter(|| decode_all(&pre)));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
