//! The delay target: how long to hold audio, traded against how much of it must be concealed.
//!
//! # The estimator, and why
//!
//! For every packet that arrives (not duplicates), the *relative delay* is
//! `arrival − media time of its first sample`, both on the receiver's clock. Its minimum over
//! the last [`FLOOR_WINDOW_US`] is the *floor*: what a packet that met no queue at all took, plus
//! the (unknown, constant) offset between the two clocks. A packet's *jitter* is its relative
//! delay minus the floor, ≥ 0. Because the floor is a sliding minimum, a sender clock that runs
//! fast or slow (drift) or a route change moves the floor, not the jitter.
//!
//! **Effective jitter.** With a codec that carries forward error correction (Opus in-band FEC),
//! packet *p*'s audio is also in packet *p + 1*, so it is in time if *p* is, or if *p + 1* is one
//! packet duration earlier than *p* is due: the jitter that matters is
//! `min(jitter(p), jitter(p + 1) + duration)`. The estimator pairs packets by sequence number
//! to feed that value (a packet whose successor never comes is fed its own jitter; a packet
//! that has not come when its successor does — lost, or reordered behind it — is fed the
//! successor's jitter plus one duration, the delay at which FEC recovers it).
//!
//! **Histogram.** Every [`INTERVAL_US`] the effective jitter of the packets of that interval
//! goes into a histogram of 1 ms buckets, each interval weighing 1 in total (spread over its
//! packets), whose old content fades by [`FORGET`] per interval (a memory of about 30 s, as in
//! NetEq). Weighing intervals, not packets, keeps a burst — a handover spike delivers twenty
//! late packets at once — from counting as twenty events: one spike is one interval in sixty.
//!
//! **Target.** NetEq takes a fixed quantile (0.95) of its histogram. A fixed quantile spends
//! delay badly: on a link with a long tail it buys little concealment for a lot of delay, and on
//! a lossy link whose losses FEC repairs it leaves delay on the table. Here the target is the
//! delay *d* that minimises `d + cost × (share of packets later than d, in percent)`: `cost` is
//! the delay one percent less concealment is worth ([`JitterConfig::conceal_cost`]
//! (crate::JitterConfig::conceal_cost), 2.5 ms by default). The histogram gives the share for
//! every *d* at once, so this is one pass over the buckets, twice a second.
//!
//! Before the first interval closes, the target is the worst effective jitter seen so far.

use std::collections::VecDeque;

/// How long the floor (the minimum relative delay) remembers, in µs.
pub const FLOOR_WINDOW_US: i64 = 2_000_000;
/// How often the open interval's packets enter the histogram, in µs.
pub const INTERVAL_US: i64 = 500_000;
/// How much of the histogram's weight each interval keeps (NetEq's forget factor).
pub const FORGET: f64 = 0.983;
/// Bucket width of the histogram, in µs.
pub const BUCKET_US: i64 = 1_000;
/// Most packets of one interval whose jitter is kept (beyond it, a regular subset).
pub const MAX_PER_INTERVAL: usize = 256;
/// Packets remembered for FEC pairing.
const PAIRING: usize = 64;
/// The jitter of a packet that has not arrived (a placeholder in the pairing table).
const UNKNOWN: i64 = i64::MAX / 4;

#[derive(Clone, Copy, Debug)]
struct Recent {
    seq: i64,
    jitter: i64,
    fed: bool,
}

/// Learns the delay target from packet arrivals. Times are µs on any one monotonic clock (the
/// jitter buffer uses µs since the stream's first arrival).
///
/// ```
/// use voxflow_jitter_buffer::DelayEstimator;
/// let mut e = DelayEstimator::new(1_000, None);
/// // Packets every 20 ms; every fifth one is 30 ms late.
/// for i in 0..500i64 {
///     let media = i * 20_000;
///     let late = if i % 5 == 0 { 30_000 } else { 0 };
///     e.update(media + 5_000 + late, media, i);
/// }
/// // 20 % of packets late by 30 ms: worth waiting for at 3 ms per percent.
/// assert_eq!(e.target_us(3_000) / 1000, 30);
/// // At 1 ms per percent, 30 ms of delay is not worth 20 %: conceal them instead.
/// assert_eq!(e.target_us(1_000), 0);
/// ```
#[derive(Clone, Debug)]
pub struct DelayEstimator {
    /// (arrival µs, relative delay µs) of the last FLOOR_WINDOW_US, as a monotonic deque
    /// (increasing relative delay) for the sliding minimum.
    floor_q: VecDeque<(i64, i64)>,
    hist: Vec<f64>,
    /// Running sum of `hist` (bucket b: the weight at or below b), rebuilt per interval.
    cdf: Vec<f64>,
    total: f64,
    interval_start: Option<i64>,
    /// Effective jitter of the open interval's packets.
    interval: Vec<i64>,
    seen_in_interval: u64,
    max_so_far: i64,
    intervals: u64,
    last_jitter: i64,
    fec_us: Option<i64>,
    recent: [Option<Recent>; PAIRING],
    first_seq: Option<i64>,
}

impl DelayEstimator {
    /// An estimator whose histogram covers jitter up to `max_delay_ms`. `fec_us`: the packet
    /// duration when the codec can recover a packet from the next one's FEC, `None` otherwise.
    /// Allocates.
    pub fn new(max_delay_ms: u32, fec_us: Option<i64>) -> Self {
        DelayEstimator {
            floor_q: VecDeque::with_capacity(1024),
            hist: vec![0.0; max_delay_ms as usize + 1],
            cdf: vec![0.0; max_delay_ms as usize + 1],
            total: 0.0,
            interval_start: None,
            interval: Vec::with_capacity(MAX_PER_INTERVAL),
            seen_in_interval: 0,
            max_so_far: 0,
            intervals: 0,
            last_jitter: 0,
            fec_us,
            recent: [None; PAIRING],
            first_seq: None,
        }
    }

    /// Sets the FEC pairing (see [`new`](Self::new)).
    pub fn set_fec(&mut self, fec_us: Option<i64>) {
        self.fec_us = fec_us;
    }

    /// Feeds one arrival: `arrival_us` on the receiver's clock, `media_us` the media time of the
    /// packet's first sample (RTP timestamp ÷ clock rate), `seq` its extended sequence number.
    /// Never allocates.
    pub fn update(&mut self, arrival_us: i64, media_us: i64, seq: i64) {
        let rel = arrival_us.saturating_sub(media_us);
        while let Some(&(t, _)) = self.floor_q.front() {
            if arrival_us.saturating_sub(t) > FLOOR_WINDOW_US {
                self.floor_q.pop_front();
            } else {
                break;
            }
        }
        while let Some(&(_, r)) = self.floor_q.back() {
            if r >= rel {
                self.floor_q.pop_back();
            } else {
                break;
            }
        }
        if self.floor_q.len() == self.floor_q.capacity() {
            // More than 1024 arrivals inside the window with rising delay: drop the oldest
            // (the floor then comes from a slightly shorter window) rather than allocate.
            self.floor_q.pop_front();
        }
        self.floor_q.push_back((arrival_us, rel));
        let jitter = rel - self.floor_us().unwrap_or(rel);
        self.last_jitter = jitter;

        let start = *self.interval_start.get_or_insert(arrival_us);
        if arrival_us.saturating_sub(start) >= INTERVAL_US {
            self.close_interval();
            self.interval_start = Some(arrival_us);
        }
        match self.fec_us {
            None => self.feed(jitter),
            Some(dur) => self.pair(seq, jitter, dur),
        }
    }

    fn slot(seq: i64) -> usize {
        seq.rem_euclid(PAIRING as i64) as usize
    }

    fn get(&self, seq: i64) -> Option<Recent> {
        self.recent[Self::slot(seq)].filter(|r| r.seq == seq)
    }

    fn mark_fed(&mut self, seq: i64) {
        if let Some(r) = self.recent[Self::slot(seq)]
            .as_mut()
            .filter(|r| r.seq == seq)
        {
            r.fed = true;
        }
    }

    fn pair(&mut self, seq: i64, jitter: i64, dur: i64) {
        // A placeholder for this packet (it was missing when its successor came) was already
        // fed the successor's FEC value, which is never more than its own effective jitter
        // (a packet that arrives after its successor is later than the successor's FEC).
        let already_fed = self.get(seq).is_some_and(|r| r.fed);
        self.recent[Self::slot(seq)] = Some(Recent {
            seq,
            jitter,
            fed: already_fed,
        });
        let first = *self.first_seq.get_or_insert(seq);
        // This packet, if its successor is already here.
        if !already_fed {
            if let Some(next) = self.get(seq + 1) {
                self.feed(jitter.min(next.jitter.saturating_add(dur)));
                self.mark_fed(seq);
            }
        }
        match self.get(seq - 1) {
            // The predecessor was waiting for this one.
            Some(prev) if !prev.fed => {
                self.feed(prev.jitter.min(jitter.saturating_add(dur)));
                self.mark_fed(seq - 1);
            }
            Some(_) => {}
            // The predecessor has not come (lost, or later than this one): its audio is in
            // time if this packet's FEC is.
            None if seq > first => {
                self.feed(jitter.saturating_add(dur));
                self.recent[Self::slot(seq - 1)] = Some(Recent {
                    seq: seq - 1,
                    jitter: UNKNOWN,
                    fed: true,
                });
            }
            None => {}
        }
        // Two back, with the one between missing: its own successor's FEC never came.
        if let Some(prev2) = self.get(seq - 2).filter(|p| !p.fed) {
            if self.get(seq - 1).is_none_or(|p| p.jitter == UNKNOWN) {
                self.feed(prev2.jitter);
                self.mark_fed(seq - 2);
            }
        }
    }

    fn feed(&mut self, effective: i64) {
        if self.interval.len() < self.interval.capacity() {
            self.interval.push(effective);
        } else {
            // A packet rate above MAX_PER_INTERVAL per interval: keep the worst in each slot.
            let i = (self.seen_in_interval as usize) % self.interval.len();
            self.interval[i] = self.interval[i].max(effective);
        }
        self.seen_in_interval += 1;
        self.max_so_far = self.max_so_far.max(effective);
    }

    fn close_interval(&mut self) {
        for w in &mut self.hist {
            *w *= FORGET;
        }
        self.total *= FORGET;
        if !self.interval.is_empty() {
            // Each interval weighs 1, spread over its packets.
            let w = 1.0 / self.interval.len() as f64;
            let last = self.hist.len() as i64 - 1;
            for &j in &self.interval {
                let b = ((j + BUCKET_US - 1) / BUCKET_US).clamp(0, last);
                self.hist[b as usize] += w;
            }
            self.total += 1.0;
            self.intervals += 1;
        }
        let mut acc = 0.0;
        for (c, w) in self.cdf.iter_mut().zip(&self.hist) {
            acc += w;
            *c = acc;
        }
        self.interval.clear();
        self.seen_in_interval = 0;
    }

    /// The floor: the smallest relative delay (arrival − media time) of the last 2 s, in µs.
    pub fn floor_us(&self) -> Option<i64> {
        self.floor_q.front().map(|&(_, r)| r)
    }

    /// The jitter of the last packet fed, in µs (its relative delay minus the floor).
    pub fn last_jitter_us(&self) -> i64 {
        self.last_jitter
    }

    /// The share (0..=1) of packets whose effective jitter exceeds `us`, from the histogram
    /// (`None` before any interval closed). O(1).
    pub fn late_share(&self, us: i64) -> Option<f64> {
        if self.intervals == 0 || self.total <= 0.0 {
            return None;
        }
        if us < 0 {
            return Some(1.0);
        }
        let b = ((us / BUCKET_US) as usize).min(self.cdf.len() - 1);
        Some(((self.total - self.cdf[b]) / self.total).max(0.0))
    }

    /// The delay (µs above the floor) that minimises `delay + cost_per_percent_us × late %`,
    /// rounded to the 1 ms bucket; before any interval has closed, the worst effective jitter
    /// seen so far. 0 before any arrival.
    pub fn target_us(&self, cost_per_percent_us: i64) -> i64 {
        if self.intervals == 0 || self.total <= 0.0 {
            return self.max_so_far;
        }
        let cost = cost_per_percent_us as f64 * 100.0 / self.total;
        let mut within = 0.0;
        let mut best = (f64::INFINITY, 0usize);
        for (b, w) in self.hist.iter().enumerate() {
            within += w;
            let c = (b as i64 * BUCKET_US) as f64 + cost * (self.total - within).max(0.0);
            if c < best.0 {
                best = (c, b);
            }
        }
        best.1 as i64 * BUCKET_US
    }

    /// Forgets everything (a new stream).
    pub fn reset(&mut self) {
        self.floor_q.clear();
        self.hist.fill(0.0);
        self.cdf.fill(0.0);
        self.total = 0.0;
        self.interval_start = None;
        self.interval.clear();
        self.seen_in_interval = 0;
        self.max_so_far = 0;
        self.intervals = 0;
        self.last_jitter = 0;
        self.recent = [None; PAIRING];
        self.first_seq = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_moves_the_floor_not_the_target() {
        let mut e = DelayEstimator::new(1_000, None);
        // Sender 0.1 % fast: media time runs ahead of arrival by 1 ms per second.
        for i in 0..3_000i64 {
            let media = i * 20_000 + i * 20;
            e.update(i * 20_000 + 10_000, media, i);
        }
        assert!(e.target_us(3_000) <= 1_000, "{}", e.target_us(3_000));
    }

    #[test]
    fn one_spike_does_not_hold_the_target_up() {
        let mut e = DelayEstimator::new(1_000, None);
        for i in 0..3_000i64 {
            let media = i * 20_000;
            // 400 ms spike decaying over 20 packets at packet 1000.
            let spike = if (1_000..1_020).contains(&i) {
                400_000 - (i - 1_000) * 20_000
            } else {
                0
            };
            let small = (i % 3) * 2_000;
            e.update(media + 5_000 + spike + small, media, i);
            if i == 1_100 {
                assert!(e.target_us(3_000) <= 4_000, "{}", e.target_us(3_000));
            }
        }
    }

    #[test]
    fn fec_pairing_discounts_a_late_packet_whose_successor_is_in_time() {
        // Every other packet 50 ms late; the next one is always in time.
        let feed = |e: &mut DelayEstimator| {
            for i in 0..1_000i64 {
                let media = i * 20_000;
                let late = if i % 2 == 0 { 50_000 } else { 0 };
                e.update(media + 5_000 + late, media, i);
            }
        };
        let mut plain = DelayEstimator::new(1_000, None);
        feed(&mut plain);
        let mut fec = DelayEstimator::new(1_000, Some(20_000));
        feed(&mut fec);
        assert_eq!(plain.target_us(3_000), 50_000);
        // With FEC the late packets' audio is in time 20 ms after the floor.
        assert_eq!(fec.target_us(3_000), 20_000);
    }

    #[test]
    fn first_arrivals_give_a_target_at_once() {
        let mut e = DelayEstimator::new(1_000, None);
        e.update(5_000, 0, 0);
        e.update(32_000, 20_000, 1);
        assert_eq!(e.target_us(3_000), 7_000);
    }
}
