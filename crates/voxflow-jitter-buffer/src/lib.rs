#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod buffer;
mod config;
mod estimator;
mod seq;
mod stage;
mod stats;
mod store;
pub mod stretch;
mod sync;

pub use buffer::{Insert, JitterBuffer, Playout, Pull};
pub use config::{DtxFill, JitterConfig};
pub use estimator::DelayEstimator;
pub use stage::JitterStage;
pub use stats::JitterStats;
pub use voxflow_core::{AudioFormat, AudioFrame, Error, Packet, PacketDecoder, RtpInfo};
