//! The jitter buffer: packets in, one frame of audio out per pull.

use std::time::{Duration, Instant};

use voxflow_core::{AudioFormat, AudioFrame, Error, Packet, PacketDecoder, RtpTimestampUnwrapper};

use crate::config::DtxFill;
use crate::estimator::DelayEstimator;
use crate::seq::SeqTracker;
use crate::store::PacketStore;
use crate::stretch::TimeStretcher;
use crate::sync::{Kind, SyncBuffer};
use crate::{JitterConfig, JitterStats};

/// What [`JitterBuffer::insert`] did with a packet. Every outcome but `Queued` and `Reset` is a
/// drop, counted in [`JitterStats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insert {
    /// Held for playout.
    Queued,
    /// Held for playout after the buffer reset itself (a new SSRC, or a sequence or timestamp
    /// jump too large to bridge): `stats().resets` counts it.
    Reset,
    /// Dropped: a packet with this sequence number was already received
    /// (`packets_duplicated`).
    Duplicate,
    /// Dropped: it came after its playout time (`packets_discarded`, `packets_late`).
    Late,
    /// Dropped: the buffer was full (`max_packets` or `max_bytes`) and this packet was the one
    /// farthest from playout (`packets_discarded`, `packets_overflow`).
    Overflow,
}

/// What one [`JitterBuffer::pull`] played.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Playout {
    /// Nothing to play: before the first packet (not counted as received audio).
    Idle,
    /// Decoded audio at normal speed.
    Normal,
    /// Decoded audio shortened by a few ms (the delay was above target).
    Accelerate,
    /// Decoded audio shortened hard (the delay was far above target).
    FastAccelerate,
    /// Decoded audio lengthened (the delay was below target).
    Decelerate,
    /// Audio recovered from the FEC of the next packet, in place of a lost one.
    Fec,
    /// Packet loss concealment: the audio did not arrive in time.
    Conceal,
    /// A DTX gap filled with comfort noise or silence.
    Dtx,
}

/// What one [`JitterBuffer::pull`] did, beside the frame it wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pull {
    /// How the frame was made (the last operation, when a frame mixes two).
    pub playout: Playout,
    /// The RTP timestamp of the frame's first sample when it is decoded audio (the playout
    /// timestamp), `None` for concealment and idle frames.
    pub timestamp: Option<u32>,
    /// The playout delay now: how long the audio played at this pull had been waiting since it
    /// would have arrived with no jitter at all (the estimator's zero).
    pub delay: Duration,
    /// The delay target in force.
    pub target: Duration,
}

/// Payloads of at most this many bytes carry no audio (an Opus DTX frame is 1–2 bytes): the gap
/// after one is a DTX gap.
const DTX_PAYLOAD_MAX: usize = 2;
/// A timestamp this far (µs of media) from the playout position is a jump, not jitter: the
/// stream restarted. Two consecutive packets must agree before the buffer follows it.
const JUMP_US: i64 = 10_000_000;
/// Accelerate when the delay exceeds the target by more than this (µs).
const ACCEL_MARGIN_US: i64 = 5_000;
/// Decelerate when the delay is below the target by more than this (µs).
const DECEL_MARGIN_US: i64 = 5_000;
/// Fast path: accelerate hard when the delay exceeds the target by more than this (µs).
const FAST_MARGIN_US: i64 = 60_000;
/// Share of played audio that normal time-stretching may add or remove (the "few percent").
const STRETCH_RATE: f64 = 0.25;
/// Share of played audio the fast path may remove.
const FAST_RATE: f64 = 0.50;

/// A packet that jumped far from the playout position, held until the next one confirms the new
/// timeline.
#[derive(Clone, Copy, Debug)]
struct PendingJump {
    seq16: u16,
    ts: u32,
}

/// Per-stream state (one SSRC's timeline).
struct Stream {
    ssrc: u32,
    origin: Instant,
    ts_origin: i64,
    ts: RtpTimestampUnwrapper,
    seqs: SeqTracker,
    received: u64,
    /// Playout has begun.
    started: bool,
    /// Extended timestamp of the sample after the last one put into the sync buffer.
    end_ts: i64,
    /// Concealment played while nothing was there to play, not yet matched by skipped media.
    held_ticks: i64,
    last_decoded_seq: Option<i64>,
    last_was_dtx: bool,
}

/// A sans-IO adaptive jitter buffer. See the [crate documentation](crate).
///
/// ```
/// use std::time::{Duration, Instant};
/// use voxflow_core::{AudioFormat, AudioFrame, Error, Packet, PacketDecoder, RtpInfo};
/// use voxflow_jitter_buffer::{JitterBuffer, JitterConfig, Playout};
///
/// /// 16-bit big-endian PCM at 48 kHz mono, as a stand-in codec.
/// struct L16;
/// impl PacketDecoder for L16 {
///     fn name(&self) -> &'static str { "L16" }
///     fn format(&self) -> AudioFormat { AudioFormat { rate: 48_000, channels: 1 } }
///     fn max_frames(&self) -> usize { 5_760 }
///     fn packet_frames(&self, p: &[u8]) -> Result<usize, Error> { Ok(p.len() / 2) }
///     fn decode(&mut self, p: &[u8], out: &mut AudioFrame) -> Result<usize, Error> {
///         out.set_frames(p.len() / 2)?;
///         for (o, b) in out.samples_mut().iter_mut().zip(p.chunks_exact(2)) {
///             *o = f32::from(i16::from_be_bytes([b[0], b[1]])) / 32768.0;
///         }
///         Ok(p.len() / 2)
///     }
///     fn conceal(&mut self, n: usize, out: &mut AudioFrame) -> Result<usize, Error> {
///         out.set_frames(n)?;
///         out.samples_mut().fill(0.0);
///         Ok(n)
///     }
///     fn reset(&mut self) {}
/// }
///
/// let mut jb = JitterBuffer::new(JitterConfig::default(), Box::new(L16))?;
/// let mut out = AudioFrame::with_capacity(jb.format(), jb.frame_frames());
/// let t0 = Instant::now();
/// let mut p = Packet::with_capacity(960);
/// p.set_data(&[0x10; 960]); // 10 ms
/// p.rtp = Some(RtpInfo { seq: 0, timestamp: 0, marker: true, ssrc: 1, payload_type: 96 });
/// jb.insert(&p, t0)?;
/// // The first packet plays at once.
/// assert_eq!(jb.next_deadline(), Some(t0));
/// let pull = jb.pull(t0, &mut out)?;
/// assert_eq!(pull.playout, Playout::Normal);
/// assert_eq!(out.frames(), 480);
/// assert_eq!(jb.stats().jitter_buffer_emitted_count, 480);
/// # Ok::<(), Error>(())
/// ```
pub struct JitterBuffer {
    config: JitterConfig,
    decoder: Box<dyn PacketDecoder>,
    format: AudioFormat,
    channels: usize,
    frame_len: usize,
    /// 2.5 ms in sample frames: the concealment granularity.
    quantum: usize,
    store: PacketStore,
    sync: SyncBuffer,
    stretcher: TimeStretcher,
    estimator: DelayEstimator,
    scratch: AudioFrame,
    stretch_out: Vec<f32>,
    stats: JitterStats,
    stream: Option<Stream>,
    pending: Option<PendingJump>,
    last_pull: Option<Instant>,
    first_arrival: Option<Instant>,
    /// Stretch allowance in sample frames (refilled as audio plays).
    credit: f64,
    fast_credit: f64,
    /// Packets-lost base carried over streams that ended (RFC 3550 counts per stream).
    lost_before: i64,
    target_us: i64,
    minimum_us: i64,
}

impl JitterBuffer {
    /// A buffer decoding with `decoder`. Allocates every buffer it will ever use.
    pub fn new(config: JitterConfig, decoder: Box<dyn PacketDecoder>) -> Result<Self, Error> {
        config.validate()?;
        let format = decoder.format();
        let channels = usize::from(format.channels);
        if channels == 0 || format.rate == 0 {
            return Err(Error::InvalidConfig {
                what: "decoder format",
                reason: format!("{format}"),
            });
        }
        let frame_len = format.rate as usize * config.frame.as_millis() as usize / 1_000;
        let quantum = (format.rate as usize / 400).max(1);
        let stretcher = TimeStretcher::new(format);
        let max_dec = decoder.max_frames().max(frame_len);
        let sync_frames = 2 * max_dec + 2 * stretcher.max_input_frames() + 4 * frame_len;
        let stretch_len = (stretcher.max_input_frames() * 2 + frame_len) * channels;
        Ok(JitterBuffer {
            store: PacketStore::new(config.max_packets, config.max_bytes, config.max_payload),
            sync: SyncBuffer::new(channels, sync_frames),
            estimator: DelayEstimator::new(config.max_delay.as_millis() as u32, None),
            scratch: AudioFrame::with_capacity(format, max_dec),
            stretch_out: vec![0.0; stretch_len],
            stretcher,
            decoder,
            format,
            channels,
            frame_len,
            quantum,
            stats: JitterStats::default(),
            stream: None,
            pending: None,
            last_pull: None,
            first_arrival: None,
            credit: 0.0,
            fast_credit: 0.0,
            lost_before: 0,
            target_us: 0,
            minimum_us: 0,
            config,
        })
    }

    fn malformed(&mut self, detail: String) -> Error {
        self.stats.packets_malformed += 1;
        Error::Malformed {
            what: "jitter buffer packet",
            detail,
        }
    }

    fn ticks_to_frames(&self, ticks: i64) -> usize {
        (ticks.max(0) as i128 * i128::from(self.format.rate) / i128::from(self.config.clock_rate))
            as usize
    }

    fn frames_to_ticks(&self, frames: usize) -> i64 {
        (frames as i128 * i128::from(self.config.clock_rate) / i128::from(self.format.rate)) as i64
    }

    fn ticks_to_us(&self, ticks: i64) -> i64 {
        (ticks as i128 * 1_000_000 / i128::from(self.config.clock_rate)) as i64
    }

    fn us_to_frames(&self, us: i64) -> usize {
        (us.max(0) as i128 * i128::from(self.format.rate) / 1_000_000) as usize
    }

    /// Takes one packet that arrived at `arrival`. Its [`Packet::rtp`] must be set.
    ///
    /// An accepted or dropped packet never allocates. Errors are [`Error::Malformed`]
    /// (**skip**: the packet is not kept, `packets_malformed` counts it): no RTP facts, an empty
    /// payload or one over `max_payload`, one the decoder cannot size; building the error's
    /// message allocates (one `String`), the price of an error that says what was wrong. Drops
    /// are not errors: they are the [`Insert`] outcomes, each counted.
    pub fn insert(&mut self, packet: &Packet, arrival: Instant) -> Result<Insert, Error> {
        let Some(rtp) = packet.rtp else {
            return Err(self.malformed("no RTP facts (Packet::rtp is None)".into()));
        };
        let data = packet.data();
        if data.is_empty() || data.len() > self.config.max_payload {
            return Err(self.malformed(format!(
                "payload of {} bytes (accepted: 1..={})",
                data.len(),
                self.config.max_payload
            )));
        }
        let frames = match self.decoder.packet_frames(data) {
            Ok(f) if f > 0 && f <= self.decoder.max_frames() => f,
            Ok(f) => {
                return Err(self.malformed(format!(
                    "payload decodes to {f} sample frames (accepted: 1..={})",
                    self.decoder.max_frames()
                )));
            }
            Err(e) => return Err(self.malformed(format!("{e}"))),
        };
        let ticks = self.frames_to_ticks(frames);
        self.first_arrival.get_or_insert(arrival);

        let mut outcome = Insert::Queued;
        if self.stream.as_ref().is_some_and(|s| s.ssrc != rtp.ssrc) {
            self.restart();
            outcome = Insert::Reset;
        }
        let stream = self.stream.get_or_insert_with(|| Stream {
            ssrc: rtp.ssrc,
            origin: arrival,
            ts_origin: i64::from(rtp.timestamp),
            ts: RtpTimestampUnwrapper::new(self.config.clock_rate),
            seqs: SeqTracker::new(),
            received: 0,
            started: false,
            end_ts: i64::from(rtp.timestamp),
            held_ticks: 0,
            last_decoded_seq: None,
            last_was_dtx: false,
        });

        // A jump far from where playout is: a restarted stream, or one stray packet.
        let anchor = if stream.started {
            stream.end_ts
        } else {
            self.store.front().map_or(stream.ts_origin, |p| p.ts)
        };
        let ts_probe = {
            // Unwrap without moving the unwrapper's reference.
            let mut u = stream.ts.clone();
            u.unwrap(rtp.timestamp).ticks()
        };
        let jump_ticks = JUMP_US as i128 * i128::from(self.config.clock_rate) / 1_000_000;
        if i128::from((ts_probe - anchor).abs()) > jump_ticks && stream.received > 0 {
            let confirms = self.pending.is_some_and(|p| {
                let ds = rtp.seq16().wrapping_sub(p.seq16);
                let dt = rtp.timestamp.wrapping_sub(p.ts);
                (1..=16).contains(&ds) && i128::from(dt) <= jump_ticks / 10
            });
            if !confirms {
                if self.pending.is_some() {
                    // The previous stray packet was never confirmed: a counted drop.
                    self.stats.packets_discarded += 1;
                }
                self.pending = Some(PendingJump {
                    seq16: rtp.seq16(),
                    ts: rtp.timestamp,
                });
                self.stats.packets_received += 1;
                return Ok(Insert::Late);
            }
            // Two packets agree: the stream restarted. Follow the new timeline from scratch; the
            // first packet of it (held as pending, its payload not kept) counts as discarded.
            self.pending = None;
            self.stats.packets_discarded += 1;
            self.restart();
            return self.insert(packet, arrival).map(|_| Insert::Reset);
        }
        if self.pending.take().is_some() {
            self.stats.packets_discarded += 1;
        }
        self.insert_checked(packet, arrival, ticks, outcome)
    }

    fn insert_checked(
        &mut self,
        packet: &Packet,
        arrival: Instant,
        ticks: i64,
        outcome: Insert,
    ) -> Result<Insert, Error> {
        let clock = self.config.clock_rate;
        let tol = self.frames_to_ticks(self.quantum);
        let fec_us = self.decoder.has_fec().then(|| self.ticks_to_us(ticks));
        // The caller made the stream.
        let Some(stream) = self.stream.as_mut() else {
            return Ok(Insert::Late);
        };
        let Some(rtp) = packet.rtp else {
            return Ok(Insert::Late);
        };
        self.stats.packets_received += 1;
        stream.received += 1;
        let seq = stream.seqs.extend(rtp.seq16());
        if !stream.seqs.record(seq) || self.store.contains_seq(seq) {
            self.stats.packets_duplicated += 1;
            self.update_lost();
            return Ok(Insert::Duplicate);
        }
        let ts = stream.ts.unwrap(rtp.timestamp).ticks();
        let media_us = ((ts - stream.ts_origin) as i128 * 1_000_000 / i128::from(clock)) as i64;
        let arrival_us = micros_since(stream.origin, arrival);
        self.estimator.set_fec(fec_us);
        self.estimator.update(arrival_us, media_us, seq);
        let late = stream.started && ts + tol <= stream.end_ts;
        self.update_lost();
        if late {
            self.stats.packets_discarded += 1;
            self.stats.packets_late += 1;
            return Ok(Insert::Late);
        }
        match self
            .store
            .insert(seq, ts, ticks, arrival, packet.trace, packet.data())
        {
            Ok(evicted) => {
                self.stats.packets_discarded += evicted as u64;
                self.stats.packets_overflow += evicted as u64;
                Ok(outcome)
            }
            Err(_) => {
                self.stats.packets_discarded += 1;
                self.stats.packets_overflow += 1;
                Ok(Insert::Overflow)
            }
        }
    }

    fn update_lost(&mut self) {
        if let Some(s) = &self.stream {
            self.stats.packets_lost = self.lost_before + s.seqs.expected() - s.received as i64;
        }
    }

    /// Ends the current stream (SSRC change, timeline jump): packets and decoded audio are
    /// dropped (held packets count as discarded), the decoder and estimator start over.
    fn restart(&mut self) {
        self.update_lost();
        self.lost_before = self.stats.packets_lost;
        let held = self.store.len() as u64;
        self.stats.packets_discarded += held;
        self.stats.packets_overflow += held;
        self.store.clear();
        self.sync.clear();
        self.sync.forget_history();
        self.estimator.reset();
        self.decoder.reset();
        self.stretcher.reset();
        self.stream = None;
        self.credit = 0.0;
        self.fast_credit = 0.0;
        self.stats.resets += 1;
    }

    /// Writes exactly one frame ([`frame_frames`](Self::frame_frames) sample frames) into `out`.
    ///
    /// Never allocates. The only error is [`Error::FrameTooLarge`] when `out` holds fewer than
    /// `frame_frames` sample frames (size it with [`frame_frames`](Self::frame_frames)).
    pub fn pull(&mut self, now: Instant, out: &mut AudioFrame) -> Result<Pull, Error> {
        if out.capacity_frames() < self.frame_len {
            return Err(Error::FrameTooLarge {
                max_frames: out.capacity_frames(),
                frames: self.frame_len,
            });
        }
        out.reset(self.format);
        out.set_frames(self.frame_len)?;
        self.last_pull = Some(now);
        let idle = Pull {
            playout: Playout::Idle,
            timestamp: None,
            delay: Duration::ZERO,
            target: Duration::from_micros(self.target_us.max(0) as u64),
        };
        let Some(stream) = self.stream.as_mut() else {
            out.samples_mut().fill(0.0);
            return Ok(idle);
        };
        if !stream.started {
            // Playout starts with the first packet, or once it has waited the floor the user
            // set (`min_delay` + `base_delay`): the only start-up wait there is.
            let wait = self.config.min_delay + self.config.base_delay;
            let Some(front) = self.store.front().filter(|_| now >= stream.origin + wait) else {
                out.samples_mut().fill(0.0);
                return Ok(idle);
            };
            stream.started = true;
            stream.end_ts = front.ts;
        }
        self.update_target();
        self.fill(self.frame_len);
        let delay_us = self.delay_us(now);
        self.grid_target(delay_us);
        let op = if self.config.time_stretch {
            self.stretch(delay_us)
        } else {
            None
        };
        self.fill(self.frame_len);

        let play_ts = self.play_ts();
        let ahead = self.sync.kinds_ahead(self.frame_len);
        // A frame is a concealed frame when at least half of it is synthesized (the counters
        // count every concealed sample exactly).
        let concealed = 2 * ahead.concealed >= self.frame_len;
        let dtx = concealed && 2 * ahead.dtx >= ahead.concealed;
        let fec = ahead.fec;
        let taken = self.sync.take(self.frame_len, out.samples_mut(), now);
        let n = self.frame_len as u64;
        let st = &mut self.stats;
        st.total_samples_received += n;
        st.jitter_buffer_emitted_count += taken.emitted;
        st.jitter_buffer_delay += taken.delay_secs;
        st.jitter_buffer_target_delay += self.target_us as f64 / 1e6 * taken.emitted as f64;
        st.jitter_buffer_minimum_delay += self.minimum_us as f64 / 1e6 * taken.emitted as f64;
        st.concealed_samples += taken.concealed;
        st.silent_concealed_samples += taken.silent;
        st.concealment_events += taken.events;
        st.fec_samples += taken.fec;
        self.credit = (self.credit + STRETCH_RATE * n as f64).min(self.frame_len as f64 * 2.0);
        self.fast_credit =
            (self.fast_credit + FAST_RATE * n as f64).min(self.frame_len as f64 * 2.0);

        let playout = if dtx {
            Playout::Dtx
        } else if concealed {
            Playout::Conceal
        } else if let Some(op) = op {
            op
        } else if fec {
            Playout::Fec
        } else {
            Playout::Normal
        };
        let timestamp = (!concealed && !dtx).then_some(play_ts as u32);
        Ok(Pull {
            playout,
            timestamp,
            delay: Duration::from_micros(delay_us.max(0) as u64),
            target: Duration::from_micros(self.target_us.max(0) as u64),
        })
    }

    fn update_target(&mut self) {
        let q = self
            .estimator
            .target_us(self.config.conceal_cost.as_micros() as i64);
        self.minimum_us = q;
        let max = self.config.max_delay.as_micros() as i64;
        let min = self.config.min_delay.as_micros() as i64;
        self.target_us =
            (self.minimum_us + self.config.base_delay.as_micros() as i64).clamp(min, max);
    }

    /// Puts the target on the pull grid. The next packet is needed at a pull, so the delay at
    /// the decode point moves in whole frames: of the delays reachable from the current one
    /// (plus or minus whole frames, within `min_delay..=max_delay`), take the one with the
    /// least `delay + conceal_cost × percent of packets later than delay − base_delay`.
    /// Before the estimator has a histogram, the target stays the estimator's first guess.
    fn grid_target(&mut self, delay_us: i64) {
        let frame_us = self.config.frame.as_micros() as i64;
        let cost = self.config.conceal_cost.as_micros() as f64 * 100.0;
        let base = self.config.base_delay.as_micros() as i64;
        let max = self.config.max_delay.as_micros() as i64;
        let min = self.config.min_delay.as_micros() as i64;
        let mut best = (f64::INFINITY, self.target_us);
        let mut d = delay_us.rem_euclid(frame_us);
        while d <= max {
            if d >= min {
                let Some(late) = self.estimator.late_share(d - base) else {
                    return;
                };
                let c = d as f64 + cost * late;
                if c < best.0 {
                    best = (c, d);
                }
            }
            d += frame_us;
        }
        self.target_us = best.1;
    }

    /// Extended RTP timestamp of the next sample to play.
    fn play_ts(&self) -> i64 {
        let end = self.stream.as_ref().map_or(0, |s| s.end_ts);
        end - self.frames_to_ticks(self.sync.frames())
    }

    /// The playout delay at `now` (µs): how far behind a jitter-free arrival the next sample
    /// plays.
    fn delay_us(&self, now: Instant) -> i64 {
        let Some(stream) = &self.stream else { return 0 };
        let Some(floor) = self.estimator.floor_us() else {
            return 0;
        };
        // The next packet is needed at the pull that finds fewer than a frame left: after
        // `whole` more frames. Its media time is the end of what is decoded.
        let whole = (self.sync.frames() / self.frame_len) * self.frame_len;
        let needed_at = micros_since(stream.origin, now) + self.frames_to_us(whole);
        let media_us = self.ticks_to_us(stream.end_ts - stream.ts_origin);
        needed_at - media_us - floor
    }

    fn frames_to_us(&self, frames: usize) -> i64 {
        (frames as i128 * 1_000_000 / i128::from(self.format.rate)) as i64
    }

    /// Puts audio into the sync buffer until it holds `need` sample frames: decoded packets,
    /// FEC, concealment or DTX fill, in media order.
    fn fill(&mut self, need: usize) {
        let tol = self.frames_to_ticks(self.quantum);
        let mut guard = 0;
        while self.sync.frames() < need && guard < 64 {
            guard += 1;
            let Some(stream) = self.stream.as_mut() else {
                return;
            };
            // Packets whose place has passed are late.
            while let Some(front) = self.store.front() {
                if front.ts + tol <= stream.end_ts {
                    self.store.pop_front_with(|_| ());
                    self.stats.packets_discarded += 1;
                    self.stats.packets_late += 1;
                } else {
                    break;
                }
            }
            let front = self
                .store
                .front()
                .map(|p| (p.ts, p.ticks, p.seq, p.data.len()));
            match front {
                Some((ts, ticks, seq, len)) if ts <= stream.end_ts + tol => {
                    let _ = ticks;
                    self.decode_front(seq, len);
                }
                Some((ts, ticks, seq, _)) => {
                    let gap = ts - stream.end_ts;
                    if stream.held_ticks > 0 {
                        // Concealment already covered this time while nothing was there.
                        let skip = gap.min(stream.held_ticks);
                        stream.end_ts += skip;
                        stream.held_ticks -= skip;
                        continue;
                    }
                    let dtx = stream.last_was_dtx
                        || stream.last_decoded_seq.is_some_and(|s| s + 1 == seq);
                    if dtx {
                        let frames = self.round_up(self.ticks_to_frames(gap).min(self.frame_len));
                        self.conceal(frames, Kind::Dtx, 0);
                    } else if self.decoder.has_fec() && gap <= ticks + tol {
                        self.fec_front(gap);
                    } else {
                        // The next packet is missing and nothing recovers it yet: conceal
                        // what this pull lacks and wait, exactly as in an underrun. If it comes
                        // by the next pull it plays (one concealed frame, a little more delay);
                        // if not, the next pull skips the time already concealed.
                        let lack = need - self.sync.frames();
                        let pushed = self.conceal_exact(lack, Kind::Conceal);
                        let ticks = self.frames_to_ticks(pushed);
                        if let Some(s) = self.stream.as_mut() {
                            s.held_ticks += ticks;
                        }
                    }
                }
                None => {
                    // Underrun: nothing to play. Conceal, and wait for the media (the
                    // timeline does not advance, so a packet that is only late still plays).
                    let kind = if stream.last_was_dtx {
                        Kind::Dtx
                    } else {
                        Kind::Conceal
                    };
                    // Conceal exactly what this pull lacks (the decoder works in 2.5 ms steps;
                    // the excess is dropped) so the concealment ends with the frame, and a
                    // packet that arrives by the next pull plays from its first sample.
                    let lack = need - self.sync.frames();
                    let pushed = self.conceal_exact(lack, kind);
                    let ticks = self.frames_to_ticks(pushed);
                    if let Some(s) = self.stream.as_mut() {
                        s.held_ticks += ticks;
                    }
                }
            }
        }
    }

    fn round_up(&self, frames: usize) -> usize {
        frames.max(1).div_ceil(self.quantum) * self.quantum
    }

    /// Decodes the first held packet into the sync buffer.
    fn decode_front(&mut self, seq: i64, len: usize) {
        let Some((ts, ticks, arrival, result)) = ({
            let dec = &mut self.decoder;
            let scratch = &mut self.scratch;
            self.store
                .pop_front_with(|p| (p.ts, p.ticks, p.arrival, dec.decode(&p.data, scratch)))
        }) else {
            return;
        };
        let decoded_ticks = self.frames_to_ticks(self.scratch.frames()).max(1);
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        stream.last_decoded_seq = Some(seq);
        stream.last_was_dtx = len <= DTX_PAYLOAD_MAX;
        stream.held_ticks = 0;
        match result {
            Ok(_) => {
                stream.end_ts = ts + decoded_ticks;
                self.sync
                    .push(self.scratch.samples(), Kind::Decoded, Some(arrival));
            }
            Err(_) => {
                // The codec rejected the payload: conceal its duration.
                stream.end_ts = ts;
                let frames = self.round_up(self.ticks_to_frames(ticks));
                self.conceal(frames, Kind::Conceal, 0);
            }
        }
    }

    /// Recovers the `gap` ticks before the first held packet from its FEC.
    fn fec_front(&mut self, gap: i64) {
        let frames = self.round_up(self.ticks_to_frames(gap));
        let Some(front) = self.store.front() else {
            return;
        };
        let arrival = front.arrival;
        match self
            .decoder
            .decode_fec(&front.data, frames, &mut self.scratch)
        {
            Ok(_) => {
                let n = self.scratch.frames();
                self.sync
                    .push(self.scratch.samples(), Kind::Fec, Some(arrival));
                let ticks = self.frames_to_ticks(n).max(1);
                if let Some(s) = self.stream.as_mut() {
                    s.end_ts += ticks;
                }
            }
            Err(_) => self.conceal(frames, Kind::Conceal, 0),
        }
    }

    /// Appends `frames` of concealment (or DTX fill) and moves the timeline by
    /// `frames + adjust` ticks.
    fn conceal(&mut self, frames: usize, kind: Kind, adjust: i64) {
        let silence = kind == Kind::Dtx && self.config.dtx_fill == DtxFill::Silence;
        let pushed = if silence {
            self.sync.push_silence(frames, kind)
        } else {
            match self.decoder.conceal(frames, &mut self.scratch) {
                Ok(_) => self.sync.push(self.scratch.samples(), kind, None),
                Err(_) => self.sync.push_silence(frames, kind),
            }
        };
        let ticks = self.frames_to_ticks(pushed) + adjust;
        if let Some(s) = self.stream.as_mut() {
            s.end_ts += ticks;
        }
    }

    /// Appends exactly `frames` of concealment (or DTX fill) without moving the timeline (the
    /// caller is waiting for media); returns the sample frames appended.
    fn conceal_exact(&mut self, frames: usize, kind: Kind) -> usize {
        let silence = kind == Kind::Dtx && self.config.dtx_fill == DtxFill::Silence;
        if silence {
            return self.sync.push_silence(frames, kind);
        }
        let made = self.round_up(frames);
        match self.decoder.conceal(made, &mut self.scratch) {
            Ok(_) => {
                let n = (frames * self.channels).min(self.scratch.samples().len());
                self.sync.push(&self.scratch.samples()[..n], kind, None)
            }
            Err(_) => self.sync.push_silence(frames, kind),
        }
    }

    /// Accelerates or decelerates the head of the sync buffer toward the target; returns what
    /// it did, if anything.
    fn stretch(&mut self, delay_us: i64) -> Option<Playout> {
        let err = delay_us - self.target_us;
        let accelerate = err > ACCEL_MARGIN_US;
        let decelerate = err < -DECEL_MARGIN_US;
        let fast = err > FAST_MARGIN_US;
        if !accelerate && !decelerate {
            return None;
        }
        let budget = if fast { self.fast_credit } else { self.credit };
        if budget < 1.0 {
            return None;
        }
        let min_in = self.stretcher.min_input_frames();
        if self.sync.frames() < min_in {
            self.fill_decoded(min_in);
        }
        let max_in = self
            .stretcher
            .max_input_frames()
            .min(self.sync.room() + self.sync.frames());
        let head = self.sync.decoded_head(max_in);
        let in_frames = head.len() / self.channels;
        if in_frames < min_in {
            return None;
        }
        let mut limit = (self.us_to_frames(err.abs())).min(budget as usize);
        if accelerate {
            // Never remove audio this pull needs: what is left must still fill the frame, or
            // the buffer would conceal right after accelerating.
            limit = limit.min(self.sync.frames().saturating_sub(self.frame_len));
        }
        if limit == 0 {
            return None;
        }
        let done = if accelerate {
            self.stretcher
                .accelerate(head, limit, fast, &mut self.stretch_out)
        } else {
            let limit = limit.min(self.sync.room());
            if limit == 0 {
                return None;
            }
            self.stretcher.expand(head, limit, &mut self.stretch_out)
        };
        if done.changed_frames == 0 {
            return None;
        }
        let out_len = done.output_frames * self.channels;
        self.sync
            .replace_head(in_frames, &self.stretch_out[..out_len]);
        let changed = done.changed_frames as u64;
        if accelerate {
            self.stats.removed_samples_for_acceleration += changed;
        } else {
            self.stats.inserted_samples_for_deceleration += changed;
        }
        if fast {
            self.fast_credit -= changed as f64;
        } else {
            self.credit -= changed as f64;
        }
        Some(match (accelerate, fast) {
            (true, true) => Playout::FastAccelerate,
            (true, false) => Playout::Accelerate,
            _ => Playout::Decelerate,
        })
    }

    /// Decodes held packets that follow on without a gap until the sync buffer holds `need`
    /// frames (for the stretcher): never conceals.
    fn fill_decoded(&mut self, need: usize) {
        let tol = self.frames_to_ticks(self.quantum);
        while self.sync.frames() < need {
            let Some(end) = self.stream.as_ref().map(|s| s.end_ts) else {
                return;
            };
            let Some((ts, seq, len)) = self.store.front().map(|p| (p.ts, p.seq, p.data.len()))
            else {
                return;
            };
            if (ts - end).abs() > tol {
                return;
            }
            if self.sync.room() < self.decoder.max_frames() {
                return;
            }
            self.decode_front(seq, len);
        }
    }

    /// When the next pull is due: one frame after the last pull; before the first pull, the
    /// first packet's arrival (plus `min_delay` + `base_delay`, zero by default: playout
    /// starts at once); `None` before the first packet.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.last_pull {
            Some(t) => Some(t + self.config.frame),
            None => self
                .stream
                .as_ref()
                .map(|s| s.origin + self.config.min_delay + self.config.base_delay),
        }
    }

    /// The counters.
    pub fn stats(&self) -> &JitterStats {
        &self.stats
    }

    /// The format of every frame pulled (the decoder's).
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// Sample frames per pull.
    pub fn frame_frames(&self) -> usize {
        self.frame_len
    }

    /// The settings.
    pub fn config(&self) -> &JitterConfig {
        &self.config
    }

    /// The delay target in force: the estimator's quantile plus one frame, plus `base_delay`,
    /// within `min_delay..=max_delay`. Measured from the floor (a packet that met no queue).
    pub fn target_delay(&self) -> Duration {
        Duration::from_micros(self.target_us.max(0) as u64)
    }

    /// Packets held and waiting.
    pub fn packets_held(&self) -> usize {
        self.store.len()
    }

    /// Media held: the packets waiting plus decoded audio not yet played.
    pub fn buffered(&self) -> Duration {
        let ticks = self.store.span_ticks() + self.frames_to_ticks(self.sync.frames());
        Duration::from_micros(self.ticks_to_us(ticks).max(0) as u64)
    }

    /// Forgets every packet and all timing (keeps the counters and the allocations); the next
    /// packet starts a new stream.
    pub fn reset(&mut self) {
        self.restart();
        self.stats.resets -= 1;
        self.pending = None;
        self.last_pull = None;
    }
}

/// µs from `origin` to `t` (0 when `t` is earlier).
fn micros_since(origin: Instant, t: Instant) -> i64 {
    t.saturating_duration_since(origin)
        .as_micros()
        .min(i64::MAX as u128) as i64
}
