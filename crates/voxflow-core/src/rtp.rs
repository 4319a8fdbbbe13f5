//! RTP (RFC 3550) header parsing and writing, with RFC 8285 header extensions.
//!
//! Parsing is zero-copy and made for untrusted input: [`RtpPacket::parse`] borrows the payload
//! and extension bytes from the buffer and reports every malformed header as a typed
//! [`RtpError`], never a panic. Writing goes into a caller's buffer ([`RtpPacket::write_to`]
//! for a `&mut [u8]`, [`RtpPacket::write_to_vec`] for a reused `Vec<u8>`), so a steady stream
//! allocates nothing.
//!
//! Sequence numbers wrap at 16 bits and timestamps at 32 bits: compare them with
//! [`seq_diff`](crate::seq_diff) and extend them with
//! [`RtpTimestampUnwrapper`](crate::RtpTimestampUnwrapper).
//!
//! ```
//! use voxflow_core::{RtpHeader, RtpPacket};
//! let mut h = RtpHeader::new(111, 65_535, 4_294_967_000, 0x1234_5678);
//! h.marker = true;
//! let pkt = RtpPacket { header: h, extension: None, payload: &[0xfc, 1, 2], padding: 0 };
//! let mut buf = [0u8; 64];
//! let n = pkt.write_to(&mut buf).unwrap();
//! let back = RtpPacket::parse(&buf[..n]).unwrap();
//! assert_eq!(back, pkt);
//! assert!(RtpPacket::parse(&buf[..5]).is_err()); // typed error, no panic
//! ```

use crate::Error;

/// The RTP version this module speaks (RFC 3550).
pub const RTP_VERSION: u8 = 2;
/// Size of the fixed RTP header in bytes.
pub const RTP_FIXED_HEADER_LEN: usize = 12;
/// Most CSRC identifiers a header can carry (4-bit count).
pub const RTP_MAX_CSRCS: usize = 15;
/// The RFC 8285 one-byte header extension profile.
pub const EXT_PROFILE_ONE_BYTE: u16 = 0xBEDE;
/// The RFC 8285 two-byte header extension profile (the low 4 bits are "appbits").
pub const EXT_PROFILE_TWO_BYTE: u16 = 0x1000;

/// What is wrong with an RTP packet (parsing) or a request to write one.
///
/// Parse errors (everything but the `Write*` variants) mean the datagram is not a valid RTP
/// packet: **skip** it. Write errors mean the caller's buffer or header is wrong: fix the
/// caller (**stop**), nothing was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// Fewer bytes than the fixed header or the part being read needs. **Skip** the packet.
    #[error("RTP packet too short: {needed} bytes needed for the {part}, {actual} present")]
    TooShort {
        /// The header part being read.
        part: &'static str,
        /// Bytes needed up to the end of that part.
        needed: usize,
        /// Bytes in the packet.
        actual: usize,
    },
    /// The version field is not 2. **Skip** the packet (it may be STUN/DTLS on a shared port).
    #[error("RTP version {version}, expected 2")]
    BadVersion {
        /// The version found.
        version: u8,
    },
    /// The CSRC count points past the end of the packet. **Skip** the packet.
    #[error("CSRC count {count} needs {needed} bytes, packet has {actual}")]
    CsrcPastEnd {
        /// The CSRC count field.
        count: u8,
        /// Bytes needed to hold the CSRC list.
        needed: usize,
        /// Bytes in the packet.
        actual: usize,
    },
    /// The header extension's length points past the end of the packet. **Skip** the packet.
    #[error("header extension of {words} words needs {needed} bytes, packet has {actual}")]
    ExtensionPastEnd {
        /// The extension length field, in 32-bit words.
        words: u16,
        /// Bytes needed to hold the extension.
        needed: usize,
        /// Bytes in the packet.
        actual: usize,
    },
    /// The padding count is larger than what follows the header. **Skip** the packet.
    #[error("padding of {padding} bytes but only {available} bytes follow the header")]
    PaddingTooLarge {
        /// The padding count (last byte of the packet).
        padding: u8,
        /// Bytes after the header (payload plus padding).
        available: usize,
    },
    /// The padding bit is set but the padding count is zero (RFC 3550 §5.1 counts the count
    /// byte itself, so it is at least 1). **Skip** the packet.
    #[error("padding bit set with a padding count of 0")]
    ZeroPadding,
    /// An RFC 8285 extension element's length runs past the extension block. **Skip** the
    /// element list (the payload is still usable).
    #[error("extension element id {id} at offset {offset} has {len} bytes, past the block end")]
    ExtensionElementPastEnd {
        /// Element id.
        id: u8,
        /// Byte offset of the element inside the extension block.
        offset: usize,
        /// Declared data length.
        len: usize,
    },
    /// The output buffer is too small. **Stop**: size buffers with
    /// [`RtpPacket::serialized_len`].
    #[error("output buffer of {capacity} bytes cannot hold the {needed}-byte packet")]
    WriteBufferTooSmall {
        /// Bytes the packet needs.
        needed: usize,
        /// Bytes available.
        capacity: usize,
    },
    /// The extension data cannot be written (longer than 65 535 words or not a multiple of
    /// 4 bytes), or an extension element is out of range. **Stop**: fix the caller.
    #[error("cannot write header extension: {reason}")]
    WriteBadExtension {
        /// What is wrong.
        reason: &'static str,
    },
    /// More than 15 CSRCs were given. **Stop**: fix the caller.
    #[error("{count} CSRCs given, at most 15 fit")]
    WriteTooManyCsrcs {
        /// How many were given.
        count: usize,
    },
}

impl From<RtpError> for Error {
    fn from(e: RtpError) -> Self {
        match e {
            RtpError::WriteBufferTooSmall { .. }
            | RtpError::WriteBadExtension { .. }
            | RtpError::WriteTooManyCsrcs { .. } => Error::Stage {
                stage: "rtp",
                source: Box::new(e),
            },
            _ => Error::Malformed {
                what: "RTP packet",
                detail: e.to_string(),
            },
        }
    }
}

/// The fixed RTP header plus the CSRC list (owned, `Copy`, no allocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpHeader {
    /// Marker bit (for Opus: first packet after a silence / DTX gap, RFC 7587 §4.1).
    pub marker: bool,
    /// Payload type, 0..=127 (values above are masked to 7 bits on write).
    pub payload_type: u8,
    /// Sequence number (wraps at 16 bits).
    pub sequence: u16,
    /// Media timestamp (wraps at 32 bits; 48 kHz for Opus).
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    csrcs: [u32; RTP_MAX_CSRCS],
    csrc_count: u8,
}

impl RtpHeader {
    /// A header without CSRCs or marker.
    pub const fn new(payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32) -> Self {
        RtpHeader {
            marker: false,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrcs: [0; RTP_MAX_CSRCS],
            csrc_count: 0,
        }
    }

    /// The contributing sources.
    pub fn csrcs(&self) -> &[u32] {
        &self.csrcs[..usize::from(self.csrc_count)]
    }

    /// Replaces the CSRC list (at most 15).
    pub fn set_csrcs(&mut self, csrcs: &[u32]) -> Result<(), RtpError> {
        if csrcs.len() > RTP_MAX_CSRCS {
            return Err(RtpError::WriteTooManyCsrcs { count: csrcs.len() });
        }
        self.csrcs = [0; RTP_MAX_CSRCS];
        self.csrcs[..csrcs.len()].copy_from_slice(csrcs);
        self.csrc_count = csrcs.len() as u8; // cannot truncate: at most 15
        Ok(())
    }

    /// Bytes of the fixed header plus the CSRC list.
    pub fn len(&self) -> usize {
        RTP_FIXED_HEADER_LEN + 4 * usize::from(self.csrc_count)
    }

    /// Always false: a header has at least 12 bytes (here for clippy's `len` convention).
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// A header extension block: the 16-bit profile and its data (a multiple of 4 bytes),
/// borrowed from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    /// "Defined by profile": 0xBEDE for RFC 8285 one-byte elements, 0x100X for two-byte.
    pub profile: u16,
    /// The extension data (without the 4-byte profile/length word).
    pub data: &'a [u8],
}

/// One RFC 8285 extension element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionElement<'a> {
    /// Element id (1..=14 for one-byte, 1..=255 for two-byte).
    pub id: u8,
    /// Element data.
    pub data: &'a [u8],
}

impl<'a> RtpExtension<'a> {
    /// True for the RFC 8285 one-byte form (profile 0xBEDE).
    pub fn is_one_byte(&self) -> bool {
        self.profile == EXT_PROFILE_ONE_BYTE
    }

    /// True for the RFC 8285 two-byte form (profile 0x100X).
    pub fn is_two_byte(&self) -> bool {
        self.profile & 0xFFF0 == EXT_PROFILE_TWO_BYTE
    }

    /// Iterates the RFC 8285 elements. Yields nothing for other profiles; yields one error and
    /// stops at a malformed element. Padding bytes (id 0) are skipped; a one-byte id 15 ends the
    /// list (RFC 8285 §4.2).
    pub fn elements(&self) -> ExtensionElements<'a> {
        let form = if self.is_one_byte() {
            Form::OneByte
        } else if self.is_two_byte() {
            Form::TwoByte
        } else {
            Form::Done
        };
        ExtensionElements {
            data: self.data,
            pos: 0,
            form,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Form {
    OneByte,
    TwoByte,
    Done,
}

/// Iterator over RFC 8285 extension elements (see [`RtpExtension::elements`]).
#[derive(Clone, Debug)]
pub struct ExtensionElements<'a> {
    data: &'a [u8],
    pos: usize,
    form: Form,
}

impl<'a> Iterator for ExtensionElements<'a> {
    type Item = Result<ExtensionElement<'a>, RtpError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let start = self.pos;
            let &b = self.data.get(start)?;
            let (id, len, hdr) = match self.form {
                Form::Done => return None,
                Form::OneByte => {
                    let id = b >> 4;
                    if id == 0 {
                        self.pos += 1; // padding
                        continue;
                    }
                    if id == 15 {
                        self.form = Form::Done;
                        return None;
                    }
                    (id, usize::from(b & 0x0F) + 1, 1)
                }
                Form::TwoByte => {
                    if b == 0 {
                        self.pos += 1; // padding
                        continue;
                    }
                    let Some(&l) = self.data.get(start + 1) else {
                        self.form = Form::Done;
                        return Some(Err(RtpError::ExtensionElementPastEnd {
                            id: b,
                            offset: start,
                            len: 0,
                        }));
                    };
                    (b, usize::from(l), 2)
                }
            };
            let from = start + hdr;
            let Some(data) = self.data.get(from..from + len) else {
                self.form = Form::Done;
                return Some(Err(RtpError::ExtensionElementPastEnd {
                    id,
                    offset: start,
                    len,
                }));
            };
            self.pos = from + len;
            return Some(Ok(ExtensionElement { id, data }));
        }
    }
}

/// Writes RFC 8285 elements into `out` as extension data, padded with zeros to a multiple of
/// 4 bytes, and returns the data length. Uses the one-byte form when every id is in 1..=14 and
/// every element has 1..=16 bytes, else the two-byte form; returns the profile to put in
/// [`RtpExtension::profile`] as well.
///
/// ```
/// use voxflow_core::{write_extension_elements, RtpExtension};
/// let mut buf = [0u8; 16];
/// let (profile, n) = write_extension_elements(&[(1, &[0x80][..]), (3, &[1, 2, 3][..])], &mut buf).unwrap();
/// let ext = RtpExtension { profile, data: &buf[..n] };
/// let ids: Vec<u8> = ext.elements().map(|e| e.unwrap().id).collect();
/// assert_eq!((profile, n, ids), (0xBEDE, 8, vec![1, 3]));
/// ```
pub fn write_extension_elements(
    elements: &[(u8, &[u8])],
    out: &mut [u8],
) -> Result<(u16, usize), RtpError> {
    let one_byte = elements
        .iter()
        .all(|(id, d)| (1..=14).contains(id) && (1..=16).contains(&d.len()));
    let hdr = if one_byte { 1 } else { 2 };
    let mut pos = 0usize;
    for (id, d) in elements {
        if *id == 0 || d.len() > 255 {
            return Err(RtpError::WriteBadExtension {
                reason: "element id must be 1..=255 and data at most 255 bytes",
            });
        }
        let end = pos + hdr + d.len();
        if end > out.len() {
            return Err(RtpError::WriteBufferTooSmall {
                needed: end,
                capacity: out.len(),
            });
        }
        if one_byte {
            out[pos] = (id << 4) | (d.len() as u8 - 1); // cannot truncate: 1..=16
        } else {
            out[pos] = *id;
            out[pos + 1] = d.len() as u8; // cannot truncate: checked <= 255
        }
        out[pos + hdr..end].copy_from_slice(d);
        pos = end;
    }
    let padded = pos.next_multiple_of(4);
    if padded > out.len() {
        return Err(RtpError::WriteBufferTooSmall {
            needed: padded,
            capacity: out.len(),
        });
    }
    out[pos..padded].fill(0);
    let profile = if one_byte {
        EXT_PROFILE_ONE_BYTE
    } else {
        EXT_PROFILE_TWO_BYTE
    };
    Ok((profile, padded))
}

/// A whole RTP packet, borrowed: header, optional extension, payload and padding length.
/// [`parse`](Self::parse) reads one from bytes without copying; [`write_to`](Self::write_to)
/// writes one (round trip: `parse(write(p)) == p`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Fixed header and CSRCs.
    pub header: RtpHeader,
    /// Header extension, when the X bit is set.
    pub extension: Option<RtpExtension<'a>>,
    /// The payload (padding removed).
    pub payload: &'a [u8],
    /// Padding bytes after the payload, counting the final count byte; 0 = no padding (P bit
    /// clear).
    pub padding: u8,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<'a> RtpPacket<'a> {
    /// Parses an RTP packet from untrusted bytes. Every malformation is an [`RtpError`].
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        let actual = buf.len();
        if actual < RTP_FIXED_HEADER_LEN {
            return Err(RtpError::TooShort {
                part: "fixed header",
                needed: RTP_FIXED_HEADER_LEN,
                actual,
            });
        }
        let b0 = buf[0];
        let version = b0 >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion { version });
        }
        let has_padding = b0 & 0x20 != 0;
        let has_ext = b0 & 0x10 != 0;
        let cc = b0 & 0x0F;
        let b1 = buf[1];
        let mut header = RtpHeader::new(b1 & 0x7F, be16(buf, 2), be32(buf, 4), be32(buf, 8));
        header.marker = b1 & 0x80 != 0;
        let mut pos = RTP_FIXED_HEADER_LEN + 4 * usize::from(cc);
        if pos > actual {
            return Err(RtpError::CsrcPastEnd {
                count: cc,
                needed: pos,
                actual,
            });
        }
        for i in 0..usize::from(cc) {
            header.csrcs[i] = be32(buf, RTP_FIXED_HEADER_LEN + 4 * i);
        }
        header.csrc_count = cc;
        let extension = if has_ext {
            if pos + 4 > actual {
                return Err(RtpError::TooShort {
                    part: "header extension word",
                    needed: pos + 4,
                    actual,
                });
            }
            let profile = be16(buf, pos);
            let words = be16(buf, pos + 2);
            let start = pos + 4;
            let end = start + 4 * usize::from(words);
            if end > actual {
                return Err(RtpError::ExtensionPastEnd {
                    words,
                    needed: end,
                    actual,
                });
            }
            pos = end;
            Some(RtpExtension {
                profile,
                data: &buf[start..end],
            })
        } else {
            None
        };
        let rest = &buf[pos..];
        let padding = if has_padding {
            let p = rest.last().copied().unwrap_or(0);
            if rest.is_empty() {
                return Err(RtpError::PaddingTooLarge {
                    padding: 0,
                    available: 0,
                });
            }
            if p == 0 {
                return Err(RtpError::ZeroPadding);
            }
            if usize::from(p) > rest.len() {
                return Err(RtpError::PaddingTooLarge {
                    padding: p,
                    available: rest.len(),
                });
            }
            p
        } else {
            0
        };
        Ok(RtpPacket {
            header,
            extension,
            payload: &rest[..rest.len() - usize::from(padding)],
            padding,
        })
    }

    /// Bytes [`write_to`](Self::write_to) needs.
    pub fn serialized_len(&self) -> usize {
        self.header.len()
            + self.extension.map_or(0, |e| 4 + e.data.len())
            + self.payload.len()
            + usize::from(self.padding)
    }

    /// Writes the packet into `out` and returns its length. Padding bytes are zeros followed by
    /// the count. Fails (writing nothing) when `out` is too small or the extension data is not
    /// a multiple of 4 bytes or longer than 65 535 words.
    pub fn write_to(&self, out: &mut [u8]) -> Result<usize, RtpError> {
        let n = self.serialized_len();
        if let Some(e) = self.extension
            && (!e.data.len().is_multiple_of(4) || e.data.len() / 4 > usize::from(u16::MAX))
        {
            return Err(RtpError::WriteBadExtension {
                reason: "extension data must be a multiple of 4 bytes and at most 65535 words",
            });
        }
        if n > out.len() {
            return Err(RtpError::WriteBufferTooSmall {
                needed: n,
                capacity: out.len(),
            });
        }
        let h = &self.header;
        out[0] = (RTP_VERSION << 6)
            | (u8::from(self.padding > 0) << 5)
            | (u8::from(self.extension.is_some()) << 4)
            | h.csrc_count;
        out[1] = (u8::from(h.marker) << 7) | (h.payload_type & 0x7F);
        out[2..4].copy_from_slice(&h.sequence.to_be_bytes());
        out[4..8].copy_from_slice(&h.timestamp.to_be_bytes());
        out[8..12].copy_from_slice(&h.ssrc.to_be_bytes());
        let mut pos = RTP_FIXED_HEADER_LEN;
        for c in h.csrcs() {
            out[pos..pos + 4].copy_from_slice(&c.to_be_bytes());
            pos += 4;
        }
        if let Some(e) = self.extension {
            out[pos..pos + 2].copy_from_slice(&e.profile.to_be_bytes());
            let words = (e.data.len() / 4) as u16; // cannot truncate: checked above
            out[pos + 2..pos + 4].copy_from_slice(&words.to_be_bytes());
            pos += 4;
            out[pos..pos + e.data.len()].copy_from_slice(e.data);
            pos += e.data.len();
        }
        out[pos..pos + self.payload.len()].copy_from_slice(self.payload);
        pos += self.payload.len();
        if self.padding > 0 {
            let p = usize::from(self.padding);
            out[pos..pos + p - 1].fill(0);
            out[pos + p - 1] = self.padding;
            pos += p;
        }
        Ok(pos)
    }

    /// Clears `out` and writes the packet into it. Allocates only when `out` has less capacity
    /// than the packet (reuse one `Vec` per stream and steady state allocates nothing).
    pub fn write_to_vec(&self, out: &mut Vec<u8>) -> Result<usize, RtpError> {
        out.clear();
        out.resize(self.serialized_len(), 0);
        let n = self.write_to(out)?;
        out.truncate(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Vec<u8> {
        // V=2, P=1, X=1, CC=1; M=1, PT=111; seq 0x1234; ts 0xdeadbeef; ssrc 1; csrc 2
        let mut b = vec![
            0xB1, 0xEF, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0, 0, 0, 1, 0, 0, 0, 2,
        ];
        b.extend_from_slice(&[0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0]); // id 1, 1 byte
        b.extend_from_slice(&[9, 8, 7]); // payload
        b.extend_from_slice(&[0, 0, 3]); // padding 3
        b
    }

    #[test]
    fn parses_all_fields() {
        let b = sample();
        let p = RtpPacket::parse(&b).unwrap();
        assert!(p.header.marker);
        assert_eq!(p.header.payload_type, 111);
        assert_eq!(p.header.sequence, 0x1234);
        assert_eq!(p.header.timestamp, 0xDEAD_BEEF);
        assert_eq!(p.header.ssrc, 1);
        assert_eq!(p.header.csrcs(), &[2]);
        assert_eq!(p.payload, &[9, 8, 7]);
        assert_eq!(p.padding, 3);
        let ext = p.extension.unwrap();
        assert!(ext.is_one_byte());
        let els: Vec<_> = ext.elements().collect::<Result<_, _>>().unwrap();
        assert_eq!(
            els,
            vec![ExtensionElement {
                id: 1,
                data: &[0xAA]
            }]
        );
        let mut out = Vec::new();
        p.write_to_vec(&mut out).unwrap();
        assert_eq!(out, b);
    }

    #[test]
    fn malformed_headers_are_typed_errors() {
        let b = sample();
        assert!(matches!(
            RtpPacket::parse(&b[..11]),
            Err(RtpError::TooShort { .. })
        ));
        let mut v = b.clone();
        v[0] = (v[0] & 0x3F) | 0x40;
        assert_eq!(
            RtpPacket::parse(&v),
            Err(RtpError::BadVersion { version: 1 })
        );
        let mut v = b[..12].to_vec();
        v[0] = 0x8F; // 15 CSRCs, none present
        assert!(matches!(
            RtpPacket::parse(&v),
            Err(RtpError::CsrcPastEnd { count: 15, .. })
        ));
        let mut v = b.clone();
        v[18..20].copy_from_slice(&[0xFF, 0xFF]);
        assert!(matches!(
            RtpPacket::parse(&v),
            Err(RtpError::ExtensionPastEnd { words: 65535, .. })
        ));
        let mut v = b.clone();
        *v.last_mut().unwrap() = 200;
        assert!(matches!(
            RtpPacket::parse(&v),
            Err(RtpError::PaddingTooLarge { padding: 200, .. })
        ));
        let mut v = b.clone();
        *v.last_mut().unwrap() = 0;
        assert_eq!(RtpPacket::parse(&v), Err(RtpError::ZeroPadding));
        let mut v = b[..16].to_vec();
        v[0] = 0x91; // X set, no extension word
        assert!(matches!(
            RtpPacket::parse(&v),
            Err(RtpError::TooShort { .. })
        ));
        let e: Error = RtpError::ZeroPadding.into();
        assert!(e.is_skippable());
    }

    #[test]
    fn two_byte_extensions_and_bad_elements() {
        let mut buf = [0u8; 64];
        let (profile, n) =
            write_extension_elements(&[(20, &[1, 2][..]), (2, &[][..])], &mut buf).unwrap();
        assert_eq!(profile, EXT_PROFILE_TWO_BYTE);
        let ext = RtpExtension {
            profile,
            data: &buf[..n],
        };
        let els: Vec<_> = ext.elements().collect::<Result<_, _>>().unwrap();
        assert_eq!(els.len(), 2);
        assert_eq!((els[0].id, els[0].data), (20, &[1u8, 2][..]));
        assert_eq!((els[1].id, els[1].data.len()), (2, 0));
        let bad = RtpExtension {
            profile: EXT_PROFILE_ONE_BYTE,
            data: &[0x1F, 0, 0, 0],
        };
        let r: Vec<_> = bad.elements().collect();
        assert_eq!(r.len(), 1);
        assert!(r[0].is_err());
        let other = RtpExtension {
            profile: 0x1234,
            data: &[1, 2, 3, 4],
        };
        assert_eq!(other.elements().count(), 0);
    }

    #[test]
    fn write_errors() {
        let p = RtpPacket {
            header: RtpHeader::new(0, 0, 0, 0),
            extension: None,
            payload: &[1; 10],
            padding: 0,
        };
        assert!(matches!(
            p.write_to(&mut [0u8; 8]),
            Err(RtpError::WriteBufferTooSmall { needed: 22, .. })
        ));
        let mut h = RtpHeader::new(0, 0, 0, 0);
        assert!(h.set_csrcs(&[0; 16]).is_err());
        let q = RtpPacket {
            extension: Some(RtpExtension {
                profile: 1,
                data: &[1, 2, 3],
            }),
            ..p
        };
        assert!(q.write_to(&mut [0u8; 64]).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(marker: bool, pt in 0u8..128, seq: u16, ts: u32, ssrc: u32,
                      csrcs in proptest::collection::vec(any::<u32>(), 0..=15),
                      ext in proptest::option::of((any::<u16>(), proptest::collection::vec(any::<u8>(), 0..32))),
                      payload in proptest::collection::vec(any::<u8>(), 0..200),
                      padding in 0u8..=255) {
            let mut h = RtpHeader::new(pt, seq, ts, ssrc);
            h.marker = marker;
            h.set_csrcs(&csrcs).unwrap();
            let ext_data = ext.as_ref().map(|(p, d)| (*p, &d[..d.len() / 4 * 4]));
            let pkt = RtpPacket {
                header: h,
                extension: ext_data.map(|(profile, data)| RtpExtension { profile, data }),
                payload: &payload,
                padding,
            };
            let mut out = Vec::new();
            let n = pkt.write_to_vec(&mut out).unwrap();
            prop_assert_eq!(n, pkt.serialized_len());
            let back = RtpPacket::parse(&out).unwrap();
            prop_assert_eq!(back, pkt);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            if let Ok(p) = RtpPacket::parse(&bytes) {
                if let Some(e) = p.extension { for _ in e.elements() {} }
                let mut out = Vec::new();
                p.write_to_vec(&mut out).unwrap();
            }
        }

        #[test]
        fn one_byte_elements_round_trip(els in proptest::collection::vec((1u8..=14, proptest::collection::vec(any::<u8>(), 1..=16)), 0..8)) {
            let refs: Vec<(u8, &[u8])> = els.iter().map(|(i, d)| (*i, &d[..])).collect();
            let mut buf = [0u8; 256];
            let (profile, n) = write_extension_elements(&refs, &mut buf).unwrap();
            let ext = RtpExtension { profile, data: &buf[..n] };
            let back: Vec<(u8, Vec<u8>)> = ext.elements().map(|e| e.map(|e| (e.id, e.data.to_vec()))).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(back, els);
        }
    }
}
