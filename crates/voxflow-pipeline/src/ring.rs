//! The SPSC ring of pre-allocated items behind every [`Link`](crate::Link): a forward ring of
//! full slots, a return ring of spent ones, the three [`Overflow`] policies, and waiting by
//! thread park, [`Waker`](std::task::Waker) or [`Notify`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use voxflow_core::AudioFrame;

use crate::Error;
use crate::link::{LinkStats, Overflow};
pub use crate::ring_item::RingItem;
use crate::wake::{Backoff, Notify, WakeSlot};

/// What [`RingSender::try_send`] did with the item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrySend {
    /// The item is in the ring; the caller's item now holds an empty pre-allocated one.
    Queued,
    /// [`Overflow::DropNewest`] discarded it (counted in [`LinkStats::dropped`]).
    Dropped,
    /// [`Overflow::Block`] and no free slot: nothing happened, the caller still holds the item
    /// (not counted as sent). Try again when woken ([`RingSender::set_notify`]).
    Full,
}

/// State shared by the two ends of one ring.
#[derive(Debug)]
struct Shared {
    stats: Arc<LinkStats>,
    /// The sender has sent its last item.
    closed: AtomicBool,
    /// The receiver has gone.
    receiver_gone: AtomicBool,
    /// Pipeline-wide stop request.
    stop: Arc<AtomicBool>,
    /// Wakes the sender (a slot was freed, the receiver went).
    producer: WakeSlot,
    /// Wakes the receiver (an item arrived, the sender closed).
    consumer: WakeSlot,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
    fn sender_must_stop(&self) -> bool {
        self.receiver_gone.load(Ordering::Acquire) || self.stopped()
    }
}

/// One ring slot: a pre-allocated item and its sequence number on the link.
#[derive(Debug)]
struct Slot<T> {
    item: T,
    seq: u64,
}

/// Builds the two ends of a ring of `slots` items from `make` (see [`item_ring`](crate::item_ring)).
/// Every item is allocated here; neither end allocates afterwards.
pub(crate) fn ring_in<T: RingItem>(
    slots: usize,
    overflow: Overflow,
    name: &'static str,
    stop: Arc<AtomicBool>,
    mut make: impl FnMut() -> T,
) -> (RingSender<T>, RingReceiver<T>) {
    let c = slots.max(1);
    let (ring_len, pending_len) = match overflow {
        // DropOldest: the ring physically holds 2c so a briefly stalled consumer can still be
        // handed the newest c; past that the producer keeps up to c newest items itself.
        Overflow::DropOldest => (2 * c, c),
        Overflow::Block | Overflow::DropNewest => (c, 0),
    };
    let total = ring_len + pending_len + 1;
    let stats = Arc::new(LinkStats::new(name, overflow, c));
    let shared = Arc::new(Shared {
        stats,
        closed: AtomicBool::new(false),
        receiver_gone: AtomicBool::new(false),
        stop,
        producer: WakeSlot::new(),
        consumer: WakeSlot::new(),
    });
    let (full_tx, full_rx) = HeapRb::<Slot<T>>::new(ring_len).split();
    let (free_tx, free_rx) = HeapRb::<Slot<T>>::new(total).split();
    let mut spare = Vec::with_capacity(total);
    let mut cap_units = usize::MAX;
    for _ in 0..total {
        let item = make();
        cap_units = cap_units.min(item.capacity_units());
        spare.push(Slot { item, seq: 0 });
    }
    (
        RingSender {
            full: full_tx,
            free: free_rx,
            spare,
            pending: VecDeque::with_capacity(pending_len),
            pending_len,
            shared: Arc::clone(&shared),
            cap_units,
            seq: 0,
            closed: false,
        },
        RingReceiver {
            full: full_rx,
            free: free_tx,
            shared,
            cap_units,
            slots: c as u64,
        },
    )
}

/// The producing end of a ring link (see [`frame_ring`](crate::frame_ring),
/// [`packet_ring`](crate::packet_ring), [`item_ring`](crate::item_ring)). `Send`, not `Sync`:
/// one thread or task sends. Dropping it closes the link (the receiver sees the end of the
/// stream after the queued items).
///
/// Three ways to send: [`send`](Self::send) waits on a thread (with [`Overflow::Block`]),
/// [`poll_send`](Self::poll_send) waits as an async task, [`try_send`](Self::try_send) never
/// waits. With the drop policies none of them ever waits.
pub struct RingSender<T: RingItem = AudioFrame> {
    full: HeapProd<Slot<T>>,
    free: HeapCons<Slot<T>>,
    spare: Vec<Slot<T>>,
    pending: VecDeque<Slot<T>>,
    pending_len: usize,
    shared: Arc<Shared>,
    cap_units: usize,
    seq: u64,
    closed: bool,
}

impl<T: RingItem> std::fmt::Debug for RingSender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingSender")
            .field("stats", &self.shared.stats)
            .finish_non_exhaustive()
    }
}

/// The outcome of one non-waiting send attempt.
enum Attempt {
    Queued,
    Dropped,
    Full,
}

/// Installs `notify` on one end's wake slot (once).
fn install_notify(slot: &WakeSlot, notify: Arc<dyn Notify>, end: &str) -> Result<(), Error> {
    if slot.set_notify(notify) {
        Ok(())
    } else {
        Err(Error::InvalidConfig {
            what: "ring notify",
            reason: format!("the {end}'s notify hook is already set"),
        })
    }
}

impl<T: RingItem> RingSender<T> {
    /// The link's live counters.
    pub fn stats(&self) -> &Arc<LinkStats> {
        &self.shared.stats
    }

    /// The most units (samples of a frame, bytes of a packet) one item may hold.
    pub fn max_units(&self) -> usize {
        self.cap_units
    }

    /// Installs a hook called whenever the receiver frees a slot or goes away (for a scheduler
    /// that retries [`try_send`](Self::try_send) when woken). Set it once, before use: fails
    /// with [`Error::InvalidConfig`] when a hook is already installed.
    pub fn set_notify(&self, notify: Arc<dyn Notify>) -> Result<(), Error> {
        install_notify(&self.shared.producer, notify, "sender")
    }

    /// Registers the calling thread as the one to unpark when slots free up (the first
    /// registration wins). [`send`](Self::send) does this itself before it first parks.
    pub fn register_current(&self) {
        self.shared.producer.register_thread();
    }

    /// Moves spent slots returned by the receiver to the local free list.
    fn reclaim(&mut self) {
        while let Some(s) = self.free.try_pop() {
            self.spare.push(s); // cannot grow: `spare` has room for every slot
        }
    }

    /// Puts `item` into `slot` (swapping when capacities allow, else copying).
    fn load(&self, slot: &mut Slot<T>, item: &mut T, seq: u64) -> Result<(), Error> {
        slot.seq = seq;
        if item.capacity_units() >= self.cap_units {
            std::mem::swap(&mut slot.item, item);
            Ok(())
        } else {
            slot.item.copy_from_item(item)
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

    fn count_sent(&mut self) -> u64 {
        let seq = self.seq;
        self.seq += 1;
        self.shared.stats.sent.fetch_add(1, Ordering::AcqRel);
        seq
    }

    fn drop_one(&self) {
        self.shared.stats.dropped.fetch_add(1, Ordering::AcqRel);
    }

    /// Checks the item's size and that the link is open.
    fn admit(&self, item: &T) -> Result<(), Error> {
        if item.len_units() > self.cap_units {
            return Err(item.too_large(self.cap_units));
        }
        if self.closed || self.shared.sender_must_stop() {
            return Err(Error::Closed(self.shared.stats.name()));
        }
        Ok(())
    }

    /// One attempt by the policy, never waiting. `sent` counts the item only when it is
    /// queued or dropped (a `Full` attempt leaves everything as it was).
    fn attempt(&mut self, item: &mut T) -> Result<Attempt, Error> {
        self.reclaim();
        match self.shared.stats.overflow() {
            Overflow::Block | Overflow::DropNewest => {
                if self.full.vacant_len() > 0
                    && let Some(mut slot) = self.spare.pop()
                {
                    let seq = self.count_sent();
                    let loaded = self.load(&mut slot, item, seq);
                    if let Err(e) = loaded {
                        self.spare.push(slot); // cannot grow: the slot came from `spare`
                        self.drop_one();
                        return Err(e);
                    }
                    let _ = self.full.try_push(slot); // cannot fail: a slot was vacant
                    self.shared.consumer.wake();
                    Ok(Attempt::Queued)
                } else if self.shared.stats.overflow() == Overflow::DropNewest {
                    self.count_sent();
                    self.drop_one();
                    Ok(Attempt::Dropped)
                } else {
                    Ok(Attempt::Full)
                }
            }
            Overflow::DropOldest => {
                let seq = self.count_sent();
                self.flush_pending();
                if self.pending.is_empty()
                    && self.full.vacant_len() > 0
                    && let Some(mut slot) = self.spare.pop()
                {
                    let loaded = self.load(&mut slot, item, seq);
                    if let Err(e) = loaded {
                        self.spare.push(slot); // cannot grow: the slot came from `spare`
                        self.drop_one();
                        return Err(e);
                    }
                    let _ = self.full.try_push(slot); // cannot fail: a slot was vacant
                    self.shared.consumer.wake();
                    return Ok(Attempt::Queued);
                }
                // The ring is physically full: keep the newest items here, oldest evicted.
                if self.pending.len() >= self.pending_len
                    && let Some(old) = self.pending.pop_front()
                {
                    self.drop_one();
                    self.spare.push(old); // cannot grow: `spare` has room for every slot
                }
                match self.spare.pop() {
                    Some(mut slot) => {
                        let loaded = self.load(&mut slot, item, seq);
                        if let Err(e) = loaded {
                            self.spare.push(slot); // cannot grow: the slot came from `spare`
                            self.drop_one();
                            return Err(e);
                        }
                        self.pending.push_back(slot); // cannot grow: len < pending_len
                        Ok(Attempt::Queued)
                    }
                    None => {
                        // Not reached (slots are counted so one is always spare).
                        self.drop_one();
                        Ok(Attempt::Dropped)
                    }
                }
            }
        }
    }

    /// Sends one item according to the link's [`Overflow`] policy. On success `item` holds an
    /// empty pre-allocated item (or, when its capacity was below the ring's, its old buffer).
    ///
    /// Returns `Ok(true)` when the item was queued, `Ok(false)` when
    /// [`Overflow::DropNewest`] discarded it (counted in [`LinkStats::dropped`]). With
    /// [`Overflow::Block`] it waits for a free slot: it spins, yields, then parks until the
    /// receiver unparks it. Fails with [`Error::Closed`] when the receiver has gone, the link
    /// was closed or the pipeline is stopping, and with the item's
    /// [`too_large`](RingItem::too_large) error (a core `FrameTooLarge` for frames,
    /// [`Error::PacketTooLarge`] for packets) when it holds more than
    /// [`max_units`](Self::max_units).
    pub fn send(&mut self, item: &mut T) -> Result<bool, Error> {
        self.admit(item)?;
        let mut backoff = Backoff::default();
        loop {
            match self.attempt(item)? {
                Attempt::Queued => return Ok(true),
                Attempt::Dropped => return Ok(false),
                Attempt::Full => {}
            }
            if self.shared.sender_must_stop() {
                return Err(Error::Closed(self.shared.stats.name()));
            }
            if backoff.about_to_park() {
                self.register_current();
            }
            backoff.wait();
        }
    }

    /// Sends without ever waiting: [`TrySend::Queued`] (your item now holds an empty one),
    /// [`TrySend::Dropped`] ([`Overflow::DropNewest`] discarded it) or, with
    /// [`Overflow::Block`] and a full ring, [`TrySend::Full`]: the item stays yours, untouched
    /// and uncounted. Errors as [`send`](Self::send).
    pub fn try_send(&mut self, item: &mut T) -> Result<TrySend, Error> {
        self.admit(item)?;
        Ok(match self.attempt(item)? {
            Attempt::Queued => TrySend::Queued,
            Attempt::Dropped => TrySend::Dropped,
            Attempt::Full => TrySend::Full,
        })
    }

    /// Sends from an async task: like [`send`](Self::send), but where `send` would wait
    /// ([`Overflow::Block`], ring full) it registers `cx`'s waker and returns
    /// `Poll::Pending`, leaving the item with the caller; the receiver wakes the task when it
    /// frees a slot or goes away. Call it again with the same item when woken. `Ready(Ok(true))`
    /// queued, `Ready(Ok(false))` dropped by [`Overflow::DropNewest`], `Ready(Err(_))` as
    /// `send`. The drop policies are always `Ready`.
    pub fn poll_send(&mut self, cx: &mut Context<'_>, item: &mut T) -> Poll<Result<bool, Error>> {
        if let Err(e) = self.admit(item) {
            return Poll::Ready(Err(e));
        }
        for registered in [false, true] {
            match self.attempt(item) {
                Ok(Attempt::Queued) => return Poll::Ready(Ok(true)),
                Ok(Attempt::Dropped) => return Poll::Ready(Ok(false)),
                Ok(Attempt::Full) => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            if self.shared.sender_must_stop() {
                return Poll::Ready(Err(Error::Closed(self.shared.stats.name())));
            }
            if !registered {
                // Register, then look again: a slot freed in between is not missed.
                self.shared.producer.register_waker(cx.waker());
            }
        }
        Poll::Pending
    }

    /// True once the items held back by [`Overflow::DropOldest`] are all in the ring (or can
    /// never be: receiver gone, pipeline stopping).
    fn flushed(&mut self) -> bool {
        self.reclaim();
        self.flush_pending();
        self.pending.is_empty() || self.shared.sender_must_stop()
    }

    /// Marks the link closed; what could not be handed over counts as dropped.
    fn finish_close(&mut self) {
        let lost = self.pending.len() as u64;
        if lost > 0 {
            self.shared.stats.dropped.fetch_add(lost, Ordering::AcqRel);
            self.spare.extend(self.pending.drain(..)); // cannot grow: room for every slot
        }
        self.closed = true;
        self.shared.closed.store(true, Ordering::Release);
        self.shared.consumer.wake();
    }

    /// Ends the stream: waits until items held back by [`Overflow::DropOldest`] are in the
    /// ring (or the receiver is gone / the pipeline stops), then marks the link closed. The
    /// receiver gets the queued items, then the end of the stream. Later sends fail with
    /// [`Error::Closed`].
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        let mut backoff = Backoff::default();
        while !self.flushed() {
            if backoff.about_to_park() {
                self.register_current();
            }
            backoff.wait();
        }
        self.finish_close();
    }

    /// [`close`](Self::close) from an async task: `Pending` (waker registered) while items
    /// held back by [`Overflow::DropOldest`] wait for room, `Ready(())` once the link is
    /// closed. Only `DropOldest` ever returns `Pending`.
    pub fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.closed {
            return Poll::Ready(());
        }
        if !self.flushed() {
            self.shared.producer.register_waker(cx.waker());
            if !self.flushed() {
                return Poll::Pending;
            }
        }
        self.finish_close();
        Poll::Ready(())
    }
}

impl<T: RingItem> Drop for RingSender<T> {
    fn drop(&mut self) {
        if !self.closed {
            // Do not wait in a destructor: hand over what fits, count the rest as dropped.
            self.reclaim();
            self.flush_pending();
            self.finish_close();
        }
    }
}

/// The consuming end of a ring link (see [`frame_ring`](crate::frame_ring),
/// [`packet_ring`](crate::packet_ring), [`item_ring`](crate::item_ring)). `Send`, not `Sync`.
/// Dropping it makes the sender's [`send`](RingSender::send) fail with [`Error::Closed`].
///
/// Three ways to receive: [`recv`](Self::recv) waits on a thread,
/// [`poll_recv`](Self::poll_recv) waits as an async task, [`try_recv`](Self::try_recv) never
/// waits.
pub struct RingReceiver<T: RingItem = AudioFrame> {
    full: HeapCons<Slot<T>>,
    free: HeapProd<Slot<T>>,
    shared: Arc<Shared>,
    cap_units: usize,
    slots: u64,
}

impl<T: RingItem> std::fmt::Debug for RingReceiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingReceiver")
            .field("stats", &self.shared.stats)
            .finish_non_exhaustive()
    }
}

impl<T: RingItem> RingReceiver<T> {
    /// The link's live counters.
    pub fn stats(&self) -> &Arc<LinkStats> {
        &self.shared.stats
    }

    /// The most units (samples of a frame, bytes of a packet) one item may hold.
    pub fn max_units(&self) -> usize {
        self.cap_units
    }

    /// Installs a hook called whenever the sender queues an item or closes the link (for a
    /// scheduler that calls [`try_recv`](Self::try_recv) when woken). Set it once, before use:
    /// fails with [`Error::InvalidConfig`] when a hook is already installed.
    pub fn set_notify(&self, notify: Arc<dyn Notify>) -> Result<(), Error> {
        install_notify(&self.shared.consumer, notify, "receiver")
    }

    /// Registers the calling thread as the one to unpark when items arrive (the first
    /// registration wins). [`recv`](Self::recv) does this itself before it first parks.
    pub fn register_current(&self) {
        self.shared.consumer.register_thread();
    }

    fn give_back(&mut self, slot: Slot<T>) {
        let _ = self.free.try_push(slot); // cannot fail: the free ring holds every slot
        self.shared.producer.wake();
    }

    /// Takes the next item if one is queued now: `Ok(true)` and `out` holds it (its old
    /// buffer went back to the sender), or `Ok(false)` when the ring is empty. Never waits.
    /// When `out`'s capacity is below the ring's the content is copied instead; if it does not
    /// fit, the item is lost (counted as delivered) and its copy error returned.
    pub fn try_recv(&mut self, out: &mut T) -> Result<bool, Error> {
        while let Some(mut slot) = self.full.try_pop() {
            if self.shared.stats.overflow() == Overflow::DropOldest {
                let sent = self.shared.stats.sent.load(Ordering::Acquire);
                // Stale: `slots` newer items exist *and* are in the ring behind it. Counting
                // only sent items would also count those the producer still holds back, and a
                // consumer that runs between a producer's bursts on the same thread (a
                // scheduler) would then drop everything it can reach and never deliver.
                let behind = self.full.occupied_len() as u64;
                if sent.saturating_sub(slot.seq) > self.slots && behind >= self.slots {
                    self.shared.stats.dropped.fetch_add(1, Ordering::AcqRel);
                    self.give_back(slot);
                    continue;
                }
            }
            let r = if out.capacity_units() >= self.cap_units {
                std::mem::swap(&mut slot.item, out);
                Ok(())
            } else {
                out.copy_from_item(&slot.item)
            };
            self.shared.stats.delivered.fetch_add(1, Ordering::AcqRel);
            self.give_back(slot);
            return r.map(|()| true);
        }
        Ok(false)
    }

    /// True once the sender has closed the link and every queued item has been taken.
    pub fn is_finished(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire) && self.full.is_empty()
    }

    /// One non-waiting look: `Some(result)` when `recv` would return now.
    fn look(&mut self, out: &mut T) -> Option<Result<bool, Error>> {
        match self.try_recv(out) {
            Ok(true) => return Some(Ok(true)),
            Ok(false) => {}
            Err(e) => return Some(Err(e)),
        }
        if self.shared.closed.load(Ordering::Acquire) {
            // Closed after the last push: one more look, then the end.
            return Some(self.try_recv(out));
        }
        if self.shared.stopped() {
            return Some(Ok(false));
        }
        None
    }

    /// Waits for the next item: `Ok(true)` and `out` holds it (its old buffer went back to the
    /// sender), or `Ok(false)` at the end of the stream (sender closed and ring drained) or when
    /// the pipeline is stopping. The wait spins, yields, then parks; the sender unparks it.
    pub fn recv(&mut self, out: &mut T) -> Result<bool, Error> {
        let mut backoff = Backoff::default();
        loop {
            if let Some(r) = self.look(out) {
                return r;
            }
            if backoff.about_to_park() {
                self.register_current();
            }
            backoff.wait();
        }
    }

    /// Receives from an async task: `Ready` with what [`recv`](Self::recv) would return, or
    /// `Pending` with `cx`'s waker registered when the ring is empty; the sender wakes the task
    /// when it queues an item or closes the link.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>, out: &mut T) -> Poll<Result<bool, Error>> {
        if let Some(r) = self.look(out) {
            return Poll::Ready(r);
        }
        // Register, then look again: an item queued in between is not missed.
        self.shared.consumer.register_waker(cx.waker());
        match self.look(out) {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }
}

impl<T: RingItem> Drop for RingReceiver<T> {
    fn drop(&mut self) {
        self.shared.receiver_gone.store(true, Ordering::Release);
        self.shared.producer.wake();
    }
}
