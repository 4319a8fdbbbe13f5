//! Many chains on a few threads: a fixed pool of workers, each running the chains it owns in
//! deadline order.
//!
//! A thread per session does not scale: a server with 500 sessions would run 1 000+ threads,
//! each waking every 20 ms. A [`Scheduler`] keeps one worker per core (by default); each worker
//! polls a chain when its pacing deadline comes due or its input ring has something, and sleeps
//! until the earliest deadline otherwise.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::chain::{ChainStatus, Runnable};
use crate::event::Event;
use crate::handle::{Handle, panic_message};
use crate::{Error, LinkStats, Notify, Overflow, PipelineBuilder, Report};

/// How long a chain waiting on its input ring may go unpolled should a wake-up be missed.
const RING_RECHECK: Duration = Duration::from_millis(10);
/// Timers due within this much of now are taken together: their chains are polled at once, as
/// of their own deadline. Sessions' deadlines are spread over each frame, so without it a
/// worker would sleep and wake between every two chains (on a VM each wake-up costs tens of
/// microseconds); with it, a paced source is read at most this much before its deadline.
pub(crate) const COALESCE: Duration = Duration::from_millis(1);
/// Most wake-ups queued to one worker before further ones fall back to `RING_RECHECK`.
const WAKE_QUEUE: usize = 4096;

enum Msg {
    Add(Box<Entry>),
    Wake(u64),
}

struct Entry {
    id: u64,
    chain: Box<dyn Runnable>,
    done: Sender<Result<(), Error>>,
    queued: Arc<AtomicBool>,
    budget: usize,
}

struct WorkerLink {
    inbox: Sender<Msg>,
    thread: Thread,
    load: AtomicUsize,
}

struct Pool {
    workers: Vec<WorkerLink>,
    shutdown: AtomicBool,
    next_id: AtomicU64,
}

/// A fixed pool of threads that runs the chains of many pipelines by deadline.
///
/// ```
/// use std::time::Duration;
/// use voxflow_core::AudioFormat;
/// use voxflow_pipeline::{Pacing, Pipeline, Scheduler, sinks::NullSink, sources::Sine};
/// let scheduler = Scheduler::new(1).unwrap();
/// let fmt = AudioFormat::new(48_000, 1).unwrap();
/// let sessions: Vec<_> = (0..8)
///     .map(|_| {
///         let p = Pipeline::builder()
///             .source(Sine::new(fmt, 440.0, 960).frames(9_600))
///             .pacing(Pacing::RealTime { lead: Duration::from_millis(20) })
///             .sink(NullSink::new());
///         scheduler.spawn(p).unwrap()
///     })
///     .collect();
/// for s in sessions {
///     let report = s.wait().unwrap();
///     assert_eq!(report.frames_out, 10);
/// }
/// ```
pub struct Scheduler {
    pool: Arc<Pool>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("threads", &self.threads.len())
            .field("chains", &self.chains())
            .finish()
    }
}

impl Scheduler {
    /// A pool of `threads` workers (`voxflow-sched-0`, …; at least 1).
    pub fn new(threads: usize) -> Result<Self, Error> {
        let n = threads.max(1);
        let mut links = Vec::with_capacity(n);
        let mut inboxes = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        let pool_slot: Arc<std::sync::OnceLock<Arc<Pool>>> = Arc::new(std::sync::OnceLock::new());
        for k in 0..n {
            let (tx, rx) = crossbeam_channel::bounded::<Msg>(WAKE_QUEUE);
            let name = format!("voxflow-sched-{k}");
            let slot = Arc::clone(&pool_slot);
            let h = std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || {
                    // Wait until the pool exists (set right after all workers start).
                    let pool = loop {
                        if let Some(p) = slot.get() {
                            break Arc::clone(p);
                        }
                        std::thread::park();
                    };
                    Worker::new(pool, k, rx).run();
                })
                .map_err(|source| Error::Spawn {
                    thread: name,
                    source,
                })?;
            links.push(h.thread().clone());
            inboxes.push(tx);
            handles.push(h);
        }
        let pool = Arc::new(Pool {
            workers: links
                .into_iter()
                .zip(inboxes)
                .map(|(thread, inbox)| WorkerLink {
                    inbox,
                    thread,
                    load: AtomicUsize::new(0),
                })
                .collect(),
            shutdown: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
        });
        let _ = pool_slot.set(Arc::clone(&pool));
        for h in &handles {
            h.thread().unpark();
        }
        Ok(Scheduler {
            pool,
            threads: handles,
        })
    }

    /// A pool with one worker per core (`std::thread::available_parallelism`).
    pub fn per_core() -> Result<Self, Error> {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(n)
    }

    /// Worker threads in the pool.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    /// Chains currently running on the pool.
    pub fn chains(&self) -> usize {
        self.pool
            .workers
            .iter()
            .map(|w| w.load.load(Ordering::Relaxed))
            .sum()
    }

    /// Builds `pipeline` (every check of [`PipelineBuilder::spawn`]) and hands its chains to
    /// the least-loaded workers. A scheduled chain must never block a worker, so its ring links
    /// must drop rather than wait: a link with [`Overflow::Block`] is an
    /// [`Error::InvalidConfig`].
    pub fn spawn(&self, pipeline: PipelineBuilder) -> Result<Session, Error> {
        let budget = pipeline.budget_items();
        let built = pipeline.build_inner()?;
        if let Some(l) = built
            .handle
            .shared
            .links
            .iter()
            .find(|l| l.overflow() == Overflow::Block)
        {
            built.handle.shared.request_stop();
            return Err(Error::InvalidConfig {
                what: "link",
                reason: format!(
                    "link {} blocks when full; a scheduled chain must never block its worker: use DropOldest or DropNewest",
                    l.name()
                ),
            });
        }
        let (done_tx, done_rx) = crossbeam_channel::bounded(built.runnables.len());
        let mut ids = Vec::with_capacity(built.runnables.len());
        for chain in built.runnables {
            let w = self
                .pool
                .workers
                .iter()
                .enumerate()
                .min_by_key(|(_, w)| w.load.load(Ordering::Relaxed))
                .map_or(0, |(i, _)| i);
            let worker = &self.pool.workers[w];
            let id = self.pool.next_id.fetch_add(1, Ordering::Relaxed);
            let queued = Arc::new(AtomicBool::new(false));
            chain.set_notify(Arc::new(ChainWake {
                id,
                queued: Arc::clone(&queued),
                inbox: worker.inbox.clone(),
                thread: worker.thread.clone(),
            }));
            worker.load.fetch_add(1, Ordering::Relaxed);
            let entry = Box::new(Entry {
                id,
                chain,
                done: done_tx.clone(),
                queued,
                budget,
            });
            // Blocks only if the worker's queue is full (thousands of pending wake-ups).
            if worker.inbox.send(Msg::Add(entry)).is_err() {
                return Err(Error::Closed("scheduler"));
            }
            worker.thread.unpark();
            ids.push((w, id));
        }
        Ok(Session {
            handle: built.handle,
            done: done_rx,
            pending: ids.len(),
            ids,
            pool: Arc::clone(&self.pool),
        })
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.pool.shutdown.store(true, Ordering::Release);
        for w in &self.pool.workers {
            w.thread.unpark();
        }
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}

/// Wakes a scheduled chain when its input ring has something.
struct ChainWake {
    id: u64,
    queued: Arc<AtomicBool>,
    inbox: Sender<Msg>,
    thread: Thread,
}

impl Notify for ChainWake {
    fn notify(&self) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            // A full queue falls back to the worker's periodic recheck.
            let _ = self.inbox.try_send(Msg::Wake(self.id));
            self.thread.unpark();
        }
    }
}

/// One pipeline running on a [`Scheduler`]. Dropping it stops the pipeline (its chains end
/// at their next poll).
pub struct Session {
    handle: Handle,
    done: Receiver<Result<(), Error>>,
    pending: usize,
    ids: Vec<(usize, u64)>,
    pool: Arc<Pool>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("chains", &self.ids.len())
            .field("finished", &self.handle.is_finished())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Waits until every chain of the pipeline has ended; returns the final report or the
    /// first error.
    pub fn wait(mut self) -> Result<Report, Error> {
        let mut first = None;
        while self.pending > 0 {
            match self.done.recv() {
                Ok(r) => {
                    self.pending -= 1;
                    if let Err(e) = r
                        && first.is_none()
                    {
                        first = Some(e);
                    }
                }
                Err(_) => break, // the scheduler has gone
            }
        }
        match first {
            Some(e) => Err(e),
            None => self.handle.outcome(),
        }
    }

    /// Asks the pipeline's chains to stop now (sinks are finished). Returns at once.
    pub fn stop(&self) {
        self.handle.stop();
        self.wake_chains();
    }

    /// Ends the input now and lets everything buffered drain. Returns at once.
    pub fn flush(&self) {
        self.handle.flush();
        self.wake_chains();
    }

    /// Has every chain of the session polled soon, so it sees a stop or flush.
    fn wake_chains(&self) {
        for &(w, id) in &self.ids {
            if let Some(worker) = self.pool.workers.get(w) {
                let _ = worker.inbox.try_send(Msg::Wake(id));
                worker.thread.unpark();
            }
        }
    }

    /// The event channel.
    pub fn events(&self) -> &Receiver<Event> {
        self.handle.events()
    }

    /// A snapshot report.
    pub fn report(&self) -> Report {
        self.handle.report()
    }

    /// The live counters of the pipeline's ring links.
    pub fn links(&self) -> &[Arc<LinkStats>] {
        self.handle.links()
    }

    /// True once every chain has ended.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// The lateness histogram of paced reads (see [`Handle::lateness`]).
    pub fn lateness(&self) -> crate::Histogram {
        self.handle.lateness()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.pending > 0 && !self.handle.is_finished() {
            self.stop();
        }
    }
}

struct Slot {
    entry: Box<Entry>,
    /// The instant of this chain's live entry in the timer heap, if any. Entries that no
    /// longer match are stale and skipped; at most one live entry per chain keeps the heap
    /// bounded by the number of chains (plus replaced entries).
    timer: Option<Instant>,
    /// The deadline of the timer that queued it, when taken early (see [`COALESCE`]).
    due_at: Option<Instant>,
}

/// Initial capacity of a worker's chain table, timer heap and ready queue: growth beyond it
/// happens when chains are added, never per frame.
const WORKER_SLOTS: usize = 256;

struct Worker {
    pool: Arc<Pool>,
    index: usize,
    inbox: Receiver<Msg>,
    slots: HashMap<u64, Slot>,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    ready: VecDeque<u64>,
}

impl Worker {
    fn new(pool: Arc<Pool>, index: usize, inbox: Receiver<Msg>) -> Self {
        Worker {
            pool,
            index,
            inbox,
            slots: HashMap::with_capacity(WORKER_SLOTS),
            timers: BinaryHeap::with_capacity(WORKER_SLOTS),
            ready: VecDeque::with_capacity(WORKER_SLOTS),
        }
    }

    fn intake(&mut self) {
        while let Ok(m) = self.inbox.try_recv() {
            match m {
                Msg::Add(entry) => {
                    let id = entry.id;
                    self.slots.insert(
                        id,
                        Slot {
                            entry,
                            timer: None,
                            due_at: None,
                        },
                    );
                    self.ready.push_back(id);
                }
                Msg::Wake(id) => {
                    if self.slots.contains_key(&id) {
                        self.ready.push_back(id);
                    }
                }
            }
        }
    }

    fn run(mut self) {
        loop {
            self.intake();
            if self.pool.shutdown.load(Ordering::Acquire) {
                self.shut_down();
                return;
            }
            let now = Instant::now();
            while let Some(&Reverse((t, id))) = self.timers.peek() {
                if t > now + COALESCE {
                    break;
                }
                self.timers.pop();
                if let Some(slot) = self.slots.get_mut(&id)
                    && slot.timer == Some(t)
                {
                    slot.timer = None;
                    slot.due_at = Some(t);
                    self.ready.push_back(id);
                }
            }
            if self.ready.is_empty() {
                match self.timers.peek() {
                    Some(&Reverse((t, _))) => {
                        // Wake when the first timer comes within the coalescing window.
                        std::thread::park_timeout(t.saturating_duration_since(now + COALESCE));
                    }
                    None => std::thread::park_timeout(Duration::from_millis(50)),
                }
                continue;
            }
            for _ in 0..self.ready.len() {
                if let Some(id) = self.ready.pop_front() {
                    self.poll(id);
                }
            }
        }
    }

    fn poll(&mut self, id: u64) {
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        slot.entry.queued.store(false, Ordering::Release);
        let now = Instant::now();
        // Taken early with its coalesced timer: poll as of the deadline.
        let at = slot.due_at.take().map_or(now, |t| t.max(now));
        let budget = slot.entry.budget;
        let chain = &mut slot.entry.chain;
        let r = catch_unwind(AssertUnwindSafe(|| chain.poll(at, budget, false)));
        let outcome = match r {
            Ok(Ok(ChainStatus::Busy)) => {
                self.ready.push_back(id);
                return;
            }
            Ok(Ok(ChainStatus::Idle { until })) => {
                let t = until.unwrap_or(now + RING_RECHECK);
                // A live timer at or before `t` already covers it (an early poll is harmless:
                // the chain just says Idle again).
                if slot.timer.is_none_or(|live| live > t) {
                    slot.timer = Some(t);
                    self.timers.push(Reverse((t, id)));
                }
                return;
            }
            Ok(Ok(ChainStatus::Finished)) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(payload) => {
                slot.entry.chain.shared().request_stop();
                Err(Error::Panicked {
                    thread: format!("voxflow-sched-{}", self.index),
                    message: panic_message(payload.as_ref()),
                })
            }
        };
        if let Some(slot) = self.slots.remove(&id) {
            let _ = slot.entry.done.try_send(outcome);
            self.pool.workers[self.index]
                .load
                .fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The pool is going away: stop every chain still here and report it ended.
    fn shut_down(&mut self) {
        for (_, mut slot) in self.slots.drain() {
            slot.entry.chain.shared().request_stop();
            let r = slot.entry.chain.poll(Instant::now(), 1, false).map(|_| ());
            let _ = slot.entry.done.try_send(r);
        }
    }
}
