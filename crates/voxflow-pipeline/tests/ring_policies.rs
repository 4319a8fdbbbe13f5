//! The three overflow policies and the link counters, for both item types (frames and packets),
//! through the public ring API. (Moved here from `link.rs`'s unit tests and extended to
//! packets, `try_send`, closing and the error paths.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::thread;
use std::time::Duration;

use voxflow_core::{AudioFormat, AudioFrame, MediaTime, Packet};
use voxflow_pipeline::{
    Error, Link, Overflow, RingItem, RingReceiver, RingSender, TrySend, frame_ring, packet_ring,
};

fn fmt() -> AudioFormat {
    AudioFormat::new(8_000, 1).unwrap()
}

/// An item that carries one number, for both item types.
trait Val: RingItem + Sized {
    /// A ring of 4-unit items.
    fn ring(link: Link) -> (RingSender<Self>, RingReceiver<Self>);
    fn item(v: u32) -> Self;
    fn empty() -> Self;
    fn val(&self) -> u32;
}

impl Val for AudioFrame {
    fn ring(link: Link) -> (RingSender<Self>, RingReceiver<Self>) {
        frame_ring(fmt(), 4, link).unwrap()
    }
    fn item(v: u32) -> Self {
        AudioFrame::from_interleaved(fmt(), vec![v as f32; 4], MediaTime::ZERO).unwrap()
    }
    fn empty() -> Self {
        AudioFrame::with_capacity(fmt(), 4)
    }
    fn val(&self) -> u32 {
        self.samples()[0] as u32
    }
}

impl Val for Packet {
    fn ring(link: Link) -> (RingSender<Self>, RingReceiver<Self>) {
        packet_ring(4, link).unwrap()
    }
    fn item(v: u32) -> Self {
        let mut p = Packet::with_capacity(4);
        p.set_data(&v.to_le_bytes());
        p
    }
    fn empty() -> Self {
        Packet::with_capacity(4)
    }
    fn val(&self) -> u32 {
        u32::from_le_bytes(self.data().try_into().unwrap())
    }
}

fn drain<T: Val>(rx: &mut RingReceiver<T>) -> Vec<u32> {
    let mut out = T::empty();
    let mut got = Vec::new();
    while rx.try_recv(&mut out).unwrap() {
        got.push(out.val());
    }
    got
}

fn counters<T: RingItem>(rx: &RingReceiver<T>) -> (u64, u64, u64, u64) {
    let s = rx.stats();
    (s.sent(), s.delivered(), s.dropped(), s.in_flight())
}

fn drop_newest_keeps_the_first<T: Val>() {
    let (mut tx, mut rx) = T::ring(Link::ring(2).with_overflow(Overflow::DropNewest));
    let accepted: Vec<bool> = (0..5).map(|i| tx.send(&mut T::item(i)).unwrap()).collect();
    assert_eq!(accepted, [true, true, false, false, false]);
    assert_eq!(counters(&rx), (5, 0, 3, 2));
    assert_eq!(drain(&mut rx), [0, 1]);
    assert_eq!(counters(&rx), (5, 2, 3, 0));
}

#[test]
fn drop_newest_keeps_the_first_frames() {
    drop_newest_keeps_the_first::<AudioFrame>();
}

#[test]
fn drop_newest_keeps_the_first_packets() {
    drop_newest_keeps_the_first::<Packet>();
}

fn drop_oldest_keeps_the_newest<T: Val>() {
    let (mut tx, mut rx) = T::ring(Link::ring(2).with_overflow(Overflow::DropOldest));
    for i in 0..9 {
        assert!(tx.send(&mut T::item(i)).unwrap());
    }
    // Ring holds 0..4 physically, 4..6 pending; 6, 7, 8 pushed out the oldest pending.
    assert_eq!(counters(&rx), (9, 0, 3, 6));
    // close() waits until the receiver makes room for the pending items.
    let t = thread::spawn(move || tx.close());
    let mut out = T::empty();
    let mut got = Vec::new();
    while rx.recv(&mut out).unwrap() {
        got.push(out.val());
    }
    t.join().unwrap();
    // The consumer drops an item only while `capacity` newer ones wait behind it *in the
    // ring*: it keeps the newest two that reached the ring (2, 3), then takes the held-back
    // 7 and 8. (Counting the held-back items too would let a consumer that runs between the
    // producer's bursts on one thread drop everything it can reach, forever.)
    assert_eq!(got, [2, 3, 7, 8]);
    assert_eq!(counters(&rx), (9, 4, 5, 0));
    assert!(rx.is_finished());
}

#[test]
fn drop_oldest_keeps_the_newest_frames() {
    drop_oldest_keeps_the_newest::<AudioFrame>();
}

#[test]
fn drop_oldest_keeps_the_newest_packets() {
    drop_oldest_keeps_the_newest::<Packet>();
}

fn drop_oldest_interleaved<T: Val>() {
    let (mut tx, mut rx) = T::ring(Link::ring(2).with_overflow(Overflow::DropOldest));
    let mut out = T::empty();
    for i in 0..3 {
        tx.send(&mut T::item(i)).unwrap();
    }
    assert!(rx.try_recv(&mut out).unwrap());
    assert_eq!(out.val(), 1); // 0 was stale: 1 and 2 are the newest two
    assert_eq!(counters(&rx), (3, 1, 1, 1));
}

#[test]
fn drop_oldest_interleaved_receives_the_newest_two_frames() {
    drop_oldest_interleaved::<AudioFrame>();
}

#[test]
fn drop_oldest_interleaved_receives_the_newest_two_packets() {
    drop_oldest_interleaved::<Packet>();
}

fn block_waits_and_wakes<T: Val>() {
    let (mut tx, mut rx) = T::ring(Link::ring(1));
    let t = thread::spawn(move || {
        for i in 0..200 {
            assert!(tx.send(&mut T::item(i)).unwrap());
        }
    });
    let mut out = T::empty();
    let mut n = 0;
    while rx.recv(&mut out).unwrap() {
        assert_eq!(out.val(), n);
        n += 1;
        if n % 50 == 0 {
            thread::sleep(Duration::from_millis(2)); // let the sender block
        }
    }
    t.join().unwrap();
    assert_eq!(n, 200);
    assert_eq!(counters(&rx), (200, 200, 0, 0));
}

#[test]
fn block_waits_and_wakes_frames() {
    block_waits_and_wakes::<AudioFrame>();
}

#[test]
fn block_waits_and_wakes_packets() {
    block_waits_and_wakes::<Packet>();
}

fn try_send_reports_full_and_keeps_the_item<T: Val>() {
    let (mut tx, mut rx) = T::ring(Link::ring(2));
    assert_eq!(tx.try_send(&mut T::item(0)).unwrap(), TrySend::Queued);
    assert_eq!(tx.try_send(&mut T::item(1)).unwrap(), TrySend::Queued);
    let mut third = T::item(2);
    assert_eq!(tx.try_send(&mut third).unwrap(), TrySend::Full);
    assert_eq!(third.val(), 2); // still ours, untouched
    assert_eq!(counters(&rx), (2, 0, 0, 2)); // and not counted
    let mut out = T::empty();
    assert!(rx.try_recv(&mut out).unwrap());
    assert_eq!(out.val(), 0);
    assert_eq!(tx.try_send(&mut third).unwrap(), TrySend::Queued);
    assert_eq!(drain(&mut rx), [1, 2]);
    assert_eq!(counters(&rx), (3, 3, 0, 0));

    let (mut tx, rx) = T::ring(Link::ring(1).with_overflow(Overflow::DropNewest));
    assert_eq!(tx.try_send(&mut T::item(0)).unwrap(), TrySend::Queued);
    assert_eq!(tx.try_send(&mut T::item(1)).unwrap(), TrySend::Dropped);
    assert_eq!(counters(&rx), (2, 0, 1, 1));

    let (mut tx, rx) = T::ring(Link::ring(1).with_overflow(Overflow::DropOldest));
    for i in 0..4 {
        assert_eq!(tx.try_send(&mut T::item(i)).unwrap(), TrySend::Queued);
    }
    assert_eq!(counters(&rx), (4, 0, 1, 3)); // 2 in the ring, 1 pending, 1 evicted
}

#[test]
fn try_send_reports_full_and_keeps_the_item_frames() {
    try_send_reports_full_and_keeps_the_item::<AudioFrame>();
}

#[test]
fn try_send_reports_full_and_keeps_the_item_packets() {
    try_send_reports_full_and_keeps_the_item::<Packet>();
}

fn sender_fails_when_receiver_is_gone<T: Val>() {
    let (mut tx, rx) = T::ring(Link::ring(1));
    tx.send(&mut T::item(0)).unwrap();
    drop(rx);
    assert!(matches!(
        tx.send(&mut T::item(1)),
        Err(Error::Closed("ring"))
    ));
    assert!(matches!(
        tx.try_send(&mut T::item(1)),
        Err(Error::Closed("ring"))
    ));
}

#[test]
fn sender_fails_when_receiver_is_gone_frames() {
    sender_fails_when_receiver_is_gone::<AudioFrame>();
}

#[test]
fn sender_fails_when_receiver_is_gone_packets() {
    sender_fails_when_receiver_is_gone::<Packet>();
}

fn close_ends_the_stream_after_the_queue<T: Val>() {
    let (mut tx, mut rx) = T::ring(Link::ring(4).with_name("hop"));
    tx.send(&mut T::item(7)).unwrap();
    tx.close();
    assert!(matches!(
        tx.send(&mut T::item(8)),
        Err(Error::Closed("hop"))
    ));
    assert!(!rx.is_finished());
    let mut out = T::empty();
    assert!(rx.recv(&mut out).unwrap());
    assert_eq!(out.val(), 7);
    assert!(!rx.recv(&mut out).unwrap());
    assert!(rx.is_finished());
    assert_eq!(counters(&rx), (1, 1, 0, 0));
}

#[test]
fn close_ends_the_stream_after_the_queue_frames() {
    close_ends_the_stream_after_the_queue::<AudioFrame>();
}

#[test]
fn close_ends_the_stream_after_the_queue_packets() {
    close_ends_the_stream_after_the_queue::<Packet>();
}

#[test]
fn small_frames_are_copied_and_large_rejected() {
    let (mut tx, mut rx) = frame_ring(fmt(), 4, Link::ring(2)).unwrap();
    assert_eq!(tx.max_units(), 4);
    let mut small = AudioFrame::with_capacity(fmt(), 2);
    small.extend_from_interleaved(&[5.0, 6.0]).unwrap();
    tx.send(&mut small).unwrap();
    assert_eq!(small.capacity_frames(), 2); // copied, not swapped
    assert_eq!(small.samples(), [5.0, 6.0]);
    let mut big = AudioFrame::from_interleaved(fmt(), vec![0.0; 8], MediaTime::ZERO).unwrap();
    assert!(matches!(
        tx.send(&mut big),
        Err(Error::Core(voxflow_core::Error::FrameTooLarge {
            max_frames: 4,
            frames: 8
        }))
    ));
    let mut out = AudioFrame::with_capacity(fmt(), 4);
    assert!(rx.try_recv(&mut out).unwrap());
    assert_eq!(out.samples(), [5.0, 6.0]);
    assert_eq!(counters(&rx), (1, 1, 0, 0)); // the refused frame is not counted
}

#[test]
fn small_packets_are_copied_and_large_rejected() {
    let (mut tx, mut rx) = packet_ring(16, Link::ring(2)).unwrap();
    let mut small = Packet::with_capacity(3);
    small.set_data(&[1, 2, 3]);
    small.pts = MediaTime::new(960, 48_000);
    tx.send(&mut small).unwrap();
    assert_eq!(small.data(), [1, 2, 3]); // copied, not swapped
    let mut big = Packet::with_capacity(17);
    big.set_data(&[9; 17]);
    assert!(matches!(
        tx.send(&mut big),
        Err(Error::PacketTooLarge {
            bytes: 17,
            max_bytes: 16
        })
    ));
    // Swapped on the way out: `out` takes the slot's 16-byte buffer.
    let mut out = Packet::with_capacity(16);
    assert!(rx.try_recv(&mut out).unwrap());
    assert_eq!(
        (out.data(), out.pts),
        (&[1u8, 2, 3][..], MediaTime::new(960, 48_000))
    );
    // Too small an `out` for the content: typed error, no growth.
    tx.send(&mut Packet::item(0xdead_beef)).unwrap();
    let mut tiny = Packet::with_capacity(2);
    assert!(matches!(
        rx.try_recv(&mut tiny),
        Err(Error::PacketTooLarge {
            bytes: 4,
            max_bytes: 2
        })
    ));
    assert_eq!(tiny.capacity(), 2);
}
