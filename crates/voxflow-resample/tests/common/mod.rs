//! Helpers shared by the integration tests: drive a stage, analyse its output in f64.
#![allow(dead_code)]

use std::f64::consts::PI;
use voxflow_core::{AudioFormat, AudioFrame, AudioStage, MediaTime};
use voxflow_resample::{FrameSize, Preset, Resampler, ResamplerConfig};

pub const PRESETS: [Preset; 3] = [Preset::LowLatency, Preset::Balanced, Preset::High];
pub const PAIRS: [(u32, u32); 5] = [
    (44_100, 48_000),
    (48_000, 16_000),
    (16_000, 48_000),
    (8_000, 48_000),
    (48_000, 44_100),
];

pub fn fmt(rate: u32, channels: u16) -> AudioFormat {
    AudioFormat::new(rate, channels).unwrap()
}

pub fn resampler(fin: u32, fout: u32, ch: u16, preset: Preset) -> Resampler {
    Resampler::new(
        ResamplerConfig::new(fmt(fin, ch), fmt(fout, ch))
            .preset(preset)
            .frame(FrameSize::Duration(std::time::Duration::from_millis(10))),
    )
    .unwrap()
}

/// Output of a run: interleaved samples, and each frame's (pts, frames).
pub struct Run {
    pub samples: Vec<f32>,
    pub frames: Vec<(MediaTime, usize)>,
}

/// Pushes `input` (interleaved) in pieces of the given sizes (cycled), polling until false after
/// each push; then finishes and drains.
pub fn run(rs: &mut Resampler, input: &[f32], sizes: &[usize], start_pts: MediaTime) -> Run {
    let inf = rs.input_format();
    let ch = usize::from(inf.channels);
    let mut out = AudioFrame::with_capacity(rs.output_format(), rs.max_output_frames());
    let mut frame = AudioFrame::with_capacity(inf, rs.max_input_frames());
    let mut res = Run {
        samples: Vec::new(),
        frames: Vec::new(),
    };
    let mut pos = 0;
    let n = input.len() / ch;
    let mut i = 0;
    let mut drain = |rs: &mut Resampler, res: &mut Run| {
        while rs.poll(&mut out).unwrap() {
            res.samples.extend_from_slice(out.samples());
            res.frames.push((out.pts(), out.frames()));
        }
    };
    while pos < n {
        let k = sizes[i % sizes.len()]
            .min(n - pos)
            .min(rs.max_input_frames());
        i += 1;
        frame.reset(inf);
        frame
            .extend_from_interleaved(&input[pos * ch..(pos + k) * ch])
            .unwrap();
        frame.set_pts(start_pts.rescale(inf.rate).add_ticks(pos as i64));
        rs.push(&frame).unwrap();
        pos += k;
        drain(rs, &mut res);
    }
    rs.finish().unwrap();
    drain(rs, &mut res);
    res
}

pub fn sine(rate: u32, f: f64, amp: f64, frames: usize) -> Vec<f32> {
    (0..frames)
        .map(|i| (amp * (2.0 * PI * f * i as f64 / f64::from(rate)).sin()) as f32)
        .collect()
}

/// Least-squares fit of `a·sin + b·cos` at frequency `f` over `x`: (amplitude, rms of what is
/// left after removing the fit).
pub fn fit(x: &[f32], f: f64, fs: f64) -> (f64, f64) {
    let (mut ss, mut sc, mut cc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let (s, c) = (2.0 * PI * f * i as f64 / fs).sin_cos();
        let v = f64::from(v);
        ss += s * s;
        sc += s * c;
        cc += c * c;
        ys += v * s;
        yc += v * c;
    }
    let det = ss * cc - sc * sc;
    let a = (ys * cc - yc * sc) / det;
    let b = (yc * ss - ys * sc) / det;
    let mut e = 0.0;
    for (i, &v) in x.iter().enumerate() {
        let (s, c) = (2.0 * PI * f * i as f64 / fs).sin_cos();
        e += (f64::from(v) - a * s - b * c).powi(2);
    }
    ((a * a + b * b).sqrt(), (e / x.len() as f64).sqrt())
}

pub fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

pub fn db(x: f64) -> f64 {
    20.0 * x.max(1e-12).log10()
}

/// The steady middle half of a signal.
pub fn middle(x: &[f32]) -> &[f32] {
    let n = x.len();
    &x[n / 4..3 * n / 4]
}
