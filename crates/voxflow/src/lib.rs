#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use voxflow_core as core;
pub use voxflow_core::{
    AudioFormat, AudioFrame, AudioSink, AudioSource, AudioStage, Error, FramePool, MediaTime,
    Packet, PacketDecoder, PacketSink, PacketSource, PacketStage, Reframer, Result, RtpInfo,
    StageEvent, Trace, TurnEvent,
};

/// Streaming decode (`voxflow-decode`): files, bytes, readers and pipes to fixed-size frames.
#[cfg(feature = "decode")]
pub use voxflow_decode as decode;

/// Resampling and channel remix (`voxflow-resample`) into fixed-size frames.
#[cfg(feature = "resample")]
pub use voxflow_resample as resample;

/// Threads, ring links, pacing and latency reports (`voxflow-pipeline`).
#[cfg(feature = "pipeline")]
pub use voxflow_pipeline as pipeline;

/// Opus encode/decode, RTP packetization and Ogg Opus files (`voxflow-encode`).
#[cfg(feature = "encode")]
pub use voxflow_encode as encode;

/// Voice activity detection and turn detection (`voxflow-vad`).
#[cfg(feature = "vad")]
pub use voxflow_vad as vad;
