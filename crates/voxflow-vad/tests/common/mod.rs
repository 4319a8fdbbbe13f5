//! Helpers specific to the VAD's integration tests (data paths come from `voxflow-testkit`).
#![allow(dead_code)]

/// A deterministic pseudo-random generator (xorshift).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

use voxflow_vad::{Decision, SpeechModel};

/// A scripted model: probability 1 when the hop's RMS is above 0.01 (turns that surely start
/// and end where the audio says).
pub struct Level;

impl SpeechModel for Level {
    fn name(&self) -> &'static str {
        "level"
    }
    fn process(&mut self, hop: &[f32]) -> f32 {
        let e: f32 = hop.iter().map(|x| x * x).sum::<f32>() / hop.len().max(1) as f32;
        if e.sqrt() > 0.01 { 1.0 } else { 0.0 }
    }
    fn reset(&mut self) {}
    fn default_decision(&self) -> Decision {
        Decision {
            on: 0.5,
            off: 0.5,
            hangover: 0,
        }
    }
}

/// 16 kHz mono: tone bursts at the given (start, end) seconds, silence elsewhere.
pub fn bursts(spans: &[(f64, f64)], total: f64) -> Vec<f32> {
    let n = (total * 16_000.0) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / 16_000.0;
            if spans.iter().any(|&(a, b)| t >= a && t < b) {
                0.3 * (t * 1000.0).sin() as f32
            } else {
                0.0
            }
        })
        .collect()
}

/// Frame `k` of `n` sample frames (in the frame's own format): a 200 Hz buzz switching on and
/// off every 0.5 s (speech-like level changes), with a faint 9 kHz tone at level `floor` in
/// the gaps.
pub fn buzz_frame(frame: &mut voxflow_core::AudioFrame, k: usize, n: usize, floor: f32) {
    let fmt = frame.format();
    let (ch, rate) = (usize::from(fmt.channels), fmt.rate as f32);
    frame.reset(fmt);
    // The callers size their frames for `n` sample frames.
    frame.set_frames(n).unwrap();
    for (i, s) in frame.samples_mut().chunks_mut(ch).enumerate() {
        let t = (k * n + i) as f32 / rate;
        let on = ((t * 2.0) as u32).is_multiple_of(2);
        let v = if on {
            0.2 * (std::f32::consts::TAU * 200.0 * t).sin()
        } else {
            floor * (t * 9000.0).sin()
        };
        s.fill(v);
    }
    frame.set_pts(voxflow_core::MediaTime::new((k * n) as i64, fmt.rate));
}
