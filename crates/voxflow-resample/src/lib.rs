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
