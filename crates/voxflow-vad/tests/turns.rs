#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Turn detection: event latency, the three-turn file, max_turn, pre-roll, barge-in.

mod common;

use common::{Level, bursts};
use std::time::Duration;

use voxflow_core::{AudioFormat, AudioFrame, MediaTime};
use voxflow_testkit::data::shared_data;
use voxflow_vad::wav::read_wav;
use voxflow_vad::{
    Decision, SpeechModel, TurnConfig, TurnDetector, TurnEvent, Vad, VadConfig, turns,
};

fn level_detector(cfg: TurnConfig) -> TurnDetector {
    let fmt = AudioFormat::new(16_000, 1).unwrap();
    TurnDetector::new(
        Vad::with_model(VadConfig::new(fmt), Box::new(Level)).unwrap(),
        cfg,
    )
    .unwrap()
}

/// Feeds 10 ms frames, returns (event, stream position when it came out).
fn feed(td: &mut TurnDetector, x: &[f32]) -> Vec<(TurnEvent, MediaTime)> {
    let fmt = AudioFormat::new(16_000, 1).unwrap();
    let mut out = Vec::new();
    for (k, c) in x.chunks(160).enumerate() {
        let f =
            AudioFrame::from_interleaved(fmt, c.to_vec(), MediaTime::new(k as i64 * 160, 16_000))
                .unwrap();
        td.process(&f).unwrap();
        while let Some(e) = td.poll_turn_event() {
            out.push((e, td.position()));
        }
    }
    td.finish().unwrap();
    while let Some(e) = td.poll_turn_event() {
        out.push((e, td.position()));
    }
    out
}

fn secs(t: MediaTime) -> f64 {
    t.as_secs_f64()
}

#[test]
fn turn_end_latency_equals_min_silence() {
    for ms in [200u64, 500, 700, 1000] {
        let mut td = level_detector(TurnConfig {
            min_silence: Duration::from_millis(ms),
            pre_roll: Duration::from_millis(200),
            ..TurnConfig::default()
        });
        let x = bursts(&[(1.0, 2.5), (5.0, 6.0)], 8.0);
        let ev = feed(&mut td, &x);
        let ends: Vec<_> = ev
            .iter()
            .filter_map(|(e, pos)| match e {
                TurnEvent::TurnEnded {
                    started_at,
                    ended_at,
                    detected_at,
                    audio,
                    rate,
                    ..
                } => Some((
                    *started_at,
                    *ended_at,
                    *detected_at,
                    *pos,
                    audio.len(),
                    *rate,
                )),
                _ => None,
            })
            .collect();
        assert_eq!(ends.len(), 2, "min_silence {ms}");
        for (i, &(s, e, det, pos, len, rate)) in ends.iter().enumerate() {
            let (ts, te) = [(1.0, 2.5), (5.0, 6.0)][i];
            assert!((secs(s) - ts).abs() <= 0.011, "start {}", secs(s));
            assert!((secs(e) - te).abs() <= 0.011, "end {}", secs(e));
            // Emitted in the call that processed the frame completing min_silence.
            assert_eq!(det, pos);
            let latency = secs(pos) - secs(e);
            assert!(
                (latency - ms as f64 / 1000.0).abs() <= 0.010 + 1e-9,
                "latency {latency} for {ms} ms"
            );
            // Audio = pre-roll + the turn.
            let want = (te - ts + 0.2) * f64::from(rate);
            assert!((len as f64 - want).abs() <= 160.0, "audio {len} vs {want}");
        }
    }
}

#[test]
fn max_turn_really_ends_the_turn() {
    let mut td = level_detector(TurnConfig {
        max_turn: Duration::from_secs(2),
        min_silence: Duration::from_millis(500),
        pre_roll: Duration::from_millis(300),
        ..TurnConfig::default()
    });
    let ev = feed(&mut td, &bursts(&[(1.0, 6.0)], 8.0));
    let ends: Vec<_> = ev
        .iter()
        .filter_map(|(e, _)| match e {
            TurnEvent::TurnEnded {
                started_at,
                ended_at,
                capped,
                audio,
                ..
            } => Some((*started_at, *ended_at, *capped, audio.len())),
            _ => None,
        })
        .collect();
    assert!(ends.len() >= 3, "{ends:?}");
    assert!(ends[0].2 && ends[1].2, "first turns capped: {ends:?}");
    for &(s, e, _, len) in &ends {
        assert!(secs(e) - secs(s) <= 2.0 + 1e-9);
        assert!(len as f64 <= (2.0 + 0.3) * 16_000.0 + 1.0);
    }
    assert!(!ends.last().unwrap().2);
}

#[test]
fn barge_in_reports_interruption_and_played_time() {
    let mut td = level_detector(TurnConfig::default());
    let fmt = AudioFormat::new(16_000, 1).unwrap();
    let x = bursts(&[(2.0, 3.0)], 4.0);
    let mut ev: Vec<TurnEvent> = Vec::new();
    for (k, c) in x.chunks(160).enumerate() {
        if k == 50 {
            td.set_playing(true); // reply starts at 0.5 s
        }
        if k == 150 {
            td.report_played(Duration::from_millis(1480));
        }
        let f =
            AudioFrame::from_interleaved(fmt, c.to_vec(), MediaTime::new(k as i64 * 160, 16_000))
                .unwrap();
        td.process(&f).unwrap();
        ev.extend(std::iter::from_fn(|| td.poll_turn_event()));
    }
    let int = ev.iter().find_map(|e| match e {
        TurnEvent::Interrupted { at, played } => Some((*at, *played)),
        _ => None,
    });
    let (at, played) = int.expect("interrupted");
    assert!((secs(at) - 2.0).abs() < 0.011);
    assert_eq!(played, Duration::from_millis(1480));
    assert!(!td.is_playing());
    assert!(matches!(ev[0], TurnEvent::SpeechStarted { .. }));
    // Without a report: stream time since set_playing(true).
    let mut td = level_detector(TurnConfig::default());
    td.set_playing(true);
    let ev = feed(&mut td, &bursts(&[(1.0, 2.0)], 3.0));
    let played = ev.iter().find_map(|(e, _)| match e {
        TurnEvent::Interrupted { played, .. } => Some(*played),
        _ => None,
    });
    let played = played.expect("interrupted");
    assert!((played.as_secs_f64() - 1.0).abs() < 0.011, "{played:?}");
}

/// The speech spans of `turns_48k_mono.wav` as `shared/data/README.md` gives them: the energy
/// rule's edges after a 60 Hz high-pass that removes the clips' DC steps (±30 ms).
const SPEECH_SPANS: [(f64, f64); 3] = [(0.77, 3.29), (5.27, 10.05), (12.05, 17.59)];

/// Three turns found, each start and end within ±150 ms of the data README's speech spans
/// (two-sided: a short turn inside a span fails, so does one that runs over). Measured (default
/// model, min_silence 700 ms): 0.78–3.30, 5.28–10.07, 12.06–17.61 s, every boundary 10–20 ms
/// late; a second, tighter bound of ±50 ms (measured 20 ms + 30 ms margin, the spans' own
/// precision) guards that figure. The computation is deterministic, so it cannot flake.
#[test]
fn three_turns_file() {
    let Some(path) = shared_data("media/turns_48k_mono.wav") else {
        return;
    };
    let w = read_wav(&path).unwrap();
    let fmt = AudioFormat::new(w.rate, w.channels).unwrap();
    let min_silence = Duration::from_millis(700);
    let found = turns(
        VadConfig::new(fmt),
        TurnConfig {
            min_silence,
            ..TurnConfig::default()
        },
        &w.samples,
    )
    .unwrap();
    for t in &found {
        eprintln!(
            "turn {:.3}–{:.3} s, reported at {:.3} s",
            secs(t.started_at),
            secs(t.ended_at),
            secs(t.detected_at)
        );
    }
    assert_eq!(found.len(), 3, "{found:?}");
    for (t, (s, e)) in found.iter().zip(SPEECH_SPANS) {
        let (fs, fe) = (secs(t.started_at), secs(t.ended_at));
        // The acceptance bound, both ways at both ends.
        assert!((fs - s).abs() <= 0.150, "start {fs:.3} vs {s} (±150 ms)");
        assert!((fe - e).abs() <= 0.150, "end {fe:.3} vs {e} (±150 ms)");
        // The measured figure (≤ 20 ms) plus 30 ms.
        assert!((fs - s).abs() <= 0.050, "start {fs:.3} vs {s} (±50 ms)");
        assert!((fe - e).abs() <= 0.050, "end {fe:.3} vs {e} (±50 ms)");
        let lat = secs(t.detected_at) - fe;
        assert!((lat - 0.7).abs() <= 0.010 + 1e-9, "latency {lat}");
        assert!(!t.capped);
    }
    // The same streamed in 20 ms frames, at 48 kHz audio: the audio holds pre-roll + turn.
    let mut td = TurnDetector::from_config(
        VadConfig::new(fmt),
        TurnConfig {
            min_silence,
            audio_rate: 48_000,
            ..TurnConfig::default()
        },
    )
    .unwrap();
    let mut events = Vec::new();
    for (k, c) in w.samples.chunks(960).enumerate() {
        let f =
            AudioFrame::from_interleaved(fmt, c.to_vec(), MediaTime::new(k as i64 * 960, w.rate))
                .unwrap();
        td.process(&f).unwrap();
        events.extend(std::iter::from_fn(|| td.poll_turn_event()));
    }
    td.finish().unwrap();
    events.extend(std::iter::from_fn(|| td.poll_turn_event()));
    let ends: Vec<_> = events
        .into_iter()
        .filter_map(|e| match e {
            TurnEvent::TurnEnded {
                audio,
                rate,
                started_at,
                ended_at,
                ..
            } => Some((audio.len(), rate, started_at, ended_at)),
            _ => None,
        })
        .collect();
    assert_eq!(ends.len(), 3);
    for (len, rate, s, e) in ends {
        assert_eq!(rate, 48_000);
        let want = (secs(e) - secs(s) + 0.3) * 48_000.0;
        assert!((len as f64 - want).abs() <= 480.0, "{len} vs {want}");
    }
}

#[test]
fn bad_config_is_rejected() {
    let fmt = AudioFormat::new(16_000, 1).unwrap();
    let bad = TurnConfig {
        activation: Some(0.2),
        deactivation: Some(0.8),
        ..TurnConfig::default()
    };
    assert!(TurnDetector::from_config(VadConfig::new(fmt), bad).is_err());
    let bad = TurnConfig {
        min_silence: Duration::ZERO,
        ..TurnConfig::default()
    };
    assert!(TurnDetector::from_config(VadConfig::new(fmt), bad).is_err());
    let bad = VadConfig::new(fmt).decision(Decision {
        on: 0.3,
        off: 0.6,
        hangover: 0,
    });
    assert!(Vad::new(bad).is_err());
}

#[test]
fn traits_are_object_safe_and_send() {
    fn is_send<T: Send>() {}
    is_send::<Box<dyn SpeechModel>>();
    is_send::<Vad>();
    is_send::<TurnDetector>();
    let m: Box<dyn SpeechModel> = Box::new(Level);
    assert_eq!(m.name(), "level");
}

/// A 4th-order Butterworth high-pass (two RBJ biquads), to take out the DC steps.
fn high_pass(x: &[f32], rate: f64, fc: f64) -> Vec<f32> {
    let mut y: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    for q in [0.541_196_1, 1.306_563] {
        let w = std::f64::consts::TAU * fc / rate;
        let alpha = w.sin() / (2.0 * q);
        let cw = w.cos();
        let a0 = 1.0 + alpha;
        let (b0, b1, b2) = (
            (1.0 + cw) / 2.0 / a0,
            -(1.0 + cw) / a0,
            (1.0 + cw) / 2.0 / a0,
        );
        let (a1, a2) = (-2.0 * cw / a0, (1.0 - alpha) / a0);
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        for v in y.iter_mut() {
            let x0 = *v;
            let y0 = b0 * x0 + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
            (x2, x1, y2, y1) = (x1, x0, y1, y0);
            *v = y0;
        }
    }
    y.into_iter().map(|v| v as f32).collect()
}

/// The evaluation material's energy rule (shared/data/vad/README.md: 10 ms frame dB,
/// thr = min(max(p99 − 35, p10 + 10), p99 − 15), gaps < 150 ms closed, runs < 30 ms dropped,
/// 20 ms dilation), with runs closer than `merge` frames joined into turns. Returns seconds.
fn energy_turns(x: &[f32], rate: usize, merge: usize) -> Vec<(f64, f64)> {
    let h = rate / 100;
    let db: Vec<f64> = x
        .chunks_exact(h)
        .map(|c| {
            let e = c.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / h as f64;
            10.0 * (e + 1e-12).log10()
        })
        .collect();
    let mut sorted = db.clone();
    sorted.sort_by(f64::total_cmp);
    let pct = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    let (p99, p10) = (pct(0.99), pct(0.10));
    let thr = (p99 - 35.0).max(p10 + 10.0).min(p99 - 15.0);
    let mut s: Vec<bool> = db.iter().map(|&d| d > thr).collect();
    let on: Vec<usize> = (0..s.len()).filter(|&i| s[i]).collect();
    for w in on.windows(2) {
        if w[1] - w[0] > 1 && w[1] - w[0] <= 15 {
            s[w[0]..w[1]].fill(true);
        }
    }
    let mut turns: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if !s[i] {
            i += 1;
            continue;
        }
        let j = (i..s.len()).find(|&j| !s[j]).unwrap_or(s.len());
        if j - i >= 3 {
            match turns.last_mut() {
                Some(t) if i - t.1 < merge => t.1 = j,
                _ => turns.push((i, j)),
            }
        }
        i = j;
    }
    turns
        .into_iter()
        .map(|(a, b)| ((a as f64 - 2.0) / 100.0, (b as f64 + 2.0) / 100.0))
        .collect()
}

/// The detector against the speech in turns_48k_mono.wav: the reference rule on the file with
/// its DC steps removed, held to the issue's ±150 ms. Measured (default model, min_silence
/// 700 ms): reference 0.75–3.32, 5.23–10.07, 12.03–17.62 s; found 0.78–3.30, 5.28–10.07,
/// 12.06–17.61 s (starts 30–50 ms late, ends within 20 ms).
#[test]
fn speech_boundaries_without_the_dc_steps() {
    let Some(path) = shared_data("media/turns_48k_mono.wav") else {
        return;
    };
    let w = read_wav(&path).unwrap();
    assert_eq!((w.rate, w.channels), (48_000, 1));
    let reference = energy_turns(&high_pass(&w.samples, 48_000.0, 60.0), 48_000, 70);
    // The unfiltered rule reproduces the spans the issue first quoted (the clip edges, DC steps
    // included), which the detector is not held to.
    let raw = energy_turns(&w.samples, 48_000, 70);
    for ((s, e), (rs, re)) in raw
        .iter()
        .zip([(0.50, 3.47), (5.09, 10.28), (11.79, 17.84)])
    {
        assert!((s - rs).abs() <= 0.03 && (e - re).abs() <= 0.03, "{s}-{e}");
    }
    println!("reference without DC steps: {reference:?}");
    let fmt = AudioFormat::new(w.rate, w.channels).unwrap();
    let cfg = TurnConfig {
        min_silence: Duration::from_millis(700),
        ..TurnConfig::default()
    };
    let found = turns(VadConfig::new(fmt), cfg, &w.samples).unwrap();
    assert_eq!(found.len(), 3);
    assert_eq!(reference.len(), 3);
    let mut worst_start: f64 = 0.0;
    for (t, (s, e)) in found.iter().zip(&reference) {
        let (fs, fe) = (secs(t.started_at), secs(t.ended_at));
        println!("found {fs:.2}-{fe:.2} vs {s:.2}-{e:.2}");
        assert!((fe - e).abs() <= 0.150, "end {fe} vs {e}");
        assert!((fs - s).abs() <= 0.150, "start {fs} vs {s}");
        worst_start = worst_start.max((fs - s).abs());
        assert!((secs(t.detected_at) - fe - 0.7).abs() <= 0.010 + 1e-9);
    }
    println!(
        "worst start error {:.0} ms (issue: 150 ms)",
        worst_start * 1000.0
    );
}
