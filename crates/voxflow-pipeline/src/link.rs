//! Thread boundaries: lock-free SPSC rings of pre-allocated frames, with back-pressure policies.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, Thread};
use std::time::Duration;

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use voxflow_core::{AudioFormat, AudioFrame};

use crate::Error;

/// How long a waiting ring end sleeps at most before it looks again, should a wake-up be
/// missed (it is normally woken at once by the other end).
pub(crate) const PARK_TIMEOUT: Duration = Duration::from_millis(1);

/// What a ring link does when its producer is faster than its consumer and the ring is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// The producer waits until the consumer frees a slot (lossless back-pressure). The wait
    /// spins briefly, yields, then parks; the consumer unparks it as soon as it takes a frame.
    #[default]
    Block,
    /// The oldest queued frames are discarded so the consumer always gets the newest
    /// `capacity` frames: latency stays bounded, the producer never waits.
    DropOldest,
    /// The frame being sent is discarded: the queue keeps what it has, the producer never waits.
    DropNewest,
}

impl std::fmt::Display for Overflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Overflow::Block => "block",
            Overflow::DropOldest => "drop-oldest",
            Overflow::DropNewest => "drop-newest",
        })
    }
}

/// How much a ring holds: a number of frames (ring slots, each one [`AudioFrame`]) or a
/// duration, turned into slots of the largest frame that crosses the link (rounded up).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capacity {
    /// This many frames (at least 1).
    Frames(usize),
    /// Enough frames to hold this much audio.
    Duration(Duration),
}

impl From<usize> for Capacity {
    fn from(n: usize) -> Self {
        Capacity::Frames(n)
    }
}

impl From<Duration> for Capacity {
    fn from(d: Duration) -> Self {
        Capacity::Duration(d)
    }
}

/// A thread boundary in a pipeline (see [`PipelineBuilder::boundary`](crate::PipelineBuilder::boundary)),
/// or the description of a standalone [`frame_ring`].
///
/// ```
/// use std::time::Duration;
/// use voxflow_pipeline::{Link, Overflow};
/// let net = Link::ring(Duration::from_millis(200)).policy(Overflow::DropOldest).name("net");
/// let lossless = Link::ring(4); // 4 frames, Overflow::Block
/// # let _ = (net, lossless);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    capacity: Capacity,
    policy: Overflow,
    name: Option<&'static str>,
}

impl Link {
    /// A ring of `capacity` (frames, or a [`Duration`]) with the [`Overflow::Block`] policy.
    pub fn ring(capacity: impl Into<Capacity>) -> Link {
        Link {
            capacity: capacity.into(),
            policy: Overflow::Block,
            name: None,
        }
    }

    /// Sets the back-pressure policy.
    pub fn policy(mut self, policy: Overflow) -> Link {
        self.policy = policy;
        self
    }

    /// Names the link (its trace stamp and report row). Unnamed links are called `ring0`,
    /// `ring1`, … in pipeline order.
    pub fn name(mut self, name: &'static str) -> Link {
        self.name = Some(name);
        self
    }

    /// The capacity as given.
    pub fn capacity(&self) -> Capacity {
        self.capacity
    }

    /// The back-pressure policy.
    pub fn overflow(&self) -> Overflow {
        self.policy
    }

    /// The name given with [`name`](Self::name), if any.
    pub fn given_name(&self) -> Option<&'static str> {
        self.name
    }

    /// Number of ring slots for frames of up to `max_frames` sample frames of `format`.
    pub fn slots(&self, format: AudioFormat, max_frames: usize) -> Result<usize, Error> {
        match self.capacity {
            Capacity::Frames(0) => Err(Error::Config {
                what: "ring capacity",
                reason: "a ring needs at least one slot".into(),
            }),
            Capacity::Frames(n) if n > 1 << 20 => Err(Error::Config {
                what: "ring capacity",
                reason: format!("{n} slots is more than the limit of {}", 1 << 20),
            }),
            Capacity::Frames(n) => Ok(n),
            Capacity::Duration(d) => {
                let samples = format.frames_in(d) as u128;
                let per = max_frames.max(1) as u128;
                let n = samples.div_ceil(per).max(1);
                usize::try_from(n)
                    .ok()
                    .filter(|&n| n <= 1 << 20)
                    .ok_or_else(|| Error::Config {
                        what: "ring capacity",
                        reason: format!("{d:?} needs too many slots of {max_frames} frames"),
                    })
            }
        }
    }
}

static DEFAULT_NAMES: [&str; 16] = [
    "ring0", "ring1", "ring2", "ring3", "ring4", "ring5", "ring6", "ring7", "ring8", "ring9",
    "ring10", "ring11", "ring12", "ring13", "ring14", "ring15",
];

/// The default name of the `i`-th unnamed link.
pub(crate) fn default_name(i: usize) -> &'static str {
    DEFAULT_NAMES.get(i).copied().unwrap_or("ring")
}

/// Live counters of one ring link, shared between its two ends and the pipeline handle. All
/// reads are lock-free (`AtomicU64`); at the end of a stream `sent == delivered + dropped`.
#[derive(Debug)]
pub struct LinkStats {
    name: &'static str,
    policy: Overflow,
    slots: usize,
    sent: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
}

impl LinkStats {
    /// The link's name (its trace stamp).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The back-pressure policy.
    pub fn policy(&self) -> Overflow {
        self.policy
    }

    /// Capacity in frames (ring slots).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Frames handed to the link by its producer.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Acquire)
    }

    /// Frames handed out by the link to its consumer.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Acquire)
    }

    /// Frames discarded by the overflow policy.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Acquire)
    }

    /// Frames sent but neither delivered nor dropped yet (queued).
    pub fn in_flight(&self) -> u64 {
        self.sent()
            .saturating_sub(self.delivered())
            .saturating_sub(self.dropped())
    }
}

/// State shared by the two ends of one ring.
#[derive(Debug)]
struct Shared {
    stats: Arc<LinkStats>,
    /// The sender has sent its last frame.
    closed: AtomicBool,
    /// The receiver has gone.
    receiver_gone: AtomicBool,
    /// Pipeline-wide stop request.
    stop: Arc<AtomicBool>,
    producer: OnceLock<Thread>,
    consumer: OnceLock<Thread>,
}

impl Shared {
    fn wake_producer(&self) {
        if let Some(t) = self.producer.get() {
            t.unpark();
        }
    }
    fn wake_consumer(&self) {
        if let Some(t) = self.consumer.get() {
            t.unpark();
        }
    }
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// One ring slot: a pre-allocated frame and its sequence number on the link.
#[derive(Debug)]
struct Slot {
    frame: AudioFrame,
    seq: u64,
}

/// Spin, then yield, then park with a timeout.
#[derive(Default)]
struct Backoff(u32);

impl Backoff {
    fn wait(&mut self) {
        match self.0 {
            0..=6 => {
                for _ in 0..(1u32 << self.0) {
                    std::hint::spin_loop();
                }
            }
            7..=9 => thread::yield_now(),
            _ => thread::park_timeout(PARK_TIMEOUT),
        }
        self.0 = self.0.saturating_add(1);
    }
}

/// Builds a standalone ring link carrying frames of `format` with up to `max_frames` sample
/// frames each. All slots are allocated here; afterwards neither end allocates.
///
/// Frames move by swapping buffers, not by copying samples: [`RingSender::send`] takes the
/// contents of your frame and gives you an empty pre-allocated one back, and
/// [`RingReceiver::recv`] does the opposite. (When your frame's capacity is below `max_frames`
/// the samples are copied instead, so capacities in the ring never shrink.)
///
/// ```
/// use voxflow_core::{AudioFormat, AudioFrame};
/// use voxflow_pipeline::{frame_ring, Link};
/// let fmt = AudioFormat::new(48_000, 1).unwrap();
/// let (mut tx, mut rx) = frame_ring(fmt, 480, Link::ring(4)).unwrap();
/// let t = std::thread::spawn(move || {
///     let mut f = AudioFrame::with_capacity(fmt, 480);
///     for i in 0..100 {
///         f.clear();
///         f.extend_from_interleaved(&[i as f32; 480]).unwrap();
///         tx.send(&mut f).unwrap(); // f is now an empty frame from the ring
///     }
/// }); // tx dropped: the receiver sees the end after the last frame
/// let mut g = AudioFrame::with_capacity(fmt, 480);
/// let mut n = 0;
/// while rx.recv(&mut g).unwrap() {
///     assert_eq!(g.samples()[0], n as f32);
///     n += 1;
/// }
/// t.join().unwrap();
/// assert_eq!(n, 100);
/// ```
pub fn frame_ring(
    format: AudioFormat,
    max_frames: usize,
    link: Link,
) -> Result<(RingSender, RingReceiver), Error> {
    let name = link.given_name().unwrap_or("ring");
    frame_ring_in(
        format,
        max_frames,
        link,
        name,
        Arc::new(AtomicBool::new(false)),
    )
}

pub(crate) fn frame_ring_in(
    format: AudioFormat,
    max_frames: usize,
    link: Link,
    name: &'static str,
    stop: Arc<AtomicBool>,
) -> Result<(RingSender, RingReceiver), Error> {
    let c = link.slots(format, max_frames)?;
    let (ring_len, pending_len) = match link.policy {
        // DropOldest: the ring physically holds 2c so a briefly stalled consumer can still be
        // handed the newest c; past that the producer keeps up to c newest frames itself.
        Overflow::DropOldest => (2 * c, c),
        Overflow::Block | Overflow::DropNewest => (c, 0),
    };
    let total = ring_len + pending_len + 1;
    let stats = Arc::new(LinkStats {
        name,
        policy: link.policy,
        slots: c,
        sent: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
    });
    let shared = Arc::new(Shared {
        stats,
        closed: AtomicBool::new(false),
        receiver_gone: AtomicBool::new(false),
        stop,
        producer: OnceLock::new(),
        consumer: OnceLock::new(),
    });
    let (full_tx, full_rx) = HeapRb::<Slot>::new(ring_len).split();
    let (free_tx, free_rx) = HeapRb::<Slot>::new(total).split();
    let mut spare = Vec::with_capacity(total);
    for _ in 0..total {
        spare.push(Slot {
            frame: AudioFrame::with_capacity(format, max_frames),
            seq: 0,
        });
    }
    let cap_samples = max_frames * usize::from(format.channels);
    Ok((
        RingSender {
            full: full_tx,
            free: free_rx,
            spare,
            pending: VecDeque::with_capacity(pending_len),
            pending_len,
            shared: Arc::clone(&shared),
            cap_samples,
            seq: 0,
            closed: false,
        },
        RingReceiver {
            full: full_rx,
            free: free_tx,
            shared,
            cap_samples,
            slots: c as u64,
        },
    ))
}

fn capacity_samples(f: &AudioFrame) -> usize {
    f.capacity_frames() * usize::from(f.channels())
}

/// The producing end of a ring link (see [`frame_ring`]). `Send`, not `Sync`: one thread
/// sends. Dropping it closes the link (the receiver sees the end of the stream after the
/// queued frames).
pub struct RingSender {
    full: HeapProd<Slot>,
    free: HeapCons<Slot>,
    spare: Vec<Slot>,
    pending: VecDeque<Slot>,
    pending_len: usize,
    shared: Arc<Shared>,
    cap_samples: usize,
    seq: u64,
    closed: bool,
}

impl std::fmt::Debug for RingSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingSender")
            .field("stats", &self.shared.stats)
            .finish_non_exhaustive()
    }
}

impl RingSender {
    /// The link's live counters.
    pub fn stats(&self) -> &Arc<LinkStats> {
        &self.shared.stats
    }

    /// Moves spent slots returned by the receiver to the local free list.
    fn reclaim(&mut self) {
        while let Some(s) = self.free.try_pop() {
            self.spare.push(s); // cannot grow: `spare` has room for every slot
        }
    }

    /// Puts `frame` into `slot` (swapping buffers when capacities allow).
    fn load(&self, slot: &mut Slot, frame: &mut AudioFrame, seq: u64) -> Result<(), Error> {
        slot.seq = seq;
        if capacity_samples(frame) >= self.cap_samples {
            std::mem::swap(&mut slot.frame, frame);
            Ok(())
        } else {
            slot.frame.copy_from(frame).map_err(Error::Core)
        }
    }

    fn flush_pending(&mut self) {
        while !self.pending.is_empty() && self.full.vacant_len() > 0 {
            if let Some(s) = self.pending.pop_front()
                && let Err(s) = self.full.try_push(s)
            {
                self.pending.push_front(s); // not reached: a slot was vacant
                break;
            }
        }
    }

    fn drop_one(&self) {
        self.shared.stats.dropped.fetch_add(1, Ordering::AcqRel);
    }

    fn register(&self) {
        self.shared.producer.get_or_init(thread::current);
    }

    /// Registers the calling thread as the one to wake when slots free up.
    pub(crate) fn register_current(&self) {
        self.register();
    }

    /// Sends one frame according to the link's [`Overflow`] policy. On success `frame` holds an
    /// empty pre-allocated frame (or, when its capacity was below the ring's, its old buffer).
    ///
    /// Returns `Ok(true)` when the frame was queued, `Ok(false)` when
    /// [`Overflow::DropNewest`] discarded it (counted in [`LinkStats::dropped`]). With
    /// [`Overflow::Block`] it waits for a free slot. Fails with [`Error::Closed`] when the
    /// receiver has gone or the pipeline is stopping, and with a core `FrameTooLarge` error when
    /// the frame is larger than the ring's frames.
    pub fn send(&mut self, frame: &mut AudioFrame) -> Result<bool, Error> {
        if frame.samples().len() > self.cap_samples {
            return Err(Error::Core(voxflow_core::Error::FrameTooLarge {
                max_frames: self.cap_samples / usize::from(frame.channels()),
                frames: frame.frames(),
            }));
        }
        let sh = Arc::clone(&self.shared);
        if sh.receiver_gone.load(Ordering::Acquire) || sh.stopped() {
            return Err(Error::Closed(sh.stats.name));
        }
        let seq = self.seq;
        self.seq += 1;
        sh.stats.sent.fetch_add(1, Ordering::AcqRel);
        match sh.stats.policy {
            Overflow::Block => {
                let mut backoff = Backoff::default();
                loop {
                    self.reclaim();
                    if self.full.vacant_len() > 0
                        && let Some(mut slot) = self.spare.pop()
                    {
                        self.load(&mut slot, frame, seq)?;
                        let _ = self.full.try_push(slot); // cannot fail: a slot was vacant
                        sh.wake_consumer();
                        return Ok(true);
                    }
                    if sh.receiver_gone.load(Ordering::Acquire) || sh.stopped() {
                        return Err(Error::Closed(sh.stats.name));
                    }
                    if backoff.0 == 10 {
                        self.register();
                    }
                    backoff.wait();
                }
            }
            Overflow::DropNewest => {
                self.reclaim();
                if self.full.vacant_len() > 0
                    && let Some(mut slot) = self.spare.pop()
                {
                    self.load(&mut slot, frame, seq)?;
                    let _ = self.full.try_push(slot); // cannot fail: a slot was vacant
                    sh.wake_consumer();
                    Ok(true)
                } else {
                    self.drop_one();
                    Ok(false)
                }
            }
            Overflow::DropOldest => {
                self.reclaim();
                self.flush_pending();
                if self.pending.is_empty()
                    && self.full.vacant_len() > 0
                    && let Some(mut slot) = self.spare.pop()
                {
                    self.load(&mut slot, frame, seq)?;
                    let _ = self.full.try_push(slot); // cannot fail: a slot was vacant
                    sh.wake_consumer();
                    return Ok(true);
                }
                // The ring is physically full: keep the newest frames here, oldest evicted.
                if self.pending.len() >= self.pending_len
                    && let Some(old) = self.pending.pop_front()
                {
                    self.drop_one();
                    self.spare.push(old);
                }
                match self.spare.pop() {
                    Some(mut slot) => {
                        self.load(&mut slot, frame, seq)?;
                        self.pending.push_back(slot); // cannot grow: len < pending_len
                        Ok(true)
                    }
                    None => {
                        // Not reached (slots are counted so one is always spare).
                        self.drop_one();
                        Ok(false)
                    }
                }
            }
        }
    }

    /// Ends the stream: waits until frames held back by [`Overflow::DropOldest`] are in the
    /// ring (or the receiver is gone / the pipeline stops), then marks the link closed. The
    /// receiver gets the queued frames, then the end of the stream.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        let mut backoff = Backoff::default();
        while !self.pending.is_empty() {
            self.reclaim();
            self.flush_pending();
            if self.pending.is_empty()
                || self.shared.receiver_gone.load(Ordering::Acquire)
                || self.shared.stopped()
            {
                break;
            }
            if backoff.0 == 10 {
                self.register();
            }
            backoff.wait();
        }
        // Frames that could not be handed over count as dropped.
        let lost = self.pending.len() as u64;
        if lost > 0 {
            self.shared.stats.dropped.fetch_add(lost, Ordering::AcqRel);
            self.spare.extend(self.pending.drain(..));
        }
        self.closed = true;
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake_consumer();
    }
}

impl Drop for RingSender {
    fn drop(&mut self) {
        if !self.closed {
            // Do not wait in a destructor: hand over what fits, count the rest as dropped.
            self.reclaim();
            self.flush_pending();
            let lost = self.pending.len() as u64;
            if lost > 0 {
                self.shared.stats.dropped.fetch_add(lost, Ordering::AcqRel);
            }
            self.closed = true;
            self.shared.closed.store(true, Ordering::Release);
            self.shared.wake_consumer();
        }
    }
}

/// The consuming end of a ring link (see [`frame_ring`]). `Send`, not `Sync`. Dropping it makes
/// the sender's [`send`](RingSender::send) fail with [`Error::Closed`].
pub struct RingReceiver {
    full: HeapCons<Slot>,
    free: HeapProd<Slot>,
    shared: Arc<Shared>,
    cap_samples: usize,
    slots: u64,
}

impl std::fmt::Debug for RingReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingReceiver")
            .field("stats", &self.shared.stats)
            .finish_non_exhaustive()
    }
}

impl RingReceiver {
    /// The link's live counters.
    pub fn stats(&self) -> &Arc<LinkStats> {
        &self.shared.stats
    }

    fn give_back(&mut self, slot: Slot) {
        let _ = self.free.try_push(slot); // cannot fail: the free ring holds every slot
        self.shared.wake_producer();
    }

    /// Takes the next frame if one is queued now: `Ok(true)` and `out` holds it, or `Ok(false)`
    /// when the ring is empty. Never waits.
    pub fn try_recv(&mut self, out: &mut AudioFrame) -> Result<bool, Error> {
        while let Some(mut slot) = self.full.try_pop() {
            if self.shared.stats.policy == Overflow::DropOldest {
                let sent = self.shared.stats.sent.load(Ordering::Acquire);
                if sent.saturating_sub(slot.seq) > self.slots {
                    // `slots` newer frames exist: this one is stale.
                    self.shared.stats.dropped.fetch_add(1, Ordering::AcqRel);
                    self.give_back(slot);
                    continue;
                }
            }
            let r = if capacity_samples(out) >= self.cap_samples {
                std::mem::swap(&mut slot.frame, out);
                Ok(())
            } else {
                out.copy_from(&slot.frame).map_err(Error::Core)
            };
            self.shared.stats.delivered.fetch_add(1, Ordering::AcqRel);
            self.give_back(slot);
            return r.map(|()| true);
        }
        Ok(false)
    }

    /// Registers the calling thread as the one to wake when frames arrive.
    pub(crate) fn register_current(&self) {
        self.shared.consumer.get_or_init(thread::current);
    }

    /// True once the sender has closed the link and every queued frame has been taken.
    pub fn is_finished(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire) && self.full.is_empty()
    }

    /// Waits for the next frame: `Ok(true)` and `out` holds it (its old buffer went back to the
    /// sender), or `Ok(false)` at the end of the stream (sender closed and ring drained) or when
    /// the pipeline is stopping. The wait spins, yields, then parks; the sender unparks it.
    pub fn recv(&mut self, out: &mut AudioFrame) -> Result<bool, Error> {
        let mut backoff = Backoff::default();
        loop {
            if self.try_recv(out)? {
                return Ok(true);
            }
            if self.shared.closed.load(Ordering::Acquire) {
                // Closed after the last push: one more look, then the end.
                if self.try_recv(out)? {
                    return Ok(true);
                }
                return Ok(false);
            }
            if self.shared.stopped() {
                return Ok(false);
            }
            if backoff.0 == 10 {
                self.shared.consumer.get_or_init(thread::current);
            }
            backoff.wait();
        }
    }
}

impl Drop for RingReceiver {
    fn drop(&mut self) {
        self.shared.receiver_gone.store(true, Ordering::Release);
        self.shared.wake_producer();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voxflow_core::MediaTime;

    fn fmt() -> AudioFormat {
        AudioFormat::new(8_000, 1).unwrap()
    }

    fn frame(v: f32) -> AudioFrame {
        AudioFrame::from_interleaved(fmt(), vec![v; 4], MediaTime::ZERO).unwrap()
    }

    fn drain(rx: &mut RingReceiver) -> Vec<f32> {
        let mut out = AudioFrame::with_capacity(fmt(), 4);
        let mut got = Vec::new();
        while rx.try_recv(&mut out).unwrap() {
            got.push(out.samples()[0]);
        }
        got
    }

    #[test]
    fn capacity_from_duration_rounds_up() {
        let f = AudioFormat::new(48_000, 2).unwrap();
        assert_eq!(
            Link::ring(Duration::from_millis(100))
                .slots(f, 960)
                .unwrap(),
            5
        );
        assert_eq!(
            Link::ring(Duration::from_millis(101))
                .slots(f, 960)
                .unwrap(),
            6
        );
        assert_eq!(Link::ring(Duration::ZERO).slots(f, 960).unwrap(), 1);
        assert!(Link::ring(0).slots(f, 960).is_err());
    }

    #[test]
    fn drop_newest_keeps_the_first() {
        let link = Link::ring(2).policy(Overflow::DropNewest);
        let (mut tx, mut rx) = frame_ring(fmt(), 4, link).unwrap();
        let accepted: Vec<bool> = (0..5)
            .map(|i| tx.send(&mut frame(i as f32)).unwrap())
            .collect();
        assert_eq!(accepted, [true, true, false, false, false]);
        assert_eq!(drain(&mut rx), [0.0, 1.0]);
        assert_eq!(
            (
                tx.stats().sent(),
                tx.stats().delivered(),
                tx.stats().dropped()
            ),
            (5, 2, 3)
        );
    }

    #[test]
    fn drop_oldest_keeps_the_newest() {
        let link = Link::ring(2).policy(Overflow::DropOldest);
        let (mut tx, mut rx) = frame_ring(fmt(), 4, link).unwrap();
        for i in 0..9 {
            assert!(tx.send(&mut frame(i as f32)).unwrap());
        }
        // Ring holds 0..4 physically, 4..6 pending; 6, 7, 8 pushed out the oldest pending.
        // close() waits until the receiver makes room for the pending frames.
        let t = thread::spawn(move || tx.close());
        let mut out = AudioFrame::with_capacity(fmt(), 4);
        let mut got = Vec::new();
        while rx.recv(&mut out).unwrap() {
            got.push(out.samples()[0]);
        }
        t.join().unwrap();
        assert_eq!(got, [7.0, 8.0]);
        let s = rx.stats();
        assert_eq!((s.sent(), s.delivered(), s.dropped()), (9, 2, 7));
        assert!(rx.is_finished());
    }

    #[test]
    fn drop_oldest_interleaved_receives_the_newest_two() {
        let link = Link::ring(2).policy(Overflow::DropOldest);
        let (mut tx, mut rx) = frame_ring(fmt(), 4, link).unwrap();
        let mut out = AudioFrame::with_capacity(fmt(), 4);
        for i in 0..3 {
            tx.send(&mut frame(i as f32)).unwrap();
        }
        assert!(rx.try_recv(&mut out).unwrap());
        assert_eq!(out.samples()[0], 1.0); // 0 was stale: 1 and 2 are the newest two
    }

    #[test]
    fn block_waits_and_wakes() {
        let (mut tx, mut rx) = frame_ring(fmt(), 4, Link::ring(1)).unwrap();
        let t = thread::spawn(move || {
            for i in 0..200 {
                tx.send(&mut frame(i as f32)).unwrap();
            }
        });
        let mut out = AudioFrame::with_capacity(fmt(), 4);
        let mut n = 0;
        while rx.recv(&mut out).unwrap() {
            assert_eq!(out.samples()[0], n as f32);
            n += 1;
            if n % 50 == 0 {
                thread::sleep(Duration::from_millis(2)); // let the sender block
            }
        }
        t.join().unwrap();
        assert_eq!(n, 200);
    }

    #[test]
    fn sender_fails_when_receiver_is_gone() {
        let (mut tx, rx) = frame_ring(fmt(), 4, Link::ring(1)).unwrap();
        tx.send(&mut frame(0.0)).unwrap();
        drop(rx);
        assert!(matches!(
            tx.send(&mut frame(1.0)),
            Err(Error::Closed("ring"))
        ));
    }

    #[test]
    fn small_frames_are_copied_and_large_rejected() {
        let (mut tx, mut rx) = frame_ring(fmt(), 4, Link::ring(2)).unwrap();
        let mut small = AudioFrame::with_capacity(fmt(), 2);
        small.extend_from_interleaved(&[5.0, 6.0]).unwrap();
        tx.send(&mut small).unwrap();
        assert_eq!(small.capacity_frames(), 2); // copied, not swapped
        let mut big = AudioFrame::from_interleaved(fmt(), vec![0.0; 8], MediaTime::ZERO).unwrap();
        assert!(tx.send(&mut big).is_err());
        let mut out = AudioFrame::with_capacity(fmt(), 4);
        assert!(rx.try_recv(&mut out).unwrap());
        assert_eq!(out.samples(), [5.0, 6.0]);
    }
}
