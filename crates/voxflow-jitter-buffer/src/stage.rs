//! The jitter buffer as a pipeline stage (packets in, frames out on the playout clock).

use std::time::Instant;

use voxflow_core::{AudioFormat, AudioFrame, Error, Packet, PacketStage};

use crate::{Insert, JitterBuffer, Pull};

/// A [`JitterBuffer`] as a packet → frame [`PacketStage`]: `push` inserts (at the packet's
/// `arrival`, or at `now` when it has none), `poll` pulls one frame each time the playout clock
/// is due (so a chain driven by [`next_deadline`](PacketStage::next_deadline) gets one frame
/// per 10 ms). Malformed packets are skipped and counted (`packets_malformed`), never an error
/// that stops the chain.
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

    fn reset(&mut self) {
        self.buffer.reset();
        self.last = None;
    }

    fn output_format(&self) -> Option<AudioFormat> {
        Some(self.buffer.format())
    }

    fn max_output(&self) -> Option<usize> {
        Some(self.buffer.frame_frames())
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.buffer.next_deadline()
    }
}
