#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod clock;
mod error;
mod histogram;
mod limit;
mod link;
mod pipeline;
mod report;
pub mod sinks;
pub mod sources;
pub mod stages;

pub use clock::{Clock, SystemClock, VirtualClock};
pub use error::Error;
pub use histogram::Histogram;
pub use limit::Limited;
pub use link::{Capacity, Link, LinkStats, Overflow, RingReceiver, RingSender, frame_ring};
pub use pipeline::{
    BoxedEncoder, Control, Event, PACKET_CAPACITY, Pacing, Pipeline, PipelineBuilder, Running,
};
pub use report::{LatencyStats, LinkReport, Report, Role, StageLatency};
