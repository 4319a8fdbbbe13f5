//! Shared test helpers: a stand-in codec whose audio says which packet it came from.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use voxflow_core::{AudioFormat, AudioFrame, Error, Packet, PacketDecoder, RtpInfo};
use voxflow_jitter_buffer::{JitterBuffer, JitterConfig};

pub const RATE: u32 = 48_000;
/// Sample frames per 20 ms packet.
pub const PKT: usize = 960;

/// A test codec: a 1-byte payload is a DTX frame (20 ms of zeros); otherwise a payload is `[tag_hi, tag_lo, n_hi, n_lo]`; it decodes to `n` sample frames,
/// all equal to `tag / 65536`. Concealment writes -1.0 (so the tests can tell it apart); FEC
/// writes -2.0.
pub struct Tagged;

impl PacketDecoder for Tagged {
    fn name(&self) -> &'static str {
        "tagged"
    }
    fn format(&self) -> AudioFormat {
        AudioFormat {
            rate: RATE,
            channels: 1,
        }
    }
    fn max_frames(&self) -> usize {
        5_760
    }
    fn packet_frames(&self, p: &[u8]) -> Result<usize, Error> {
        if p.len() == 1 {
            return Ok(PKT); // a DTX frame: 20 ms of silence
        }
        if p.len() != 4 {
            return Err(Error::Malformed {
                what: "tagged",
                detail: format!("{} bytes", p.len()),
            });
        }
        Ok(usize::from(u16::from_be_bytes([p[2], p[3]])))
    }
    fn decode(&mut self, p: &[u8], out: &mut AudioFrame) -> Result<usize, Error> {
        let n = self.packet_frames(p)?;
        out.set_frames(n)?;
        if p.len() == 1 {
            out.samples_mut().fill(0.0);
            return Ok(n);
        }
        let tag = f32::from(u16::from_be_bytes([p[0], p[1]])) / 65_536.0;
        out.samples_mut().fill(tag);
        Ok(n)
    }
    fn conceal(&mut self, n: usize, out: &mut AudioFrame) -> Result<usize, Error> {
        out.set_frames(n)?;
        out.samples_mut().fill(-1.0);
        Ok(n)
    }
    fn decode_fec(&mut self, _next: &[u8], n: usize, out: &mut AudioFrame) -> Result<usize, Error> {
        out.set_frames(n)?;
        out.samples_mut().fill(-2.0);
        Ok(n)
    }
    fn has_fec(&self) -> bool {
        true
    }
    fn reset(&mut self) {}
}

/// The sample value a packet tagged `tag` decodes to.
pub fn level(tag: u16) -> f32 {
    f32::from(tag) / 65_536.0
}

/// A 20 ms packet tagged `tag` with these RTP facts.
pub fn packet(seq: u16, ts: u32, ssrc: u32, tag: u16) -> Packet {
    let mut p = Packet::with_capacity(4);
    let n = PKT as u16;
    p.set_data(&[(tag >> 8) as u8, tag as u8, (n >> 8) as u8, n as u8]);
    p.rtp = Some(RtpInfo {
        seq: u64::from(seq),
        timestamp: ts,
        marker: false,
        ssrc,
        payload_type: 96,
    });
    p
}

/// Packet `i` of a stream starting at (`seq0`, `ts0`): tag = i.
pub fn nth(i: u32, seq0: u16, ts0: u32) -> Packet {
    packet(
        seq0.wrapping_add(i as u16),
        ts0.wrapping_add(i * PKT as u32),
        7,
        (i % 60_000) as u16 + 1,
    )
}

pub fn buffer(cfg: JitterConfig) -> JitterBuffer {
    JitterBuffer::new(cfg, Box::new(Tagged)).unwrap()
}

pub fn no_stretch() -> JitterConfig {
    JitterConfig {
        time_stretch: false,
        ..JitterConfig::default()
    }
}

pub fn ms(t0: Instant, ms: f64) -> Instant {
    t0 + Duration::from_micros((ms * 1000.0) as u64)
}

/// A replay: `(packet, arrival_ms)` in arrival order, pulled every 10 ms from `t0` for
/// `duration_ms`. Returns every pulled frame's samples concatenated, and the pulls.
pub fn replay(
    jb: &mut JitterBuffer,
    arrivals: &[(Packet, f64)],
    duration_ms: u32,
) -> (Vec<f32>, Vec<voxflow_jitter_buffer::Pull>) {
    let t0 = Instant::now();
    let mut out = AudioFrame::with_capacity(jb.format(), jb.frame_frames());
    let mut next = 0;
    let mut audio = vec![];
    let mut pulls = vec![];
    for k in 1..=(duration_ms / 10) {
        let now_ms = f64::from(k * 10);
        while next < arrivals.len() && arrivals[next].1 <= now_ms {
            let _ = jb.insert(&arrivals[next].0, ms(t0, arrivals[next].1));
            next += 1;
        }
        pulls.push(jb.pull(ms(t0, now_ms), &mut out).unwrap());
        audio.extend_from_slice(out.samples());
    }
    (audio, pulls)
}

/// The distinct sample values of `audio` in order of appearance, runs collapsed.
pub fn runs(audio: &[f32]) -> Vec<f32> {
    let mut v: Vec<f32> = vec![];
    for &s in audio {
        if v.last() != Some(&s) {
            v.push(s);
        }
    }
    v
}
