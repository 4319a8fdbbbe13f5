//! Packet sinks: encoder [`Packet`]s into an Ogg Opus file ([`OggOpusSink`]) or into RTP
//! packets handed to a callback ([`RtpSink`]), for `voxflow-pipeline`'s packet tail or any
//! loop that drives an [`OpusEncoder`](crate::OpusEncoder) by hand.

use std::io::Write;

use voxflow_core::{Packet, PacketSink, RtpHeader, RtpPacket};

use crate::encoder::MAX_PACKET_BYTES;
use crate::error::Error;
use crate::ogg::OggOpusWriter;
use crate::rtp::{PacketizerConfig, RtpOpusPacketizer};

/// Room for the RTP header (12 bytes, no CSRCs or extensions written) beside the largest Opus
/// packet.
const RTP_HEADER_ROOM: usize = 64;

enum OggState<W: Write> {
    Writing(OggOpusWriter<W>),
    Finished(W),
    Gone,
}

/// A [`PacketSink`] writing an Ogg Opus stream through an [`OggOpusWriter`].
///
/// `write` adds the packet to the writer's current page (buffers sized when the writer was
/// made, so nothing is allocated per packet) and writes a page about once a second of audio
/// (or every ~4 KiB); give it a buffered writer (`BufWriter<File>`) or a `Vec<u8>`. `finish`
/// writes the last page (with the end-trimming granule position, so the file decodes to exactly
/// the samples that went in) and flushes. The stream is forward-only, so `W` may be stdout or a
/// pipe.
///
/// ```
/// use voxflow_core::{AudioFormat, AudioFrame, Packet, PacketSink};
/// use voxflow_encode::{EncoderConfig, OggOpusReader, OggOpusSink, OpusEncoder};
/// let mut enc = OpusEncoder::new(EncoderConfig::voip(32_000)).unwrap();
/// let mut sink = OggOpusSink::new(Vec::new(), &enc, 7).unwrap();
/// let fmt = AudioFormat::new(48_000, 1).unwrap();
/// let frame = AudioFrame::from_interleaved(fmt, vec![0.0; 960], Default::default()).unwrap();
/// let mut pkt = Packet::with_capacity(4000);
/// enc.encode(&frame, &mut pkt).unwrap();
/// sink.write(&pkt).unwrap();
/// let bytes = sink.into_inner().unwrap();
/// assert!(OggOpusReader::new(&bytes[..]).is_ok());
/// ```
pub struct OggOpusSink<W: Write + Send> {
    state: OggState<W>,
}

impl<W: Write + Send> std::fmt::Debug for OggOpusSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            OggState::Writing(_) => "writing",
            OggState::Finished(_) => "finished",
            OggState::Gone => "gone",
        };
        f.debug_struct("OggOpusSink")
            .field("state", &state)
            .finish()
    }
}

impl<W: Write + Send> OggOpusSink<W> {
    /// Starts a stream for `encoder`'s output (see [`OggOpusWriter::new`]) and writes the two
    /// header pages to `w`.
    pub fn new(w: W, encoder: &crate::OpusEncoder, serial: u32) -> Result<Self, Error> {
        Ok(Self::from_writer(OggOpusWriter::new(w, encoder, serial)?))
    }

    /// Wraps a writer already started (e.g. made with [`OggOpusWriter::with_head`]).
    pub fn from_writer(writer: OggOpusWriter<W>) -> Self {
        OggOpusSink {
            state: OggState::Writing(writer),
        }
    }

    /// Bytes and audio packets written so far (see [`OggOpusWriter::stats`]); `None` once
    /// finished.
    pub fn stats(&self) -> Option<(u64, u64)> {
        match &self.state {
            OggState::Writing(w) => Some(w.stats()),
            _ => None,
        }
    }

    fn close(&mut self) -> Result<(), Error> {
        if let OggState::Writing(_) = self.state
            && let OggState::Writing(w) = std::mem::replace(&mut self.state, OggState::Gone)
        {
            let mut inner = w.finish()?;
            inner.flush()?;
            self.state = OggState::Finished(inner);
        }
        Ok(())
    }

    /// Finishes the stream (if [`finish`](PacketSink::finish) was not called yet) and returns
    /// the underlying writer.
    pub fn into_inner(mut self) -> Result<W, Error> {
        self.close()?;
        match std::mem::replace(&mut self.state, OggState::Gone) {
            OggState::Finished(w) => Ok(w),
            // A previous finish failed half way: the writer went with the error.
            _ => Err(Error::Io(std::io::Error::other(
                "the Ogg writer was lost when an earlier finish failed",
            ))),
        }
    }
}

impl<W: Write + Send> PacketSink for OggOpusSink<W> {
    fn name(&self) -> &'static str {
        "ogg"
    }

    fn write(&mut self, packet: &Packet) -> Result<(), voxflow_core::Error> {
        match &mut self.state {
            OggState::Writing(w) => Ok(w.write(packet)?),
            _ => Err(voxflow_core::Error::Closed("Ogg Opus sink")),
        }
    }

    fn finish(&mut self) -> Result<(), voxflow_core::Error> {
        Ok(self.close()?)
    }
}

/// A [`PacketSink`] that turns packets into RTP packets (RFC 7587) in one reused buffer and
/// hands each one to `send` (a UDP socket's `send`, a WebRTC track, a test's `Vec`), with the
/// [`Packet`] it came from.
///
/// - A packet without [`Packet::rtp`] is an encoder packet: the sink's
///   [`RtpOpusPacketizer`] numbers it (sequence, timestamp from the pts, marker after a gap, its
///   SSRC and payload type). DTX packets (1–2 bytes) are not sent, and neither are the
///   encoder's end-of-stream flush packets (zero duration: live RTP does not need the lookahead
///   pushed out).
/// - A packet with [`Packet::rtp`] already crossed RTP (it is being relayed): its sequence
///   number, timestamp, marker, SSRC and payload type are written as they are, nothing is
///   replaced by the sink's own, and it is sent even when it is a DTX packet (the sender chose
///   to send it; the receiver expects its sequence number).
///
/// Nothing is allocated per packet: the buffer holds the largest RTP packet from the start.
///
/// ```
/// use voxflow_core::{MediaTime, Packet, PacketSink, RtpPacket};
/// use voxflow_encode::{PacketizerConfig, RtpSink};
/// let mut sent = Vec::new();
/// let cfg = PacketizerConfig { seed: Some(1), ..Default::default() };
/// let mut sink = RtpSink::new(cfg, |rtp: &[u8], _: &Packet| {
///     sent.push(rtp.to_vec());
///     Ok(())
/// });
/// let mut p = Packet::with_capacity(1500);
/// p.set_data(&[0x78, 1, 2, 3]);
/// p.duration = MediaTime::from_millis(20);
/// sink.write(&p).unwrap();
/// drop(sink);
/// assert_eq!(RtpPacket::parse(&sent[0]).unwrap().payload, &[0x78, 1, 2, 3]);
/// ```
pub struct RtpSink<F> {
    packetizer: RtpOpusPacketizer,
    buf: Vec<u8>,
    send: F,
    sent: u64,
}

impl<F> std::fmt::Debug for RtpSink<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpSink")
            .field("packetizer", &self.packetizer)
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

impl<F> RtpSink<F>
where
    F: FnMut(&[u8], &Packet) -> Result<(), voxflow_core::Error> + Send,
{
    /// A sink numbering encoder packets with a packetizer made from `cfg`, calling `send` with
    /// every RTP packet written.
    pub fn new(cfg: PacketizerConfig, send: F) -> Self {
        Self::with_packetizer(RtpOpusPacketizer::new(cfg), send)
    }

    /// A sink numbering encoder packets with `packetizer` (to share its SSRC and initial values
    /// with signalling made beforehand).
    pub fn with_packetizer(packetizer: RtpOpusPacketizer, send: F) -> Self {
        RtpSink {
            packetizer,
            buf: Vec::with_capacity(MAX_PACKET_BYTES + RTP_HEADER_ROOM),
            send,
            sent: 0,
        }
    }

    /// The packetizer numbering encoder packets (SSRC, next sequence number, counts).
    pub fn packetizer(&self) -> &RtpOpusPacketizer {
        &self.packetizer
    }

    /// RTP packets handed to `send` so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Writes the RTP packet for `packet` into the sink's buffer; `false` when nothing is to
    /// be sent.
    fn write_rtp(&mut self, packet: &Packet) -> Result<bool, Error> {
        let Some(info) = packet.rtp else {
            if packet.duration.ticks() == 0 {
                // The encoder's end-of-stream flush packet (no input audio): for files only.
                return Ok(false);
            }
            return self.packetizer.packetize(packet, &mut self.buf);
        };
        let mut header = RtpHeader::new(info.payload_type, info.seq16(), info.timestamp, info.ssrc);
        header.marker = info.marker;
        let rtp = RtpPacket {
            header,
            extension: None,
            payload: packet.data(),
            padding: 0,
        };
        self.buf.clear();
        rtp.write_to_vec(&mut self.buf)
            .map_err(|_| Error::OutputTooSmall {
                needed: rtp.serialized_len(),
                capacity: self.buf.capacity(),
            })?;
        Ok(true)
    }
}

impl<F> PacketSink for RtpSink<F>
where
    F: FnMut(&[u8], &Packet) -> Result<(), voxflow_core::Error> + Send,
{
    fn name(&self) -> &'static str {
        "rtp"
    }

    fn write(&mut self, packet: &Packet) -> Result<(), voxflow_core::Error> {
        if !self.write_rtp(packet)? {
            return Ok(()); // DTX or an end-of-stream flush packet: nothing to send
        }
        (self.send)(&self.buf, packet)?;
        self.sent += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use voxflow_core::{AudioFormat, AudioFrame, MediaTime, RtpInfo};

    use super::*;
    use crate::{EncoderConfig, OggOpusReader, OpusEncoder};

    /// `n` encoder packets of a 440 Hz tone at 48 kHz mono (20 ms frames), the last frame
    /// `last` sample frames long, then the flush packets.
    fn encode_tone(n: usize, last: usize) -> (OpusEncoder, Vec<Packet>) {
        let mut enc = OpusEncoder::new(EncoderConfig {
            channels: 1,
            ..EncoderConfig::voip(32_000)
        })
        .unwrap();
        let fmt = AudioFormat::new(48_000, 1).unwrap();
        let mut frame = AudioFrame::with_capacity(fmt, 960);
        let mut out = Vec::new();
        let mut t = 0usize;
        for i in 0..n {
            let len = if i + 1 == n { last } else { 960 };
            let s: Vec<f32> = (t..t + len)
                .map(|k| 0.3 * (k as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin())
                .collect();
            t += len;
            frame.clear();
            frame.extend_from_interleaved(&s).unwrap();
            let mut p = Packet::with_capacity(MAX_PACKET_BYTES);
            enc.encode(&frame, &mut p).unwrap();
            out.push(p);
        }
        let mut p = Packet::with_capacity(MAX_PACKET_BYTES);
        while enc.flush(&mut p).unwrap() {
            out.push(p.clone());
        }
        (enc, out)
    }

    #[test]
    fn ogg_sink_output_reads_back_packet_for_packet_and_sample_exact() {
        let (enc, packets) = encode_tone(12, 333);
        let real: u64 = 11 * 960 + 333;
        let mut sink = OggOpusSink::new(Vec::new(), &enc, 0x5eed).unwrap();
        for p in &packets {
            sink.write(p).unwrap();
        }
        assert_eq!(sink.stats().unwrap().1, packets.len() as u64);
        PacketSink::finish(&mut sink).unwrap();
        assert!(sink.write(&packets[0]).is_err(), "write after finish");
        let bytes = sink.into_inner().unwrap();

        let mut r = OggOpusReader::new(&bytes[..]).unwrap();
        assert_eq!(r.head().pre_skip, enc.pre_skip());
        assert_eq!(r.head().channels, 1);
        let mut buf = Vec::new();
        let mut kept = 0u64;
        let mut i = 0;
        while let Some(info) = r.next_packet(&mut buf).unwrap() {
            assert_eq!(buf, packets[i].data(), "packet {i} bytes");
            kept += u64::from(info.keep_48k);
            assert_eq!(info.last, i + 1 == packets.len());
            i += 1;
        }
        assert_eq!(i, packets.len(), "every packet read back");
        assert_eq!(r.bad_pages(), 0);
        // Kept samples = pre-skip (discarded by the decoder) + the real input, exactly.
        assert_eq!(kept, u64::from(enc.pre_skip()) + real);
        let mut dec = crate::OpusDecoder::new(crate::Backend::PureRust, 48_000, 1).unwrap();
        let mut r = OggOpusReader::new(&bytes[..]).unwrap();
        assert_eq!(r.decode_to_end(&mut dec).unwrap().len() as u64, real);
    }

    fn packet(pts_ms: i64, ms: i64, data: &[u8]) -> Packet {
        let mut p = Packet::with_capacity(MAX_PACKET_BYTES);
        p.set_data(data);
        p.pts = MediaTime::from_millis(pts_ms);
        p.duration = MediaTime::from_millis(ms);
        p
    }

    fn parse(bytes: &[u8]) -> (u16, u32, bool, u32, u8, Vec<u8>) {
        let p = RtpPacket::parse(bytes).unwrap();
        (
            p.header.sequence,
            p.header.timestamp,
            p.header.marker,
            p.header.ssrc,
            p.header.payload_type,
            p.payload.to_vec(),
        )
    }

    #[test]
    fn rtp_sink_numbers_encoder_packets_and_skips_dtx_and_flush() {
        let mut out: Vec<Vec<u8>> = Vec::new();
        let cfg = PacketizerConfig {
            payload_type: 111,
            ssrc: Some(0xdead_beef),
            initial_sequence: Some(65_534),
            initial_timestamp: Some(1000),
            seed: None,
        };
        let mut sink = RtpSink::new(cfg, |b: &[u8], _: &Packet| {
            out.push(b.to_vec());
            Ok(())
        });
        sink.write(&packet(0, 20, &[0x78, 1, 2, 3])).unwrap();
        sink.write(&packet(20, 20, &[0x78, 4, 5])).unwrap();
        sink.write(&packet(40, 20, &[0x78])).unwrap(); // DTX: not sent
        sink.write(&packet(60, 20, &[0x78, 6, 6])).unwrap(); // after a gap: marker
        sink.write(&packet(80, 0, &[0x78, 7, 7])).unwrap(); // flush packet: not sent
        assert_eq!(sink.sent(), 3);
        drop(sink);
        let got: Vec<_> = out.iter().map(|b| parse(b)).collect();
        assert_eq!(
            got,
            vec![
                (65_534, 1000, true, 0xdead_beef, 111, vec![0x78, 1, 2, 3]),
                (
                    65_535,
                    1000 + 960,
                    false,
                    0xdead_beef,
                    111,
                    vec![0x78, 4, 5]
                ),
                (0, 1000 + 3 * 960, true, 0xdead_beef, 111, vec![0x78, 6, 6]),
            ]
        );
    }

    #[test]
    fn rtp_sink_writes_what_packet_rtp_says() {
        let mut out: Vec<Vec<u8>> = Vec::new();
        let cfg = PacketizerConfig {
            ssrc: Some(1),
            initial_sequence: Some(1),
            initial_timestamp: Some(1),
            ..Default::default()
        };
        let mut sink = RtpSink::new(cfg, |b: &[u8], _: &Packet| {
            out.push(b.to_vec());
            Ok(())
        });
        let mut p = Packet::with_capacity(64);
        p.set_data(&[0x78]); // a DTX packet that was sent: relayed as it is
        p.duration = MediaTime::from_millis(20);
        p.rtp = Some(RtpInfo {
            seq: 3 * 65_536 + 42,
            timestamp: 0xffff_fff0,
            marker: true,
            ssrc: 0x1234_5678,
            payload_type: 100,
        });
        sink.write(&p).unwrap();
        p.set_data(&[0x78, 9, 9]);
        p.rtp = Some(RtpInfo {
            seq: 3 * 65_536 + 43,
            timestamp: 0x0000_0370,
            marker: false,
            ssrc: 0x1234_5678,
            payload_type: 100,
        });
        sink.write(&p).unwrap();
        assert_eq!(sink.packetizer().next_sequence(), 1, "packetizer untouched");
        drop(sink);
        let got: Vec<_> = out.iter().map(|b| parse(b)).collect();
        assert_eq!(
            got,
            vec![
                (42, 0xffff_fff0, true, 0x1234_5678, 100, vec![0x78]),
                (43, 0x0000_0370, false, 0x1234_5678, 100, vec![0x78, 9, 9]),
            ]
        );
    }

    #[test]
    fn rtp_sink_passes_send_errors_on() {
        let mut sink = RtpSink::new(PacketizerConfig::default(), |_: &[u8], _: &Packet| {
            Err(voxflow_core::Error::Closed("socket"))
        });
        let mut p = Packet::with_capacity(64);
        p.set_data(&[0x78, 1, 2]);
        p.duration = MediaTime::from_millis(20);
        assert!(matches!(
            sink.write(&p),
            Err(voxflow_core::Error::Closed("socket"))
        ));
        assert_eq!(sink.sent(), 0);
    }
}
