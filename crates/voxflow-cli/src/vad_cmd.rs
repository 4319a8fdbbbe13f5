//! `voxflow vad`, `voxflow turns` and `voxflow vad-eval`: voice activity and turn detection on
//! files, streamed frame by frame through the decoder (memory does not grow with file length).
//!
//! `vad` and `turns` drive `Vad` and `TurnDetector` as the pass-through stages a pipeline holds
//! (push, drain `poll_event`, drain `poll` into a null sink; `finish` at the end). This is a hand
//! loop until `voxflow-pipeline` forwards stage events (`Event::Stage`); then it becomes
//! decoder → stage → null sink in a `Pipeline`.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use voxflow::decode::{Decoder, DecoderConfig};
use voxflow::vad::eval::evaluate_dir;
use voxflow::vad::{ModelKind, StageEvent, TurnConfig, TurnDetector, TurnEvent, Vad, VadConfig};
use voxflow::{AudioFrame, AudioSource, AudioStage, MediaTime};

/// A boxed error for the command layer.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

fn model(name: &str) -> Result<ModelKind, Failure> {
    ModelKind::from_name(name)
        .ok_or_else(|| format!("unknown model {name:?} (voxflow, energy, earshot, webrtc)").into())
}

fn open(file: &Path) -> Result<(Decoder, AudioFrame), Failure> {
    let dec = Decoder::open_with(file, DecoderConfig::default())
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let frame = AudioFrame::with_capacity(dec.format(), dec.max_frames());
    Ok((dec, frame))
}

/// Reads `dec` to the end, calling `f` on every frame. Skippable decode errors are passed over.
fn for_each_frame(
    dec: &mut Decoder,
    frame: &mut AudioFrame,
    mut f: impl FnMut(&AudioFrame) -> Result<(), Failure>,
) -> Result<(), Failure> {
    loop {
        match dec.read(frame) {
            Ok(true) => f(frame)?,
            Ok(false) => return Ok(()),
            Err(e) if e.is_skippable() => eprintln!("voxflow: skipped: {e}"),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Runs every decoded frame through `stage` as a pipeline does: push, then events, then the
/// stage's output (dropped: a null sink); at the end `finish` and the last events.
fn run_stage(
    dec: &mut Decoder,
    frame: &mut AudioFrame,
    stage: &mut dyn AudioStage,
    mut on_event: impl FnMut(StageEvent),
) -> Result<(), Failure> {
    let mut out = AudioFrame::with_capacity(stage.output_format(), stage.max_output_frames());
    for_each_frame(dec, frame, |f| {
        stage.push(f)?;
        while let Some(e) = stage.poll_event() {
            on_event(e);
        }
        while stage.poll(&mut out)? {}
        Ok(())
    })?;
    stage.finish()?;
    while let Some(e) = stage.poll_event() {
        on_event(e);
    }
    while stage.poll(&mut out)? {}
    Ok(())
}

/// The VAD configuration for `dec`'s frames (the stage takes the decoder's largest frame).
fn vad_config(dec: &Decoder) -> VadConfig {
    let mut config = VadConfig::new(dec.format());
    config.max_input_frames = config.max_input_frames.max(dec.max_frames());
    config
}

fn secs(t: MediaTime) -> f64 {
    (t.as_secs_f64() * 1000.0).round() / 1000.0
}

/// `voxflow vad FILE [--model M] [--json]`: speech segments with start and end times.
pub fn vad(file: &Path, model_name: &str, as_json: bool) -> Result<(), Failure> {
    let (mut dec, mut frame) = open(file)?;
    let mut vad = Vad::new(vad_config(&dec).model(model(model_name)?))?;
    let mut segments: Vec<(MediaTime, MediaTime)> = Vec::new();
    let mut open_at: Option<MediaTime> = None;
    // A segment runs from a speech onset edge to the next non-speech edge (the end of its last
    // speech frame).
    run_stage(&mut dec, &mut frame, &mut vad, |e| {
        if let StageEvent::Voice { speech, at } = e {
            match (speech, open_at) {
                (true, None) => open_at = Some(at),
                (false, Some(start)) => {
                    segments.push((start, at));
                    open_at = None;
                }
                _ => {}
            }
        }
    })?;
    if let (Some(start), Some(last)) = (open_at, vad.last_decision()) {
        // Speech to the end of the stream: up to the end of the last (speech) frame.
        segments.push((start, last.end()));
    }
    let (frames, speech) = (vad.frames_decided(), vad.speech_frames());
    if as_json {
        let segs: Vec<Value> = segments
            .iter()
            .map(|(s, e)| json!({"start_s": secs(*s), "end_s": secs(*e)}))
            .collect();
        println!(
            "{}",
            json!({
                "file": file.display().to_string(),
                "model": vad.model_name(),
                "frames": frames,
                "speech_frames": speech,
                "segments": segs,
            })
        );
    } else {
        println!(
            "{}: {} speech segments ({} of {} frames of 10 ms are speech; model {})",
            file.display(),
            segments.len(),
            speech,
            frames,
            vad.model_name()
        );
        for (s, e) in &segments {
            println!("  {:9.3} s – {:9.3} s", s.as_secs_f64(), e.as_secs_f64());
        }
    }
    Ok(())
}

/// `voxflow turns FILE [--min-silence MS] [--json]`: turns (reply-on-pause) and their timings,
/// including when each end was detected.
pub fn turns(file: &Path, min_silence_ms: u64, as_json: bool) -> Result<(), Failure> {
    let (mut dec, mut frame) = open(file)?;
    let config = TurnConfig {
        min_silence: Duration::from_millis(min_silence_ms),
        ..TurnConfig::default()
    };
    let mut td = TurnDetector::from_config(vad_config(&dec), config)?;
    let mut rows: Vec<Value> = Vec::new();
    run_stage(&mut dec, &mut frame, &mut td, |e| {
        if let StageEvent::Turn(ev) = e {
            match ev {
                TurnEvent::SpeechStarted { at } if !as_json => {
                    println!("{:9.3} s  speech started", at.as_secs_f64());
                }
                TurnEvent::TurnEnded {
                    started_at,
                    ended_at,
                    detected_at,
                    capped,
                    audio,
                    rate,
                } => {
                    if !as_json {
                        println!(
                            "{:9.3} s  turn ended: {:.3}–{:.3} s ({:.2} s of audio), detected {:.0} ms after its end{}",
                            detected_at.as_secs_f64(),
                            started_at.as_secs_f64(),
                            ended_at.as_secs_f64(),
                            audio.len() as f64 / f64::from(rate),
                            (detected_at - ended_at).as_secs_f64() * 1e3,
                            if capped { " (max_turn)" } else { "" }
                        );
                    }
                    rows.push(json!({
                        "started_s": secs(started_at),
                        "ended_s": secs(ended_at),
                        "detected_s": secs(detected_at),
                        "latency_ms": ((detected_at - ended_at).as_secs_f64() * 1e3).round(),
                        "audio_s": audio.len() as f64 / f64::from(rate),
                        "capped": capped,
                    }));
                }
                TurnEvent::Interrupted { at, .. } if !as_json => {
                    println!("{:9.3} s  interrupted", at.as_secs_f64());
                }
                _ => {}
            }
        }
    })?;
    if as_json {
        println!(
            "{}",
            json!({
                "file": file.display().to_string(),
                "min_silence_ms": min_silence_ms,
                "turns": rows,
            })
        );
    }
    Ok(())
}

/// `voxflow vad-eval DIR [--model M] [--json]`: frame-level precision, recall, F1 and FPR on a
/// labelled set laid out like `shared/data/vad`.
pub fn vad_eval(dir: &Path, model_name: &str, as_json: bool) -> Result<(), Failure> {
    let report = evaluate_dir(dir, model(model_name)?)?;
    if !as_json {
        println!("{report}");
        return Ok(());
    }
    let per_file: Vec<Value> = report
        .per_file
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "frames": f.frames,
                "speech_frames": f.speech_frames,
                "precision": f.counts.precision(),
                "recall": f.counts.recall(),
                "f1": f.counts.f1(),
                "fpr": f.counts.fpr(),
            })
        })
        .collect();
    println!(
        "{}",
        json!({
            "model": model_name,
            "pooled": {
                "precision": report.pooled.precision,
                "recall": report.pooled.recall,
                "f1": report.pooled.f1,
            },
            "fpr_nonspeech": report.fpr_nonspeech,
            "us_per_10ms": report.us_per_10ms,
            "onset_latency_ms": {
                "p50": report.onset.p50_ms,
                "p90": report.onset.p90_ms,
                "onsets": report.onset.onsets,
                "missed": report.onset.missed,
            },
            "per_file": per_file,
        })
    );
    Ok(())
}
