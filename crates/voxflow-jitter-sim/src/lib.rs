//! Replays packet-arrival traces through jitter buffers side by side.
//!
//! A trace ([`trace`]) says when each 20 ms packet was sent and when (if ever) it arrived. The
//! simulator encodes a speech file into real Opus packets ([`packets`]), replays the arrivals on
//! a virtual clock and pulls one 10 ms frame every 10 ms of trace time ([`replay`]) from each
//! buffer behind the [`SimBuffer`] trait ([`buffers`]), and measures what a listener gets:
//! playout delay, concealment, late drops, out-of-order and duplicate playout, first audio
//! ([`metrics`]). [`report`] prints the table and the JSON. See the crate README for the
//! definitions and commands.

#![forbid(unsafe_code)]

pub mod buffers;
pub mod metrics;
pub mod packets;
pub mod replay;
pub mod report;
pub mod trace;

pub use buffers::{BufferSpec, FrameClass, SimBuffer};
pub use metrics::{Metrics, SpikeRecovery, compute};
pub use packets::PacketSet;
pub use replay::{Recording, replay};
pub use report::{json_report, table};
pub use trace::{Trace, TraceError, TraceRow};

/// Everything that can go wrong in a simulation run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The trace could not be read or parsed.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// The audio file could not be decoded.
    #[error("decoding the audio: {0}")]
    Decode(#[from] voxflow_decode::Error),
    /// Resampling the audio failed.
    #[error("resampling the audio: {0}")]
    Resample(#[from] voxflow_resample::Error),
    /// An audio stage (the resampler as a stage) failed.
    #[error("audio processing: {0}")]
    Core(#[from] voxflow_core::Error),
    /// Opus encoding or decoding failed.
    #[error("opus: {0}")]
    Opus(#[from] voxflow_encode::Error),
    /// A jitter buffer (or its decoder) failed.
    #[error("buffer {buffer}: {detail}")]
    Buffer {
        /// The buffer's name.
        buffer: String,
        /// What failed.
        detail: String,
    },
    /// A `--buffer` value that names no buffer.
    #[error("unknown buffer {0:?}: expected voxflow, fixed:MS or neteq")]
    UnknownBuffer(String),
    /// The audio file holds no samples.
    #[error("the audio file holds no audio")]
    EmptyAudio,
    /// Writing a WAV file failed.
    #[error("writing {path}: {detail}")]
    Wav {
        /// The file.
        path: String,
        /// What failed.
        detail: String,
    },
}

/// Replays `trace` through a fresh buffer of each of `specs` with the same `packets`, and
/// measures each run. `keep_audio`: keep what each buffer played (in the returned recordings).
pub fn simulate(
    trace: &Trace,
    packets: &PacketSet,
    specs: &[BufferSpec],
    keep_audio: bool,
) -> Result<Vec<(Metrics, Recording)>, SimError> {
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let mut buffer = spec.build(packets)?;
        let rec = replay(trace, packets, buffer.as_mut(), keep_audio)?;
        out.push((compute(trace, &rec), rec));
    }
    Ok(out)
}

/// Encodes the packets a trace needs (sequence numbers `0..=max_seq`) from `audio`.
pub fn packets_for(trace: &Trace, audio: &[f32]) -> Result<PacketSet, SimError> {
    let count = usize::try_from(trace.max_seq()).map_or(usize::MAX, |m| m.saturating_add(1));
    packets::encode_packets(audio, count)
}
