//! The decoded-sample buffer between the codec and the output frames: a
//! [`voxflow_core::SampleFifo`] sized at open from the largest packet, grown (once, counted)
//! only when a packet is larger than the codec announced.

use voxflow_core::{AudioFrame, SampleFifo};

/// Decoded interleaved samples awaiting output.
#[derive(Debug)]
pub(crate) struct Pcm {
    fifo: SampleFifo,
    /// Largest packet (in sample frames) seen or announced.
    pub max_packet: usize,
}

impl Pcm {
    /// An empty buffer (no allocation) until [`allocate`](Self::allocate).
    pub(crate) fn new(max_packet: usize) -> Self {
        Pcm {
            fifo: SampleFifo::new(1, 0),
            max_packet,
        }
    }

    /// Allocates the buffer: room for one output frame plus two of the largest packets, so
    /// moving samples to the front is rare.
    pub(crate) fn allocate(&mut self, channels: u16, frame_len: usize) {
        let frames = frame_len.saturating_add(self.max_packet.saturating_mul(2));
        self.fifo = SampleFifo::new(channels, frames);
    }

    /// Sample frames buffered.
    pub(crate) fn frames(&self) -> usize {
        self.fifo.frames()
    }

    /// Drops everything buffered.
    pub(crate) fn clear(&mut self) {
        self.fifo.clear();
    }

    /// Drops the oldest `frames` sample frames.
    pub(crate) fn consume(&mut self, frames: usize) {
        self.fifo.consume(frames);
    }

    /// A slot of `frames` sample frames to write in place, then [`commit`](Self::commit).
    /// Returns the slot and whether the buffer had to grow (a packet larger than the codec
    /// announced: one allocation).
    pub(crate) fn slot(&mut self, frames: usize) -> (&mut [f32], bool) {
        let grew = frames > self.fifo.free_frames();
        if grew {
            let mut bigger = SampleFifo::new(self.fifo.channels(), self.fifo.frames() + frames);
            // Cannot fail: `bigger` holds the buffered frames plus `frames`.
            let _ = bigger.push(self.fifo.peek(usize::MAX));
            self.fifo = bigger;
        }
        match self.fifo.spare_mut(frames) {
            Ok(slot) => (slot, grew),
            // Unreachable: room for `frames` was made above.
            Err(_) => (&mut [], grew),
        }
    }

    /// Makes the `frames` sample frames written to the last [`slot`](Self::slot) part of the
    /// buffer, then drops the first `skip` buffered ones (a lead trim or a seek's discard,
    /// which only happen while the buffer holds nothing older to deliver).
    pub(crate) fn commit(&mut self, frames: usize, skip: usize) {
        // Cannot fail: `frames` never exceeds the slot just taken.
        let _ = self.fifo.commit(frames);
        self.fifo.consume(skip.min(frames));
    }

    /// Moves the oldest `n` sample frames to the end of `out` (of the buffer's format).
    pub(crate) fn pop_into(
        &mut self,
        n: usize,
        out: &mut AudioFrame,
    ) -> Result<(), voxflow_core::Error> {
        out.extend_from_interleaved(self.fifo.peek(n))?;
        self.fifo.consume(n);
        Ok(())
    }
}
