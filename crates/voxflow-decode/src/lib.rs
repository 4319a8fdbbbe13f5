#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod codec;
mod config;
mod decoder;
mod demux;
mod error;
#[cfg(feature = "opus")]
mod opus;
mod pcm;
mod riff_check;
mod source;
#[cfg(feature = "lab")]
pub mod testing;
mod timeline;
mod wav;

pub use config::{DecoderConfig, MAX_FRAME_DURATION};
pub use decoder::{DecodeStats, Decoder, StreamInfo};
pub use error::Error;
pub use source::Preloaded;
// The `voxflow-core` items this crate's API takes and returns, so it can be used alone.
pub use voxflow_core::{AudioFormat, AudioFrame, AudioSource, MediaTime};
