//! `voxflow`: `voxflow_jitter_buffer::JitterBuffer` with its default configuration, decoding
//! with voxflow-encode's Opus decoder (48 kHz mono) through a [`RecordingDecoder`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use voxflow_core::{AudioFrame, Packet};
use voxflow_encode::{Backend, MAX_PACKET_BYTES, OpusDecoder};
use voxflow_jitter_buffer::{JitterBuffer, JitterConfig, JitterStats, Playout};

use super::{FrameClass, RecordingDecoder, SharedRecorder, SimBuffer, buffer_error, lock};
use crate::SimError;
use crate::packets::{PULL_FRAMES, RATE, format, rtp_info};

/// The voxflow jitter buffer as a [`SimBuffer`].
pub struct VoxflowBuffer {
    jb: JitterBuffer,
    recorder: SharedRecorder,
    fec: Arc<Mutex<u64>>,
    base: Instant,
    frame: AudioFrame,
    packet: Packet,
}

impl VoxflowBuffer {
    /// A buffer with the default [`JitterConfig`].
    pub fn new(recorder: SharedRecorder) -> Result<Self, SimError> {
        let dec = OpusDecoder::new(Backend::default(), RATE, 1)?;
        let rec = RecordingDecoder::new(Box::new(dec), Arc::clone(&recorder));
        let fec = rec.fec_counter();
        let jb = JitterBuffer::new(JitterConfig::default(), Box::new(rec))
            .map_err(|e| buffer_error("voxflow", e))?;
        let frames = jb.frame_frames().max(PULL_FRAMES);
        Ok(VoxflowBuffer {
            jb,
            recorder,
            fec,
            base: Instant::now(),
            frame: AudioFrame::with_capacity(format(), frames),
            packet: Packet::with_capacity(MAX_PACKET_BYTES),
        })
    }
}

impl SimBuffer for VoxflowBuffer {
    fn name(&self) -> &str {
        "voxflow"
    }

    fn insert(&mut self, seq: u64, payload: &[u8], arrival: Duration) -> Result<(), SimError> {
        let at = self.base + arrival;
        lock(&self.recorder).arrived(seq);
        self.packet.set_data(payload);
        self.packet.rtp = Some(rtp_info(seq));
        self.packet.arrival = Some(at);
        // Refusals (late, duplicate, overflow, malformed) are outcomes the metrics count from
        // what was decoded; they do not end the run.
        let _ = self.jb.insert(&self.packet, at);
        Ok(())
    }

    fn pull(&mut self, now: Duration, out: &mut Vec<f32>) -> Result<FrameClass, SimError> {
        let pull = self
            .jb
            .pull(self.base + now, &mut self.frame)
            .map_err(|e| buffer_error("voxflow", e))?;
        let s = self.frame.samples();
        let n = s.len().min(PULL_FRAMES);
        out.extend_from_slice(&s[..n]);
        out.resize(out.len() + (PULL_FRAMES - n), 0.0);
        Ok(match pull.playout {
            Playout::Idle => FrameClass::Idle,
            Playout::Conceal | Playout::Dtx => FrameClass::Concealed,
            Playout::Normal
            | Playout::Accelerate
            | Playout::FastAccelerate
            | Playout::Decelerate
            | Playout::Fec => FrameClass::Audio,
        })
    }

    fn recorder(&self) -> &SharedRecorder {
        &self.recorder
    }

    fn take_decoded(&mut self, into: &mut Vec<u64>) {
        lock(&self.recorder).take(into);
    }

    fn stretch_ms(&self) -> (Option<f64>, Option<f64>) {
        let st = self.jb.stats();
        let ms = |n: u64| n as f64 * 1000.0 / f64::from(RATE);
        (
            Some(ms(st.removed_samples_for_acceleration)),
            Some(ms(st.inserted_samples_for_deceleration)),
        )
    }

    fn stats_json(&self) -> serde_json::Value {
        let mut v = jitter_stats_json(self.jb.stats());
        if let Some(m) = v.as_object_mut() {
            m.insert(
                "fecRecoveries".into(),
                json!(*self.fec.lock().unwrap_or_else(|p| p.into_inner())),
            );
        }
        v
    }
}

/// [`JitterStats`] as a JSON object with WebRTC's camelCase names (delays in seconds, summed
/// over emitted samples, as WebRTC reports them), plus the extras.
pub fn jitter_stats_json(s: &JitterStats) -> serde_json::Value {
    json!({
        "jitterBufferDelay": s.jitter_buffer_delay,
        "jitterBufferTargetDelay": s.jitter_buffer_target_delay,
        "jitterBufferMinimumDelay": s.jitter_buffer_minimum_delay,
        "jitterBufferEmittedCount": s.jitter_buffer_emitted_count,
        "totalSamplesReceived": s.total_samples_received,
        "concealedSamples": s.concealed_samples,
        "silentConcealedSamples": s.silent_concealed_samples,
        "concealmentEvents": s.concealment_events,
        "insertedSamplesForDeceleration": s.inserted_samples_for_deceleration,
        "removedSamplesForAcceleration": s.removed_samples_for_acceleration,
        "packetsDiscarded": s.packets_discarded,
        "packetsLost": s.packets_lost,
        "packetsDuplicated": s.packets_duplicated,
        "packetsReceived": s.packets_received,
        "packetsLate": s.packets_late,
        "packetsOverflow": s.packets_overflow,
        "packetsMalformed": s.packets_malformed,
        "fecSamples": s.fec_samples,
        "resets": s.resets,
    })
}
