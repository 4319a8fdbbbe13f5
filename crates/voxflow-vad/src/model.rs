//! The [`SpeechModel`] trait, the built-in models and their decision defaults.

use crate::error::Error;

/// Samples per model hop: 10 ms at 16 kHz.
pub const HOP: usize = 160;
/// The sample rate every [`SpeechModel`] works at.
pub const MODEL_RATE: u32 = 16_000;

/// Turns a probability stream into decisions: hysteresis (speech starts when the probability
/// reaches `on`, ends when it falls below `off`) plus `hangover` frames of 10 ms kept as speech
/// after it ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    /// Probability at or above which speech starts.
    pub on: f32,
    /// Probability below which speech ends (≤ `on`).
    pub off: f32,
    /// 10 ms frames still called speech after the probability fell below `off`.
    pub hangover: u32,
}

impl Decision {
    /// Checks `0 ≤ off ≤ on ≤ 1`.
    pub fn validate(&self) -> Result<(), Error> {
        if !(0.0..=1.0).contains(&self.on) || !(0.0..=1.0).contains(&self.off) || self.off > self.on
        {
            return Err(Error::InvalidConfig {
                what: "decision thresholds",
                reason: format!(
                    "need 0 <= off <= on <= 1, got on {} off {}",
                    self.on, self.off
                ),
            });
        }
        Ok(())
    }
}

/// A frame speech model: 16 kHz mono `f32` audio in, one speech probability per 10 ms hop out.
///
/// Models are stateful across calls (noise floors, recurrent state, context) and must not
/// allocate in [`SpeechModel::process`]. The trait is object-safe and `Send`.
pub trait SpeechModel: Send {
    /// A short name ("voxflow", "energy", "earshot", …).
    fn name(&self) -> &'static str;
    /// Processes the next hop of [`HOP`] samples at [`MODEL_RATE`] and returns the speech
    /// probability in `[0, 1]`. Shorter input is zero-padded, longer input truncated; NaN and
    /// infinite samples are treated as 0 and never poison the state.
    fn process(&mut self, hop: &[f32]) -> f32;
    /// Forgets all state (a new stream).
    fn reset(&mut self);
    /// The decision rule this model was tuned with (on validation material, see the README).
    fn default_decision(&self) -> Decision;
}

/// The built-in models.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ModelKind {
    /// The voxflow default: spectral features, noise-floor tracking and a small MLP.
    #[default]
    Voxflow,
    /// A cheap energy-over-noise-floor detector.
    Energy,
    /// The earshot neural VAD (feature `earshot`, on by default).
    Earshot,
    /// Google's WebRTC VAD in mode 3, for comparison (feature `webrtc-vad`, which compiles
    /// the bundled C with the system C compiler).
    WebRtc,
}

impl ModelKind {
    /// Every kind, compiled in or not.
    pub const ALL: [ModelKind; 4] = [
        ModelKind::Voxflow,
        ModelKind::Energy,
        ModelKind::Earshot,
        ModelKind::WebRtc,
    ];

    /// The model's name as accepted by [`ModelKind::from_name`].
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Voxflow => "voxflow",
            ModelKind::Energy => "energy",
            ModelKind::Earshot => "earshot",
            ModelKind::WebRtc => "webrtc",
        }
    }

    /// Parses a model name (`voxflow`, `energy`, `earshot`, `webrtc`).
    pub fn from_name(name: &str) -> Option<ModelKind> {
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// True when this build contains the model.
    pub fn is_available(self) -> bool {
        match self {
            ModelKind::Voxflow | ModelKind::Energy => true,
            ModelKind::Earshot => cfg!(feature = "earshot"),
            ModelKind::WebRtc => cfg!(feature = "webrtc-vad"),
        }
    }

    /// Builds the model (allocates; do it before the real-time loop).
    pub fn build(self) -> Result<Box<dyn SpeechModel>, Error> {
        match self {
            ModelKind::Voxflow => Ok(Box::new(crate::models::VoxflowModel::new())),
            ModelKind::Energy => Ok(Box::new(crate::models::EnergyModel::new())),
            #[cfg(feature = "earshot")]
            ModelKind::Earshot => Ok(Box::new(crate::models::EarshotModel::new())),
            #[cfg(not(feature = "earshot"))]
            ModelKind::Earshot => Err(Error::ModelUnavailable {
                model: "earshot",
                feature: "earshot",
            }),
            #[cfg(feature = "webrtc-vad")]
            ModelKind::WebRtc => Ok(Box::new(crate::models::WebRtcModel::default())),
            #[cfg(not(feature = "webrtc-vad"))]
            ModelKind::WebRtc => Err(Error::ModelUnavailable {
                model: "webrtc",
                feature: "webrtc-vad",
            }),
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Reads sample `i` of a hop, sanitized: missing → 0, NaN/inf → 0, clamped to [-1, 1].
#[inline]
pub(crate) fn sample(hop: &[f32], i: usize) -> f32 {
    match hop.get(i) {
        Some(x) if x.is_finite() => x.clamp(-1.0, 1.0),
        _ => 0.0,
    }
}
