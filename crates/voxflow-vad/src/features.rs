//! The feature front end of the voxflow default model (public so that the training tools in
//! `train/` compute exactly the features the runtime model sees).
//!
//! Per 10 ms hop of 16 kHz audio: a DC blocker, a 512-point (32 ms) Hann-windowed real FFT,
//! ten band energies with a minimum-statistics noise floor per band (minimum of the smoothed
//! band energy over the last 1.6 s), band SNRs, the spectral shape, spectral flatness,
//! harmonicity (normalized autocorrelation peak for pitch lags of 80–400 Hz, computed from the
//! band-limited power spectrum with an inverse FFT), spectral flux and centroid; then two
//! exponential averages of every feature (≈ 40 ms and ≈ 160 ms) and two modulation measures
//! (standard deviation of the level and of the harmonicity over ≈ 300 ms).

#![allow(clippy::needless_range_loop)] // fixed-size DSP loops index several arrays

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// Samples per hop (10 ms at 16 kHz).
pub const HOP: usize = 160;
/// FFT window length (32 ms at 16 kHz).
pub const WIN: usize = 512;
const BINS: usize = WIN / 2 + 1;
/// Number of frequency bands.
pub const N_BANDS: usize = 10;
/// Band edges in FFT bins (31.25 Hz each): 62, 250, 500, 750, 1000, 1500, 2000, 3000, 4000,
/// 6000, 8000 Hz.
const BAND_EDGES: [usize; N_BANDS + 1] = [2, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256];
/// Per-frame base features.
pub const N_BASE: usize = 2 * N_BANDS + 6;
/// Length of the feature vector given to the classifier.
pub const N_FEATURES: usize = 3 * N_BASE + 2;
const SUB_WIN: usize = 20; // frames per minimum-statistics sub-window (200 ms)
const N_SUB: usize = 8; // sub-windows (1.6 s)
const LAG_MIN: usize = 40; // 400 Hz
const LAG_MAX: usize = 200; // 80 Hz
const EPS: f32 = 1e-10;

/// Streaming feature extractor: push 10 ms hops, read the feature vector.
pub struct FeatureExtractor {
    fft: Arc<dyn RealToComplex<f32>>,
    ifft: Arc<dyn ComplexToReal<f32>>,
    window: [f32; WIN],
    lag_norm: [f32; LAG_MAX + 1],
    history: [f32; WIN],
    buf: [f32; WIN],
    spec: [Complex<f32>; BINS],
    scratch_f: Vec<Complex<f32>>,
    scratch_i: Vec<Complex<f32>>,
    acf: [f32; WIN],
    dc_x: f32,
    dc_y: f32,
    smooth: [f32; N_BANDS],
    sub_min: [[f32; N_SUB]; N_BANDS],
    cur_min: [f32; N_BANDS],
    sub_pos: usize,
    sub_idx: usize,
    prev_e: [f32; N_BANDS],
    ema_fast: [f32; N_BASE],
    ema_slow: [f32; N_BASE],
    lvl_m: f32,
    lvl_m2: f32,
    har_m: f32,
    har_m2: f32,
    frames: u64,
    out: [f32; N_FEATURES],
}

impl std::fmt::Debug for FeatureExtractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureExtractor")
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl Default for FeatureExtractor {
    fn default() -> Self {
        Self::new()
    }
}

impl FeatureExtractor {
    /// A new extractor (allocates the FFT plans and scratch; nothing allocates afterwards).
    pub fn new() -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(WIN);
        let ifft = planner.plan_fft_inverse(WIN);
        let scratch_f = fft.make_scratch_vec();
        let scratch_i = ifft.make_scratch_vec();
        let mut window = [0.0f32; WIN];
        for (i, w) in window.iter_mut().enumerate() {
            let x = std::f32::consts::TAU * i as f32 / WIN as f32;
            *w = 0.5 - 0.5 * x.cos();
        }
        // Autocorrelation of the window, to undo its taper in the normalized ACF.
        let mut lag_norm = [1.0f32; LAG_MAX + 1];
        let w0: f32 = window.iter().map(|w| w * w).sum();
        for (lag, n) in lag_norm.iter_mut().enumerate() {
            let s: f32 = (0..WIN - lag).map(|i| window[i] * window[i + lag]).sum();
            *n = (s / w0).max(1e-3);
        }
        let mut fe = FeatureExtractor {
            fft,
            ifft,
            window,
            lag_norm,
            history: [0.0; WIN],
            buf: [0.0; WIN],
            spec: [Complex::new(0.0, 0.0); BINS],
            scratch_f,
            scratch_i,
            acf: [0.0; WIN],
            dc_x: 0.0,
            dc_y: 0.0,
            smooth: [0.0; N_BANDS],
            sub_min: [[0.0; N_SUB]; N_BANDS],
            cur_min: [0.0; N_BANDS],
            sub_pos: 0,
            sub_idx: 0,
            prev_e: [0.0; N_BANDS],
            ema_fast: [0.0; N_BASE],
            ema_slow: [0.0; N_BASE],
            lvl_m: 0.0,
            lvl_m2: 0.0,
            har_m: 0.0,
            har_m2: 0.0,
            frames: 0,
            out: [0.0; N_FEATURES],
        };
        fe.reset();
        fe
    }

    /// Forget all state (as if newly built).
    pub fn reset(&mut self) {
        self.history = [0.0; WIN];
        self.dc_x = 0.0;
        self.dc_y = 0.0;
        self.frames = 0;
        self.sub_pos = 0;
        self.sub_idx = 0;
        self.ema_fast = [0.0; N_BASE];
        self.ema_slow = [0.0; N_BASE];
        self.lvl_m = 0.0;
        self.lvl_m2 = 0.0;
        self.har_m = 0.0;
        self.har_m2 = 0.0;
        self.out = [0.0; N_FEATURES];
    }

    /// The feature vector of the last hop.
    pub fn features(&self) -> &[f32; N_FEATURES] {
        &self.out
    }

    /// Process one hop of [`HOP`] samples (16 kHz, nominally in [-1, 1]; NaN and infinities
    /// are read as 0, values are clamped to ±4). Shorter input is zero-padded, longer input is
    /// truncated. Returns the feature vector.
    pub fn process(&mut self, hop: &[f32]) -> &[f32; N_FEATURES] {
        self.history.copy_within(HOP.., 0);
        let tail = &mut self.history[WIN - HOP..];
        for (i, t) in tail.iter_mut().enumerate() {
            let x = hop.get(i).copied().unwrap_or(0.0);
            let x = if x.is_finite() {
                x.clamp(-4.0, 4.0)
            } else {
                0.0
            };
            // DC blocker (≈ 13 Hz corner).
            let y = x - self.dc_x + 0.995 * self.dc_y;
            self.dc_x = x;
            self.dc_y = if y.abs() < 1e-20 { 0.0 } else { y };
            *t = self.dc_y;
        }
        for ((b, h), w) in self.buf.iter_mut().zip(&self.history).zip(&self.window) {
            *b = h * w;
        }
        if self
            .fft
            .process_with_scratch(&mut self.buf, &mut self.spec, &mut self.scratch_f)
            .is_err()
        {
            // cannot happen: buffer lengths are fixed at construction
            return &self.out;
        }
        // Power spectrum (scaled so a full-scale sine is ≈ 0 dB in its band).
        let scale = 4.0 / (WIN as f32 * WIN as f32 * 0.25);
        let mut power = [0.0f32; BINS];
        for (p, c) in power.iter_mut().zip(&self.spec) {
            *p = c.norm_sqr() * scale;
        }
        let first = self.frames == 0;
        self.frames += 1;

        let mut base = [0.0f32; N_BASE];
        // Band energies, noise floor, SNR.
        let mut e = [0.0f32; N_BANDS];
        let mut total = 0.0f32;
        let mut total_floor = 0.0f32;
        for b in 0..N_BANDS {
            let s: f32 = power[BAND_EDGES[b]..BAND_EDGES[b + 1]].iter().sum();
            e[b] = 10.0 * (s + EPS).log10();
            if first {
                self.smooth[b] = e[b];
                self.sub_min[b] = [e[b]; N_SUB];
                self.cur_min[b] = e[b];
                self.prev_e[b] = e[b];
            } else {
                self.smooth[b] += 0.3 * (e[b] - self.smooth[b]);
            }
            self.cur_min[b] = self.cur_min[b].min(self.smooth[b]);
            let floor = self.sub_min[b]
                .iter()
                .fold(self.cur_min[b], |m, &v| m.min(v));
            base[b] = (e[b] - floor).clamp(-10.0, 60.0) / 10.0;
            if b < 8 {
                total += s;
                total_floor += 10f32.powf(floor / 10.0);
            }
        }
        self.sub_pos += 1;
        if self.sub_pos == SUB_WIN {
            self.sub_pos = 0;
            for b in 0..N_BANDS {
                self.sub_min[b][self.sub_idx] = self.cur_min[b];
                self.cur_min[b] = self.smooth[b];
            }
            self.sub_idx = (self.sub_idx + 1) % N_SUB;
        }
        let level = 10.0 * (total + EPS).log10();
        base[N_BANDS] = (level.clamp(-100.0, 10.0) + 50.0) / 20.0;
        base[N_BANDS + 1] = (level - 10.0 * (total_floor + EPS).log10()).clamp(-10.0, 60.0) / 10.0;
        let mean_e: f32 = e[..8].iter().sum::<f32>() / 8.0;
        for b in 0..N_BANDS {
            base[N_BANDS + 2 + b] = ((e[b] - mean_e) / 10.0).clamp(-6.0, 6.0);
        }
        let k = 2 * N_BANDS + 2;
        // Spectral flatness over 250–4000 Hz.
        let (mut lsum, mut asum) = (0.0f32, 0.0f32);
        for p in &power[8..128] {
            lsum += (p + EPS).ln();
            asum += p + EPS;
        }
        let n = 120.0;
        base[k] = ((lsum / n).exp() / (asum / n)).clamp(0.0, 1.0);
        // Harmonicity: ACF of the 62–4000 Hz power spectrum.
        for (i, c) in self.spec.iter_mut().enumerate() {
            let p = if (2..=128).contains(&i) {
                power[i]
            } else {
                0.0
            };
            *c = Complex::new(p, 0.0);
        }
        let mut har = 0.0f32;
        if self
            .ifft
            .process_with_scratch(&mut self.spec, &mut self.acf, &mut self.scratch_i)
            .is_ok()
            && self.acf[0] > 1e-9
        {
            let r0 = self.acf[0];
            for lag in LAG_MIN..=LAG_MAX {
                let r = self.acf[lag] / (r0 * self.lag_norm[lag]);
                if r > har {
                    har = r;
                }
            }
        }
        base[k + 1] = har.clamp(0.0, 1.0);
        // Spectral flux (positive band-energy change).
        let mut flux = 0.0f32;
        for b in 0..N_BANDS {
            flux += (e[b] - self.prev_e[b]).max(0.0);
            self.prev_e[b] = e[b];
        }
        base[k + 2] = (flux / N_BANDS as f32 / 10.0).min(4.0);
        // Spectral centroid 62–8000 Hz.
        let (mut num, mut den) = (0.0f32, EPS);
        for (i, p) in power.iter().enumerate().take(256).skip(2) {
            num += i as f32 * p;
            den += p;
        }
        base[k + 3] = num / den / 256.0;

        // Context.
        let (af, asl) = if first { (1.0, 1.0) } else { (0.25, 0.06) };
        for i in 0..N_BASE {
            self.ema_fast[i] += af * (base[i] - self.ema_fast[i]);
            self.ema_slow[i] += asl * (base[i] - self.ema_slow[i]);
        }
        let am = if first { 1.0 } else { 0.033 };
        let lv = base[N_BANDS + 1];
        self.lvl_m += am * (lv - self.lvl_m);
        self.lvl_m2 += am * (lv * lv - self.lvl_m2);
        let h = base[k + 1];
        self.har_m += am * (h - self.har_m);
        self.har_m2 += am * (h * h - self.har_m2);
        self.out[..N_BASE].copy_from_slice(&base);
        self.out[N_BASE..2 * N_BASE].copy_from_slice(&self.ema_fast);
        self.out[2 * N_BASE..3 * N_BASE].copy_from_slice(&self.ema_slow);
        self.out[3 * N_BASE] = (self.lvl_m2 - self.lvl_m * self.lvl_m).max(0.0).sqrt();
        self.out[3 * N_BASE + 1] = (self.har_m2 - self.har_m * self.har_m).max(0.0).sqrt() * 4.0;
        &self.out
    }
}
