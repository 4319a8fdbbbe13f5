//! The elements of a built chain, type-erased behind one trait: each node does its work on an
//! item and hands the result to the node after it.
//!
//! Nodes are plain structs driven by a chain (sans-IO): no threads, no sleeps. They read the
//! pipeline's clock only to stamp traces.

use std::time::Instant;

use voxflow_core::{
    AudioFrame, AudioSink, AudioStage, Packet, PacketSink, PacketStage, StageEvent,
};

use crate::event::Event;
use crate::flow::{Flow, count_out};
use crate::recorder::Recorder;
use crate::shared::Shared;
use crate::{Error, RingSender};

/// Why processing stopped early.
pub(crate) enum Halt {
    /// A stop request or a closed ring: leave without draining.
    Stop,
    /// An element failed.
    Fail(Error),
}

impl From<Error> for Halt {
    fn from(e: Error) -> Self {
        Halt::Fail(e)
    }
}

pub(crate) fn stage_err(stage: &'static str, source: voxflow_core::Error) -> Halt {
    Halt::Fail(Error::Stage { stage, source })
}

/// One element of a chain and everything after it.
pub(crate) trait Node<T>: Send {
    /// Takes one item. With `owned`, the node may take the item's buffers (swap them for
    /// spare ones); without, it must leave the item as it was (a tee feeds it to another
    /// branch next).
    fn push(&mut self, sh: &Shared, item: &mut T, owned: bool) -> Result<(), Halt>;

    /// End of stream: finish this element, drain it, finish everything after it.
    fn finish(&mut self, sh: &Shared) -> Result<(), Halt>;

    /// Leaves without draining: sinks are finished (files stay valid), rings closed.
    fn abort(&mut self, sh: &Shared);

    /// The earliest instant at which an element here has work without new input.
    fn deadline(&self) -> Option<Instant>;

    /// Lets time-driven elements (a jitter buffer) produce what is due at `now`.
    fn tick(&mut self, sh: &Shared, now: Instant) -> Result<(), Halt>;
}

fn min_deadline(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Sends every event a stage has queued to the pipeline's event channel, in order.
fn forward_events(sh: &Shared, stage: &'static str, mut next: impl FnMut() -> Option<StageEvent>) {
    while let Some(event) = next() {
        sh.emit(Event::Stage { stage, event });
    }
}

/// Handles an element's result: skippable errors are counted and reported, others halt.
fn check(
    sh: &Shared,
    name: &'static str,
    r: Result<(), voxflow_core::Error>,
) -> Result<bool, Halt> {
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.is_skippable() => {
            sh.skip(name, &e);
            Ok(false)
        }
        Err(e) => Err(stage_err(name, e)),
    }
}

// ---------------------------------------------------------------------------------------------
// frame → frame

pub(crate) struct AudioStageNode {
    pub(crate) name: &'static str,
    pub(crate) stage: Box<dyn AudioStage>,
    pub(crate) out: AudioFrame,
    pub(crate) next: Box<dyn Node<AudioFrame>>,
}

impl AudioStageNode {
    fn events(&mut self, sh: &Shared) {
        forward_events(sh, self.name, || self.stage.poll_event());
    }

    fn drain(&mut self, sh: &Shared) -> Result<(), Halt> {
        loop {
            match self.stage.poll(&mut self.out) {
                Ok(true) => {
                    self.out.trace_mut().stamp(self.name, sh.clock.now());
                    self.events(sh);
                    self.next.push(sh, &mut self.out, true)?;
                }
                Ok(false) => break,
                Err(e) => {
                    check(sh, self.name, Err(e))?;
                    break;
                }
            }
        }
        self.events(sh);
        Ok(())
    }
}

impl Node<AudioFrame> for AudioStageNode {
    fn push(&mut self, sh: &Shared, item: &mut AudioFrame, _owned: bool) -> Result<(), Halt> {
        let pushed = check(sh, self.name, self.stage.push(item))?;
        if !pushed {
            self.events(sh);
            return Ok(());
        }
        self.drain(sh)
    }

    fn finish(&mut self, sh: &Shared) -> Result<(), Halt> {
        check(sh, self.name, self.stage.finish())?;
        self.drain(sh)?;
        self.next.finish(sh)
    }

    fn abort(&mut self, sh: &Shared) {
        self.next.abort(sh);
    }

    fn deadline(&self) -> Option<Instant> {
        self.next.deadline()
    }

    fn tick(&mut self, sh: &Shared, now: Instant) -> Result<(), Halt> {
        self.next.tick(sh, now)
    }
}

// ---------------------------------------------------------------------------------------------
// frame → packet, packet → packet, packet → frame

pub(crate) struct PacketStageNode<I, O> {
    pub(crate) name: &'static str,
    pub(crate) stage: Box<dyn PacketStage<Input = I, Output = O>>,
    pub(crate) out: O,
    pub(crate) next: Box<dyn Node<O>>,
    /// Count accepted inputs as delivered (an encoder at the end of the audio path).
    pub(crate) count_input: bool,
}

impl<I: Flow, O: Flow> PacketStageNode<I, O> {
    fn events(&mut self, sh: &Shared) {
        forward_events(sh, self.name, || self.stage.poll_event());
    }

    fn drain(&mut self, sh: &Shared) -> Result<(), Halt> {
        loop {
            let now = sh.clock.now();
            match self.stage.poll(&mut self.out, now) {
                Ok(true) => {
                    // An output with no trace origin (an encoder's flush packet) stays
                    // untraced: written and counted downstream, not recorded.
                    if self.out.trace().origin().is_some() {
                        self.out.trace_mut().stamp(self.name, now);
                    }
                    self.events(sh);
                    self.next.push(sh, &mut self.out, true)?;
                }
                Ok(false) => break,
                Err(e) => {
                    check(sh, self.name, Err(e))?;
                    break;
                }
            }
        }
        self.events(sh);
        Ok(())
    }
}

impl<I: Flow, O: Flow> Node<I> for PacketStageNode<I, O> {
    fn push(&mut self, sh: &Shared, item: &mut I, _owned: bool) -> Result<(), Halt> {
        let pushed = check(sh, self.name, self.stage.push(item, sh.clock.now()))?;
        if !pushed {
            self.events(sh);
            return Ok(());
        }
        if self.count_input {
            count_out(&sh.counters, &*item);
        }
        self.drain(sh)
    }

    fn finish(&mut self, sh: &Shared) -> Result<(), Halt> {
        check(sh, self.name, self.stage.finish(sh.clock.now()))?;
        self.drain(sh)?;
        self.next.finish(sh)
    }

    fn abort(&mut self, sh: &Shared) {
        self.next.abort(sh);
    }

    fn deadline(&self) -> Option<Instant> {
        min_deadline(self.stage.next_deadline(), self.next.deadline())
    }

    fn tick(&mut self, sh: &Shared, now: Instant) -> Result<(), Halt> {
        if self.stage.next_deadline().is_some_and(|d| d <= now) {
            self.drain(sh)?;
        }
        self.next.tick(sh, now)
    }
}

// ---------------------------------------------------------------------------------------------
// sinks

/// What a sink node needs besides its sink: the recorder, and whether the sink has finished.
pub(crate) struct SinkState {
    pub(crate) rec: Recorder,
    pub(crate) done: bool,
}

impl SinkState {
    fn finished(&mut self, sh: &Shared) {
        if !self.done {
            self.done = true;
            self.rec.publish_final(sh);
            sh.sink_finished();
        }
    }
}

/// The end of a chain: an audio or a packet sink.
pub(crate) trait AnySink<T>: Send {
    fn name(&self) -> &'static str;
    fn write(&mut self, item: &T) -> Result<(), voxflow_core::Error>;
    fn finish(&mut self) -> Result<(), voxflow_core::Error>;
}

impl AnySink<AudioFrame> for Box<dyn AudioSink> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn write(&mut self, item: &AudioFrame) -> Result<(), voxflow_core::Error> {
        (**self).write(item)
    }
    fn finish(&mut self) -> Result<(), voxflow_core::Error> {
        (**self).finish()
    }
}

impl AnySink<Packet> for Box<dyn PacketSink> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn write(&mut self, item: &Packet) -> Result<(), voxflow_core::Error> {
        (**self).write(item)
    }
    fn finish(&mut self) -> Result<(), voxflow_core::Error> {
        (**self).finish()
    }
}

pub(crate) struct SinkNode<T, S> {
    pub(crate) sink: S,
    pub(crate) state: SinkState,
    pub(crate) _item: std::marker::PhantomData<fn(T)>,
}

impl<T: Flow, S: AnySink<T>> Node<T> for SinkNode<T, S> {
    fn push(&mut self, sh: &Shared, item: &mut T, _owned: bool) -> Result<(), Halt> {
        let now = sh.clock.now();
        let name = self.sink.name();
        // Flush packets of an encoder carry no trace origin: written and counted, not recorded.
        let traced = item.trace().origin().is_some();
        item.trace_mut().stamp(name, now);
        sh.first_out(now);
        if !check(sh, name, self.sink.write(item))? {
            return Ok(());
        }
        count_out(&sh.counters, &*item);
        if traced {
            self.state.rec.record(item.trace());
        }
        self.state.rec.maybe_publish(sh, now);
        Ok(())
    }

    fn finish(&mut self, sh: &Shared) -> Result<(), Halt> {
        let r = self.sink.finish();
        self.state.finished(sh);
        r.map_err(|e| stage_err(self.sink.name(), e))
    }

    fn abort(&mut self, sh: &Shared) {
        if !self.state.done {
            let _ = self.sink.finish();
        }
        self.state.finished(sh);
    }

    fn deadline(&self) -> Option<Instant> {
        None
    }

    fn tick(&mut self, _sh: &Shared, _now: Instant) -> Result<(), Halt> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// a ring to the next chain

pub(crate) struct RingNode<T: crate::RingItem> {
    pub(crate) tx: Option<RingSender<T>>,
    /// Where an item that must not be taken (`owned == false`) is copied before sending.
    pub(crate) scratch: T,
}

impl<T: Flow + crate::RingItem> Node<T> for RingNode<T> {
    fn push(&mut self, _sh: &Shared, item: &mut T, owned: bool) -> Result<(), Halt> {
        let Some(tx) = self.tx.as_mut() else {
            return Err(Halt::Stop);
        };
        let r = if owned {
            tx.send(item)
        } else {
            item.copy_into(&mut self.scratch)
                .map_err(Error::Core)
                .and_then(|()| tx.send(&mut self.scratch))
        };
        match r {
            Ok(_) => Ok(()),
            Err(Error::Closed(_)) => Err(Halt::Stop),
            Err(e) => Err(Halt::Fail(e)),
        }
    }

    fn finish(&mut self, _sh: &Shared) -> Result<(), Halt> {
        if let Some(mut tx) = self.tx.take() {
            tx.close();
        }
        Ok(())
    }

    fn abort(&mut self, _sh: &Shared) {
        self.tx = None; // dropping the sender closes the link
    }

    fn deadline(&self) -> Option<Instant> {
        None
    }

    fn tick(&mut self, _sh: &Shared, _now: Instant) -> Result<(), Halt> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// a branch point

/// Feeds one item to several branches without copying it: every branch but the last sees it
/// borrowed (`owned == false`), and each branch starts from the same trace.
pub(crate) struct TeeNode<T> {
    pub(crate) branches: Vec<Box<dyn Node<T>>>,
}

impl<T: Flow> Node<T> for TeeNode<T> {
    fn push(&mut self, sh: &Shared, item: &mut T, owned: bool) -> Result<(), Halt> {
        let trace = *item.trace();
        let last = self.branches.len().saturating_sub(1);
        for (i, b) in self.branches.iter_mut().enumerate() {
            *item.trace_mut() = trace;
            b.push(sh, item, owned && i == last)?;
        }
        Ok(())
    }

    fn finish(&mut self, sh: &Shared) -> Result<(), Halt> {
        let mut first = Ok(());
        for b in &mut self.branches {
            let r = b.finish(sh);
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    fn abort(&mut self, sh: &Shared) {
        for b in &mut self.branches {
            b.abort(sh);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.branches
            .iter()
            .fold(None, |d, b| min_deadline(d, b.deadline()))
    }

    fn tick(&mut self, sh: &Shared, now: Instant) -> Result<(), Halt> {
        for b in &mut self.branches {
            b.tick(sh, now)?;
        }
        Ok(())
    }
}
