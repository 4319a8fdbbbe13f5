//! The stages alone, in your own loop: decode a file (or an in-memory test tone) and resample it
//! to 16 kHz mono 10 ms frames, allocating every buffer before the loop.
//!
//! `cargo run --release -p voxflow-examples --example own_loop -- [FILE]`

use std::time::Duration;

use voxflow::decode::{Decoder, DecoderConfig, testing};
use voxflow::resample::{FrameSize, Preset, Resampler, ResamplerConfig};
use voxflow::{AudioFormat, AudioFrame, AudioSource, AudioStage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = DecoderConfig::default().with_frame_duration(Duration::from_millis(20));
    let mut decoder = match std::env::args().nth(1) {
        Some(path) => Decoder::open_with(path, config)?,
        None => {
            // One second of a 440 Hz tone at 44.1 kHz stereo, as a WAV in memory.
            let tone: Vec<f32> = (0..44_100 * 2)
                .map(|i| 0.5 * (std::f32::consts::TAU * 440.0 * (i / 2) as f32 / 44_100.0).sin())
                .collect();
            let wav = testing::wav_bytes(testing::WavEncoding::S16, 44_100, 2, &tone);
            Decoder::from_bytes(wav.into(), Some("wav"), config)?
        }
    };
    let target = AudioFormat::new(16_000, 1)?;
    let mut resampler = Resampler::new(
        ResamplerConfig::new(decoder.format(), target)
            .preset(Preset::LowLatency)
            .frame(FrameSize::Duration(Duration::from_millis(10)))
            .max_input_frames(decoder.max_frames()),
    )?;
    // Every buffer is allocated here, once.
    let mut decoded = AudioFrame::with_capacity(decoder.format(), decoder.max_frames());
    let mut out = AudioFrame::with_capacity(target, resampler.max_output_frames());
    let (mut frames, mut peak) = (0u64, 0f32);
    let mut on_frame = |f: &AudioFrame| {
        frames += 1;
        peak = f.samples().iter().fold(peak, |p, s| p.max(s.abs()));
    };
    while decoder.read(&mut decoded)? {
        resampler.push(&decoded)?;
        while resampler.poll(&mut out)? {
            on_frame(&out);
        }
    }
    resampler.finish()?;
    while resampler.poll(&mut out)? {
        on_frame(&out);
    }
    println!(
        "{} → {target}: {frames} frames of 10 ms, peak {peak:.3}, resampler delay {:.2} ms",
        decoder.format(),
        resampler.delay().as_secs_f64() * 1e3
    );
    Ok(())
}
