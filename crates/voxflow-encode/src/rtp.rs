//! RTP payload format for Opus (RFC 7587): encoder packets → RTP packets.

use std::hash::{BuildHasher, Hasher};

use std::time::Instant;

use voxflow_core::{Packet, PacketStage, RtpHeader, RtpInfo, RtpPacket};

use crate::encoder::MAX_PACKET_BYTES;

use crate::encoder::is_dtx;
use crate::error::Error;

/// RTP clock rate for Opus, whatever the coded rate (RFC 7587 §4.1).
pub const OPUS_RTP_CLOCK: u32 = 48_000;

/// Packetizer settings. `None` fields are drawn at random (RFC 3550 §5.1: initial sequence
/// number, timestamp and SSRC should be random).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketizerConfig {
    /// Dynamic payload type, 96..=127 (commonly 111 for Opus).
    pub payload_type: u8,
    /// SSRC, or random.
    pub ssrc: Option<u32>,
    /// First sequence number, or random.
    pub initial_sequence: Option<u16>,
    /// RTP timestamp of media time zero, or random.
    pub initial_timestamp: Option<u32>,
    /// Seed for the random fields (tests); `None` seeds from the OS-seeded std hasher.
    pub seed: Option<u64>,
}

impl Default for PacketizerConfig {
    fn default() -> Self {
        PacketizerConfig {
            payload_type: 111,
            ssrc: None,
            initial_sequence: None,
            initial_timestamp: None,
            seed: None,
        }
    }
}

/// splitmix64: a tiny seeded generator for the random initial values (not cryptographic).
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Turns encoder [`Packet`]s into RTP packets (RFC 7587): one Opus packet per RTP payload,
/// 48 kHz timestamps taken from each packet's pts (so they stay right across DTX gaps and
/// frames that were never sent), DTX packets (1–2 bytes) not sent, and the marker bit on the
/// first packet of the stream and on the first packet after a gap (DTX or missing audio).
///
/// ```
/// use voxflow_core::{MediaTime, Packet, RtpPacket};
/// use voxflow_encode::{PacketizerConfig, RtpOpusPacketizer};
/// let mut pk = RtpOpusPacketizer::new(PacketizerConfig { seed: Some(7), ..Default::default() });
/// let mut p = Packet::with_capacity(1500);
/// p.set_data(&[0x78, 1, 2, 3]);
/// p.duration = MediaTime::from_millis(20);
/// let mut out = Vec::with_capacity(1500);
/// assert!(pk.packetize(&p, &mut out).unwrap());
/// let rtp = RtpPacket::parse(&out).unwrap();
/// assert!(rtp.header.marker);
/// assert_eq!(rtp.payload, &[0x78, 1, 2, 3]);
/// ```
#[derive(Clone, Debug)]
pub struct RtpOpusPacketizer {
    payload_type: u8,
    ssrc: u32,
    sequence: u16,
    ts_base: u32,
    expected_next: Option<i64>,
    gap: bool,
    sent: u64,
    skipped: u64,
    /// Extended (never wrapping) sequence number of the next sent packet.
    ext_sequence: u64,
    /// The packet between `push` and `poll` when used as a [`PacketStage`].
    pending: Packet,
    has_pending: bool,
}

impl RtpOpusPacketizer {
    /// A packetizer; draws the random initial values.
    pub fn new(cfg: PacketizerConfig) -> Self {
        let mut state = cfg.seed.unwrap_or_else(|| {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(0x0076_6f78_666c_6f77);
            h.finish()
        });
        let ssrc = cfg.ssrc.unwrap_or_else(|| splitmix(&mut state) as u32);
        let sequence = cfg
            .initial_sequence
            .unwrap_or_else(|| splitmix(&mut state) as u16);
        let ts_base = cfg
            .initial_timestamp
            .unwrap_or_else(|| splitmix(&mut state) as u32);
        RtpOpusPacketizer {
            payload_type: cfg.payload_type & 0x7F,
            ssrc,
            sequence,
            ts_base,
            expected_next: None,
            gap: true,
            sent: 0,
            skipped: 0,
            ext_sequence: u64::from(sequence),
            pending: Packet::with_capacity(MAX_PACKET_BYTES),
            has_pending: false,
        }
    }

    /// The SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The sequence number the next sent packet gets.
    pub fn next_sequence(&self) -> u16 {
        self.sequence
    }

    /// RTP timestamp of media time zero.
    pub fn timestamp_base(&self) -> u32 {
        self.ts_base
    }

    /// Packets sent and DTX packets skipped so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.sent, self.skipped)
    }

    /// The RTP header for `packet`, advancing the packetizer; `None` for a DTX packet (not
    /// sent; the next sent packet carries the marker bit).
    fn next_header(&mut self, packet: &Packet) -> Option<RtpHeader> {
        let start = packet.pts.rescale(OPUS_RTP_CLOCK).ticks();
        let end = start.saturating_add(packet.duration.rescale(OPUS_RTP_CLOCK).ticks());
        let discontinuity = self.expected_next.is_some_and(|e| e != start);
        self.expected_next = Some(end);
        if is_dtx(packet.data()) {
            self.gap = true;
            self.skipped += 1;
            return None;
        }
        let mut h = RtpHeader::new(
            self.payload_type,
            self.sequence,
            self.ts_base.wrapping_add(start as u32), // wraps by design (RFC 3550)
            self.ssrc,
        );
        h.marker = self.gap || discontinuity;
        Some(h)
    }

    fn advance(&mut self) {
        self.sequence = self.sequence.wrapping_add(1);
        self.ext_sequence += 1;
        self.gap = false;
        self.sent += 1;
    }

    /// Writes the RTP packet for `packet` into `out` (cleared first; reuse one `Vec` and
    /// nothing is allocated). Returns `Ok(false)` with `out` empty for a DTX packet, which is
    /// not sent; the next sent packet then carries the marker bit.
    pub fn packetize(&mut self, packet: &Packet, out: &mut Vec<u8>) -> Result<bool, Error> {
        out.clear();
        let Some(h) = self.next_header(packet) else {
            return Ok(false);
        };
        let rtp = RtpPacket {
            header: h,
            extension: None,
            payload: packet.data(),
            padding: 0,
        };
        rtp.write_to_vec(out).map_err(|e| Error::OutputTooSmall {
            needed: rtp.serialized_len(),
            capacity: match e {
                voxflow_core::RtpError::WriteBufferTooSmall { capacity, .. } => capacity,
                _ => 0,
            },
        })?;
        self.advance();
        Ok(true)
    }
}

/// As a packet → packet stage the packetizer does not serialize: each Opus packet comes out
/// with the same payload and its [`RtpInfo`] set (extended sequence number, timestamp, marker,
/// SSRC, payload type), ready for a transport that writes RTP (`voxflow_encode::RtpSink`, a
/// WebRTC track). DTX packets are held back (counted in [`counts`](RtpOpusPacketizer::counts)).
///
/// ```
/// use std::time::Instant;
/// use voxflow_core::{MediaTime, Packet, PacketStage};
/// use voxflow_encode::{PacketizerConfig, RtpOpusPacketizer};
/// let mut pk = RtpOpusPacketizer::new(PacketizerConfig { seed: Some(7), ..Default::default() });
/// let (mut p, mut out) = (Packet::with_capacity(1500), Packet::with_capacity(1500));
/// p.set_data(&[0x78, 1, 2, 3]);
/// p.duration = MediaTime::from_millis(20);
/// let now = Instant::now();
/// pk.push(&p, now)?;
/// assert!(pk.poll(&mut out, now)?);
/// let rtp = out.rtp.unwrap();
/// assert!(rtp.marker);
/// assert_eq!((rtp.ssrc, rtp.payload_type), (pk.ssrc(), 111));
/// assert_eq!(out.data(), p.data());
/// assert!(!pk.poll(&mut out, now)?);           // drained
/// # Ok::<(), voxflow_core::Error>(())
/// ```
impl PacketStage for RtpOpusPacketizer {
    type Input = Packet;
    type Output = Packet;

    fn name(&self) -> &'static str {
        "rtp"
    }

    fn push(&mut self, input: &Packet, _now: Instant) -> Result<(), voxflow_core::Error> {
        let Some(h) = self.next_header(input) else {
            self.has_pending = false;
            return Ok(());
        };
        if input.len() > self.pending.capacity() {
            return Err(voxflow_core::Error::Malformed {
                what: "Opus packet",
                detail: format!(
                    "{} bytes, more than the {MAX_PACKET_BYTES} an Opus packet can be",
                    input.len()
                ),
            });
        }
        self.pending.copy_from(input);
        self.pending.rtp = Some(RtpInfo {
            seq: self.ext_sequence,
            timestamp: h.timestamp,
            marker: h.marker,
            ssrc: h.ssrc,
            payload_type: h.payload_type,
        });
        self.advance();
        self.has_pending = true;
        Ok(())
    }

    fn poll(&mut self, out: &mut Packet, _now: Instant) -> Result<bool, voxflow_core::Error> {
        if !std::mem::take(&mut self.has_pending) {
            return Ok(false);
        }
        out.copy_from(&self.pending);
        Ok(true)
    }

    fn reset(&mut self) {
        self.expected_next = None;
        self.gap = true;
        self.has_pending = false;
    }

    fn max_output(&self) -> Option<usize> {
        Some(MAX_PACKET_BYTES)
    }
}
