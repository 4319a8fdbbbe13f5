//! The virtual clock: replays a trace's arrivals into a buffer and pulls a 10 ms frame every
//! 10 ms of trace time.
//!
//! Pulls happen at t = 10, 20, 30, … ms (a device clock that does not follow arrivals). Before
//! each pull, every packet with arrival ≤ t not yet given is inserted, in order of arrival, with
//! its exact arrival time. The run ends with the first pull at or after 2 s past the last
//! arrival (by then every buffer here has played or dropped every packet).

use std::time::Duration;

use crate::SimError;
use crate::buffers::{FrameClass, SimBuffer, lock};
use crate::packets::PacketSet;
use crate::trace::Trace;

/// Pull period, ms.
pub const PULL_MS: f64 = 10.0;
/// How long the run goes on after the last arrival, ms.
pub const TAIL_MS: f64 = 2_000.0;

/// What happened during one replay.
#[derive(Clone, Debug, Default)]
pub struct Recording {
    /// The buffer's name.
    pub buffer: String,
    /// The class of each pulled frame; frame `i` was pulled at `(i + 1) × 10` ms.
    pub frames: Vec<FrameClass>,
    /// `(seq, t_ms)` for every packet decode, in decode order, `t_ms` the time of the pull
    /// during which it happened.
    pub decodes: Vec<(u64, f64)>,
    /// Every pulled frame, back to back (48 kHz mono), when asked for.
    pub audio: Vec<f32>,
    /// Accelerate / decelerate totals (ms) from the buffer's counters.
    pub stretch_ms: (Option<f64>, Option<f64>),
    /// The buffer's own statistics.
    pub stats: serde_json::Value,
    /// Decodes of bytes that were no packet of the run (should be 0).
    pub unknown_decodes: u64,
    /// Packets whose payload bytes equal another packet's (credited as the recorder explains).
    pub shared_payload_packets: usize,
}

/// The trace time of pull `i` (0-based), ms.
pub fn pull_time_ms(i: usize) -> f64 {
    (i + 1) as f64 * PULL_MS
}

fn ms(t: f64) -> Duration {
    Duration::from_secs_f64(t.max(0.0) / 1000.0)
}

/// Replays `trace` through `buffer` with `packets`. `keep_audio`: keep what was pulled.
pub fn replay(
    trace: &Trace,
    packets: &PacketSet,
    buffer: &mut dyn SimBuffer,
    keep_audio: bool,
) -> Result<Recording, SimError> {
    let arrivals = trace.arrivals();
    let end_ms = trace.last_arrival_ms() + TAIL_MS;
    let mut rec = Recording {
        buffer: buffer.name().to_string(),
        ..Recording::default()
    };
    let mut audio = Vec::new();
    let mut decoded = Vec::new();
    let mut next = 0usize;
    let mut i = 0usize;
    loop {
        let t = pull_time_ms(i);
        while let Some((row, at)) = arrivals.get(next) {
            if *at > t {
                break;
            }
            let payload = usize::try_from(row.seq)
                .ok()
                .and_then(|s| packets.payloads.get(s))
                .ok_or_else(|| SimError::Buffer {
                    buffer: rec.buffer.clone(),
                    detail: format!("no packet encoded for seq {}", row.seq),
                })?;
            buffer.insert(row.seq, payload, ms(*at))?;
            next += 1;
        }
        audio.clear();
        let class = buffer.pull(ms(t), &mut audio)?;
        if keep_audio {
            rec.audio.extend_from_slice(&audio);
        }
        buffer.take_decoded(&mut decoded);
        rec.decodes.extend(decoded.drain(..).map(|s| (s, t)));
        rec.frames.push(class);
        if t >= end_ms {
            break;
        }
        i += 1;
    }
    rec.stretch_ms = buffer.stretch_ms();
    rec.stats = buffer.stats_json();
    let r = lock(buffer.recorder());
    rec.unknown_decodes = r.unknown();
    rec.shared_payload_packets = r.shared_payload_packets();
    Ok(rec)
}
