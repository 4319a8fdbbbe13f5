//! No lost wake-ups: chains of rings whose hops wait in all three ways (a parked thread, an
//! async task on a tiny `block_on` executor, a `Notify` hook), many threads × many items, every
//! item checked for order, loss and duplication. The async and notify waits park *without* a
//! timeout, so a lost wake-up hangs the hop and the watchdog fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use voxflow_core::{AudioFormat, AudioFrame, MediaTime, Packet};
use voxflow_pipeline::{
    Error, Link, LinkStats, Notify, Overflow, RingItem, RingReceiver, RingSender, TrySend,
    frame_ring, packet_ring,
};

fn fmt() -> AudioFormat {
    AudioFormat::new(48_000, 2).unwrap()
}

/// An item that carries one number, for both item types.
trait Val: RingItem + Sized {
    fn ring(link: Link) -> (RingSender<Self>, RingReceiver<Self>);
    fn item(v: u32) -> Self;
    fn empty() -> Self;
    fn val(&self) -> u32;
}

impl Val for AudioFrame {
    fn ring(link: Link) -> (RingSender<Self>, RingReceiver<Self>) {
        frame_ring(fmt(), 480, link).unwrap()
    }
    fn item(v: u32) -> Self {
        let mut s = vec![0.0; 960];
        s[0] = v as f32; // exact below 2^24
        s[959] = v as f32;
        AudioFrame::from_interleaved(fmt(), s, MediaTime::ZERO).unwrap()
    }
    fn empty() -> Self {
        AudioFrame::with_capacity(fmt(), 480)
    }
    fn val(&self) -> u32 {
        let s = self.samples();
        assert_eq!(s[0], s[s.len() - 1], "torn frame");
        s[0] as u32
    }
}

impl Val for Packet {
    fn ring(link: Link) -> (RingSender<Self>, RingReceiver<Self>) {
        packet_ring(64, link).unwrap()
    }
    fn item(v: u32) -> Self {
        let mut p = Packet::with_capacity(64);
        p.set_data(&v.to_le_bytes());
        p.data_mut().extend_from_slice(&v.to_be_bytes());
        p
    }
    fn empty() -> Self {
        Packet::with_capacity(64)
    }
    fn val(&self) -> u32 {
        let d = self.data();
        let le = u32::from_le_bytes(d[..4].try_into().unwrap());
        assert_eq!(
            le,
            u32::from_be_bytes(d[4..8].try_into().unwrap()),
            "torn packet"
        );
        le
    }
}

/// Wakes a thread: the waker of the tiny executor below.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on this thread: poll, and park (no timeout) while `Pending`.
fn block_on<F: Future>(fut: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        thread::park();
    }
}

/// A scheduler's hook: counts and unparks the hop's thread.
struct Hook {
    thread: Thread,
    hits: AtomicU64,
}

impl Notify for Hook {
    fn notify(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
        self.thread.unpark();
    }
}

/// How a hop waits.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// `recv`/`send` (spin, yield, park; woken by unpark).
    Thread,
    /// `poll_recv`/`poll_send`/`poll_close` on `block_on` (woken by a `Waker`).
    Async,
    /// `try_recv`/`try_send` and `park()` (woken by a `Notify` hook).
    Notify,
}

fn hop<T: Val>(mode: Mode, mut rx: RingReceiver<T>, mut tx: RingSender<T>) -> Result<(), Error> {
    let mut buf = T::empty();
    match mode {
        Mode::Thread => {
            while rx.recv(&mut buf)? {
                tx.send(&mut buf)?;
            }
            tx.close();
        }
        Mode::Async => block_on(async {
            while poll_fn(|cx| rx.poll_recv(cx, &mut buf)).await? {
                poll_fn(|cx| tx.poll_send(cx, &mut buf)).await?;
            }
            poll_fn(|cx| tx.poll_close(cx)).await;
            Ok::<(), Error>(())
        })?,
        Mode::Notify => {
            let hook = Arc::new(Hook {
                thread: thread::current(),
                hits: AtomicU64::new(0),
            });
            rx.set_notify(hook.clone())?;
            tx.set_notify(hook.clone())?;
            assert!(matches!(
                rx.set_notify(hook.clone()),
                Err(Error::InvalidConfig { .. })
            ));
            let mut have = false;
            loop {
                if !have {
                    if rx.try_recv(&mut buf)? {
                        have = true;
                    } else if rx.is_finished() {
                        break;
                    } else {
                        thread::park();
                        continue;
                    }
                }
                match tx.try_send(&mut buf)? {
                    TrySend::Queued | TrySend::Dropped => have = false,
                    TrySend::Full => thread::park(),
                }
            }
            // Block/DropNewest close at once; DropOldest waits for room (woken by unpark).
            tx.close();
            assert!(hook.hits.load(Ordering::Relaxed) > 0);
        }
    }
    Ok(())
}

/// What a chain run saw at its far end.
struct Outcome {
    received: Vec<u32>,
    links: Vec<Arc<LinkStats>>,
}

/// producer (`first`) → one hop per `hops` entry → consumer (`last`), `n` items, rings of
/// `slots` with `overflow`. Returns what the consumer received, in order.
fn run_chain<T: Val>(
    first: Mode,
    hops: &[Mode],
    last: Mode,
    n: u32,
    slots: usize,
    overflow: Overflow,
) -> Outcome {
    let mut links = Vec::new();
    let (mut tx0, mut rx) = T::ring(Link::ring(slots).with_overflow(overflow));
    links.push(Arc::clone(rx.stats()));
    let mut threads = Vec::new();
    for &mode in hops {
        let (tx, next_rx) = T::ring(Link::ring(slots).with_overflow(overflow));
        links.push(Arc::clone(next_rx.stats()));
        let hop_rx = std::mem::replace(&mut rx, next_rx);
        threads.push(thread::spawn(move || hop(mode, hop_rx, tx).unwrap()));
    }
    let producer = thread::spawn(move || {
        let mut item = T::empty();
        for i in 0..n {
            let fresh = T::item(i);
            item.copy_from_item(&fresh).unwrap();
            match first {
                Mode::Thread => {
                    tx0.send(&mut item).unwrap();
                }
                Mode::Async => {
                    block_on(poll_fn(|cx| tx0.poll_send(cx, &mut item))).unwrap();
                }
                Mode::Notify => {
                    tx0.send(&mut item).unwrap(); // the producer end's notify is tested in hops
                }
            }
        }
        if matches!(first, Mode::Async) {
            block_on(poll_fn(|cx| tx0.poll_close(cx)));
        } else {
            tx0.close();
        }
    });
    let mut received = Vec::with_capacity(n as usize);
    let mut out = T::empty();
    match last {
        Mode::Async => block_on(async {
            while poll_fn(|cx| rx.poll_recv(cx, &mut out)).await.unwrap() {
                received.push(out.val());
            }
        }),
        _ => {
            while rx.recv(&mut out).unwrap() {
                received.push(out.val());
            }
        }
    }
    producer.join().unwrap();
    for t in threads {
        t.join().unwrap();
    }
    Outcome { received, links }
}

/// Runs `f` on its own thread and fails if it has not finished within `secs` (a lost wake-up
/// on a timeout-free wait hangs).
fn watchdog<R: Send + 'static>(secs: u64, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (done_tx, done_rx) = mpsc::channel();
    let t = thread::spawn(move || {
        let r = f();
        let _ = done_tx.send(());
        r
    });
    match done_rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => t.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => t.join().unwrap(), // panicked: re-raise
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("hung for {secs} s: a lost wake-up"),
    }
}

const ALL: [Mode; 3] = [Mode::Thread, Mode::Async, Mode::Notify];

fn lossless<T: Val>(first: Mode, last: Mode, n: u32, slots: usize) {
    let out = run_chain::<T>(first, &ALL, last, n, slots, Overflow::Block);
    assert_eq!(out.received.len(), n as usize, "lost or duplicated items");
    for (i, &v) in out.received.iter().enumerate() {
        assert_eq!(v, i as u32, "out of order at {i}");
    }
    for l in &out.links {
        assert_eq!(
            (l.sent(), l.delivered(), l.dropped()),
            (n as u64, n as u64, 0)
        );
    }
}

#[test]
fn block_chains_of_every_wait_mode_lose_nothing() {
    // 4 chains in parallel (4 × 5 threads), rings of 1 and 3 slots: producers and consumers
    // wait on each other all the time, in every combination of thread/async/notify.
    watchdog(120, || {
        let a = thread::spawn(|| lossless::<Packet>(Mode::Thread, Mode::Async, 20_000, 1));
        let b = thread::spawn(|| lossless::<Packet>(Mode::Async, Mode::Thread, 20_000, 3));
        let c = thread::spawn(|| lossless::<AudioFrame>(Mode::Async, Mode::Async, 10_000, 1));
        let d = thread::spawn(|| lossless::<AudioFrame>(Mode::Thread, Mode::Thread, 10_000, 2));
        for t in [a, b, c, d] {
            t.join().unwrap();
        }
    });
}

fn lossy<T: Val>(overflow: Overflow, n: u32) {
    let out = run_chain::<T>(Mode::Async, &ALL, Mode::Async, n, 2, overflow);
    // Whatever arrives arrives once and in order; every link balances its books.
    assert!(
        out.received.windows(2).all(|w| w[0] < w[1]),
        "duplicated or reordered"
    );
    assert!(out.received.iter().all(|&v| v < n));
    for l in &out.links {
        assert_eq!(l.sent(), l.delivered() + l.dropped(), "{}", l.name());
    }
    assert_eq!(out.links[0].sent(), n as u64);
    for w in out.links.windows(2) {
        assert_eq!(w[0].delivered(), w[1].sent());
    }
    assert_eq!(out.links[3].delivered(), out.received.len() as u64);
    if overflow == Overflow::DropOldest {
        // The newest item always gets through: close() hands over what is held back.
        assert_eq!(out.received.last(), Some(&(n - 1)));
    } else {
        assert_eq!(out.received.first(), Some(&0));
    }
}

#[test]
fn drop_chains_keep_order_and_balance_their_counters() {
    watchdog(120, || {
        let a = thread::spawn(|| lossy::<Packet>(Overflow::DropOldest, 20_000));
        let b = thread::spawn(|| lossy::<Packet>(Overflow::DropNewest, 20_000));
        let c = thread::spawn(|| lossy::<AudioFrame>(Overflow::DropOldest, 10_000));
        let d = thread::spawn(|| lossy::<AudioFrame>(Overflow::DropNewest, 10_000));
        for t in [a, b, c, d] {
            t.join().unwrap();
        }
    });
}

#[test]
fn poll_send_is_pending_until_a_slot_frees_and_poll_recv_until_an_item() {
    let (mut tx, mut rx) = packet_ring(8, Link::ring(1)).unwrap();
    let woken = Arc::new(AtomicU64::new(0));
    struct Count(Arc<AtomicU64>);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let waker = Waker::from(Arc::new(Count(Arc::clone(&woken))));
    let mut cx = Context::from_waker(&waker);
    let mut out = Packet::with_capacity(8);
    // Empty ring: pending, and the sender's push wakes the receiver's task.
    assert!(rx.poll_recv(&mut cx, &mut out).is_pending());
    let mut p = Packet::item(1);
    assert!(matches!(
        tx.poll_send(&mut cx, &mut p),
        Poll::Ready(Ok(true))
    ));
    assert_eq!(woken.load(Ordering::SeqCst), 1);
    // Full ring: pending, the item stays ours and uncounted; the receiver's pop wakes us.
    let mut q = Packet::item(2);
    assert!(tx.poll_send(&mut cx, &mut q).is_pending());
    assert_eq!((q.val(), tx.stats().sent()), (2, 1));
    assert!(matches!(
        rx.poll_recv(&mut cx, &mut out),
        Poll::Ready(Ok(true))
    ));
    assert_eq!(out.val(), 1);
    assert_eq!(woken.load(Ordering::SeqCst), 2);
    assert!(matches!(
        tx.poll_send(&mut cx, &mut q),
        Poll::Ready(Ok(true))
    ));
    // Close wakes a pending receiver; it then drains and sees the end.
    assert!(matches!(
        rx.poll_recv(&mut cx, &mut out),
        Poll::Ready(Ok(true))
    ));
    assert!(rx.poll_recv(&mut cx, &mut out).is_pending());
    let before = woken.load(Ordering::SeqCst);
    drop(tx);
    assert!(woken.load(Ordering::SeqCst) > before);
    assert!(matches!(
        rx.poll_recv(&mut cx, &mut out),
        Poll::Ready(Ok(false))
    ));
}

#[test]
fn receiver_gone_wakes_a_pending_sender_with_closed() {
    let (mut tx, rx) = frame_ring(fmt(), 480, Link::ring(1).with_name("net")).unwrap();
    let woken = Arc::new(AtomicU64::new(0));
    struct Count(Arc<AtomicU64>);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let waker = Waker::from(Arc::new(Count(Arc::clone(&woken))));
    let mut cx = Context::from_waker(&waker);
    let mut f = AudioFrame::item(1);
    assert!(matches!(
        tx.poll_send(&mut cx, &mut f),
        Poll::Ready(Ok(true))
    ));
    let mut g = AudioFrame::item(2);
    assert!(tx.poll_send(&mut cx, &mut g).is_pending());
    drop(rx);
    assert_eq!(woken.load(Ordering::SeqCst), 1);
    assert!(matches!(
        tx.poll_send(&mut cx, &mut g),
        Poll::Ready(Err(Error::Closed("net")))
    ));
}
