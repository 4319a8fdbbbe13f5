//! The buffers under test, behind one small trait, and the recording decoder that tells which
//! packet each decode played.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use voxflow_core::{AudioFormat, AudioFrame, Error, PacketDecoder};

use crate::SimError;
use crate::packets::PacketSet;

pub mod fixed;
#[cfg(feature = "neteq")]
pub mod neteq;
pub mod voxflow;

/// How one pulled 10 ms frame was made, in the simulator's common terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameClass {
    /// Nothing to play yet (before playout starts).
    Idle,
    /// Real audio: decoded, FEC-recovered or time-stretched decoded audio.
    Audio,
    /// Concealment (PLC, expand, comfort noise, DTX fill).
    Concealed,
}

/// A jitter buffer as the simulator drives it. Times are trace time (since the trace's zero).
pub trait SimBuffer {
    /// The buffer's name in reports (`voxflow`, `fixed:200`, `neteq`).
    fn name(&self) -> &str;

    /// Gives the buffer packet `seq` (payload `payload`) that arrived at `arrival`. A buffer
    /// refusing a packet is not an error (it is counted by the metrics as a drop); `Err` is for
    /// failures that end the run.
    fn insert(&mut self, seq: u64, payload: &[u8], arrival: Duration) -> Result<(), SimError>;

    /// Pulls one 10 ms frame at `now`, appending exactly [`PULL_FRAMES`](crate::packets::PULL_FRAMES)
    /// samples (48 kHz mono) to `out`.
    fn pull(&mut self, now: Duration, out: &mut Vec<f32>) -> Result<FrameClass, SimError>;

    /// Moves the sequence numbers of the packets decoded since the last call (in decode order)
    /// into `into`.
    fn take_decoded(&mut self, into: &mut Vec<u64>);

    /// Milliseconds of audio removed by accelerating and inserted by decelerating, from the
    /// buffer's own counters (`None` when it has none).
    fn stretch_ms(&self) -> (Option<f64>, Option<f64>);

    /// The buffer's statistics, named as WebRTC's `RTCInboundRtpStreamStats` where they map.
    fn stats_json(&self) -> serde_json::Value;

    /// The recorder its decoder reports to.
    fn recorder(&self) -> &SharedRecorder;
}

/// Which buffer to build (`--buffer`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BufferSpec {
    /// `voxflow`: `voxflow_jitter_buffer::JitterBuffer` with its default configuration.
    Voxflow,
    /// `fixed:MS`: the fixed-delay buffer with `MS` ms of delay.
    Fixed(u32),
    /// `neteq`: the `neteq` crate 0.9.1 (feature `neteq`).
    Neteq,
}

impl BufferSpec {
    /// Parses `voxflow`, `fixed:MS` or `neteq`.
    pub fn parse(s: &str) -> Result<BufferSpec, SimError> {
        let t = s.trim();
        match t {
            "voxflow" => return Ok(BufferSpec::Voxflow),
            "neteq" => return Ok(BufferSpec::Neteq),
            _ => {}
        }
        if let Some(ms) = t.strip_prefix("fixed:")
            && let Ok(ms) = ms.parse::<u32>()
            && ms <= 10_000
        {
            return Ok(BufferSpec::Fixed(ms));
        }
        Err(SimError::UnknownBuffer(s.to_string()))
    }

    /// The name used in reports and file names.
    pub fn name(&self) -> String {
        match self {
            BufferSpec::Voxflow => "voxflow".into(),
            BufferSpec::Fixed(ms) => format!("fixed:{ms}"),
            BufferSpec::Neteq => "neteq".into(),
        }
    }

    /// The buffers run when none is named: voxflow and fixed:200, plus neteq when built with
    /// the `neteq` feature.
    pub fn defaults() -> Vec<BufferSpec> {
        let mut v = vec![BufferSpec::Voxflow, BufferSpec::Fixed(200)];
        if cfg!(feature = "neteq") {
            v.push(BufferSpec::Neteq);
        }
        v
    }

    /// Builds the buffer, its decoder recording against `packets`.
    pub fn build(&self, packets: &PacketSet) -> Result<Box<dyn SimBuffer>, SimError> {
        let recorder = Recorder::new(packets);
        Ok(match self {
            BufferSpec::Voxflow => Box::new(voxflow::VoxflowBuffer::new(recorder)?),
            BufferSpec::Fixed(ms) => Box::new(fixed::FixedBuffer::new(*ms, recorder)?),
            #[cfg(feature = "neteq")]
            BufferSpec::Neteq => Box::new(neteq::NeteqBuffer::new(recorder)?),
            #[cfg(not(feature = "neteq"))]
            BufferSpec::Neteq => {
                return Err(SimError::Buffer {
                    buffer: "neteq".into(),
                    detail: "not built in: rebuild with the `neteq` feature".into(),
                });
            }
        })
    }
}

/// Maps decoded payload bytes back to sequence numbers. Shared (behind a mutex, as decoders
/// must be `Send`) between the buffer's decoder and the simulator.
///
/// Packets with identical bytes happen (digital silence encodes to identical Opus packets). A
/// decode of such bytes is credited to one of the packets carrying them that has arrived (been
/// given to the buffer) and was not played yet, the one nearest in sequence to the packet after
/// the last one decoded (lower on a tie); when all that arrived were played, to the nearest of
/// those (a duplicate playout). Crediting "the lowest not yet played" instead would credit a
/// silent packet late in the stream to an identical one that was lost or dropped long before.
#[derive(Debug, Default)]
pub struct Recorder {
    by_payload: HashMap<Vec<u8>, Vec<u64>>,
    arrived: HashSet<u64>,
    played: HashMap<u64, u32>,
    last: Option<u64>,
    decoded: Vec<u64>,
    unknown: u64,
    shared: usize,
}

/// A [`Recorder`] shared between a decoder and its buffer.
pub type SharedRecorder = Arc<Mutex<Recorder>>;

/// Locks a recorder, ignoring poisoning (the recorder holds plain counters that stay
/// consistent whatever panicked while holding it).
pub fn lock(r: &SharedRecorder) -> MutexGuard<'_, Recorder> {
    r.lock().unwrap_or_else(|p| p.into_inner())
}

impl Recorder {
    /// A recorder knowing every payload of `packets`.
    pub fn new(packets: &PacketSet) -> SharedRecorder {
        let mut by_payload: HashMap<Vec<u8>, Vec<u64>> = HashMap::new();
        for (seq, p) in packets.payloads.iter().enumerate() {
            by_payload.entry(p.clone()).or_default().push(seq as u64);
        }
        let shared = by_payload
            .values()
            .filter(|v| v.len() > 1)
            .map(Vec::len)
            .sum();
        Arc::new(Mutex::new(Recorder {
            by_payload,
            shared,
            ..Recorder::default()
        }))
    }

    /// Notes that packet `seq` was given to the buffer.
    pub fn arrived(&mut self, seq: u64) {
        self.arrived.insert(seq);
    }

    /// Notes that `payload` was decoded.
    pub fn record(&mut self, payload: &[u8]) {
        let Some(seqs) = self.by_payload.get(payload) else {
            self.unknown += 1;
            return;
        };
        let expected = self.last.map_or(0, |l| l + 1);
        let nearest = |ok: &dyn Fn(u64) -> bool| {
            seqs.iter()
                .copied()
                .filter(|&s| ok(s))
                .min_by_key(|&s| (s.abs_diff(expected), s))
        };
        let seq = nearest(&|s| self.arrived.contains(&s) && !self.played.contains_key(&s))
            .or_else(|| nearest(&|s| self.arrived.contains(&s)))
            .or_else(|| nearest(&|_| true));
        if let Some(seq) = seq {
            *self.played.entry(seq).or_default() += 1;
            self.decoded.push(seq);
            self.last = Some(seq);
        }
    }

    /// Moves the sequence numbers decoded since the last call into `into`.
    pub fn take(&mut self, into: &mut Vec<u64>) {
        into.append(&mut self.decoded);
    }

    /// Decodes of payloads that belong to no known packet (should stay 0).
    pub fn unknown(&self) -> u64 {
        self.unknown
    }

    /// Packets whose payload bytes are identical to another packet's.
    pub fn shared_payload_packets(&self) -> usize {
        self.shared
    }
}

/// A [`PacketDecoder`] that records every packet it decodes (normal decodes only: FEC
/// recovery from the next packet and concealment are not playouts of a packet).
pub struct RecordingDecoder {
    inner: Box<dyn PacketDecoder>,
    recorder: SharedRecorder,
    fec_calls: Arc<Mutex<u64>>,
}

impl RecordingDecoder {
    /// Wraps `inner`.
    pub fn new(inner: Box<dyn PacketDecoder>, recorder: SharedRecorder) -> Self {
        RecordingDecoder {
            inner,
            recorder,
            fec_calls: Arc::new(Mutex::new(0)),
        }
    }

    /// A handle on the count of FEC recoveries.
    pub fn fec_counter(&self) -> Arc<Mutex<u64>> {
        Arc::clone(&self.fec_calls)
    }
}

impl PacketDecoder for RecordingDecoder {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn format(&self) -> AudioFormat {
        self.inner.format()
    }
    fn max_frames(&self) -> usize {
        self.inner.max_frames()
    }
    fn packet_frames(&self, packet: &[u8]) -> Result<usize, Error> {
        self.inner.packet_frames(packet)
    }
    fn decode(&mut self, packet: &[u8], out: &mut AudioFrame) -> Result<usize, Error> {
        let n = self.inner.decode(packet, out)?;
        lock(&self.recorder).record(packet);
        Ok(n)
    }
    fn conceal(&mut self, frames: usize, out: &mut AudioFrame) -> Result<usize, Error> {
        self.inner.conceal(frames, out)
    }
    fn decode_fec(
        &mut self,
        next: &[u8],
        frames: usize,
        out: &mut AudioFrame,
    ) -> Result<usize, Error> {
        let n = self.inner.decode_fec(next, frames, out)?;
        *self.fec_calls.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        Ok(n)
    }
    fn has_fec(&self) -> bool {
        self.inner.has_fec()
    }
    fn reset(&mut self) {
        self.inner.reset();
    }
}

/// Converts a buffer error into a [`SimError`].
pub(crate) fn buffer_error(buffer: &str, e: impl std::fmt::Display) -> SimError {
    SimError::Buffer {
        buffer: buffer.to_string(),
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn identical_payloads_are_credited_to_the_arrived_packet_nearest_in_sequence() {
        let (a, b, c) = (vec![1u8, 2], vec![3u8], vec![4u8]);
        let packets = PacketSet {
            payloads: vec![a.clone(), b.clone(), a.clone(), c, a.clone()],
            reference: Vec::new(),
        };
        let shared = Recorder::new(&packets);
        let mut r = lock(&shared);
        assert_eq!(r.shared_payload_packets(), 3);
        // Seq 0 (bytes A) is lost; 1 and 2 arrive and play: A is seq 2, not the lost seq 0.
        r.arrived(1);
        r.arrived(2);
        r.record(&b);
        r.record(&a);
        // Seq 3 is lost, seq 4 (A again) arrives and plays, then A is played once more: a
        // duplicate of the nearest arrived packet, 4.
        r.arrived(4);
        r.record(&a);
        r.record(&a);
        r.record(&[9]);
        let mut got = Vec::new();
        r.take(&mut got);
        assert_eq!(got, vec![1, 2, 4, 4]);
        assert_eq!(r.unknown(), 1);
    }

    #[test]
    fn buffer_specs_parse() {
        assert_eq!(BufferSpec::parse("voxflow").unwrap(), BufferSpec::Voxflow);
        assert_eq!(
            BufferSpec::parse("fixed:200").unwrap(),
            BufferSpec::Fixed(200)
        );
        assert_eq!(BufferSpec::parse(" neteq ").unwrap(), BufferSpec::Neteq);
        for bad in ["fixed", "fixed:", "fixed:-5", "fixed:99999", "jb", ""] {
            assert!(
                matches!(BufferSpec::parse(bad), Err(SimError::UnknownBuffer(_))),
                "{bad:?}"
            );
        }
        assert_eq!(BufferSpec::Fixed(40).name(), "fixed:40");
    }
}
