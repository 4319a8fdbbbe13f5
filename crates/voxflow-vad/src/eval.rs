//! Frame-level evaluation on a labelled set laid out like `shared/data/vad`
//! (`wav/*.wav` and `labels/*.csv` with `frame,start_s,speech,utterance`, one row per 10 ms).
//! Offline helpers: they allocate and read files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use voxflow_core::{AudioFormat, AudioFrame, MediaTime};

use crate::error::Error;
use crate::model::{Decision, HOP, ModelKind};
use crate::vad::{Vad, VadConfig};
use crate::wav::read_wav;

/// Confusion counts over frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Speech called speech.
    pub tp: u64,
    /// Non-speech called speech.
    pub fp: u64,
    /// Speech called non-speech.
    pub fn_: u64,
    /// Non-speech called non-speech.
    pub tn: u64,
}

impl Counts {
    /// Adds one frame.
    pub fn add(&mut self, truth: bool, decided: bool) {
        match (truth, decided) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }
    /// Sum of two counts.
    pub fn merged(self, o: Counts) -> Counts {
        Counts {
            tp: self.tp + o.tp,
            fp: self.fp + o.fp,
            fn_: self.fn_ + o.fn_,
            tn: self.tn + o.tn,
        }
    }
    /// tp / (tp + fp) (0 when undefined).
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    /// tp / (tp + fn) (0 when undefined).
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    }
    /// fp / (fp + tn): share of non-speech frames called speech.
    pub fn fpr(&self) -> f64 {
        ratio(self.fp, self.fp + self.tn)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Results for one file.
#[derive(Clone, Debug, PartialEq)]
pub struct FileReport {
    /// File stem (e.g. `03_pink_10dB`).
    pub name: String,
    /// Frames scored.
    pub frames: usize,
    /// Frames labelled speech.
    pub speech_frames: usize,
    /// Confusion counts.
    pub counts: Counts,
}

impl FileReport {
    /// True when the labels contain no speech (scored by FPR, not F1).
    pub fn is_nonspeech(&self) -> bool {
        self.speech_frames == 0
    }
}

/// Precision, recall and F1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
}

/// The result of [`evaluate_dir`].
#[derive(Clone, Debug, PartialEq)]
pub struct EvalReport {
    /// The model evaluated.
    pub model: ModelKind,
    /// The decision rule used.
    pub decision: Decision,
    /// One entry per file, sorted by name.
    pub per_file: Vec<FileReport>,
    /// Pooled over the files that contain speech.
    pub pooled: Scores,
    /// Pooled counts over the files that contain speech.
    pub pooled_counts: Counts,
    /// Share of frames called speech in files with no speech (`None` if there is no such file).
    pub fpr_nonspeech: Option<f64>,
    /// Model cost: wall-clock µs per 10 ms hop, timing only the model on 16 kHz 10 ms hops.
    pub us_per_10ms: f64,
    /// How late the decision turns on at labelled speech onsets, pooled over the speech files.
    pub onset: OnsetLatency,
}

/// Decision latency at speech onsets: for every labelled onset (a speech frame after at least
/// 200 ms of non-speech), the time from the onset to the first frame decided speech, searched
/// from 50 ms before to 500 ms after it (a negative latency is an early decision).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OnsetLatency {
    /// Onsets found in the labels.
    pub onsets: usize,
    /// Onsets with no speech decision within 500 ms (left out of the percentiles).
    pub missed: usize,
    /// Median latency in ms (0 when no onset was detected).
    pub p50_ms: f64,
    /// 90th percentile latency in ms (0 when no onset was detected).
    pub p90_ms: f64,
}

/// Frames of non-speech that must precede a labelled onset.
const ONSET_QUIET: usize = 20;

/// Appends the latency (ms) of each labelled onset in `labels` to `lat`, and counts misses.
fn onset_latencies(labels: &[bool], decided: &[bool], lat: &mut Vec<f64>, missed: &mut usize) {
    let n = labels.len().min(decided.len());
    for i in ONSET_QUIET..n {
        if !labels[i] || labels[i - ONSET_QUIET..i].iter().any(|&s| s) {
            continue;
        }
        let from = i.saturating_sub(5);
        match (from..(i + 50).min(n)).find(|&k| decided[k]) {
            Some(k) => lat.push((k as f64 - i as f64) * 10.0),
            None => *missed += 1,
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Reads a label file: returns the `speech` column.
pub fn read_labels(path: &Path) -> Result<Vec<bool>, Error> {
    let text = std::fs::read_to_string(path)?;
    let bad = |reason: String| Error::Labels {
        path: path.display().to_string(),
        reason,
    };
    let mut lines = text.lines();
    let header = lines.next().ok_or_else(|| bad("empty file".into()))?;
    let col = header
        .split(',')
        .position(|c| c.trim() == "speech")
        .ok_or_else(|| bad("no `speech` column".into()))?;
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v = line
            .split(',')
            .nth(col)
            .ok_or_else(|| bad(format!("row {} has no speech field", i + 1)))?;
        out.push(match v.trim() {
            "1" => true,
            "0" => false,
            other => return Err(bad(format!("row {}: speech = {other:?}", i + 1))),
        });
    }
    Ok(out)
}

/// Probabilities, decisions and the 16 kHz hops of one run (see [`run_model`]).
pub type ModelRun = (Vec<f32>, Vec<bool>, Vec<[f32; HOP]>);

/// Runs a model over interleaved samples of `format` and returns the per-10 ms probabilities,
/// decisions and the 16 kHz mono hops the model saw.
pub fn run_model(
    format: AudioFormat,
    samples: &[f32],
    model: ModelKind,
    decision: Option<Decision>,
) -> Result<ModelRun, Error> {
    let mut cfg = VadConfig::new(format).model(model);
    cfg.decision = decision;
    let mut vad = Vad::new(cfg)?;
    let frame =
        AudioFrame::from_interleaved(format, samples.to_vec(), MediaTime::ZERO).map_err(|e| {
            Error::InvalidConfig {
                what: "samples",
                reason: e.to_string(),
            }
        })?;
    let (mut p, mut d, mut hops) = (Vec::new(), Vec::new(), Vec::new());
    let mut on = |v: &crate::VadFrame, h: &[f32; HOP]| {
        p.push(v.probability);
        d.push(v.speech);
        hops.push(*h);
    };
    vad.process(&frame, &mut on)?;
    vad.flush(&mut on)?;
    Ok((p, d, hops))
}

/// Evaluates `model` (with its default decision rule) on every `wav/*.wav` of `dir` that has a
/// `labels/<stem>.csv`. See [`evaluate_dir_with`].
pub fn evaluate_dir(dir: &Path, model: ModelKind) -> Result<EvalReport, Error> {
    evaluate_dir_with(dir, model, None)
}

/// Evaluates with an explicit decision rule (`None`: the model's default).
pub fn evaluate_dir_with(
    dir: &Path,
    model: ModelKind,
    decision: Option<Decision>,
) -> Result<EvalReport, Error> {
    let mut wavs: Vec<PathBuf> = std::fs::read_dir(dir.join("wav"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("wav")))
        .collect();
    wavs.sort();
    let used_decision = match decision {
        Some(d) => d,
        None => model.build()?.default_decision(),
    };
    let mut per_file = Vec::new();
    let (mut lat, mut missed) = (Vec::new(), 0usize);
    let mut timed_hops = 0u64;
    let mut timed_secs = 0.0f64;
    for wav in &wavs {
        let stem = wav
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let labels_path = dir.join("labels").join(format!("{stem}.csv"));
        if !labels_path.exists() {
            continue;
        }
        let labels = read_labels(&labels_path)?;
        let w = read_wav(wav)?;
        let format = AudioFormat::new(w.rate, w.channels).map_err(|e| Error::Wav {
            path: wav.display().to_string(),
            reason: e.to_string(),
        })?;
        let (_, decided, hops) = run_model(format, &w.samples, model, Some(used_decision))?;
        let n = labels.len().min(decided.len());
        let mut counts = Counts::default();
        for i in 0..n {
            counts.add(labels[i], decided[i]);
        }
        onset_latencies(&labels, &decided, &mut lat, &mut missed);
        per_file.push(FileReport {
            name: stem,
            frames: n,
            speech_frames: labels[..n].iter().filter(|&&s| s).count(),
            counts,
        });
        // Timing: the bare model on the 16 kHz hops.
        let mut m = model.build()?;
        let mut sink = 0.0f32;
        let t = Instant::now();
        for h in &hops {
            sink += m.process(h);
        }
        timed_secs += t.elapsed().as_secs_f64();
        timed_hops += hops.len() as u64;
        std::hint::black_box(sink);
    }
    let mut pooled_counts = Counts::default();
    let mut non = Counts::default();
    let mut any_non = false;
    for f in &per_file {
        if f.is_nonspeech() {
            non = non.merged(f.counts);
            any_non = true;
        } else {
            pooled_counts = pooled_counts.merged(f.counts);
        }
    }
    lat.sort_by(f64::total_cmp);
    let onset = OnsetLatency {
        onsets: lat.len() + missed,
        missed,
        p50_ms: percentile(&lat, 0.5),
        p90_ms: percentile(&lat, 0.9),
    };
    Ok(EvalReport {
        onset,
        model,
        decision: used_decision,
        per_file,
        pooled: Scores {
            precision: pooled_counts.precision(),
            recall: pooled_counts.recall(),
            f1: pooled_counts.f1(),
        },
        pooled_counts,
        fpr_nonspeech: any_non.then(|| non.fpr()),
        us_per_10ms: if timed_hops > 0 {
            timed_secs * 1e6 / timed_hops as f64
        } else {
            0.0
        },
    })
}

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "model {} (on {:.2}, off {:.2}, hangover {} frames)",
            self.model, self.decision.on, self.decision.off, self.decision.hangover
        )?;
        writeln!(
            f,
            "{:<24} {:>9} {:>9} {:>9} {:>9}",
            "file", "precision", "recall", "f1", "fpr"
        )?;
        for r in &self.per_file {
            writeln!(
                f,
                "{:<24} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                r.name,
                r.counts.precision(),
                r.counts.recall(),
                r.counts.f1(),
                r.counts.fpr()
            )?;
        }
        writeln!(
            f,
            "{:<24} {:>9.3} {:>9.3} {:>9.3}",
            "pooled (speech files)", self.pooled.precision, self.pooled.recall, self.pooled.f1
        )?;
        match self.fpr_nonspeech {
            Some(x) => writeln!(f, "fpr on non-speech files: {:.4}", x)?,
            None => writeln!(f, "fpr on non-speech files: n/a")?,
        }
        writeln!(
            f,
            "onset latency: median {:.0} ms, p90 {:.0} ms over {} onsets ({} missed)",
            self.onset.p50_ms, self.onset.p90_ms, self.onset.onsets, self.onset.missed
        )?;
        write!(f, "model cost: {:.2} µs per 10 ms", self.us_per_10ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_math() {
        let mut c = Counts::default();
        for (t, d) in [
            (true, true),
            (true, true),
            (true, false),
            (false, true),
            (false, false),
        ] {
            c.add(t, d);
        }
        assert!((c.precision() - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.recall() - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.f1() - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.fpr() - 0.5).abs() < 1e-12);
        assert_eq!(Counts::default().f1(), 0.0);
    }

    #[test]
    fn onset_latency_counts_late_early_and_missed() {
        // Onsets at frames 30 and 100 (after >= 20 quiet frames), and one at 200 never decided.
        let mut labels = vec![false; 300];
        labels[30..60].fill(true);
        labels[100..130].fill(true);
        labels[200..230].fill(true);
        let mut decided = vec![false; 300];
        decided[33..60].fill(true); // 30 ms late
        decided[98..130].fill(true); // 20 ms early
        let (mut lat, mut missed) = (Vec::new(), 0);
        onset_latencies(&labels, &decided, &mut lat, &mut missed);
        assert_eq!(lat, vec![30.0, -20.0]);
        assert_eq!(missed, 1);
        // A run after a gap shorter than 200 ms is not an onset.
        let mut labels = vec![false; 100];
        labels[25..40].fill(true);
        labels[50..60].fill(true);
        let (mut lat, mut missed) = (Vec::new(), 0);
        onset_latencies(&labels, &labels, &mut lat, &mut missed);
        assert_eq!((lat, missed), (vec![0.0], 0));
    }
}
