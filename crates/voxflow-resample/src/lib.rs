#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod engine;
mod error;
mod remix;
mod resampler;

pub use engine::Engine;
pub use error::Error;
pub use remix::{MINUS_3DB, Remix, remix_gains};
pub use resampler::{FrameSize, Preset, Resampler, ResamplerConfig};
// The `voxflow-core` items this crate's API takes and returns, so it can be used alone.
pub use voxflow_core::{AudioFormat, AudioFrame, AudioStage, MediaTime};
