#![allow(clippy::needless_range_loop)] // index loops over fixed-size weight arrays

use super::weights as w;
use crate::features::{FeatureExtractor, N_FEATURES};
use crate::model::{Decision, SpeechModel};

/// The voxflow default model: the [`FeatureExtractor`](crate::features::FeatureExtractor)
/// front end (band SNRs over minimum-statistics noise floors, spectral shape, flatness,
/// harmonicity, flux, centroid, with 40 ms / 160 ms context and level/harmonicity modulation)
/// followed by a one-hidden-layer MLP whose weights were trained on material built from other
/// sources than the evaluation set (see the crate README and `train/`).
#[derive(Debug)]
pub struct VoxflowModel {
    fe: FeatureExtractor,
    x: [f32; N_FEATURES],
    h: [f32; w::HIDDEN],
    h2: [f32; w::HIDDEN2],
}

impl Default for VoxflowModel {
    fn default() -> Self {
        Self::new()
    }
}

impl VoxflowModel {
    /// A new model (allocates the FFT plans).
    pub fn new() -> Self {
        VoxflowModel {
            fe: FeatureExtractor::new(),
            x: [0.0; N_FEATURES],
            h: [0.0; w::HIDDEN],
            h2: [0.0; w::HIDDEN2],
        }
    }
}

/// The MLP on a feature vector (standardise, one or two ReLU hidden layers, linear output):
/// returns the logit. `HIDDEN2 == 0` means one hidden layer.
pub(crate) fn mlp(
    f: &[f32; N_FEATURES],
    x: &mut [f32; N_FEATURES],
    h: &mut [f32; w::HIDDEN],
    h2: &mut [f32; w::HIDDEN2],
) -> f32 {
    for i in 0..N_FEATURES {
        x[i] = (f[i] - w::MEAN[i]) * w::INV_STD[i];
    }
    for (hj, (row, b)) in h.iter_mut().zip(w::W1.iter().zip(&w::B1)) {
        *hj = dot(row, x, *b).max(0.0);
    }
    if w::HIDDEN2 == 0 {
        return dot(&w::WO, h, w::BO);
    }
    for (hj, (row, b)) in h2.iter_mut().zip(w::W2.iter().zip(&w::B2)) {
        *hj = dot(row, h, *b).max(0.0);
    }
    dot(&w::WO, h2, w::BO)
}

/// `bias + a·b` over the shorter of the two slices, in four independent partial sums so the
/// compiler can vectorise it.
#[inline]
fn dot(a: &[f32], b: &[f32], bias: f32) -> f32 {
    let mut acc = [0.0f32; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (pa, pb) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += pa[k] * pb[k];
        }
    }
    let mut s = bias + (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (p, q) in ra.iter().zip(rb) {
        s += p * q;
    }
    s
}

impl SpeechModel for VoxflowModel {
    fn name(&self) -> &'static str {
        "voxflow"
    }

    fn process(&mut self, hop: &[f32]) -> f32 {
        let f = self.fe.process(hop);
        let logit = mlp(f, &mut self.x, &mut self.h, &mut self.h2);
        let p = 1.0 / (1.0 + (-logit).exp());
        if p.is_finite() { p } else { 0.0 }
    }

    fn reset(&mut self) {
        self.fe.reset();
    }

    fn default_decision(&self) -> Decision {
        Decision {
            on: w::DECISION_ON,
            off: w::DECISION_OFF,
            hangover: w::DECISION_HANGOVER,
        }
    }
}
