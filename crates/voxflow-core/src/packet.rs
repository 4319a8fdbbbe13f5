//! Encoded audio: bytes plus timing.

use crate::{MediaTime, Trace};

/// One encoded unit (an Opus packet, an RTP payload): bytes, the presentation time of its first
/// sample, its duration, and the latency [`Trace`] of the audio it carries.
///
/// The byte buffer is reused across [`clear`](Self::clear) and
/// [`set_data`](Self::set_data), so encoders that write into a caller's `Packet` allocate nothing
/// in steady state once the buffer has grown to the largest packet.
///
/// ```
/// use voxflow_core::{MediaTime, Packet};
/// let mut p = Packet::with_capacity(1500);
/// p.set_data(&[0xfc, 0xff, 0xfe]);
/// p.pts = MediaTime::new(960, 48_000);
/// p.duration = MediaTime::new(960, 48_000);
/// assert_eq!(p.data(), &[0xfc, 0xff, 0xfe]);
/// assert_eq!(p.end(), MediaTime::from_millis(40));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Packet {
    data: Vec<u8>,
    /// Presentation time of the first decoded sample.
    pub pts: MediaTime,
    /// How much audio the packet decodes to.
    pub duration: MediaTime,
    /// Latency trace of the audio in this packet.
    pub trace: Trace,
}

impl Packet {
    /// An empty packet whose buffer holds `bytes` without reallocating. Allocates: do it before
    /// the real-time loop.
    pub fn with_capacity(bytes: usize) -> Self {
        Packet {
            data: Vec::with_capacity(bytes),
            ..Packet::default()
        }
    }

    /// The payload.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The payload buffer, for encoders that write into it directly.
    pub fn data_mut(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    /// Replaces the payload with a copy of `bytes` (reusing the buffer).
    pub fn set_data(&mut self, bytes: &[u8]) {
        self.data.clear();
        self.data.extend_from_slice(bytes);
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Empties the payload (keeping capacity) and zeroes the timing and trace.
    pub fn clear(&mut self) {
        self.data.clear();
        self.pts = MediaTime::ZERO;
        self.duration = MediaTime::ZERO;
        self.trace = Trace::EMPTY;
    }

    /// `pts + duration`.
    pub fn end(&self) -> MediaTime {
        self.pts + self.duration
    }
}
