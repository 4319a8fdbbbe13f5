//! The jitter buffer as a pipeline stage (packets in, frames out on the playout clock).

use std::time::Instant;

use voxflow_core::{AudioFormat, AudioFrame, Error, Packet, PacketStage};

use crate::{Insert, JitterBuffer, Pull};

/// A [`JitterBuffer`] as a packet → frame [`PacketStage`]: `push` inserts (at the packet's
/// `arrival`, or at `now` when it has none), `poll` pulls one frame each time the playout clock
/// is due (so a chain driven by [`next_deadline`](PacketStage::next_deadline) gets one frame
/// per 10 ms). Malformed packets are skipped and counted (`packets_malformed`), never an error
/// that stops the chain. After `finish` (end of input) it plays out what it holds at once, on
/// its own playout clock, then ends.
///
/// ```
/// use voxflow_jitter_buffer::{JitterConfig, JitterStage};
/// # use voxflow_core::{AudioFormat, AudioFrame, Error, PacketDecoder};
/// # struct Silence;
/// # impl PacketDecoder for Silence {
/// #     fn name(&self) -> &'static str { "s" }
/// #     fn format(&self) -> AudioFormat { AudioFormat { rate: 16_000, channels: 1 } }
/// #     fn max_frames(&self) -> usize { 1_920 }
/// #     fn packet_frames(&self, p: &[u8]) -> Result<usize, Error> { Ok(p.len()) }
/// #     fn decode(&mut self, p: &[u8], o: &mut AudioFrame) -> Result<usize, Error> { o.set_frames(p.len())?; Ok(p.len()) }
/// #     fn conceal(&mut self, n: usize, o: &mut AudioFrame) -> Result<usize, Error> { o.set_frames(n)?; Ok(n) }
/// #     fn reset(&mut self) {}
/// # }
/// use voxflow_core::PacketStage;
/// let stage = JitterStage::new(JitterConfig::default(), Box::new(Silence))?;
/// assert_eq!(stage.max_output(), Some(160)); // 10 ms at 16 kHz
/// assert_eq!(stage.next_deadline(), None); // nothing until the first packet
/// # Ok::<(), Error>(())
/// ```
pub struct JitterStage {
    buffer: JitterBuffer,
    last: Option<Pull>,
    last_insert: Option<Insert>,
    finished: bool,
}

impl JitterStage {
    /// A stage around a new [`JitterBuffer`].
    pub fn new(
        config: crate::JitterConfig,
        decoder: Box<dyn voxflow_core::PacketDecoder>,
    ) -> Result<Self, Error> {
        Ok(Self::from_buffer(JitterBuffer::new(config, decoder)?))
    }

    /// A stage around an existing buffer.
    pub fn from_buffer(buffer: JitterBuffer) -> Self {
        JitterStage {
            buffer,
            last: None,
            last_insert: None,
            finished: false,
        }
    }

    /// The buffer (stats, target).
    pub fn buffer(&self) -> &JitterBuffer {
        &self.buffer
    }

    /// What the last pull did.
    pub fn last_pull(&self) -> Option<Pull> {
        self.last
    }

    /// What the last insert did (`None` after a malformed packet).
    pub fn last_insert(&self) -> Option<Insert> {
        self.last_insert
    }
}

impl PacketStage for JitterStage {
    type Input = Packet;
    type Output = AudioFrame;

    fn name(&self) -> &'static str {
        "jitter-buffer"
    }

    fn push(&mut self, input: &Packet, now: Instant) -> Result<(), Error> {
        // A malformed packet is counted by the buffer and skipped: the stream goes on.
        self.last_insert = self.buffer.insert(input, input.arrival.unwrap_or(now)).ok();
        Ok(())
    }

    fn poll(&mut self, out: &mut AudioFrame, now: Instant) -> Result<bool, Error> {
        if self.finished {
            // End of input: play out what is held on the buffer's own playout clock, without
            // waiting for it, then end (no endless concealment).
            if self.buffer.buffered().is_zero() {
                return Ok(false);
            }
            let Some(due) = self.buffer.next_deadline() else {
                return Ok(false);
            };
            self.last = Some(self.buffer.pull(due, out)?);
            return Ok(true);
        }
        match self.buffer.next_deadline() {
            Some(due) if due <= now => {
                // Pull on the playout clock (the deadline), not the late wake-up instant, so
                // a scheduler's lateness does not shift the timeline.
                self.last = Some(self.buffer.pull(due, out)?);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn finish(&mut self, _now: Instant) -> Result<(), Error> {
        self.finished = true;
        Ok(())
    }

    fn reset(&mut self) {
        self.buffer.reset();
        self.last = None;
        self.finished = false;
    }

    fn output_format(&self) -> Option<AudioFormat> {
        Some(self.buffer.format())
    }

    fn max_output(&self) -> Option<usize> {
        Some(self.buffer.frame_frames())
    }

    fn next_deadline(&self) -> Option<Instant> {
        if self.finished && self.buffer.buffered().is_zero() {
            return None;
        }
        self.buffer.next_deadline()
    }
}
