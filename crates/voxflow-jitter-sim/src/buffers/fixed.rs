//! `fixed:MS`: a fixed-delay buffer in the manner of GStreamer's `rtpjitterbuffer` (whose default
//! latency is 200 ms): no adaptation and no time-stretch.
//!
//! The first packet to arrive (sequence `s0`, at `a0`) fixes the schedule: packet `s` plays its
//! first sample at `a0 + MS + (s − s0) × 20 ms`, whatever happens later, where `a0 + MS` is
//! rounded to the nearest 10 ms pull of the device clock (packets then fill whole frames).
//! Output before that is silence (idle). A packet arriving after the pull that needed it started (and
//! any packet older than `s0`) is dropped and counted late; a duplicate of a received packet is
//! dropped and counted; a packet missing when needed is concealed by the decoder's PLC (20 ms
//! at a time; no FEC).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::json;
use voxflow_core::{AudioFrame, PacketDecoder};
use voxflow_encode::{Backend, OpusDecoder};

use super::{FrameClass, RecordingDecoder, SharedRecorder, SimBuffer, buffer_error, lock};
use crate::SimError;
use crate::packets::{PACKET_FRAMES, PULL_FRAMES, RATE, format};

/// The fixed-delay buffer.
pub struct FixedBuffer {
    name: String,
    delay_ms: u32,
    decoder: RecordingDecoder,
    recorder: SharedRecorder,
    store: BTreeMap<u64, Vec<u8>>,
    received: HashSet<u64>,
    /// `(s0, playout instant of s0's first sample in µs)`.
    schedule: Option<(u64, i64)>,
    /// Next sequence number to take into `staged`.
    next_seq: u64,
    started: bool,
    staged: Vec<f32>,
    staged_pos: usize,
    staged_concealed: bool,
    scratch: AudioFrame,
    late: u64,
    duplicates: u64,
    concealed_samples: u64,
    played_samples: u64,
    received_count: u64,
}

impl FixedBuffer {
    /// A buffer with `delay_ms` of fixed delay.
    pub fn new(delay_ms: u32, recorder: SharedRecorder) -> Result<Self, SimError> {
        let dec = OpusDecoder::new(Backend::default(), RATE, 1)?;
        let max = OpusDecoder::max_frames(&dec);
        Ok(FixedBuffer {
            name: format!("fixed:{delay_ms}"),
            delay_ms,
            decoder: RecordingDecoder::new(Box::new(dec), std::sync::Arc::clone(&recorder)),
            recorder,
            store: BTreeMap::new(),
            received: HashSet::new(),
            schedule: None,
            next_seq: 0,
            started: false,
            staged: Vec::with_capacity(max),
            staged_pos: 0,
            staged_concealed: false,
            scratch: AudioFrame::with_capacity(format(), max),
            late: 0,
            duplicates: 0,
            concealed_samples: 0,
            played_samples: 0,
            received_count: 0,
        })
    }

    /// Decodes (or conceals) the next packet into `staged`.
    fn stage_next(&mut self) -> Result<(), SimError> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let n = match self.store.remove(&seq) {
            Some(payload) => {
                self.staged_concealed = false;
                self.decoder.decode(&payload, &mut self.scratch)
            }
            None => {
                self.staged_concealed = true;
                self.decoder.conceal(PACKET_FRAMES, &mut self.scratch)
            }
        }
        .map_err(|e| buffer_error(&self.name, e))?;
        self.staged.clear();
        let s = self.scratch.samples();
        self.staged.extend_from_slice(&s[..n.min(s.len())]);
        if self.staged.is_empty() {
            // A decoder that wrote nothing: keep the schedule with 20 ms of silence.
            self.staged.resize(PACKET_FRAMES, 0.0);
            self.staged_concealed = true;
        }
        self.staged_pos = 0;
        Ok(())
    }
}

impl SimBuffer for FixedBuffer {
    fn name(&self) -> &str {
        &self.name
    }

    fn insert(&mut self, seq: u64, payload: &[u8], arrival: Duration) -> Result<(), SimError> {
        self.received_count += 1;
        lock(&self.recorder).arrived(seq);
        if !self.received.insert(seq) {
            self.duplicates += 1;
            return Ok(());
        }
        if self.schedule.is_none() {
            let start = arrival.as_micros() as i64 + i64::from(self.delay_ms) * 1000;
            self.schedule = Some((seq, start));
            self.next_seq = seq;
        }
        if seq < self.next_seq {
            self.late += 1;
        } else {
            self.store.insert(seq, payload.to_vec());
        }
        Ok(())
    }

    fn pull(&mut self, now: Duration, out: &mut Vec<f32>) -> Result<FrameClass, SimError> {
        let Some((_, start_us)) = self.schedule else {
            out.resize(out.len() + PULL_FRAMES, 0.0);
            return Ok(FrameClass::Idle);
        };
        if !self.started {
            // The device clock pulls every 10 ms: playout starts at the pull nearest to the
            // scheduled instant (at most 5 ms off), so packets and frames stay aligned.
            let start_pull = ((start_us + 5_000) / 10_000 * 10_000).max(10_000);
            if (now.as_micros() as i64) < start_pull {
                out.resize(out.len() + PULL_FRAMES, 0.0);
                return Ok(FrameClass::Idle);
            }
            self.started = true;
        }
        let mut concealed = 0usize;
        let mut filled = 0usize;
        while filled < PULL_FRAMES {
            if self.staged_pos >= self.staged.len() {
                self.stage_next()?;
            }
            let take = (PULL_FRAMES - filled).min(self.staged.len() - self.staged_pos);
            out.extend_from_slice(&self.staged[self.staged_pos..self.staged_pos + take]);
            self.staged_pos += take;
            filled += take;
            if self.staged_concealed {
                concealed += take;
            }
        }
        self.played_samples += PULL_FRAMES as u64;
        self.concealed_samples += concealed as u64;
        Ok(if 2 * concealed > PULL_FRAMES {
            FrameClass::Concealed
        } else {
            FrameClass::Audio
        })
    }

    fn recorder(&self) -> &SharedRecorder {
        &self.recorder
    }

    fn take_decoded(&mut self, into: &mut Vec<u64>) {
        lock(&self.recorder).take(into);
    }

    fn stretch_ms(&self) -> (Option<f64>, Option<f64>) {
        (Some(0.0), Some(0.0))
    }

    fn stats_json(&self) -> serde_json::Value {
        json!({
            "totalSamplesReceived": self.played_samples,
            "concealedSamples": self.concealed_samples,
            "insertedSamplesForDeceleration": 0,
            "removedSamplesForAcceleration": 0,
            "packetsDiscarded": self.late,
            "packetsDuplicated": self.duplicates,
            "packetsReceived": self.received_count,
            "packetsLate": self.late,
            "fixedDelayMs": self.delay_ms,
        })
    }
}
