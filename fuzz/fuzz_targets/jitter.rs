//! Fuzz target: `voxflow_jitter_buffer::JitterBuffer` driven by a script of inserts and pulls.
//! It must never panic; `insert` fails only with `Malformed` (and only for a packet that is),
//! `pull` only with `FrameTooLarge` (and only for a frame that is too small); a pull writes
//! exactly `frame_frames` finite samples; no more than `max_packets` are held; every sample
//! played is counted as emitted or concealed; duplicates are part of the packets received.
//!
//! Input: two header bytes, then 8-byte operations.
//! * header 0: bit 0 = 20 ms frames; bit 1 = no time-stretch; bit 2 = DTX filled with silence;
//!   bits 3–4 pick `max_packets` (100, 2, 5, 16); bits 5–7 × 40 ms = `min_delay`.
//! * header 1: bit 0 = the codec has FEC; bits 1–2 pick its rate (48, 16, 8, 44.1 kHz);
//!   bit 3 = stereo.
//! * operation `[k, s, t0, t1, n, c, a, d]`: `k & 3 == 3` is a pull, anything else an insert.
//!   - pull: `d` ms after the previous operation (`a` as i8 ms more, so time may step back);
//!     `k & 4`: the frame holds only `c` sample frames (too small when `c` < the frame).
//!   - insert: sequence number = previous + `s` as i8; timestamp follows it (960 ticks per
//!     step) plus `[t0, t1]` as i16 ticks, or, when `k & 0x80`, is `[t0, t1]` << 16 outright;
//!     SSRC 1 + `(k >> 4) & 3`; `k & 0x40`: no RTP facts. Payload: `n` bytes (255: 1 600,
//!     over `max_payload`) all equal to `c`, whose first byte is the duration in 2.5 ms steps
//!     (0 and > 48 are refused by the codec; a 1-byte payload is DTX; `c == 0xff` with 2
//!     bytes passes sizing but fails decoding). Arrival: `a` as i8 ms after the previous
//!     operation.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use voxflow_core::{AudioFormat, AudioFrame, Error, Packet, PacketDecoder, RtpInfo};
use voxflow_jitter_buffer::{DtxFill, JitterBuffer, JitterConfig};

/// A stand-in codec that allocates nothing on success: the payload's first byte is its
/// duration in 2.5 ms steps; it decodes to a triangle wave whose pitch is that byte, concealment
/// continues the wave at half level, FEC (when enabled) writes it at a quarter.
struct Tone {
    format: AudioFormat,
    fec: bool,
    phase: f32,
}

impl Tone {
    fn quantum(&self) -> usize {
        (self.format.rate as usize / 400).max(1)
    }

    fn write(&mut self, frames: usize, pitch: u8, gain: f32, out: &mut AudioFrame) -> usize {
        out.reset(self.format);
        if out.set_frames(frames).is_err() {
            return 0;
        }
        let step = (60.0 + f32::from(pitch) * 4.0) / self.format.rate as f32;
        let ch = usize::from(self.format.channels);
        for f in out.samples_mut().chunks_exact_mut(ch) {
            // A triangle wave: periodic like voiced speech, and cheap (no `sin` per sample).
            let v = gain * 0.3 * (4.0 * (self.phase - 0.5).abs() - 1.0);
            f.fill(v);
            self.phase = (self.phase + step).fract();
        }
        frames
    }
}

impl PacketDecoder for Tone {
    fn name(&self) -> &'static str {
        "fuzz-tone"
    }
    fn format(&self) -> AudioFormat {
        self.format
    }
    fn max_frames(&self) -> usize {
        48 * self.quantum() // 120 ms
    }
    fn packet_frames(&self, p: &[u8]) -> Result<usize, Error> {
        match p {
            [_] => Ok(8 * self.quantum()), // DTX: 20 ms
            [d, ..] if (1..=48).contains(d) => Ok(usize::from(*d) * self.quantum()),
            _ => Err(Error::Malformed {
                what: "fuzz-tone",
                detail: String::new(),
            }),
        }
    }
    fn decode(&mut self, p: &[u8], out: &mut AudioFrame) -> Result<usize, Error> {
        let n = self.packet_frames(p)?;
        if p.len() == 2 && p[1] == 0xff {
            return Err(Error::Malformed {
                what: "fuzz-tone",
                detail: String::new(),
            });
        }
        let gain = if p.len() == 1 { 0.0 } else { 1.0 };
        Ok(self.write(n, p[0], gain, out))
    }
    fn conceal(&mut self, n: usize, out: &mut AudioFrame) -> Result<usize, Error> {
        Ok(self.write(n, 0, 0.5, out))
    }
    fn decode_fec(&mut self, next: &[u8], n: usize, out: &mut AudioFrame) -> Result<usize, Error> {
        let pitch = next.first().copied().unwrap_or(0);
        Ok(self.write(n, pitch, 0.25, out))
    }
    fn has_fec(&self) -> bool {
        self.fec
    }
    fn reset(&mut self) {
        self.phase = 0.0;
    }
}

fuzz_target!(|data: &[u8]| {
    let [h0, h1, script @ ..] = data else {
        return;
    };
    let config = JitterConfig {
        frame: Duration::from_millis(if h0 & 1 != 0 { 20 } else { 10 }),
        time_stretch: h0 & 2 == 0,
        dtx_fill: if h0 & 4 != 0 {
            DtxFill::Silence
        } else {
            DtxFill::ComfortNoise
        },
        max_packets: [100, 2, 5, 16][usize::from((h0 >> 3) & 3)],
        min_delay: Duration::from_millis(u64::from(h0 >> 5) * 40),
        ..JitterConfig::default()
    };
    let format = AudioFormat {
        rate: [48_000, 16_000, 8_000, 44_100][usize::from((h1 >> 1) & 3)],
        channels: if h1 & 8 != 0 { 2 } else { 1 },
    };
    let codec = Tone {
        format,
        fec: h1 & 1 != 0,
        phase: 0.0,
    };
    let max_frames = codec.max_frames();
    let quantum = codec.quantum();
    let max_packets = config.max_packets;
    let mut jb = JitterBuffer::new(config, Box::new(codec)).expect("a valid configuration");
    let frame = jb.frame_frames();
    let mut out = AudioFrame::with_capacity(format, frame.max(256));
    let mut packet = Packet::with_capacity(1_600);
    let t0 = Instant::now();
    // The script's clock in ms after t0 + 1 000 s (it may step back, never before t0).
    let mut clock: i64 = 1_000_000;
    let (mut seq, mut ts) = (65_500u16, u32::MAX - 40_000);

    for op in script.chunks_exact(8) {
        let [k, s, t0b, t1b, n, c, a, d] = [op[0], op[1], op[2], op[3], op[4], op[5], op[6], op[7]];
        clock = (clock + i64::from(a as i8)).max(0);
        if k & 3 == 3 {
            clock += i64::from(d);
            let now = t0 + Duration::from_millis(clock as u64);
            let too_small = k & 4 != 0 && usize::from(c) < frame;
            let mut small;
            let target = if k & 4 != 0 {
                small = AudioFrame::with_capacity(format, usize::from(c));
                &mut small
            } else {
                &mut out
            };
            match jb.pull(now, target) {
                Ok(_) => {
                    assert!(!too_small, "a frame of {c} accepted for {frame}");
                    assert_eq!(target.frames(), frame);
                    assert!(target.samples().iter().all(|v| v.is_finite()));
                }
                Err(Error::FrameTooLarge { .. }) => assert!(too_small),
                Err(e) => panic!("pull: {e}"),
            }
        } else {
            let step = s as i8;
            let new_seq = seq.wrapping_add(step as u16);
            let new_ts = if k & 0x80 != 0 {
                u32::from(u16::from_le_bytes([t0b, t1b])) << 16
            } else {
                ts.wrapping_add((i32::from(step) * 960) as u32)
                    .wrapping_add(i32::from(i16::from_le_bytes([t0b, t1b])) as u32)
            };
            if step > 0 {
                seq = new_seq;
                ts = ts.wrapping_add((i32::from(step) * 960) as u32);
            }
            let len = if n == 255 { 1_600 } else { usize::from(n) };
            let bytes = &[c; 1_600][..len];
            packet.set_data(bytes);
            packet.rtp = (k & 0x40 == 0).then_some(RtpInfo {
                seq: u64::from(new_seq),
                timestamp: new_ts,
                marker: false,
                ssrc: 1 + u32::from((k >> 4) & 3),
                payload_type: 111,
            });
            let sized = match bytes {
                [_] => true,
                [d, ..] => (1..=48).contains(d) && usize::from(*d) * quantum <= max_frames,
                [] => false,
            };
            let acceptable = packet.rtp.is_some() && sized && len <= 1_500;
            let arrival = t0 + Duration::from_millis(clock as u64);
            match jb.insert(&packet, arrival) {
                Ok(_) => assert!(
                    acceptable,
                    "accepted: {len} bytes of {c}, rtp {}",
                    k & 0x40 == 0
                ),
                Err(Error::Malformed { .. }) => assert!(!acceptable, "refused: {len} bytes of {c}"),
                Err(e) => panic!("insert: {e}"),
            }
        }
        assert!(jb.packets_held() <= max_packets);
        let st = jb.stats();
        assert_eq!(
            st.total_samples_received,
            st.jitter_buffer_emitted_count + st.concealed_samples,
            "{st:?}"
        );
        assert!(st.packets_received >= st.packets_duplicated, "{st:?}");
    }
});
