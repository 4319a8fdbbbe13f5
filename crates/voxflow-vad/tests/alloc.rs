#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Steady-state processing allocates nothing (counting global allocator, on this thread: the
//! stages run on the test's thread, so parallel tests cannot disturb the count).

mod common;

use std::time::Duration;

use voxflow_core::{AudioFormat, AudioFrame};
use voxflow_testkit::alloc::{CountingAlloc, Window};
use voxflow_vad::{ModelKind, TurnConfig, TurnDetector, Vad, VadConfig};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn vad_and_turns_do_not_allocate_in_steady_state() {
    let mut models = vec![ModelKind::Voxflow, ModelKind::Energy];
    if ModelKind::Earshot.is_available() {
        models.push(ModelKind::Earshot);
    }
    for model in models {
        for (rate, ch) in [(16_000u32, 1u16), (48_000, 2), (8_000, 1)] {
            let fmt = AudioFormat::new(rate, ch).unwrap();
            let n = rate as usize / 50; // 20 ms frames
            let mut vad = Vad::new(VadConfig::new(fmt).model(model)).unwrap();
            let mut frame = AudioFrame::with_capacity(fmt, n);
            let mut seen = 0usize;
            for k in 0..50 {
                common::buzz_frame(&mut frame, k, n, 0.001);
                vad.process(&frame, |_, _| seen += 1).unwrap();
            }
            // `analyze` + `poll_decision`.
            let window = Window::start();
            for k in 50..300 {
                common::buzz_frame(&mut frame, k, n, 0.001);
                vad.analyze(&frame).unwrap();
                while let Some(v) = vad.poll_decision().unwrap() {
                    seen += usize::from(v.probability >= 0.0);
                }
            }
            let allocs = window.allocs().this_thread;
            assert_eq!(allocs, 0, "{model} at {rate} Hz × {ch}: analyze allocated");
            assert!(seen > 500);
            // `process` with its callback (the same decisions, one call).
            let mut processed = 0usize;
            let window = Window::start();
            for k in 300..550 {
                common::buzz_frame(&mut frame, k, n, 0.001);
                vad.process(&frame, |v, _| {
                    processed += usize::from(v.probability >= 0.0);
                })
                .unwrap();
            }
            let allocs = window.allocs().this_thread;
            assert_eq!(allocs, 0, "{model} at {rate} Hz × {ch}: process allocated");
            // 250 frames of 20 ms in steady state: exactly two decisions each.
            assert_eq!(processed, 500, "decisions from process");
        }
    }
    // The turn detector with a 48 kHz output rate: no allocation while no turn ends.
    let fmt = AudioFormat::new(48_000, 1).unwrap();
    let mut td = TurnDetector::from_config(
        VadConfig::new(fmt),
        TurnConfig {
            min_silence: Duration::from_secs(100),
            audio_rate: 48_000,
            ..TurnConfig::default()
        },
    )
    .unwrap();
    let mut frame = AudioFrame::with_capacity(fmt, 480);
    for k in 0..100 {
        common::buzz_frame(&mut frame, k, 480, 0.001);
        td.process(&frame).unwrap();
        while td.poll_turn_event().is_some() {}
    }
    let window = Window::start();
    for k in 100..400 {
        common::buzz_frame(&mut frame, k, 480, 0.001);
        td.process(&frame).unwrap();
    }
    assert_eq!(window.allocs().this_thread, 0, "turn detector allocated");
}
