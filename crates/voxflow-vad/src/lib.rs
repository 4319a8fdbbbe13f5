#![doc = include_str!("../README.md")]
// No unsafe code, except the one `unsafe impl Send` of the optional WebRTC VAD wrapper
// (`models/webrtc.rs`, feature `webrtc-vad`).
#![cfg_attr(not(feature = "webrtc-vad"), forbid(unsafe_code))]
#![deny(missing_docs)]

mod error;
#[cfg(feature = "lab")]
pub mod eval;
pub mod features;
mod model;
pub mod models;
mod turn;
mod vad;
#[cfg(feature = "lab")]
pub mod wav;

pub use error::Error;
pub use model::{Decision, HOP, MODEL_RATE, ModelKind, SpeechModel};
pub use turn::{Turn, TurnConfig, TurnDetector, TurnState, turns};
pub use vad::{Segment, Vad, VadConfig, VadFrame, segments};
// `voxflow-core`'s events, and the core items this crate's API takes and returns, so it can
// be used alone.
pub use voxflow_core::{AudioFormat, AudioFrame, AudioStage, MediaTime, StageEvent, TurnEvent};
