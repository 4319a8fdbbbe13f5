//! Reusable sinks: [`NullSink`] (counts), [`CollectSink`] (keeps everything, for tests) and
//! [`WavSink`] (writes a WAV file); for the packet tail (after an encoder),
//! [`NullPacketSink`] (counts packets and bytes) and [`CollectPackets`] (keeps every packet, for
//! tests).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use voxflow_core::{AudioFrame, AudioSink, Error, Packet, PacketSink};

pub use crate::wav_file::{WavFormat, WavSink};
pub use crate::wav_stream::WavStreamSink;

/// Frame and sample counts of a [`NullSink`], readable from any thread while it runs.
#[derive(Clone, Debug, Default)]
pub struct NullCounts {
    frames: Arc<AtomicU64>,
    samples: Arc<AtomicU64>,
}

impl NullCounts {
    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Acquire)
    }

    /// Interleaved samples written so far.
    pub fn samples(&self) -> u64 {
        self.samples.load(Ordering::Acquire)
    }
}

/// Discards audio, counting frames and samples (atomically, without allocating or locking).
#[derive(Debug, Default)]
pub struct NullSink {
    counts: NullCounts,
}

impl NullSink {
    /// A new sink with zero counts.
    pub fn new() -> Self {
        NullSink::default()
    }

    /// A handle on the counts, readable from any thread.
    pub fn counts(&self) -> NullCounts {
        self.counts.clone()
    }
}

impl AudioSink for NullSink {
    fn name(&self) -> &'static str {
        "null"
    }
    fn write(&mut self, frame: &AudioFrame) -> Result<(), Error> {
        self.counts
            .samples
            .fetch_add(frame.samples().len() as u64, Ordering::AcqRel);
        self.counts.frames.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Collection {
    samples: Vec<f32>,
    frames: u64,
    finished: bool,
}

/// What a [`CollectSink`] has collected, readable from any thread.
#[derive(Clone, Debug, Default)]
pub struct Collected(Arc<Mutex<Collection>>);

impl Collected {
    fn lock(&self) -> std::sync::MutexGuard<'_, Collection> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of every sample received so far (interleaved).
    pub fn samples(&self) -> Vec<f32> {
        self.lock().samples.clone()
    }

    /// Frames received so far.
    pub fn frames(&self) -> u64 {
        self.lock().frames
    }

    /// True once the sink's `finish` was called.
    pub fn is_finished(&self) -> bool {
        self.lock().finished
    }
}

/// Keeps every sample in a shared `Vec` — **for tests and small demos only: it allocates as
/// the vector grows and locks a mutex per frame**, so it is not real-time safe.
#[derive(Debug, Default)]
pub struct CollectSink {
    out: Collected,
}

impl CollectSink {
    /// An empty collector.
    pub fn new() -> Self {
        CollectSink::default()
    }

    /// A handle on what is collected.
    pub fn collected(&self) -> Collected {
        self.out.clone()
    }
}

impl AudioSink for CollectSink {
    fn name(&self) -> &'static str {
        "collect"
    }
    fn write(&mut self, frame: &AudioFrame) -> Result<(), Error> {
        let mut c = self.out.lock();
        c.samples.extend_from_slice(frame.samples());
        c.frames += 1;
        Ok(())
    }
    fn finish(&mut self) -> Result<(), Error> {
        self.out.lock().finished = true;
        Ok(())
    }
}

/// Packet and byte counts of a [`NullPacketSink`], readable from any thread while it runs.
#[derive(Clone, Debug, Default)]
pub struct PacketCounts {
    packets: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    finished: Arc<AtomicU64>,
}

impl PacketCounts {
    /// Packets written so far.
    pub fn packets(&self) -> u64 {
        self.packets.load(Ordering::Acquire)
    }

    /// Payload bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Acquire)
    }

    /// True once the sink's `finish` was called.
    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire) > 0
    }
}

/// Discards packets, counting packets and payload bytes (atomically, without allocating or
/// locking).
#[derive(Debug, Default)]
pub struct NullPacketSink {
    counts: PacketCounts,
}

impl NullPacketSink {
    /// A new sink with zero counts.
    pub fn new() -> Self {
        NullPacketSink::default()
    }

    /// A handle on the counts, readable from any thread.
    pub fn counts(&self) -> PacketCounts {
        self.counts.clone()
    }
}

impl PacketSink for NullPacketSink {
    fn name(&self) -> &'static str {
        "null"
    }
    fn write(&mut self, packet: &Packet) -> Result<(), Error> {
        self.counts
            .bytes
            .fetch_add(packet.len() as u64, Ordering::AcqRel);
        self.counts.packets.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
    fn finish(&mut self) -> Result<(), Error> {
        self.counts.finished.store(1, Ordering::Release);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct PacketCollection {
    packets: Vec<Packet>,
    finished: bool,
}

/// What a [`CollectPackets`] sink has collected, readable from any thread.
#[derive(Clone, Debug, Default)]
pub struct CollectedPackets(Arc<Mutex<PacketCollection>>);

impl CollectedPackets {
    fn lock(&self) -> std::sync::MutexGuard<'_, PacketCollection> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of every packet received so far (payload, timing and trace).
    pub fn packets(&self) -> Vec<Packet> {
        self.lock().packets.clone()
    }

    /// Packets received so far.
    pub fn len(&self) -> usize {
        self.lock().packets.len()
    }

    /// True when no packet was received yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once the sink's `finish` was called.
    pub fn is_finished(&self) -> bool {
        self.lock().finished
    }
}

/// Keeps a copy of every packet in a shared `Vec` — **for tests only: it allocates per packet
/// and locks a mutex**, so it is not real-time safe.
#[derive(Debug, Default)]
pub struct CollectPackets {
    out: CollectedPackets,
}

impl CollectPackets {
    /// An empty collector.
    pub fn new() -> Self {
        CollectPackets::default()
    }

    /// A handle on what is collected.
    pub fn collected(&self) -> CollectedPackets {
        self.out.clone()
    }
}

impl PacketSink for CollectPackets {
    fn name(&self) -> &'static str {
        "collect"
    }
    fn write(&mut self, packet: &Packet) -> Result<(), Error> {
        self.out.lock().packets.push(packet.clone());
        Ok(())
    }
    fn finish(&mut self) -> Result<(), Error> {
        self.out.lock().finished = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voxflow_core::{AudioFormat, MediaTime};

    #[test]
    fn null_and_collect_count() {
        let fmt = AudioFormat::new(8_000, 2).unwrap();
        let f = AudioFrame::from_interleaved(fmt, vec![1.0; 6], MediaTime::ZERO).unwrap();
        let mut n = NullSink::new();
        let c = n.counts();
        n.write(&f).unwrap();
        assert_eq!((c.frames(), c.samples()), (1, 6));
        let mut s = CollectSink::new();
        let got = s.collected();
        s.write(&f).unwrap();
        s.finish().unwrap();
        assert_eq!(got.samples(), vec![1.0; 6]);
        assert_eq!(got.frames(), 1);
        assert!(got.is_finished());
    }
}
