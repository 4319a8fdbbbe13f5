//! The handles a running pipeline is watched and controlled through, and the
//! thread-per-chain driver behind [`PipelineBuilder::spawn`].

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::chain::{ChainStatus, Runnable};
use crate::event::{Control, Event};
use crate::shared::Shared;
use crate::{Error, Histogram, LinkStats, PipelineBuilder, Report};

/// Events, control and reports of one pipeline, however it is driven.
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) events: Receiver<Event>,
    pub(crate) control: Sender<Control>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// The event channel (bounded; never blocks the chains).
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// A snapshot: counters are live, latency percentiles as last published by the sinks (at
    /// most [`report_interval`](PipelineBuilder::report_interval) old). Allocates.
    pub fn report(&self) -> Report {
        self.shared.report()
    }

    /// The live counters of every ring link, in pipeline order.
    pub fn links(&self) -> &[Arc<LinkStats>] {
        &self.shared.links
    }

    /// Items dropped so far, summed over all links (per link: [`links`](Self::links)).
    pub fn dropped(&self) -> u64 {
        self.shared.links.iter().map(|l| l.dropped()).sum()
    }

    /// True once every chain has ended.
    pub fn is_finished(&self) -> bool {
        self.shared.is_finished()
    }

    /// The lateness of every paced read so far, as a histogram (each chain adds its own when
    /// it ends): merge several pipelines' to get percentiles over all their frames. Allocates.
    pub fn lateness(&self) -> Histogram {
        self.shared.published().lateness.clone()
    }

    /// Asks every chain to stop at its next poll (queued audio is discarded, sinks are
    /// finished so files stay valid). Returns at once.
    pub fn stop(&self) {
        let _ = self.control.try_send(Control::Stop);
        self.shared.request_stop();
    }

    /// Ends the input now and lets everything buffered drain to the sinks. Returns at once.
    pub fn flush(&self) {
        let _ = self.control.try_send(Control::Flush);
    }

    /// The final result once every chain has ended: the report, or an error when nothing at
    /// all was delivered because every input was skipped.
    pub(crate) fn outcome(&self) -> Result<Report, Error> {
        let r = self.shared.report();
        if !r.stopped
            && r.skipped > 0
            && (r.frames_in + r.packets_in) > 0
            && (r.frames_out + r.packets_out) == 0
        {
            return Err(Error::NothingDelivered { skipped: r.skipped });
        }
        Ok(r)
    }
}

/// A pipeline running on its own threads (one per chain), from
/// [`PipelineBuilder::spawn`]. Dropping it stops the pipeline and joins its threads.
pub struct Running {
    threads: Vec<JoinHandle<Result<(), Error>>>,
    handle: Handle,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("threads", &self.threads.len())
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

/// How long a paced thread sleeps at most before it looks at the stop flag again.
const SLICE: Duration = Duration::from_millis(5);

/// Drives one chain on the calling thread until it ends.
fn drive(mut chain: Box<dyn Runnable>, budget: usize) -> Result<(), Error> {
    chain.register_thread();
    let sh = Arc::clone(chain.shared());
    loop {
        let now = sh.clock.now();
        match chain.poll(now, budget, true)? {
            ChainStatus::Busy => {}
            ChainStatus::Finished => return Ok(()),
            ChainStatus::Idle { until } => {
                if sh.stopping() {
                    continue; // the next poll sees it and ends the chain
                }
                match until {
                    Some(t) => sh.clock.sleep_until(t.min(now + SLICE)),
                    None => std::thread::park_timeout(std::time::Duration::from_millis(1)),
                }
            }
        }
    }
}

impl PipelineBuilder {
    /// Checks the chain (item types, formats and frame sizes must agree between neighbours),
    /// allocates every buffer, ring and histogram, and starts one named thread (`voxflow-0`,
    /// `voxflow-1`, …) per chain (the source's first).
    pub fn spawn(self) -> Result<Running, Error> {
        let budget = self.budget_items();
        let built = self.build_inner()?;
        let mut threads = Vec::with_capacity(built.runnables.len());
        for (k, chain) in built.runnables.into_iter().enumerate() {
            let name = format!("voxflow-{k}");
            match std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || drive(chain, budget))
            {
                Ok(h) => threads.push(h),
                Err(source) => {
                    built.handle.shared.request_stop();
                    for h in threads {
                        h.thread().unpark();
                        let _ = h.join();
                    }
                    return Err(Error::Spawn {
                        thread: name,
                        source,
                    });
                }
            }
        }
        Ok(Running {
            threads,
            handle: built.handle,
        })
    }
}

impl Running {
    /// Waits for every thread to end and returns the final report, or the first error (an
    /// element's [`Error::Stage`] with its name, [`Error::Panicked`], or
    /// [`Error::NothingDelivered`] when every input was skipped). After [`stop`](Self::stop) it
    /// returns `Ok` with [`Report::stopped`] set.
    pub fn wait(mut self) -> Result<Report, Error> {
        let threads = std::mem::take(&mut self.threads);
        let mut errors: Vec<Option<Error>> = Vec::with_capacity(threads.len());
        for h in threads {
            let name = h.thread().name().unwrap_or("voxflow").to_string();
            errors.push(match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(payload) => Some(Error::Panicked {
                    thread: name,
                    message: panic_message(payload.as_ref()),
                }),
            });
        }
        let first = self
            .handle
            .shared
            .first_failed
            .load(std::sync::atomic::Ordering::Acquire);
        if let Some(e) = errors.get_mut(first).and_then(Option::take) {
            return Err(e);
        }
        if let Some(e) = errors.into_iter().flatten().next() {
            return Err(e);
        }
        self.handle.outcome()
    }

    /// Asks every thread to stop now (a [`Control::Stop`] to the source, a stop flag and an
    /// unpark for every thread, so a producer blocked on a full ring exits too). Returns at
    /// once; [`wait`](Self::wait) joins. Queued audio is discarded; sinks' `finish` is still
    /// called, so files are left valid.
    pub fn stop(&self) {
        self.handle.stop();
        for h in &self.threads {
            h.thread().unpark();
        }
    }

    /// Ends the input now and lets everything buffered drain to the sink (a
    /// [`Control::Flush`] to the source). Returns at once.
    pub fn flush(&self) {
        self.handle.flush();
    }

    /// The event channel.
    pub fn events(&self) -> &Receiver<Event> {
        self.handle.events()
    }

    /// A snapshot report (see [`Handle::report`]).
    pub fn report(&self) -> Report {
        self.handle.report()
    }

    /// The live counters of every ring link, in pipeline order.
    pub fn links(&self) -> &[Arc<LinkStats>] {
        self.handle.links()
    }

    /// Items dropped so far, summed over all links.
    pub fn dropped(&self) -> u64 {
        self.handle.dropped()
    }

    /// True once every thread has ended.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// The lateness histogram of paced reads (see [`Handle::lateness`]).
    pub fn lateness(&self) -> Histogram {
        self.handle.lateness()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.threads.is_empty() {
            return;
        }
        self.stop();
        for h in std::mem::take(&mut self.threads) {
            let _ = h.join();
        }
    }
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}
