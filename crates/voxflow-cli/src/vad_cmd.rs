//! `voxflow vad`, `voxflow turns` and `voxflow vad-eval`: voice activity and turn detection on
//! files, streamed frame by frame through the decoder (memory does not grow with file length).

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use voxflow::decode::{Decoder, DecoderConfig};
use voxflow::vad::eval::evaluate_dir;
use voxflow::vad::{ModelKind, TurnConfig, TurnDetector, TurnEvent, Vad, VadConfig};
use voxflow::{AudioFrame, AudioSource, MediaTime};

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

fn secs(t: MediaTime) -> f64 {
    (t.as_secs_f64() * 1000.0).round() / 1000.0
}

/// `voxflow vad FILE [--model M] [--json]`: speech segments with start and end times.
pub fn vad(file: &Path, model_name: &str, as_json: bool) -> Result<(), Failure> {
    let (mut dec, mut frame) = open(file)?;
    let mut vad = Vad::new(VadConfig::new(dec.format()).model(model(model_name)?))?;
    let mut segments: Vec<(MediaTime, MediaTime)> = Vec::new();
    let mut open_at: Option<MediaTime> = None;
    let mut last_end = MediaTime::ZERO;
    let (mut frames, mut speech) = (0u64, 0u64);
    let mut on_vad = |v: &voxflow::vad::VadFrame| {
        frames += 1;
        if v.speech {
            speech += 1;
            open_at.get_or_insert(v.pts);
            last_end = v.end();
        } else if let Some(start) = open_at.take() {
            segments.push((start, last_end));
        }
    };
    for_each_frame(&mut dec, &mut frame, |f| {
        vad.process(f, |v, _| on_vad(v))?;
        Ok(())
    })?;
    vad.flush(|v, _| on_vad(v))?;
    if let Some(start) = open_at {
        segments.push((start, last_end));
    }
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
    let mut td = TurnDetector::from_config(VadConfig::new(dec.format()), config)?;
    let mut rows: Vec<Value> = Vec::new();
    let drain = |td: &mut TurnDetector, rows: &mut Vec<Value>| {
        while let Some(ev) = td.poll_event() {
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
    };
    for_each_frame(&mut dec, &mut frame, |f| {
        td.process(f)?;
        drain(&mut td, &mut rows);
        Ok(())
    })?;
    td.finish()?;
    drain(&mut td, &mut rows);
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
