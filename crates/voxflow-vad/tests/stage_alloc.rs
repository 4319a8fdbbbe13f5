#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The pass-through stages allocate nothing per frame in steady state (counting global
//! allocator, on this thread: the stages run on the test's thread): `Vad` none at all,
//! `TurnDetector` exactly one allocation per `TurnEnded` (the utterance's `Vec`).

mod common;

use common::Level;
use std::time::Duration;

use voxflow_core::{AudioFormat, AudioFrame, AudioStage, StageEvent, TurnEvent};
use voxflow_testkit::alloc::{CountingAlloc, Window};
use voxflow_vad::{ModelKind, TurnConfig, TurnDetector, Vad, VadConfig};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Pushes frames `from..to` of 20 ms through `stage` as a pipeline does; returns
/// (voice edges, turn ends, other events) seen. Allocates nothing itself.
fn run(
    stage: &mut dyn AudioStage,
    input: &mut AudioFrame,
    out: &mut AudioFrame,
    from: usize,
    to: usize,
) -> (u64, u64, u64) {
    let n = stage.input_format().rate as usize / 50;
    let (mut voice, mut ends, mut other) = (0, 0, 0);
    let mut count = |e: StageEvent| match e {
        StageEvent::Voice { .. } => voice += 1,
        StageEvent::Turn(TurnEvent::TurnEnded { audio, .. }) => {
            assert!(!audio.is_empty());
            ends += 1;
        }
        _ => other += 1,
    };
    for k in from..to {
        common::buzz_frame(input, k, n, 0.0005);
        stage.push(input).unwrap();
        while let Some(e) = stage.poll_event() {
            count(e);
        }
        let mut got = 0;
        while stage.poll(out).unwrap() {
            got += 1;
            assert_eq!(out.frames(), n);
            assert_eq!(out.pts(), input.pts());
        }
        assert_eq!(got, 1);
    }
    (voice, ends, other)
}

fn measure(mut stage: Box<dyn AudioStage>) -> (u64, (u64, u64, u64)) {
    let fmt = stage.input_format();
    let mut input = AudioFrame::with_capacity(fmt, fmt.rate as usize / 50);
    let mut out = AudioFrame::with_capacity(stage.output_format(), stage.max_output_frames());
    run(stage.as_mut(), &mut input, &mut out, 0, 50); // warm up
    let window = Window::start();
    let seen = run(stage.as_mut(), &mut input, &mut out, 50, 350); // 6 s
    (window.allocs().this_thread, seen)
}

#[test]
fn pass_through_stages_allocate_only_the_turn_audio() {
    let mut models = vec![ModelKind::Voxflow, ModelKind::Energy];
    if ModelKind::Earshot.is_available() {
        models.push(ModelKind::Earshot);
    }
    for model in models {
        for (rate, ch) in [(16_000u32, 1u16), (48_000, 2), (8_000, 1)] {
            let fmt = AudioFormat::new(rate, ch).unwrap();
            let vad = Vad::new(VadConfig::new(fmt).model(model)).unwrap();
            let (allocs, _) = measure(Box::new(vad));
            assert_eq!(allocs, 0, "vad stage, {model} at {rate} Hz × {ch}");
            let td = TurnDetector::from_config(
                VadConfig::new(fmt).model(model),
                TurnConfig {
                    min_silence: Duration::from_secs(100), // no turn ends: no allocation at all
                    ..TurnConfig::default()
                },
            )
            .unwrap();
            let (allocs, _) = measure(Box::new(td));
            assert_eq!(allocs, 0, "turn stage, {model} at {rate} Hz × {ch}");
        }
    }
    // Scripted speech: the voice edges every 0.5 s and a turn end per second are certain.
    for (rate, ch, audio_rate) in [(16_000u32, 1u16, 16_000u32), (48_000, 2, 48_000)] {
        let fmt = AudioFormat::new(rate, ch).unwrap();
        let vad = Vad::with_model(VadConfig::new(fmt), Box::new(Level)).unwrap();
        let (allocs, (voice, ends, other)) = measure(Box::new(vad));
        assert_eq!(allocs, 0, "vad stage at {rate} Hz × {ch}");
        assert!((11..=13).contains(&voice), "{voice} voice edges in 6 s");
        assert_eq!((ends, other), (0, 0));
        let vad = Vad::with_model(VadConfig::new(fmt), Box::new(Level)).unwrap();
        let td = TurnDetector::new(
            vad,
            TurnConfig {
                min_silence: Duration::from_millis(200),
                audio_rate,
                ..TurnConfig::default()
            },
        )
        .unwrap();
        let (allocs, (voice, ends, other)) = measure(Box::new(td));
        assert!((5..=7).contains(&ends), "{ends} turn ends in 6 s");
        assert_eq!(voice, 0, "the detector's VAD raises no voice events");
        assert_eq!(other, ends, "one SpeechStarted per turn");
        assert_eq!(
            allocs, ends,
            "turn stage at {rate} Hz: one allocation per TurnEnded"
        );
    }
}
