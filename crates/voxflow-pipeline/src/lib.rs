#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod builder;
mod chain;
mod clock;
mod error;
mod event;
mod flow;
mod handle;
mod histogram;
mod limit;
mod link;
mod node;
mod pacer;
mod recorder;
mod report;
mod ring;
mod ring_item;
mod scheduler;
mod shared;
pub mod sinks;
pub mod sources;
pub mod stages;
mod typed;
mod wake;
mod walk;
mod wav_file;
mod wav_stream;

pub use builder::{
    BoxedDecoder, BoxedEncoder, BoxedPacketStage, Branch, PACKET_CAPACITY, Pipeline,
    PipelineBuilder,
};
pub use chain::{Chain, ChainStatus};
pub use clock::{Clock, SystemClock, VirtualClock};
pub use error::Error;
pub use event::{Control, Event};
pub use flow::Flow;
pub use handle::{Handle, Running};
pub use histogram::Histogram;
pub use limit::Limited;
pub use link::{Capacity, Link, LinkStats, Overflow, frame_ring, item_ring, packet_ring};
pub use pacer::Pacing;
pub use report::{LatencyStats, LinkReport, Report, Role, StageLatency};
pub use ring::{RingItem, RingReceiver, RingSender, TrySend};
pub use scheduler::{Scheduler, Session};
pub use typed::{BranchBuilder, ChainBuilder, Tee};
pub use wake::Notify;
// The `voxflow-core` items this crate's API takes and returns, so it can be used alone.
pub use voxflow_core::{
    AudioFormat, AudioFrame, AudioSink, AudioSource, AudioStage, MediaTime, Packet, PacketSink,
    PacketStage, Reframer,
};
