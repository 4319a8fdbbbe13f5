//! Rings allocate nothing after construction: 0 allocations over 1 000 packets through a packet
//! ring for each overflow policy, on one thread (`try_send`/`try_recv`, the scheduler's way) and
//! across two (a parked producer thread and an async consumer woken by a `Waker`). For the drop
//! policies the drop counter is read before and after the measured window, so the drop paths
//! ran inside it. Every test takes `exclusive()`: the threaded one counts the whole process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use voxflow_core::Packet;
use voxflow_pipeline::{Link, Overflow, RingReceiver, TrySend, packet_ring};
use voxflow_testkit::alloc::{CountingAlloc, Window, exclusive};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const POLICIES: [Overflow; 3] = [Overflow::Block, Overflow::DropOldest, Overflow::DropNewest];
const MEASURED: u32 = 1_000;

fn fill(p: &mut Packet, i: u32) {
    p.clear();
    // Up to 1 200 bytes, varying: within the 1 500-byte slots, so nothing grows.
    let len = 100 + (i as usize * 37) % 1_100;
    p.data_mut().resize(len, (i % 251) as u8);
    p.data_mut()[..4].copy_from_slice(&i.to_le_bytes());
}

fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

fn index(p: &Packet) -> u32 {
    u32::from_le_bytes(p.data()[..4].try_into().unwrap())
}

#[test]
fn one_thread_try_send_try_recv_allocates_nothing() {
    let _x = exclusive();
    for policy in POLICIES {
        let (mut tx, mut rx) = packet_ring(1_500, Link::ring(4).with_overflow(policy)).unwrap();
        let stats = Arc::clone(rx.stats());
        let mut p = Packet::with_capacity(1_500);
        let mut q = Packet::with_capacity(1_500);
        let mut step = |i: u32, full: &mut u64, got: &mut Vec<u32>| {
            fill(&mut p, i);
            // The producer is three times faster than the consumer.
            match tx.try_send(&mut p).unwrap() {
                TrySend::Queued | TrySend::Dropped => {}
                TrySend::Full => {
                    *full += 1;
                    assert!(rx.try_recv(&mut q).unwrap());
                    got.push(index(&q));
                    assert_eq!(tx.try_send(&mut p).unwrap(), TrySend::Queued);
                }
            }
            if i.is_multiple_of(3) && rx.try_recv(&mut q).unwrap() {
                got.push(index(&q)); // within capacity: no growth
            }
        };
        let mut got = Vec::with_capacity(2 * MEASURED as usize);
        let mut full = 0;
        for i in 0..100 {
            step(i, &mut full, &mut got);
        }
        let dropped_before = stats.dropped();
        let full_before = full;
        let w = Window::start();
        for i in 100..100 + MEASURED {
            step(i, &mut full, &mut got);
        }
        let allocs = w.allocs();
        let dropped = stats.dropped() - dropped_before;
        assert_eq!(allocs.this_thread, 0, "{policy:?}");
        println!(
            "{policy:?}: 0 allocations over {MEASURED} packets, {dropped} dropped, {} full",
            full - full_before
        );
        match policy {
            Overflow::Block => {
                assert_eq!(dropped, 0);
                assert!(full > full_before, "the Full path did not run");
            }
            _ => assert!(dropped > 0, "{policy:?}: no drop inside the window"),
        }
        assert!(got.windows(2).all(|w| w[0] < w[1]));
        let s = &stats;
        assert_eq!(s.sent(), (100 + MEASURED) as u64);
        assert_eq!(s.sent(), s.delivered() + s.dropped() + s.in_flight());
    }
}

/// Wakes a thread: a minimal executor's waker.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// `rx.poll_recv` driven to completion on this thread (park while pending).
fn recv_async(rx: &mut RingReceiver<Packet>, q: &mut Packet, cx: &mut Context<'_>) -> bool {
    let mut fut = pin!(poll_fn(|cx| rx.poll_recv(cx, q)));
    loop {
        if let Poll::Ready(r) = fut.as_mut().poll(cx) {
            return r.unwrap();
        }
        thread::park();
    }
}

#[test]
fn parked_producer_and_async_consumer_allocate_nothing() {
    let _x = exclusive();
    for policy in POLICIES {
        let (mut tx, mut rx) = packet_ring(1_500, Link::ring(4).with_overflow(policy)).unwrap();
        let stats = Arc::clone(rx.stats());
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        // An endless producer (until `stop`), paced for the drop policies so that the consumer,
        // three times slower, still gets every few packets.
        let producer = thread::spawn(move || {
            let mut p = Packet::with_capacity(1_500);
            let mut i = 0;
            while !stop2.load(Ordering::Relaxed) {
                fill(&mut p, i);
                tx.send(&mut p).unwrap(); // Block: parks when full, unparked by the consumer
                i += 1;
                if policy != Overflow::Block {
                    spin(Duration::from_micros(10));
                }
            }
            tx.close();
            i
        });
        // The waker's Arc is allocated here, before the window.
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut q = Packet::with_capacity(1_500);
        let mut last: Option<u32> = None;
        let mut take = |rx: &mut RingReceiver<Packet>, q: &mut Packet, n: u32| -> u32 {
            let mut taken = 0;
            while taken < n && recv_async(rx, q, &mut cx) {
                let i = index(q);
                assert!(last.is_none_or(|l| i > l), "reordered or duplicated");
                last = Some(i);
                taken += 1;
                if policy != Overflow::Block {
                    // Fall behind so the drop paths run (busy-wait: sleeping is not measured).
                    spin(Duration::from_micros(30));
                }
            }
            taken
        };
        assert_eq!(take(&mut rx, &mut q, 200), 200);
        let dropped_before = stats.dropped();
        let sent_before = stats.sent();
        let w = Window::start();
        let taken = take(&mut rx, &mut q, MEASURED);
        let allocs = w.allocs();
        let dropped = stats.dropped() - dropped_before;
        let sent = stats.sent() - sent_before;
        assert_eq!(taken, MEASURED, "{policy:?}: the stream ended early");
        assert_eq!(allocs.all_threads, 0, "{policy:?}");
        println!(
            "{policy:?}: 0 allocations (all threads) over {MEASURED} packets received, \
             {sent} sent, {dropped} dropped"
        );
        match policy {
            Overflow::Block => assert_eq!(dropped, 0),
            _ => assert!(dropped > 0, "{policy:?}: no drop inside the window"),
        }
        stop.store(true, Ordering::Relaxed);
        while recv_async(&mut rx, &mut q, &mut cx) {}
        let total = producer.join().unwrap();
        assert_eq!(stats.sent(), u64::from(total));
        assert_eq!(stats.sent(), stats.delivered() + stats.dropped());
        if policy == Overflow::Block {
            assert_eq!(stats.delivered(), u64::from(total));
        }
    }
}
