//! Steady-state zero-allocation check: a counting global allocator sees every allocation of
//! every thread in this test binary (which therefore holds a single test).
#![allow(unsafe_code)] // the one measured need: a counting `GlobalAlloc` (see SAFETY comments)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use voxflow_core::{AudioFormat, Reframer};
use voxflow_pipeline::sinks::{NullPacketSink, NullSink};
use voxflow_pipeline::sources::Sine;
use voxflow_pipeline::stages::FnStage;
use voxflow_pipeline::{Link, Overflow, Pipeline};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract (layout validity, pointer provenance) is exactly System's; counting
// touches only an atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same layout as given to us; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs source → stage → ring → stage → sink and counts allocations (all threads) while the
/// sink takes `measured` frames after `warmup` frames.
fn steady_state_allocs(policy: Overflow, slow_sink: bool, warmup: u64, measured: u64) -> u64 {
    let f = AudioFormat::new(48_000, 2).unwrap();
    let sink = NullSink::new();
    let counts = sink.counts();
    let gain = FnStage::new("gain", f, 480, |s: &mut [f32]| {
        s.iter_mut().for_each(|x| *x *= 0.5);
        Ok(())
    });
    let mut b = Pipeline::builder()
        .source(Sine::new(f, 440.0, 480)) // endless, 10 ms frames
        .stage(gain)
        .boundary(Link::ring(4).policy(policy))
        .stage(Reframer::new(f, 960, 480)); // 20 ms frames
    if slow_sink {
        // Fall behind so the drop paths run (busy-wait: sleeping is not what is measured).
        b = b.stage(FnStage::new("slow", f, 960, |_: &mut [f32]| {
            let t = Instant::now();
            while t.elapsed() < Duration::from_micros(200) {
                std::hint::spin_loop();
            }
            Ok(())
        }))
    }
    let running = b.sink(sink).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let wait_for = |n: u64| {
        while counts.frames() < n {
            assert!(Instant::now() < deadline, "pipeline stalled");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    wait_for(warmup);
    let before = ALLOCS.load(Ordering::SeqCst);
    wait_for(warmup + measured);
    let after = ALLOCS.load(Ordering::SeqCst);
    let dropped = running.dropped();
    running.stop();
    let report = running.wait().unwrap();
    println!(
        "{policy:?} slow={slow_sink}: {} allocations over {measured} frames ({dropped} dropped when measured)\n{report}",
        after - before
    );
    if slow_sink && policy != Overflow::Block {
        assert!(
            report.dropped() > 0,
            "the drop path was not exercised: {report}"
        );
    }
    after - before
}

/// Runs source → stage → ring → reframer → encoder → packet sink (the packet tail) and counts
/// allocations (all threads) while the packet sink takes `measured` packets after `warmup`.
fn packet_tail_allocs(warmup: u64, measured: u64) -> u64 {
    let f = AudioFormat::new(48_000, 2).unwrap();
    let sink = NullPacketSink::new();
    let counts = sink.counts();
    let running = Pipeline::builder()
        .source(Sine::new(f, 440.0, 480))
        .stage(FnStage::new("gain", f, 480, |s: &mut [f32]| {
            s.iter_mut().for_each(|x| *x *= 0.5);
            Ok(())
        }))
        .boundary(Link::ring(4))
        .stage(Reframer::new(f, 960, 480))
        .encoder(common::ByteCopier::new(f, 960))
        .packet_sink(sink)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let wait_for = |n: u64| {
        while counts.packets() < n {
            assert!(Instant::now() < deadline, "pipeline stalled");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    wait_for(warmup);
    let before = ALLOCS.load(Ordering::SeqCst);
    wait_for(warmup + measured);
    let after = ALLOCS.load(Ordering::SeqCst);
    running.stop();
    let report = running.wait().unwrap();
    println!(
        "packet tail: {} allocations over {measured} packets\n{report}",
        after - before
    );
    assert!(report.packets_out >= warmup + measured);
    assert!(report.bytes_out >= (warmup + measured) * 960 * 2 * 4);
    after - before
}

#[test]
fn steady_state_allocates_nothing() {
    assert_eq!(packet_tail_allocs(300, 1000), 0);
    assert_eq!(steady_state_allocs(Overflow::Block, false, 300, 1000), 0);
    assert_eq!(
        steady_state_allocs(Overflow::DropOldest, true, 300, 1000),
        0
    );
    assert_eq!(
        steady_state_allocs(Overflow::DropNewest, true, 300, 1000),
        0
    );
}
