use crate::model::{Decision, HOP, SpeechModel, sample};

const WIN: usize = 256;

/// The [earshot](https://docs.rs/earshot) neural VAD (16 kHz, 256-sample = 16 ms windows),
/// adapted to the 10 ms grid: hops are accumulated, earshot runs whenever 256 new samples are
/// available (5 times per 8 hops), and each hop reports the latest score (at most 16 ms old).
pub struct EarshotModel {
    det: Box<earshot::Detector>,
    buf: [f32; WIN],
    fill: usize,
    score: f32,
}

impl std::fmt::Debug for EarshotModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EarshotModel")
            .field("score", &self.score)
            .finish_non_exhaustive()
    }
}

impl Default for EarshotModel {
    fn default() -> Self {
        Self::new()
    }
}

impl EarshotModel {
    /// A new detector (allocates earshot's state, ≈ 8 KiB).
    pub fn new() -> Self {
        EarshotModel {
            det: earshot::Detector::default_boxed(),
            buf: [0.0; WIN],
            fill: 0,
            score: 0.0,
        }
    }
}

impl SpeechModel for EarshotModel {
    fn name(&self) -> &'static str {
        "earshot"
    }

    fn process(&mut self, hop: &[f32]) -> f32 {
        for i in 0..HOP {
            self.buf[self.fill] = sample(hop, i);
            self.fill += 1;
            if self.fill == WIN {
                self.fill = 0;
                let s = self.det.predict_f32(&self.buf);
                self.score = if s.is_finite() {
                    s.clamp(0.0, 1.0)
                } else {
                    0.0
                };
            }
        }
        self.score
    }

    fn reset(&mut self) {
        self.det.reset();
        self.fill = 0;
        self.score = 0.0;
    }

    fn default_decision(&self) -> Decision {
        Decision {
            on: 0.5,
            off: 0.5,
            hangover: 0,
        }
    }
}
