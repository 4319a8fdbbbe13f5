//! Google's WebRTC VAD (libfvad, C, bundled and compiled by the `webrtc-vad` crate), as a
//! [`SpeechModel`](crate::SpeechModel) for side-by-side comparison (feature `webrtc-vad`).
//!
//! The only `unsafe` in this crate is here: `webrtc_vad::Vad` holds a raw pointer to its C
//! state and so is not `Send`, while [`SpeechModel`](crate::SpeechModel) must be.
#![allow(unsafe_code)]

use crate::model::{Decision, HOP, SpeechModel, sample};

/// `webrtc_vad::Vad`, movable between threads.
struct SendVad(webrtc_vad::Vad);

// SAFETY: the wrapped value owns one heap-allocated libfvad instance (`fvad_new`), which has
// no thread affinity: no thread-local storage, no global state, no callbacks. Every call goes
// through `&mut self`, so it is never used from two threads at once; moving the owner to
// another thread is then sound. It is not `Sync`, and is not made so.
unsafe impl Send for SendVad {}

/// WebRTC VAD at 16 kHz on 10 ms frames, in one of its four modes (0 = quality … 3 = very
/// aggressive). Its output is a hard decision: the probability is 1.0 or 0.0.
pub struct WebRtcModel {
    vad: SendVad,
    pcm: [i16; HOP],
    mode: u8,
}

impl std::fmt::Debug for WebRtcModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcModel")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Default for WebRtcModel {
    /// Mode 3 (very aggressive), the mode the reference figures use.
    fn default() -> Self {
        Self::new(3)
    }
}

impl WebRtcModel {
    /// A detector in `mode` (values above 3 mean 3). Allocates the C state.
    pub fn new(mode: u8) -> Self {
        let mode = mode.min(3);
        WebRtcModel {
            vad: SendVad(webrtc_vad::Vad::new_with_rate_and_mode(
                webrtc_vad::SampleRate::Rate16kHz,
                vad_mode(mode),
            )),
            pcm: [0; HOP],
            mode,
        }
    }
}

fn vad_mode(mode: u8) -> webrtc_vad::VadMode {
    match mode {
        0 => webrtc_vad::VadMode::Quality,
        1 => webrtc_vad::VadMode::LowBitrate,
        2 => webrtc_vad::VadMode::Aggressive,
        _ => webrtc_vad::VadMode::VeryAggressive,
    }
}

impl SpeechModel for WebRtcModel {
    fn name(&self) -> &'static str {
        "webrtc"
    }

    fn process(&mut self, hop: &[f32]) -> f32 {
        for (i, p) in self.pcm.iter_mut().enumerate() {
            *p = (sample(hop, i) * 32767.0).round() as i16;
        }
        // A 10 ms frame at 16 kHz is a length libfvad accepts, so it does not fail; a failure
        // would read as non-speech.
        match self.vad.0.is_voice_segment(&self.pcm) {
            Ok(true) => 1.0,
            _ => 0.0,
        }
    }

    fn reset(&mut self) {
        self.vad.0.reset();
    }

    fn default_decision(&self) -> Decision {
        Decision {
            on: 0.5,
            off: 0.5,
            hangover: 0,
        }
    }
}
