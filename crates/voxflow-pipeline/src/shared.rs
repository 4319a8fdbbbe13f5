//! State shared by a pipeline's chains and its handle: counters, stop flags, the event channel,
//! published histograms.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};

use crate::event::Event;
use crate::recorder::Published;
use crate::report::{LatencyStats, LinkReport, Report, Role, StageLatency};
use crate::{Clock, Error, LinkStats};

pub(crate) const NONE: u64 = u64::MAX;

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(NONE - 1)
}

/// What a chain counts, by unit: items (frames or packets) and their size (sample frames per
/// channel, or payload bytes).
pub(crate) struct Counters {
    pub(crate) frames_in: AtomicU64,
    pub(crate) sample_frames_in: AtomicU64,
    pub(crate) packets_in: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) frames_out: AtomicU64,
    pub(crate) sample_frames_out: AtomicU64,
    pub(crate) packets_out: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) skipped: AtomicU64,
    pub(crate) events_lost: AtomicU64,
}

impl Counters {
    fn new() -> Self {
        let z = || AtomicU64::new(0);
        Counters {
            frames_in: z(),
            sample_frames_in: z(),
            packets_in: z(),
            bytes_in: z(),
            frames_out: z(),
            sample_frames_out: z(),
            packets_out: z(),
            bytes_out: z(),
            skipped: z(),
            events_lost: z(),
        }
    }
}

/// Instants of the pipeline's life, as nanoseconds since spawn (`NONE` until they happen).
pub(crate) struct Milestones {
    pub(crate) first_in: AtomicU64,
    pub(crate) first_out: AtomicU64,
    pub(crate) end: AtomicU64,
}

/// Shared by every chain of one pipeline and its handle.
pub(crate) struct Shared {
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) stopped: AtomicBool,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) spawned_at: Instant,
    pub(crate) links: Vec<Arc<LinkStats>>,
    pub(crate) rows: Vec<(&'static str, Role)>,
    pub(crate) counters: Counters,
    pub(crate) milestones: Milestones,
    /// Chains still running.
    pub(crate) alive: AtomicUsize,
    /// Sinks not finished yet (the last one emits `Finished`).
    pub(crate) sinks_open: AtomicUsize,
    /// Index of the first chain that failed.
    pub(crate) first_failed: AtomicUsize,
    pub(crate) events: Sender<Event>,
    pub(crate) published: Mutex<Published>,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        stop: Arc<AtomicBool>,
        clock: Arc<dyn Clock>,
        links: Vec<Arc<LinkStats>>,
        rows: Vec<(&'static str, Role)>,
        chains: usize,
        sinks: usize,
        events: Sender<Event>,
    ) -> Self {
        Shared {
            stop,
            stopped: AtomicBool::new(false),
            spawned_at: clock.now(),
            clock,
            links,
            published: Mutex::new(Published::new(rows.len())),
            rows,
            counters: Counters::new(),
            milestones: Milestones {
                first_in: AtomicU64::new(NONE),
                first_out: AtomicU64::new(NONE),
                end: AtomicU64::new(NONE),
            },
            alive: AtomicUsize::new(chains),
            sinks_open: AtomicUsize::new(sinks),
            first_failed: AtomicUsize::new(usize::MAX),
            events,
        }
    }

    pub(crate) fn emit(&self, e: Event) {
        if let Err(TrySendError::Full(_)) = self.events.try_send(e) {
            self.counters.events_lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn request_stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.stop.store(true, Ordering::Release);
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    pub(crate) fn since_spawn(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.spawned_at)
    }

    /// Counts a skippable error and reports it.
    pub(crate) fn skip(&self, stage: &'static str, e: &voxflow_core::Error) {
        self.counters.skipped.fetch_add(1, Ordering::Relaxed);
        // Error path: formatting the message allocates.
        self.emit(Event::Skipped {
            stage,
            error: e.to_string(),
        });
    }

    /// Records the first item in (once).
    pub(crate) fn first_in(&self, now: Instant) {
        if self.milestones.first_in.load(Ordering::Relaxed) == NONE {
            let after = self.since_spawn(now);
            self.milestones
                .first_in
                .store(nanos(after), Ordering::Release);
            self.emit(Event::FirstFrameIn { after });
        }
    }

    /// Records the first item out (once).
    pub(crate) fn first_out(&self, now: Instant) {
        if self.milestones.first_out.load(Ordering::Relaxed) == NONE {
            let after = self.since_spawn(now);
            self.milestones
                .first_out
                .store(nanos(after), Ordering::Release);
            self.emit(Event::FirstFrameOut { after });
        }
    }

    /// A sink has finished: the last one stamps the end and emits `Finished`.
    pub(crate) fn sink_finished(&self) {
        if self.sinks_open.fetch_sub(1, Ordering::AcqRel) == 1 {
            let end = self.since_spawn(self.clock.now());
            let _ = self.milestones.end.compare_exchange(
                NONE,
                nanos(end),
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            self.emit(Event::Finished {
                stopped: self.stopped.load(Ordering::Acquire),
            });
        }
    }

    /// A chain failed: report it, remember the first, stop the others.
    pub(crate) fn chain_failed(&self, index: usize, e: &Error) {
        let stage = match e {
            Error::Stage { stage, .. } => stage,
            _ => "pipeline",
        };
        self.emit(Event::Error {
            stage,
            error: e.to_string(),
        });
        let _ = self.first_failed.compare_exchange(
            usize::MAX,
            index,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        self.request_stop();
    }

    pub(crate) fn published(&self) -> MutexGuard<'_, Published> {
        self.published.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.alive.load(Ordering::Acquire) == 0
    }

    pub(crate) fn report(&self) -> Report {
        let (stages, total, lateness) = {
            let p = self.published();
            let stages = self
                .rows
                .iter()
                .zip(p.hists.iter())
                .map(|(&(name, role), h)| StageLatency {
                    name,
                    role,
                    latency: LatencyStats::from_histogram(h),
                })
                .collect();
            (
                stages,
                LatencyStats::from_histogram(&p.total),
                LatencyStats::from_histogram(&p.lateness),
            )
        };
        let opt = |a: &AtomicU64| match a.load(Ordering::Acquire) {
            NONE => None,
            ns => Some(Duration::from_nanos(ns)),
        };
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Acquire);
        let wall = opt(&self.milestones.end).unwrap_or_else(|| self.since_spawn(self.clock.now()));
        Report {
            stages,
            total,
            lateness,
            first_frame_in: opt(&self.milestones.first_in),
            first_frame_out: opt(&self.milestones.first_out),
            frames_in: get(&c.frames_in),
            sample_frames_in: get(&c.sample_frames_in),
            packets_in: get(&c.packets_in),
            bytes_in: get(&c.bytes_in),
            frames_out: get(&c.frames_out),
            sample_frames_out: get(&c.sample_frames_out),
            packets_out: get(&c.packets_out),
            bytes_out: get(&c.bytes_out),
            skipped: get(&c.skipped),
            wall,
            links: self
                .links
                .iter()
                .map(|l| LinkReport {
                    name: l.name(),
                    overflow: l.overflow(),
                    slots: l.slots(),
                    sent: l.sent(),
                    delivered: l.delivered(),
                    dropped: l.dropped(),
                })
                .collect(),
            finished: self.is_finished(),
            stopped: self.stopped.load(Ordering::Acquire),
            events_lost: get(&c.events_lost),
        }
    }
}
