//! Encoded audio: bytes plus timing, and the RTP facts of packets that came from (or go to) RTP.

use std::time::Instant;

use crate::{MediaTime, Trace};

/// The RTP facts of a packet (RFC 3550): what a jitter buffer or an RTP sender needs besides the
/// payload. Carried in [`Packet::rtp`]; `None` for packets that never crossed RTP (an Ogg file's).
///
/// ```
/// use voxflow_core::RtpInfo;
/// let info = RtpInfo { seq: 65_536 + 3, timestamp: 960, marker: true, ssrc: 7, payload_type: 111 };
/// assert_eq!(info.seq16(), 3);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RtpInfo {
    /// Extended sequence number: the 16-bit RTP sequence number plus 65 536 × the number of
    /// wrap-arounds seen (see [`seq_diff`](crate::seq_diff)), so it only grows.
    pub seq: u64,
    /// The 32-bit RTP timestamp, as on the wire (unwrap it with
    /// [`RtpTimestampUnwrapper`](crate::RtpTimestampUnwrapper)).
    pub timestamp: u32,
    /// The marker bit (for audio: the first packet after a silence/DTX gap).
    pub marker: bool,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Payload type (0..=127).
    pub payload_type: u8,
}

impl RtpInfo {
    /// The 16-bit sequence number as on the wire.
    pub fn seq16(&self) -> u16 {
        (self.seq & 0xffff) as u16
    }
}

/// One encoded unit (an Opus packet, an RTP payload): bytes, the presentation time of its first
/// sample, its duration, the latency [`Trace`] of the audio it carries and, for packets that
/// crossed RTP, their [`RtpInfo`] and arrival instant.
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
    /// RTP facts, when the packet came from (or is bound for) RTP.
    pub rtp: Option<RtpInfo>,
    /// When the packet arrived from the network (set by a receiving transport, read by a jitter
    /// buffer); `None` for packets that did not arrive over a network.
    pub arrival: Option<Instant>,
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

    /// Empties the payload (keeping capacity) and zeroes the timing, trace, RTP facts and
    /// arrival.
    pub fn clear(&mut self) {
        self.data.clear();
        self.pts = MediaTime::ZERO;
        self.duration = MediaTime::ZERO;
        self.trace = Trace::EMPTY;
        self.rtp = None;
        self.arrival = None;
    }

    /// Payload capacity in bytes (what the buffer holds without reallocating).
    pub fn capacity(&self) -> usize {
        self.data.capacity()
    }

    /// Copies everything from `other` into this packet, reusing this packet's buffer (it grows
    /// only when `other`'s payload does not fit).
    pub fn copy_from(&mut self, other: &Packet) {
        self.set_data(&other.data);
        self.pts = other.pts;
        self.duration = other.duration;
        self.trace = other.trace;
        self.rtp = other.rtp;
        self.arrival = other.arrival;
    }

    /// `pts + duration`.
    pub fn end(&self) -> MediaTime {
        self.pts + self.duration
    }
}
