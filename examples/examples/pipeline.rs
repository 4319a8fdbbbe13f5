//! A whole send path with threads and rings managed for you: decode → resample to 48 kHz stereo
//! → ring (drop-oldest, as a network sender would) → sink, paced in real time, with a live
//! latency report.
//!
//! `cargo run --release -p voxflow-examples --example pipeline -- [FILE]`

use std::time::Duration;

use voxflow::decode::{DecoderConfig, Preloaded};
use voxflow::pipeline::sinks::NullSink;
use voxflow::pipeline::sources::Sine;
use voxflow::pipeline::{Event, Link, Overflow, Pacing, Pipeline};
use voxflow::resample::{Preset, Resampler, ResamplerConfig};
use voxflow::{AudioFormat, AudioSource};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let source: Box<dyn AudioSource> = match std::env::args().nth(1) {
        // Preload once: the bytes could serve any number of concurrent streams.
        Some(path) => Box::new(Preloaded::read(path)?.decoder(DecoderConfig::default())?),
        None => Box::new(
            Sine::new(AudioFormat::new(44_100, 1)?, 440.0, 882).duration(Duration::from_secs(2)),
        ),
    };
    let output = AudioFormat::new(48_000, 2)?;
    let resampler = Resampler::new(
        ResamplerConfig::new(source.format(), output)
            .preset(Preset::LowLatency)
            .max_input_frames(source.max_frames()),
    )?;
    let running = Pipeline::builder()
        .source_boxed(source)
        .stage(resampler)
        .boundary(
            Link::ring(Duration::from_millis(100))
                .with_overflow(Overflow::DropOldest)
                .with_name("net"),
        )
        .sink(NullSink::new())
        .pacing(Pacing::RealTime {
            lead: Duration::from_millis(40),
        })
        .spawn()?;
    for event in running.events().iter() {
        match event {
            Event::FirstFrameOut { after } => println!("first frame at the sink after {after:?}"),
            Event::Finished { .. } => break,
            _ => {}
        }
    }
    println!("{}", running.wait()?);
    Ok(())
}
