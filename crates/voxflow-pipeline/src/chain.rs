//! A chain: one input (a source or a ring from another chain) and the nodes after it, driven by
//! `poll(now)`. A pipeline is one chain per thread boundary; the runtime drives chains on their
//! own threads ([`PipelineBuilder::spawn`](crate::PipelineBuilder::spawn)) or many at a time on a
//! [`Scheduler`](crate::Scheduler), and you can drive one yourself ([`Chain`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use voxflow_core::{AudioFrame, AudioSource, Packet, PacketSource};

use crate::event::{Control, Event};
use crate::flow::{Flow, count_in};
use crate::node::{Halt, Node, stage_err};
use crate::pacer::Pacer;
use crate::shared::Shared;
use crate::{Error, Histogram, LinkStats, RingItem, RingReceiver};

/// A source of either item type, as a chain reads it.
pub(crate) trait Read<T>: Send {
    fn name(&self) -> &'static str;
    fn read(&mut self, out: &mut T) -> Result<bool, voxflow_core::Error>;
}

impl Read<AudioFrame> for Box<dyn AudioSource> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn read(&mut self, out: &mut AudioFrame) -> Result<bool, voxflow_core::Error> {
        (**self).read(out)
    }
}

impl Read<Packet> for Box<dyn PacketSource> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn read(&mut self, out: &mut Packet) -> Result<bool, voxflow_core::Error> {
        (**self).read(out)
    }
}

pub(crate) enum Input<T: RingItem> {
    Source {
        src: Box<dyn Read<T>>,
        control: Receiver<Control>,
        pacer: Pacer,
    },
    Ring {
        rx: RingReceiver<T>,
        name: &'static str,
    },
}

/// What one [`Chain::poll`] left the chain doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainStatus {
    /// It used its whole budget and has more to do: poll again soon.
    Busy,
    /// Nothing to do before `until` (pacing, a jitter buffer's playout time); `None` means
    /// until its input ring has something (the ring wakes whoever registered with it).
    Idle {
        /// When to poll again at the latest.
        until: Option<Instant>,
    },
    /// The chain has ended (end of stream, stop, or failure: see [`Chain::poll`]).
    Finished,
}

/// The object-safe face of a chain, for the drivers.
pub(crate) trait Runnable: Send {
    /// Processes up to `budget` input items. With `blocking`, a ring input waits for items
    /// (thread-per-chain mode); without, it returns `Idle { until: None }`.
    fn poll(&mut self, now: Instant, budget: usize, blocking: bool) -> Result<ChainStatus, Error>;
    fn shared(&self) -> &Arc<Shared>;
    /// Registers the calling thread with the chain's rings, to be unparked on progress.
    fn register_thread(&self);
    /// Asks the chain's input ring to call `notify` when it has something.
    fn set_notify(&self, notify: Arc<dyn crate::Notify>);
    fn next_deadline(&self) -> Option<Instant>;
    fn lateness(&self) -> &Histogram;
}

/// Rate-limits `Event::Dropped` for one link end.
#[derive(Default)]
pub(crate) struct DropWatch {
    seen: u64,
    last: Option<Instant>,
}

const DROP_EVENT_EVERY: Duration = Duration::from_millis(50);

impl DropWatch {
    pub(crate) fn check(&mut self, sh: &Shared, stats: &LinkStats) {
        let d = stats.dropped();
        if d == self.seen {
            return;
        }
        let now = sh.clock.now();
        if self
            .last
            .is_none_or(|t| now.saturating_duration_since(t) >= DROP_EVENT_EVERY)
        {
            self.seen = d;
            self.last = Some(now);
            sh.emit(Event::Dropped {
                link: stats.name(),
                total: d,
            });
        }
    }
}

enum Next {
    Item,
    Skip,
    Wait(Option<Instant>),
    End,
    Stop,
}

/// One chain of a pipeline.
pub(crate) struct Segment<T: RingItem> {
    pub(crate) input: Input<T>,
    pub(crate) item: T,
    pub(crate) head: Box<dyn Node<T>>,
    pub(crate) sh: Arc<Shared>,
    pub(crate) index: usize,
    pub(crate) drops: DropWatch,
    pub(crate) lateness: Histogram,
    pub(crate) deadline: Option<Instant>,
    pub(crate) done: bool,
}

impl<T: Flow + RingItem> Segment<T> {
    fn next_input(&mut self, now: Instant, blocking: bool) -> Result<Next, Halt> {
        let sh = &*self.sh;
        let item = &mut self.item;
        match &mut self.input {
            Input::Source {
                src,
                control,
                pacer,
            } => {
                if let Ok(c) = control.try_recv() {
                    match c {
                        Control::Stop => {
                            sh.request_stop();
                            return Ok(Next::Stop);
                        }
                        Control::Flush => return Ok(Next::End),
                    }
                }
                if let Some(due) = pacer.deadline() {
                    if now < due {
                        return Ok(Next::Wait(Some(due)));
                    }
                    self.lateness.record(now.saturating_duration_since(due));
                }
                let t0 = sh.clock.now();
                item.trace_mut().restart(t0);
                match src.read(item) {
                    Ok(true) => {
                        if item.trace().origin().is_none() {
                            item.trace_mut().restart(t0);
                        }
                        let t1 = sh.clock.now();
                        item.trace_mut().stamp(src.name(), t1);
                        count_in(&sh.counters, &*item);
                        sh.first_in(t1);
                        pacer.item_read(item.pts(), item.end(), t1);
                        Ok(Next::Item)
                    }
                    Ok(false) => Ok(Next::End),
                    Err(e) if e.is_skippable() => {
                        sh.skip(src.name(), &e);
                        Ok(Next::Skip)
                    }
                    Err(e) => Err(stage_err(src.name(), e)),
                }
            }
            Input::Ring { rx, name } => {
                let got = if blocking {
                    rx.recv(item)?
                } else {
                    rx.try_recv(item)?
                };
                self.drops.check(sh, rx.stats());
                if got {
                    item.trace_mut().stamp(name, sh.clock.now());
                    Ok(Next::Item)
                } else if sh.stopping() {
                    Ok(Next::Stop)
                } else if blocking || rx.is_finished() {
                    Ok(Next::End)
                } else {
                    Ok(Next::Wait(None))
                }
            }
        }
    }

    fn run(&mut self, now: Instant, budget: usize, blocking: bool) -> Result<ChainStatus, Halt> {
        if let Some(d) = self.head.deadline()
            && d <= now
        {
            self.head.tick(&self.sh, now)?;
        }
        for _ in 0..budget.max(1) {
            if self.sh.stopping() {
                return Err(Halt::Stop);
            }
            match self.next_input(now, blocking)? {
                Next::Item => {
                    let Segment { head, sh, item, .. } = self;
                    head.push(sh, item, true)?;
                }
                Next::Skip => {}
                Next::Wait(until) => {
                    let until = match (until, self.head.deadline()) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    return Ok(ChainStatus::Idle { until });
                }
                Next::End => {
                    self.head.finish(&self.sh)?;
                    return Ok(ChainStatus::Finished);
                }
                Next::Stop => return Err(Halt::Stop),
            }
        }
        Ok(ChainStatus::Busy)
    }

    /// Marks the chain ended (once) and publishes its lateness.
    fn end(&mut self) {
        if !self.done {
            self.done = true;
            self.sh.published().lateness.merge(&self.lateness);
            self.sh.alive.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl<T: Flow + RingItem> Runnable for Segment<T> {
    fn poll(&mut self, now: Instant, budget: usize, blocking: bool) -> Result<ChainStatus, Error> {
        if self.done {
            return Ok(ChainStatus::Finished);
        }
        let r = self.run(now, budget, blocking);
        let out = match r {
            Ok(ChainStatus::Finished) => Ok(ChainStatus::Finished),
            Ok(status) => {
                self.deadline = match status {
                    ChainStatus::Idle { until } => until,
                    _ => None,
                };
                return Ok(status);
            }
            Err(Halt::Stop) => {
                self.head.abort(&self.sh);
                Ok(ChainStatus::Finished)
            }
            Err(Halt::Fail(e)) => {
                self.sh.chain_failed(self.index, &e);
                self.head.abort(&self.sh);
                Err(e)
            }
        };
        self.end();
        out
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.sh
    }

    fn register_thread(&self) {
        if let Input::Ring { rx, .. } = &self.input {
            rx.register_current();
        }
    }

    fn set_notify(&self, notify: Arc<dyn crate::Notify>) {
        if let Input::Ring { rx, .. } = &self.input {
            // Fails only when a hook is already installed: the first one stays.
            let _ = rx.set_notify(notify);
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    fn lateness(&self) -> &Histogram {
        &self.lateness
    }
}

impl<T: RingItem> Drop for Segment<T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.sh.request_stop();
        }
        if !self.done {
            self.done = true;
            self.sh.alive.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// One chain of a built pipeline, driven by you: sans-IO, no threads. Call
/// [`poll`](Self::poll) with the current time whenever its [`ChainStatus`] says so; it reads the
/// source (no faster than its pacing allows), pushes each item through every element, and
/// returns when its budget is spent, when it must wait, or at the end.
///
/// The runtime's own drivers ([`PipelineBuilder::spawn`](crate::PipelineBuilder::spawn), a
/// [`Scheduler`](crate::Scheduler)) do exactly this. Trace stamps read the pipeline's
/// [`Clock`](crate::Clock); give it a [`VirtualClock`](crate::VirtualClock) to run on virtual
/// time.
pub struct Chain {
    pub(crate) inner: Box<dyn Runnable>,
    pub(crate) budget: usize,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("next_deadline", &self.inner.next_deadline())
            .finish_non_exhaustive()
    }
}

impl Chain {
    /// Processes up to the chain's budget of input items (see
    /// [`PipelineBuilder::budget`](crate::PipelineBuilder::budget)) at time `now`. Returns what
    /// the chain needs next, or the error that ended it (the chain has then stopped, the others
    /// of its pipeline are asked to stop, and its sinks are finished).
    pub fn poll(&mut self, now: Instant) -> Result<ChainStatus, Error> {
        self.inner.poll(now, self.budget, false)
    }

    /// When the chain next has work without new input (as of the last poll).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.inner.next_deadline()
    }

    /// How late, after its pacing deadline, each paced item was read (empty when unpaced).
    pub fn lateness(&self) -> &Histogram {
        self.inner.lateness()
    }
}
