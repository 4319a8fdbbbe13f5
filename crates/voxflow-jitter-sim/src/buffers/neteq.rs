//! `neteq`: the `neteq` crate 0.9.1 (default configuration at 48 kHz mono), decoding with
//! voxflow-encode's Opus decoder registered for payload type 111 through neteq's
//! `AudioDecoder` trait (which has no PLC or FEC entry: neteq conceals by itself).
//!
//! neteq reads `web_time::Instant::now()` internally; the workspace patches `web-time` with
//! `web-time-virtual`, and this adapter sets the thread's virtual time to the trace time (plus
//! one hour, so that no `Instant − Duration` inside neteq goes below the virtual epoch) before
//! every `insert_packet` and `get_audio`.

use std::sync::Arc;
use std::time::Duration;

use neteq::codec::AudioDecoder;
use neteq::neteq::SpeechType;
use neteq::{AudioPacket, NetEq, NetEqConfig, NetEqError, RtpHeader};
use serde_json::json;
use voxflow_core::AudioFrame;
use voxflow_encode::{Backend, OpusDecoder};

use super::{FrameClass, SharedRecorder, SimBuffer, buffer_error, lock};
use crate::SimError;
use crate::packets::{PACKET_FRAMES, PAYLOAD_TYPE, PULL_FRAMES, RATE, format, rtp_info};

/// Offset of trace time zero on the virtual clock.
const EPOCH_OFFSET: Duration = Duration::from_secs(3600);

fn set_clock(t: Duration) {
    web_time::set_virtual_now(EPOCH_OFFSET + t);
}

/// Our Opus decoder as a neteq `AudioDecoder`, recording each decoded packet.
struct RecordingNeteqDecoder {
    inner: OpusDecoder,
    recorder: SharedRecorder,
    out: AudioFrame,
}

impl AudioDecoder for RecordingNeteqDecoder {
    fn sample_rate(&self) -> u32 {
        RATE
    }

    fn channels(&self) -> u8 {
        1
    }

    fn decode(&mut self, encoded: &[u8]) -> neteq::Result<Vec<f32>> {
        let n = self
            .inner
            .decode(encoded, &mut self.out)
            .map_err(|e| NetEqError::DecoderError(e.to_string()))?;
        lock(&self.recorder).record(encoded);
        let s = self.out.samples();
        Ok(s[..n.min(s.len())].to_vec())
    }
}

/// neteq as a [`SimBuffer`].
pub struct NeteqBuffer {
    neteq: NetEq,
    recorder: SharedRecorder,
    insert_errors: u64,
}

impl NeteqBuffer {
    /// neteq with its default configuration at 48 kHz mono.
    pub fn new(recorder: SharedRecorder) -> Result<Self, SimError> {
        set_clock(Duration::ZERO);
        let config = NetEqConfig {
            sample_rate: RATE,
            channels: 1,
            ..NetEqConfig::default()
        };
        let mut neteq = NetEq::new(config).map_err(|e| buffer_error("neteq", e))?;
        let inner = OpusDecoder::new(Backend::default(), RATE, 1)?;
        let out = AudioFrame::with_capacity(format(), inner.max_frames());
        neteq.register_decoder(
            PAYLOAD_TYPE,
            Box::new(RecordingNeteqDecoder {
                inner,
                recorder: Arc::clone(&recorder),
                out,
            }),
        );
        Ok(NeteqBuffer {
            neteq,
            recorder,
            insert_errors: 0,
        })
    }
}

impl SimBuffer for NeteqBuffer {
    fn name(&self) -> &str {
        "neteq"
    }

    fn insert(&mut self, seq: u64, payload: &[u8], arrival: Duration) -> Result<(), SimError> {
        set_clock(arrival);
        lock(&self.recorder).arrived(seq);
        let rtp = rtp_info(seq);
        let header = RtpHeader::new(
            rtp.seq16(),
            rtp.timestamp,
            rtp.ssrc,
            rtp.payload_type,
            rtp.marker,
        );
        let ms = (PACKET_FRAMES as u32 * 1000) / RATE;
        let packet = AudioPacket::new(header, payload.to_vec(), RATE, 1, ms);
        if self.neteq.insert_packet(packet).is_err() {
            self.insert_errors += 1;
        }
        Ok(())
    }

    fn pull(&mut self, now: Duration, out: &mut Vec<f32>) -> Result<FrameClass, SimError> {
        set_clock(now);
        let frame = self
            .neteq
            .get_audio()
            .map_err(|e| buffer_error("neteq", e))?;
        let n = frame.samples.len().min(PULL_FRAMES);
        out.extend_from_slice(&frame.samples[..n]);
        out.resize(out.len() + (PULL_FRAMES - n), 0.0);
        Ok(match frame.speech_type {
            SpeechType::Expand | SpeechType::Cng => FrameClass::Concealed,
            SpeechType::Normal | SpeechType::Music => FrameClass::Audio,
        })
    }

    fn recorder(&self) -> &SharedRecorder {
        &self.recorder
    }

    fn take_decoded(&mut self, into: &mut Vec<u64>) {
        lock(&self.recorder).take(into);
    }

    fn stretch_ms(&self) -> (Option<f64>, Option<f64>) {
        let l = self.neteq.get_statistics().lifetime;
        let ms = |n: u64| n as f64 * 1000.0 / f64::from(RATE);
        (
            Some(ms(l.removed_samples_for_acceleration)),
            Some(ms(l.inserted_samples_for_deceleration)),
        )
    }

    fn stats_json(&self) -> serde_json::Value {
        let st = self.neteq.get_statistics();
        let l = &st.lifetime;
        let n = &st.network;
        json!({
            // neteq keeps this one in ms (summed per 10 ms frame, not per sample); shown in s.
            "jitterBufferDelay": l.jitter_buffer_delay_ms as f64 / 1000.0,
            "jitterBufferTargetDelay": l.jitter_buffer_target_delay_ms as f64 / 1000.0,
            "jitterBufferEmittedCount": l.jitter_buffer_emitted_count,
            "totalSamplesReceived": l.total_samples_received,
            "concealedSamples": l.concealed_samples,
            "silentConcealedSamples": l.silent_concealed_samples,
            "concealmentEvents": l.concealment_events,
            "insertedSamplesForDeceleration": l.inserted_samples_for_deceleration,
            "removedSamplesForAcceleration": l.removed_samples_for_acceleration,
            "packetsDiscarded": l.late_packets_discarded,
            "packetsReceived": l.jitter_buffer_packets_received,
            "bufferFlushes": l.buffer_flushes,
            "reorderedPackets": n.reordered_packets,
            "targetDelayMs": st.target_delay_ms,
            "insertErrors": self.insert_errors,
        })
    }
}
