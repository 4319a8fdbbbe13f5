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
        }
    }
}

/// The MLP on a feature vector: returns the logit.
pub(crate) fn mlp(
    f: &[f32; N_FEATURES],
    x: &mut [f32; N_FEATURES],
    h: &mut [f32; w::HIDDEN],
) -> f32 {
    for i in 0..N_FEATURES {
        x[i] = (f[i] - w::MEAN[i]) * w::INV_STD[i];
    }
    for (j, hj) in h.iter_mut().enumerate() {
        let row = &w::W1[j];
        let mut s = w::B1[j];
        for i in 0..N_FEATURES {
            s += row[i] * x[i];
        }
        *hj = s.max(0.0);
    }
    let mut o = w::B2;
    for j in 0..w::HIDDEN {
        o += w::W2[j] * h[j];
    }
    o
}

impl SpeechModel for VoxflowModel {
    fn name(&self) -> &'static str {
        "voxflow"
    }

    fn process(&mut self, hop: &[f32]) -> f32 {
        let f = self.fe.process(hop);
        let logit = mlp(f, &mut self.x, &mut self.h);
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
