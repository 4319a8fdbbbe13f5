//! `voxflow vad`, `voxflow turns` and `voxflow vad-eval`: voice activity and turn detection on
//! files, streamed frame by frame through the decoder (memory does not grow with file length).
//!
//! `vad` and `turns` run a `Pipeline` of decoder → `Vad` or `TurnDetector` (pass-through
//! stages) → null sink, and read the stage's events from the pipeline's event channel
//! (`Event::Stage`).

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};
use voxflow::decode::{Decoder, DecoderConfig};
use voxflow::pipeline::sinks::NullSink;
use voxflow::pipeline::{Event, Pipeline};
use voxflow::vad::eval::evaluate_dir;
use voxflow::vad::{
    ModelKind, StageEvent, TurnConfig, TurnDetector, TurnEvent, Vad, VadConfig, VadFrame,
};
use voxflow::{AudioFormat, AudioFrame, AudioSource, AudioStage, MediaTime};

/// A boxed error for the command layer.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

fn model(name: &str) -> Result<ModelKind, Failure> {
    ModelKind::from_name(name)
        .ok_or_else(|| format!("unknown model {name:?} (voxflow, energy, earshot, webrtc)").into())
}

fn open(file: &Path) -> Result<Decoder, Failure> {
    Ok(Decoder::open_with(file, DecoderConfig::default())
        .map_err(|e| format!("{}: {e}", file.display()))?)
}

/// Runs `dec` → `stage` → null sink in a [`Pipeline`] (as fast as possible) and calls
/// `on_event` with every event the stage raises, in order. Skipped input is reported on stderr
/// as the stream goes on; a lost event (the bounded channel overflowed) is an error, so the
/// listing is never silently short.
fn run_pipeline(
    dec: Decoder,
    stage: impl AudioStage + 'static,
    mut on_event: impl FnMut(StageEvent),
) -> Result<(), Failure> {
    let running = Pipeline::builder()
        .source(dec)
        .stage(stage)
        .sink(NullSink::new())
        .event_capacity(4096)
        .spawn()?;
    let mut handle = |e: Event| match e {
        Event::Stage { event, .. } => on_event(event),
        Event::Skipped { stage, error } => eprintln!("voxflow: skipped ({stage}): {error}"),
        _ => {}
    };
    loop {
        // Read before waiting: once finished, every event is already queued.
        let finished = running.is_finished();
        match running.events().recv_timeout(Duration::from_millis(20)) {
            Ok(Event::Finished { .. }) => break,
            Ok(e) => handle(e),
            Err(_) if finished => break,
            Err(_) => {}
        }
    }
    while let Ok(e) = running.events().try_recv() {
        handle(e);
    }
    let report = running.wait()?;
    if report.events_lost > 0 {
        return Err(format!("{} stage events were lost", report.events_lost).into());
    }
    Ok(())
}

/// What a [`Vad`] decided over the whole stream, taken at its `finish` (the pipeline owns the
/// stage while it runs).
#[derive(Clone, Copy, Debug)]
struct VadTally {
    frames: u64,
    speech: u64,
    last: Option<VadFrame>,
}

/// The `Vad` stage, handing its counters out at the end of the stream.
struct Tallied {
    vad: Vad,
    tally: Arc<OnceLock<VadTally>>,
}

impl AudioStage for Tallied {
    fn name(&self) -> &'static str {
        self.vad.name()
    }
    fn input_format(&self) -> AudioFormat {
        AudioStage::input_format(&self.vad)
    }
    fn output_format(&self) -> AudioFormat {
        self.vad.output_format()
    }
    fn max_input_frames(&self) -> usize {
        AudioStage::max_input_frames(&self.vad)
    }
    fn max_output_frames(&self) -> usize {
        self.vad.max_output_frames()
    }
    fn push(&mut self, input: &AudioFrame) -> voxflow::Result<()> {
        self.vad.push(input)
    }
    fn poll(&mut self, out: &mut AudioFrame) -> voxflow::Result<bool> {
        self.vad.poll(out)
    }
    fn finish(&mut self) -> voxflow::Result<()> {
        self.vad.finish()?;
        // Set once: a second finish has nothing new to report.
        let _ = self.tally.set(VadTally {
            frames: self.vad.frames_decided(),
            speech: self.vad.speech_frames(),
            last: self.vad.last_decision(),
        });
        Ok(())
    }
    fn reset(&mut self) {
        AudioStage::reset(&mut self.vad);
    }
    fn poll_event(&mut self) -> Option<StageEvent> {
        self.vad.poll_event()
    }
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
    let dec = open(file)?;
    let vad = Vad::new(vad_config(&dec).model(model(model_name)?))?;
    let used_model = vad.model_name();
    let tally = Arc::new(OnceLock::new());
    let stage = Tallied {
        vad,
        tally: Arc::clone(&tally),
    };
    let mut segments: Vec<(MediaTime, MediaTime)> = Vec::new();
    let mut open_at: Option<MediaTime> = None;
    // A segment runs from a speech onset edge to the next non-speech edge (the end of its last
    // speech frame).
    run_pipeline(dec, stage, |e| {
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
    let tally = *tally.get().ok_or("the VAD stage was not finished")?;
    if let (Some(start), Some(last)) = (open_at, tally.last) {
        // Speech to the end of the stream: up to the end of the last (speech) frame.
        segments.push((start, last.end()));
    }
    let (frames, speech) = (tally.frames, tally.speech);
    if as_json {
        let segs: Vec<Value> = segments
            .iter()
            .map(|(s, e)| json!({"start_s": secs(*s), "end_s": secs(*e)}))
            .collect();
        println!(
            "{}",
            json!({
                "file": file.display().to_string(),
                "model": used_model,
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
            used_model
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
    let dec = open(file)?;
    let config = TurnConfig {
        min_silence: Duration::from_millis(min_silence_ms),
        ..TurnConfig::default()
    };
    let td = TurnDetector::from_config(vad_config(&dec), config)?;
    let mut rows: Vec<Value> = Vec::new();
    run_pipeline(dec, td, |e| {
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
