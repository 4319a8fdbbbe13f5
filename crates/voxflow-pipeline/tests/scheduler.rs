//! Many pipelines on a few threads: a `Scheduler` runs paced sessions concurrently on one
//! worker, wakes chains fed by rings, refuses links that would block a worker, stops sessions,
//! and keeps a panicking session from taking the others down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use voxflow_core::AudioFormat;
use voxflow_pipeline::sinks::{CollectSink, NullSink};
use voxflow_pipeline::sources::{Counter, Sine, counter_value};
use voxflow_pipeline::stages::FnStage;
use voxflow_pipeline::{Error, Link, Overflow, Pacing, Pipeline, Scheduler};

fn fmt(rate: u32, ch: u16) -> AudioFormat {
    AudioFormat::new(rate, ch).unwrap()
}

fn paced(lead_ms: u64) -> Pacing {
    Pacing::RealTime {
        lead: Duration::from_millis(lead_ms),
    }
}

#[test]
fn forty_paced_sessions_share_one_thread_in_real_time() {
    let scheduler = Scheduler::new(1).unwrap();
    let f = fmt(16_000, 1);
    let t0 = Instant::now();
    let sessions: Vec<_> = (0..40)
        .map(|_| {
            let sink = CollectSink::new();
            let got = sink.collected();
            let p = Pipeline::builder()
                .source(Counter::new(f, 320).frames(8_000)) // 0.5 s in 20 ms frames
                .pacing(paced(20))
                .sink(sink);
            (scheduler.spawn(p).unwrap(), got)
        })
        .collect();
    assert_eq!(scheduler.chains(), 40);
    let expect: Vec<f32> = (0..8_000).map(counter_value).collect();
    for (s, got) in sessions {
        let r = s.wait().unwrap();
        assert_eq!(got.samples(), expect);
        assert_eq!(r.frames_out, 25);
        // 24 paced reads after the first, plus the read that finds the end.
        assert_eq!(r.lateness.count, 25);
    }
    // All forty ran side by side in real time (0.5 s of audio, 20 ms lead), not one after
    // another (20 s).
    let wall = t0.elapsed();
    assert!(wall >= Duration::from_millis(460), "{wall:?}");
    assert!(wall < Duration::from_millis(2_000), "{wall:?}");
    assert_eq!(scheduler.chains(), 0);
}

#[test]
fn chains_fed_by_rings_are_woken_not_polled() {
    let scheduler = Scheduler::new(2).unwrap();
    let f = fmt(8_000, 1);
    let sink = CollectSink::new();
    let got = sink.collected();
    let p = Pipeline::builder()
        .source(Counter::new(f, 80).frames(4_000)) // 0.5 s in 10 ms frames
        .pacing(paced(10))
        .boundary(Link::ring(16).with_overflow(Overflow::DropNewest))
        .sink(sink);
    let t0 = Instant::now();
    let r = scheduler.spawn(p).unwrap().wait().unwrap();
    let expect: Vec<f32> = (0..4_000).map(counter_value).collect();
    assert_eq!(got.samples(), expect);
    assert_eq!(r.links[0].dropped, 0);
    assert_eq!(r.links[0].delivered, 50);
    assert!(t0.elapsed() < Duration::from_millis(1_500));
    // Ring wait (queueing + wake-up) per frame stays far below the 10 ms recheck interval.
    let ring = r.stages.iter().find(|s| s.name == "ring0").unwrap();
    assert!(ring.latency.p50 < Duration::from_millis(5), "{r}");
}

#[test]
fn a_link_that_blocks_is_refused() {
    let scheduler = Scheduler::new(1).unwrap();
    let f = fmt(8_000, 1);
    let p = Pipeline::builder()
        .source(Counter::new(f, 80).frames(800))
        .boundary(Link::ring(4)) // Block by default
        .sink(NullSink::new());
    match scheduler.spawn(p) {
        Err(Error::InvalidConfig {
            what: "link",
            reason,
        }) => assert!(reason.contains("block"), "{reason}"),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn stop_ends_an_endless_session_and_leaves_the_others_running() {
    let scheduler = Scheduler::new(1).unwrap();
    let f = fmt(8_000, 1);
    let endless = scheduler
        .spawn(
            Pipeline::builder()
                .source(Sine::new(f, 440.0, 80))
                .pacing(paced(10))
                .sink(NullSink::new()),
        )
        .unwrap();
    let finite = scheduler
        .spawn(
            Pipeline::builder()
                .source(Counter::new(f, 80).frames(1_600))
                .pacing(paced(10))
                .sink(NullSink::new()),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    endless.stop();
    let r = endless.wait().unwrap();
    assert!(r.stopped);
    assert!(r.frames_out > 0);
    let r = finite.wait().unwrap();
    assert!(!r.stopped);
    assert_eq!(r.frames_out, 20);
}

#[test]
fn a_panicking_stage_fails_its_own_session_only() {
    let scheduler = Scheduler::new(1).unwrap();
    let f = fmt(8_000, 1);
    let bad = FnStage::new(
        "bad",
        f,
        80,
        |_: &mut [f32]| -> Result<(), voxflow_core::Error> { panic!("a bug in a stage") },
    );
    let broken = scheduler
        .spawn(
            Pipeline::builder()
                .source(Counter::new(f, 80).frames(800))
                .stage(bad)
                .sink(NullSink::new()),
        )
        .unwrap();
    let fine = scheduler
        .spawn(
            Pipeline::builder()
                .source(Counter::new(f, 80).frames(800))
                .pacing(paced(10))
                .sink(NullSink::new()),
        )
        .unwrap();
    match broken.wait() {
        Err(Error::Panicked { message, .. }) => assert_eq!(message, "a bug in a stage"),
        other => panic!("expected Panicked, got {other:?}"),
    }
    assert_eq!(fine.wait().unwrap().frames_out, 10);
}

#[test]
fn dropping_the_scheduler_ends_its_sessions() {
    let scheduler = Scheduler::new(1).unwrap();
    let f = fmt(8_000, 1);
    let s = scheduler
        .spawn(
            Pipeline::builder()
                .source(Sine::new(f, 440.0, 80))
                .pacing(paced(10))
                .sink(NullSink::new()),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    drop(scheduler);
    let r = s.wait().unwrap();
    assert!(r.stopped);
}

#[test]
fn a_drop_oldest_ring_between_bursty_chains_on_one_thread_always_delivers() {
    // The producer reads 64 frames per poll into a ring of 4: far more than the ring holds
    // between two polls of the consumer. The consumer must still get the newest frames each
    // time it runs (a regression: it once found only stale frames and delivered nothing).
    let f = fmt(48_000, 2);
    for round in 0..30 {
        let scheduler = Scheduler::new(1).unwrap();
        let sink = NullSink::new();
        let counts = sink.counts();
        let s = scheduler
            .spawn(
                Pipeline::builder()
                    .source(Sine::new(f, 440.0, 480))
                    .boundary(Link::ring(4).with_overflow(Overflow::DropOldest))
                    .sink(sink),
            )
            .unwrap();
        let t = Instant::now();
        while counts.frames() < 20 {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "round {round}: nothing delivered\n{}",
                s.report()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        s.stop();
        let r = s.wait().unwrap();
        let l = &r.links[0];
        assert!(l.dropped > 0, "{r}");
        assert!(l.delivered >= 20, "{r}");
        assert!(l.sent >= l.delivered + l.dropped, "{r}");
    }
}

/// Counts frames of 20 ms and remembers when each was read.
struct Stamped {
    fmt: AudioFormat,
    next: u64,
    total: u64,
    reads: std::sync::Arc<std::sync::Mutex<Vec<Instant>>>,
}

impl voxflow_core::AudioSource for Stamped {
    fn name(&self) -> &'static str {
        "stamped"
    }
    fn format(&self) -> AudioFormat {
        self.fmt
    }
    fn max_frames(&self) -> usize {
        160
    }
    fn read(&mut self, out: &mut voxflow_core::AudioFrame) -> Result<bool, voxflow_core::Error> {
        out.clear();
        if self.next == self.total {
            return Ok(false);
        }
        self.reads.lock().unwrap().push(Instant::now());
        out.set_frames(160)?;
        out.set_pts(voxflow_core::MediaTime::new(self.next as i64 * 160, 8_000));
        self.next += 1;
        Ok(true)
    }
}

#[test]
fn coalesced_wake_ups_read_at_most_a_millisecond_early() {
    // Sessions' deadlines interleave; a worker takes those due within 1 ms together, as of
    // their deadlines. No read may come earlier than that.
    let scheduler = Scheduler::new(1).unwrap();
    let f = fmt(8_000, 1);
    let mut sessions = Vec::new();
    for k in 0..8 {
        let reads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let src = Stamped {
            fmt: f,
            next: 0,
            total: 25,
            reads: reads.clone(),
        };
        let s = scheduler
            .spawn(
                Pipeline::builder()
                    .source(src)
                    .pacing(paced(20))
                    .sink(NullSink::new()),
            )
            .unwrap();
        sessions.push((s, reads));
        std::thread::sleep(Duration::from_micros(2_500 + 300 * k));
    }
    for (s, reads) in sessions {
        s.wait().unwrap();
        let reads = reads.lock().unwrap();
        let t0 = reads[0];
        for (k, &at) in reads.iter().enumerate().skip(2) {
            // Frame k ends at (k + 1) × 20 ms; with 20 ms of lead it may be read from k × 20 ms.
            let due = t0 + Duration::from_millis(20 * k as u64);
            let early = due.saturating_duration_since(at);
            assert!(
                early <= Duration::from_micros(1_050),
                "frame {k} read {early:?} before its deadline"
            );
        }
    }
}
