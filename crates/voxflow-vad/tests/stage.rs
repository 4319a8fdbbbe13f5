#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! `Vad` and `TurnDetector` as pass-through `Box<dyn AudioStage>`: every frame comes out
//! unchanged (samples, pts, trace), and the events equal those of the direct API, raised by the
//! same call.

mod common;

use common::{Level, bursts};
use std::time::{Duration, Instant};

use voxflow_core::{AudioFormat, AudioFrame, AudioStage, Error, MediaTime, StageEvent, Trace};
use voxflow_testkit::data::shared_data;
use voxflow_vad::wav::read_wav;
use voxflow_vad::{TurnConfig, TurnDetector, TurnEvent, Vad, VadConfig, VadFrame};

/// `samples` cut into frames of `n` sample frames, each with its pts and a trace stamp (so the
/// pass-through of the trace is checked too).
fn frames(fmt: AudioFormat, samples: &[f32], n: usize) -> Vec<AudioFrame> {
    let origin = Instant::now();
    let ch = usize::from(fmt.channels);
    samples
        .chunks(n * ch)
        .enumerate()
        .map(|(k, c)| {
            let mut f = AudioFrame::from_interleaved(
                fmt,
                c.to_vec(),
                MediaTime::new((k * n) as i64, fmt.rate),
            )
            .unwrap();
            let mut t = Trace::starting_at(origin);
            t.stamp("src", origin + Duration::from_micros(k as u64));
            f.set_trace(t);
            f
        })
        .collect()
}

/// Drives `stage` as a pipeline does: push, drain events, drain poll; finish, drain events.
/// Checks that each push gives back exactly the pushed frame; returns every event with the
/// index of the call that raised it (`frames.len()` for `finish`).
fn drive(stage: &mut dyn AudioStage, frames: &[AudioFrame]) -> Vec<(StageEvent, usize)> {
    assert_eq!(stage.output_format(), stage.input_format());
    let mut out = AudioFrame::with_capacity(stage.output_format(), stage.max_output_frames());
    let mut events = Vec::new();
    for (k, f) in frames.iter().enumerate() {
        stage.push(f).unwrap();
        events.extend(std::iter::from_fn(|| stage.poll_event()).map(|e| (e, k)));
        assert!(stage.poll(&mut out).unwrap(), "frame {k} did not come out");
        assert_eq!(&out, f, "frame {k} changed");
        assert_eq!(out.samples(), f.samples());
        assert!(!stage.poll(&mut out).unwrap(), "frame {k} came out twice");
        events.extend(std::iter::from_fn(|| stage.poll_event()).map(|e| (e, k)));
    }
    stage.finish().unwrap();
    events.extend(std::iter::from_fn(|| stage.poll_event()).map(|e| (e, frames.len())));
    assert!(!stage.poll(&mut out).unwrap(), "output after finish");
    events
}

/// The old direct API on the same frames: `Vad::process` + `flush`, edges of `speech` derived
/// from the `VadFrame`s, each with the index of its call. Also returns all decisions.
fn vad_reference(mut vad: Vad, frames: &[AudioFrame]) -> (Vec<(StageEvent, usize)>, Vec<VadFrame>) {
    let mut all = Vec::new();
    let mut edges = Vec::new();
    let mut was = false;
    let mut note = |v: &VadFrame, k: usize, all: &mut Vec<VadFrame>| {
        if v.speech != was {
            edges.push((
                StageEvent::Voice {
                    speech: v.speech,
                    at: v.pts,
                },
                k,
            ));
            was = v.speech;
        }
        all.push(*v);
    };
    for (k, f) in frames.iter().enumerate() {
        vad.process(f, |v, _| note(v, k, &mut all)).unwrap();
    }
    vad.flush(|v, _| note(v, frames.len(), &mut all)).unwrap();
    (edges, all)
}

/// The old direct API: `TurnDetector::process` + `poll_turn_event`, `finish`.
fn turn_reference(mut td: TurnDetector, frames: &[AudioFrame]) -> Vec<(StageEvent, usize)> {
    let mut events = Vec::new();
    for (k, f) in frames.iter().enumerate() {
        td.process(f).unwrap();
        events.extend(std::iter::from_fn(|| td.poll_turn_event()).map(|e| (e.into(), k)));
    }
    td.finish().unwrap();
    let n = frames.len();
    events.extend(std::iter::from_fn(|| td.poll_turn_event()).map(|e| (e.into(), n)));
    events
}

fn turns_file() -> Option<(AudioFormat, Vec<f32>)> {
    let path = shared_data("media/turns_48k_mono.wav")?;
    let w = read_wav(&path).unwrap();
    Some((AudioFormat::new(w.rate, w.channels).unwrap(), w.samples))
}

#[test]
fn vad_stage_on_the_turns_file_matches_the_direct_api() {
    let Some((fmt, samples)) = turns_file() else {
        return;
    };
    let input = frames(fmt, &samples, 960); // 20 ms at 48 kHz
    let mut stage: Box<dyn AudioStage> = Box::new(Vad::new(VadConfig::new(fmt)).unwrap());
    assert_eq!(stage.name(), "vad");
    let events = drive(stage.as_mut(), &input);
    let (want, decisions) = vad_reference(Vad::new(VadConfig::new(fmt)).unwrap(), &input);
    assert!(want.len() >= 6, "too few edges to compare: {want:?}");
    assert_eq!(events, want);
    // Counters and the last decision, through the trait on the concrete type.
    let mut vad = Vad::new(VadConfig::new(fmt)).unwrap();
    drive(&mut vad, &input);
    assert_eq!(vad.frames_decided(), decisions.len() as u64);
    let speech = decisions.iter().filter(|v| v.speech).count() as u64;
    assert_eq!(vad.speech_frames(), speech);
    assert!(speech > 0);
    assert_eq!(vad.last_decision(), decisions.last().copied());
}

#[test]
fn turn_stage_on_the_turns_file_matches_the_direct_api() {
    let Some((fmt, samples)) = turns_file() else {
        return;
    };
    let input = frames(fmt, &samples, 960);
    let cfg = TurnConfig {
        min_silence: Duration::from_millis(700),
        audio_rate: 48_000,
        ..TurnConfig::default()
    };
    let mut stage: Box<dyn AudioStage> =
        Box::new(TurnDetector::from_config(VadConfig::new(fmt), cfg.clone()).unwrap());
    assert_eq!(stage.name(), "turns");
    let events = drive(stage.as_mut(), &input);
    let want = turn_reference(
        TurnDetector::from_config(VadConfig::new(fmt), cfg).unwrap(),
        &input,
    );
    let ends = events
        .iter()
        .filter(|(e, _)| matches!(e, StageEvent::Turn(TurnEvent::TurnEnded { .. })))
        .count();
    assert_eq!(ends, 3, "{events:?}");
    // Same events (audio included, sample for sample), raised by the same calls.
    assert_eq!(events, want);
}

#[test]
fn turn_end_comes_out_of_the_push_that_completes_min_silence() {
    let fmt = AudioFormat::new(16_000, 1).unwrap();
    let input = frames(fmt, &bursts(&[(1.0, 2.5), (4.0, 5.0)], 6.5), 160);
    let detector = || {
        TurnDetector::new(
            Vad::with_model(VadConfig::new(fmt), Box::new(Level)).unwrap(),
            TurnConfig {
                min_silence: Duration::from_millis(500),
                ..TurnConfig::default()
            },
        )
        .unwrap()
    };
    let mut stage: Box<dyn AudioStage> = Box::new(detector());
    let events = drive(stage.as_mut(), &input);
    assert_eq!(events, turn_reference(detector(), &input));
    let mut ends = 0;
    for (e, k) in &events {
        if let StageEvent::Turn(TurnEvent::TurnEnded {
            ended_at,
            detected_at,
            ..
        }) = e
        {
            ends += 1;
            // Raised by the push of the frame whose end completes min_silence.
            assert_eq!(*detected_at, input[*k].end(), "turn end from call {k}");
            assert_eq!(*detected_at - *ended_at, MediaTime::from_millis(500));
        }
    }
    assert_eq!(ends, 2, "{events:?}");
    let starts: Vec<_> = events
        .iter()
        .filter_map(|(e, k)| match e {
            StageEvent::Turn(TurnEvent::SpeechStarted { at }) => Some((*at, *k)),
            _ => None,
        })
        .collect();
    // min_speech 100 ms: started at the run start, raised by the 10th speech frame's push.
    assert_eq!(
        starts,
        [
            (MediaTime::from_millis(1000), 109),
            (MediaTime::from_millis(4000), 409)
        ]
    );
}

#[test]
fn vad_stage_voice_edges_on_bursts() {
    let fmt = AudioFormat::new(16_000, 1).unwrap();
    let input = frames(fmt, &bursts(&[(0.5, 1.0), (2.0, 2.3)], 3.0), 320);
    let mut vad = Vad::with_model(VadConfig::new(fmt), Box::new(Level)).unwrap();
    assert_eq!(vad.last_decision(), None);
    let events = drive(&mut vad, &input);
    let voice = |speech, ms| StageEvent::Voice {
        speech,
        at: MediaTime::from_millis(ms),
    };
    // Each edge comes out of the push of the 20 ms frame holding it.
    assert_eq!(
        events,
        [
            (voice(true, 500), 25),
            (voice(false, 1000), 50),
            (voice(true, 2000), 100),
            (voice(false, 2300), 115),
        ]
    );
    assert_eq!(vad.frames_decided(), 300);
    assert_eq!(vad.speech_frames(), 80);
    assert!(!vad.last_decision().unwrap().speech);
    AudioStage::reset(&mut vad);
    assert_eq!((vad.frames_decided(), vad.last_decision()), (0, None));
}

#[test]
fn bad_pushes_are_refused_without_changing_the_stage() {
    let fmt = AudioFormat::new(16_000, 1).unwrap();
    let stages: [Box<dyn AudioStage>; 2] = [
        Box::new(Vad::new(VadConfig::new(fmt)).unwrap()),
        Box::new(TurnDetector::from_config(VadConfig::new(fmt), TurnConfig::default()).unwrap()),
    ];
    for mut stage in stages {
        let max = stage.max_input_frames();
        assert_eq!(max, 1600);
        assert_eq!(stage.max_output_frames(), max);
        let good = frames(fmt, &bursts(&[(0.0, 0.1)], 0.04), 320);
        let other = AudioFormat::new(48_000, 1).unwrap();
        let wrong = AudioFrame::from_interleaved(other, vec![0.1; 960], MediaTime::ZERO).unwrap();
        assert!(matches!(
            stage.push(&wrong),
            Err(Error::FormatMismatch { .. })
        ));
        let big = AudioFrame::from_interleaved(fmt, vec![0.1; max + 1], MediaTime::ZERO).unwrap();
        assert!(matches!(
            stage.push(&big),
            Err(Error::FrameTooLarge {
                max_frames: 1600,
                frames: 1601
            })
        ));
        stage.push(&good[0]).unwrap();
        // Not drained: no room for a second frame.
        assert!(matches!(
            stage.push(&good[1]),
            Err(Error::FrameTooLarge {
                max_frames: 0,
                frames: 320
            })
        ));
        let mut out = AudioFrame::with_capacity(fmt, max);
        assert!(stage.poll(&mut out).unwrap());
        assert_eq!(out, good[0]);
        assert!(!stage.poll(&mut out).unwrap());
        // The refused frame can be pushed now, and comes out unchanged.
        stage.push(&good[1]).unwrap();
        assert!(stage.poll(&mut out).unwrap());
        assert_eq!(out, good[1]);
        // Reset forgets a held frame.
        stage.push(&good[0]).unwrap();
        stage.reset();
        assert!(!stage.poll(&mut out).unwrap());
        // Polling into a frame smaller than max_output_frames still works (outside the
        // real-time contract: the stage grows the swapped-in buffer once).
        let mut small = AudioFrame::with_capacity(fmt, 10);
        stage.push(&good[0]).unwrap();
        assert!(stage.poll(&mut small).unwrap());
        stage.push(&good[1]).unwrap();
        assert!(stage.poll(&mut small).unwrap());
        assert_eq!(small, good[1]);
    }
}

#[test]
fn stages_are_send_trait_objects() {
    fn is_send<T: Send + ?Sized>(_: &T) {}
    let fmt = AudioFormat::new(8_000, 1).unwrap();
    let vad: Box<dyn AudioStage> = Box::new(Vad::new(VadConfig::new(fmt)).unwrap());
    let td: Box<dyn AudioStage> =
        Box::new(TurnDetector::from_config(VadConfig::new(fmt), TurnConfig::default()).unwrap());
    is_send(&vad);
    is_send(&td);
    let names = std::thread::spawn(move || (vad.name(), td.name()))
        .join()
        .unwrap();
    assert_eq!(names, ("vad", "turns"));
}
