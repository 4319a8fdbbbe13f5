//! Steady-state zero-allocation checks: a counting global allocator sees every allocation of
//! every thread in this test binary. The pipeline runs on threads of its own, so its window
//! counts the whole process; every test here therefore takes `exclusive()` for its whole run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use voxflow_core::{AudioFormat, Reframer};
use voxflow_pipeline::sinks::{NullPacketSink, NullSink};
use voxflow_pipeline::sources::Sine;
use voxflow_pipeline::stages::FnStage;
use voxflow_pipeline::{Link, Overflow, Pacing, Pipeline, Scheduler};
use voxflow_testkit::alloc::{CountingAlloc, Window, exclusive};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

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
        .boundary(Link::ring(4).with_overflow(policy))
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
    // The drop counter is read outside the window (reading it allocates nothing, but the
    // window should hold only the pipeline's work).
    let dropped_before = running.dropped();
    let window = Window::start();
    wait_for(warmup + measured);
    let allocs = window.allocs().all_threads;
    let dropped = running.dropped() - dropped_before;
    running.stop();
    let report = running.wait().unwrap();
    println!(
        "{policy:?} slow={slow_sink}: {allocs} allocations over {measured} frames, \
         {dropped} dropped inside the window\n{report}"
    );
    if slow_sink && policy != Overflow::Block {
        // The drop path must have run while allocations were counted, not only during the
        // warm-up or the shutdown.
        assert!(
            dropped > 0,
            "{policy:?}: no drop inside the measured window ({} in all): {report}",
            report.dropped()
        );
    } else {
        assert_eq!(dropped, 0, "{policy:?} without a slow sink drops nothing");
    }
    allocs
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
    let window = Window::start();
    wait_for(warmup + measured);
    let allocs = window.allocs().all_threads;
    running.stop();
    let report = running.wait().unwrap();
    println!(
        "packet tail: {} allocations over {measured} packets\n{report}",
        allocs
    );
    assert!(report.packets_out >= warmup + measured);
    assert!(report.bytes_out >= (warmup + measured) * 960 * 2 * 4);
    allocs
}

/// Two sessions on one scheduler thread: an unpaced one through a dropping ring into the packet
/// tail, and a paced one (timer path) beside it; counts allocations (all threads) while the
/// first one's sink takes `measured` packets after `warmup`.
fn scheduled_allocs(warmup: u64, measured: u64) -> u64 {
    let f = AudioFormat::new(48_000, 2).unwrap();
    let scheduler = Scheduler::new(1).unwrap();
    let sink = NullPacketSink::new();
    let counts = sink.counts();
    let busy = scheduler
        .spawn(
            Pipeline::builder()
                .source(Sine::new(f, 440.0, 480))
                .boundary(Link::ring(64).with_overflow(Overflow::DropOldest))
                .stage(Reframer::new(f, 960, 480))
                .encoder(common::ByteCopier::new(f, 960))
                .packet_sink(sink),
        )
        .unwrap();
    let g = AudioFormat::new(8_000, 1).unwrap();
    let paced = scheduler
        .spawn(
            Pipeline::builder()
                .source(Sine::new(g, 440.0, 80))
                .pacing(Pacing::RealTime {
                    lead: Duration::from_millis(10),
                })
                .encoder(common::ByteCopier::new(g, 80))
                .packet_sink(NullPacketSink::new()),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let wait_for = |n: u64| {
        while counts.packets() < n {
            assert!(
                Instant::now() < deadline,
                "session stalled (finished: {}):\n{}",
                busy.is_finished(),
                busy.report()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    wait_for(warmup);
    let paced_before = paced.report().packets_out;
    let window = Window::start();
    wait_for(warmup + measured);
    let allocs = window.allocs().all_threads;
    let paced_during = paced.report().packets_out - paced_before;
    busy.stop();
    paced.stop();
    let report = busy.wait().unwrap();
    let _ = paced.wait().unwrap();
    println!(
        "scheduled: {allocs} allocations over {measured} packets (+{paced_during} paced packets)\n{report}"
    );
    assert!(
        paced_during > 0,
        "the paced session did not run in the window"
    );
    allocs
}

#[test]
fn a_scheduled_chain_allocates_nothing() {
    let _one_at_a_time = exclusive();
    assert_eq!(scheduled_allocs(300, 1000), 0);
}

#[test]
fn steady_state_allocates_nothing() {
    let _one_at_a_time = exclusive();
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
