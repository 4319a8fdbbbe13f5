//! Thread boundaries: what a ring link is ([`Link`], [`Capacity`], [`Overflow`]), its live
//! counters ([`LinkStats`]) and the constructors of standalone rings of frames, packets or any
//! [`RingItem`]. The ring itself is in `ring.rs`, waking in `wake.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use voxflow_core::{AudioFormat, AudioFrame, Packet};

use crate::Error;
use crate::ring::{RingItem, ring_in};
// Re-exported here so `crate::link::{RingReceiver, RingSender}` keeps working in pipeline.rs.
pub(crate) use crate::ring::{RingReceiver, RingSender};

/// The most slots one ring may have.
const MAX_SLOTS: usize = 1 << 20;

/// What a ring link does when its producer is faster than its consumer and the ring is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// The producer waits until the consumer frees a slot (lossless back-pressure). A thread
    /// spins briefly, yields, then parks; an async task returns `Pending`; either is woken as
    /// soon as the consumer takes an item. [`RingSender::try_send`] reports
    /// [`TrySend::Full`](crate::TrySend::Full) instead of waiting.
    #[default]
    Block,
    /// The oldest queued items are discarded so the consumer always gets the newest
    /// `capacity` items: latency stays bounded, the producer never waits.
    DropOldest,
    /// The item being sent is discarded: the queue keeps what it has, the producer never waits.
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

/// How much a ring holds: a number of ring slots (each one item: an [`AudioFrame`], a
/// [`Packet`], …) or, for frame rings only, a duration, turned into slots of the largest frame
/// that crosses the link (rounded up).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capacity {
    /// This many slots (frames or packets; at least 1).
    Frames(usize),
    /// Enough frames to hold this much audio (frame rings and pipeline boundaries only).
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
/// or the description of a standalone [`frame_ring`], [`packet_ring`] or [`item_ring`].
/// Setters and getters pair: [`with_overflow`](Self::with_overflow)/[`overflow`](Self::overflow),
/// [`with_name`](Self::with_name)/[`name`](Self::name), [`ring`](Self::ring)/[`capacity`](Self::capacity).
///
/// ```
/// use std::time::Duration;
/// use voxflow_pipeline::{Capacity, Link, Overflow};
/// let net = Link::ring(Duration::from_millis(200))
///     .with_overflow(Overflow::DropOldest)
///     .with_name("net");
/// assert_eq!(net.overflow(), Overflow::DropOldest);
/// assert_eq!(net.name(), Some("net"));
/// let lossless = Link::ring(4); // 4 slots, Overflow::Block, unnamed
/// assert_eq!((lossless.capacity(), lossless.overflow(), lossless.name()),
///            (Capacity::Frames(4), Overflow::Block, None));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    capacity: Capacity,
    overflow: Overflow,
    name: Option<&'static str>,
}

impl Link {
    /// A ring of `capacity` (slots, or a [`Duration`]) with the [`Overflow::Block`] policy.
    pub fn ring(capacity: impl Into<Capacity>) -> Link {
        Link {
            capacity: capacity.into(),
            overflow: Overflow::Block,
            name: None,
        }
    }

    /// Sets the back-pressure policy (read it back with [`overflow`](Self::overflow)).
    pub fn with_overflow(mut self, overflow: Overflow) -> Link {
        self.overflow = overflow;
        self
    }

    /// Names the link (its trace stamp and report row; read it back with
    /// [`name`](Self::name)). Unnamed links are called `ring0`, `ring1`, … in pipeline order,
    /// and `ring` when standalone.
    pub fn with_name(mut self, name: &'static str) -> Link {
        self.name = Some(name);
        self
    }

    /// The capacity as given.
    pub fn capacity(&self) -> Capacity {
        self.capacity
    }

    /// The back-pressure policy.
    pub fn overflow(&self) -> Overflow {
        self.overflow
    }

    /// The name given with [`with_name`](Self::with_name), if any.
    pub fn name(&self) -> Option<&'static str> {
        self.name
    }

    /// Number of ring slots for frames of up to `max_frames` sample frames of `format`.
    pub fn slots(&self, format: AudioFormat, max_frames: usize) -> Result<usize, Error> {
        match self.capacity {
            Capacity::Frames(n) => check_slots(n),
            Capacity::Duration(d) => {
                let samples = format.frames_in(d) as u128;
                let per = max_frames.max(1) as u128;
                let n = samples.div_ceil(per).max(1);
                usize::try_from(n)
                    .ok()
                    .filter(|&n| n <= MAX_SLOTS)
                    .ok_or_else(|| Error::InvalidConfig {
                        what: "ring capacity",
                        reason: format!("{d:?} needs too many slots of {max_frames} frames"),
                    })
            }
        }
    }

    /// Number of ring slots for a ring of items that are not audio frames (a
    /// [`Capacity::Duration`] cannot be turned into packets: it is an [`Error::InvalidConfig`]).
    pub(crate) fn item_slots(&self) -> Result<usize, Error> {
        match self.capacity {
            Capacity::Frames(n) => check_slots(n),
            Capacity::Duration(d) => Err(Error::InvalidConfig {
                what: "ring capacity",
                reason: format!("{d:?}: only frame rings take a duration; give a number of slots"),
            }),
        }
    }
}

fn check_slots(n: usize) -> Result<usize, Error> {
    match n {
        0 => Err(Error::InvalidConfig {
            what: "ring capacity",
            reason: "a ring needs at least one slot".into(),
        }),
        n if n > MAX_SLOTS => Err(Error::InvalidConfig {
            what: "ring capacity",
            reason: format!("{n} slots is more than the limit of {MAX_SLOTS}"),
        }),
        n => Ok(n),
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
/// Counts are in items (frames or packets).
#[derive(Debug)]
pub struct LinkStats {
    name: &'static str,
    overflow: Overflow,
    slots: usize,
    pub(crate) sent: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) dropped: AtomicU64,
}

impl LinkStats {
    pub(crate) fn new(name: &'static str, overflow: Overflow, slots: usize) -> Self {
        LinkStats {
            name,
            overflow,
            slots,
            sent: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// The link's name (its trace stamp).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The back-pressure policy (as [`Link::overflow`]).
    pub fn overflow(&self) -> Overflow {
        self.overflow
    }

    /// Capacity in items (ring slots).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Items handed to the link by its producer (queued or dropped by the policy; an item a
    /// blocked producer still holds is not counted yet).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Acquire)
    }

    /// Items handed out by the link to its consumer.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Acquire)
    }

    /// Items discarded by the overflow policy.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Acquire)
    }

    /// Items sent but neither delivered nor dropped yet (queued).
    pub fn in_flight(&self) -> u64 {
        self.sent()
            .saturating_sub(self.delivered())
            .saturating_sub(self.dropped())
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
    let name = link.name().unwrap_or("ring");
    frame_ring_in(
        format,
        max_frames,
        link,
        name,
        Arc::new(AtomicBool::new(false)),
    )
}

/// [`frame_ring`] inside a pipeline: named `name`, and ending when `stop` is raised.
pub(crate) fn frame_ring_in(
    format: AudioFormat,
    max_frames: usize,
    link: Link,
    name: &'static str,
    stop: Arc<AtomicBool>,
) -> Result<(RingSender, RingReceiver), Error> {
    let slots = link.slots(format, max_frames)?;
    Ok(ring_in(slots, link.overflow, name, stop, || {
        AudioFrame::with_capacity(format, max_frames)
    }))
}

/// Builds a standalone ring link carrying [`Packet`]s of up to `max_bytes` payload bytes each
/// (`link`'s capacity is a number of packets). Like [`frame_ring`], every slot is allocated
/// here and packets move by swapping buffers; a packet longer than `max_bytes` is refused
/// with [`Error::PacketTooLarge`].
///
/// ```
/// use voxflow_core::Packet;
/// use voxflow_pipeline::{packet_ring, Link, Overflow};
/// let (mut tx, mut rx) = packet_ring(1500, Link::ring(2).with_overflow(Overflow::DropNewest)).unwrap();
/// let mut p = Packet::with_capacity(1500);
/// for i in 0..3u8 {
///     p.set_data(&[i; 100]);
///     tx.send(&mut p).unwrap(); // the third is dropped: the ring holds two
/// }
/// let mut q = Packet::with_capacity(1500);
/// assert!(rx.try_recv(&mut q).unwrap());
/// assert_eq!(q.data(), &[0; 100]);
/// assert_eq!(rx.stats().dropped(), 1);
/// ```
pub fn packet_ring(
    max_bytes: usize,
    link: Link,
) -> Result<(RingSender<Packet>, RingReceiver<Packet>), Error> {
    item_ring(link, || Packet::with_capacity(max_bytes))
}

/// Builds a standalone ring of any [`RingItem`], each slot made by `make` (called once per
/// slot, here and never again; `link`'s capacity is a number of slots, and the ring's
/// [`max_units`](RingSender::max_units) is the smallest capacity `make` produced).
///
/// ```
/// use voxflow_core::Packet;
/// use voxflow_pipeline::{item_ring, Link};
/// let (mut tx, mut rx) = item_ring(Link::ring(8).with_name("rtp"), || Packet::with_capacity(1200))
///     .unwrap();
/// assert_eq!(tx.max_units(), 1200);
/// # let _ = (&mut tx, &mut rx);
/// ```
pub fn item_ring<T: RingItem>(
    link: Link,
    make: impl FnMut() -> T,
) -> Result<(RingSender<T>, RingReceiver<T>), Error> {
    let slots = link.item_slots()?;
    Ok(ring_in(
        slots,
        link.overflow,
        link.name().unwrap_or("ring"),
        Arc::new(AtomicBool::new(false)),
        make,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(matches!(
            Link::ring(0).slots(f, 960),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(matches!(
            Link::ring(MAX_SLOTS + 1).slots(f, 960),
            Err(Error::InvalidConfig { .. })
        ));
    }

    #[test]
    fn item_rings_take_slot_counts_only() {
        assert!(matches!(
            packet_ring(100, Link::ring(Duration::from_millis(20))),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(matches!(
            packet_ring(100, Link::ring(0)),
            Err(Error::InvalidConfig { .. })
        ));
        let (tx, _rx) = packet_ring(100, Link::ring(3)).unwrap();
        assert_eq!((tx.stats().slots(), tx.stats().name()), (3, "ring"));
    }

    #[test]
    fn setters_and_getters_pair() {
        let l = Link::ring(3)
            .with_overflow(Overflow::DropNewest)
            .with_name("x");
        assert_eq!(l.overflow(), Overflow::DropNewest);
        assert_eq!(l.name(), Some("x"));
        assert_eq!(l.name(), Some("x"));
        assert_eq!(l.capacity(), Capacity::Frames(3));
        let (tx, _rx) = frame_ring(AudioFormat::new(8_000, 1).unwrap(), 4, l).unwrap();
        assert_eq!(tx.stats().overflow(), Overflow::DropNewest);
        assert_eq!(tx.stats().name(), "x");
    }
}
