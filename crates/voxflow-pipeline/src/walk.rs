//! The walk that turns a pipeline description into chains of nodes: item, format and size
//! checks between neighbours, report rows, rings at boundaries, branches at tees.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use voxflow_core::{AudioFormat, AudioFrame, Packet, Reframer};

use crate::builder::{Branch, Element, PACKET_CAPACITY, Tail};
use crate::chain::{DropWatch, Input, Runnable, Segment};
use crate::flow::Flow;
use crate::node::{
    AnySink, AudioStageNode, Node, PacketStageNode, RingNode, SinkNode, SinkState, TeeNode,
};
use crate::recorder::Recorder;
use crate::report::Role;
use crate::shared::Shared;
use crate::{Error, Histogram, Link, LinkStats};

/// Most sample frames a packet → frame stage writes when it does not say (120 ms at its rate,
/// the longest Opus packet).
fn default_decoded_frames(fmt: AudioFormat) -> usize {
    (fmt.rate as usize * 120 / 1000).max(1)
}

pub(crate) struct Built {
    pub(crate) runnables: Vec<Box<dyn Runnable>>,
    pub(crate) handle: crate::Handle,
}

pub(crate) type PendingSegment = Box<dyn FnOnce(Arc<Shared>, usize) -> Box<dyn Runnable>>;

pub(crate) fn pending<T: Flow + crate::RingItem>(
    input: Input<T>,
    item: T,
    head: Box<dyn Node<T>>,
) -> PendingSegment {
    Box::new(move |sh, index| {
        Box::new(Segment {
            input,
            item,
            head,
            sh,
            index,
            drops: DropWatch::default(),
            lateness: Histogram::new(),
            deadline: None,
            done: false,
        })
    })
}

/// The walk over a description: report rows, links, and the chains cut at boundaries.
pub(crate) struct Walk {
    pub(crate) rows: Vec<(&'static str, Role)>,
    /// Whether some sink's recorder already publishes the row.
    owned: Vec<bool>,
    pub(crate) links: Vec<Arc<LinkStats>>,
    pub(crate) segments: Vec<PendingSegment>,
    pub(crate) sinks: usize,
    stop: Arc<AtomicBool>,
    interval: Duration,
}

fn no_sink(up: &'static str) -> Error {
    Error::InvalidConfig {
        what: "sink",
        reason: format!("the chain after {up} has no sink"),
    }
}

fn mismatch(upstream: &'static str, e: &Element, carries: &'static str) -> Error {
    let expects = if carries == "audio frames" {
        "packets"
    } else {
        "audio frames"
    };
    Error::ItemMismatch {
        upstream,
        downstream: e.describe(),
        carries,
        expects,
    }
}

impl Walk {
    pub(crate) fn new(stop: Arc<AtomicBool>, interval: Duration) -> Self {
        Walk {
            rows: Vec::new(),
            owned: Vec::new(),
            links: Vec::new(),
            segments: Vec::new(),
            sinks: 0,
            stop,
            interval,
        }
    }

    pub(crate) fn row(&mut self, name: &'static str, role: Role) -> usize {
        self.rows.push((name, role));
        self.owned.push(false);
        self.rows.len() - 1
    }

    fn recorder(&mut self, path: &[usize]) -> Recorder {
        let primary = self.sinks == 0;
        self.sinks += 1;
        let names = path.iter().map(|&r| self.rows[r].0).collect();
        let rows = path
            .iter()
            .map(|&r| {
                let own = !self.owned[r];
                self.owned[r] = true;
                (r, own)
            })
            .collect();
        Recorder::new(names, rows, primary, self.interval)
    }

    /// The sink at the end of a path.
    fn sink<T: Flow, S: AnySink<T> + 'static>(
        &mut self,
        sink: S,
        mut path: Vec<usize>,
    ) -> Box<dyn Node<T>> {
        path.push(self.row(sink.name(), Role::Sink));
        let rec = self.recorder(&path);
        Box::new(SinkNode {
            sink,
            state: SinkState { rec, done: false },
            _item: std::marker::PhantomData,
        })
    }

    /// A thread boundary: the ring's sender ends this chain; the rest of the path, built by
    /// `rest`, becomes a new chain fed by the receiver.
    fn cut<T: Flow + crate::RingItem>(
        &mut self,
        name: &'static str,
        (tx, rx): (crate::RingSender<T>, crate::RingReceiver<T>),
        mut path: Vec<usize>,
        make: impl Fn() -> T,
        rest: impl FnOnce(&mut Self, Vec<usize>) -> Result<Box<dyn Node<T>>, Error>,
    ) -> Result<Box<dyn Node<T>>, Error> {
        self.links.push(Arc::clone(tx.stats()));
        path.push(self.row(name, Role::Link));
        let head = rest(self, path)?;
        self.segments
            .push(pending(Input::Ring { rx, name }, make(), head));
        Ok(Box::new(RingNode {
            tx: Some(tx),
            scratch: make(),
        }))
    }

    fn link_name(&self, link: &Link) -> &'static str {
        link.name()
            .unwrap_or_else(|| crate::link::default_name(self.links.len()))
    }

    /// Builds the nodes for the audio-frame part of a chain starting at `elements`' front.
    pub(crate) fn audio(
        &mut self,
        elements: &mut VecDeque<Element>,
        tail: Option<Tail>,
        fmt: AudioFormat,
        max: usize,
        up: &'static str,
        path: Vec<usize>,
    ) -> Result<Box<dyn Node<AudioFrame>>, Error> {
        let Some(e) = elements.pop_front() else {
            return match tail {
                Some(Tail::Audio(sink)) => Ok(self.sink(sink, path)),
                Some(Tail::Packets(sink)) => Err(Error::ItemMismatch {
                    upstream: up,
                    downstream: sink.name(),
                    carries: "audio frames",
                    expects: "packets",
                }),
                None => Err(no_sink(up)),
            };
        };
        match e {
            Element::Stage(stage) => {
                if stage.input_format() != fmt {
                    return Err(Error::FormatMismatch {
                        upstream: up,
                        downstream: stage.name(),
                        output: fmt,
                        input: stage.input_format(),
                    });
                }
                if max > stage.max_input_frames() {
                    return Err(Error::FrameSizeMismatch {
                        upstream: up,
                        downstream: stage.name(),
                        frames: max,
                        max_frames: stage.max_input_frames(),
                    });
                }
                let name = stage.name();
                let out_fmt = stage.output_format();
                let out_max = stage.max_output_frames().max(1);
                let mut path = path;
                path.push(self.row(name, Role::Stage));
                let next = self.audio(elements, tail, out_fmt, out_max, name, path)?;
                Ok(Box::new(AudioStageNode {
                    name,
                    stage,
                    out: AudioFrame::with_capacity(out_fmt, out_max),
                    next,
                }))
            }
            Element::Encoder(enc) => {
                if let Some(want) = enc.input_format()
                    && want != fmt
                {
                    return Err(Error::FormatMismatch {
                        upstream: up,
                        downstream: enc.name(),
                        output: fmt,
                        input: want,
                    });
                }
                if let Some(n) = enc.input_frames()
                    && n != max
                {
                    // Regroup into the encoder's frame size: no frame is refused or cut.
                    elements.push_front(Element::Encoder(enc));
                    elements.push_front(Element::Stage(Box::new(Reframer::new(fmt, n, max))));
                    return self.audio(elements, tail, fmt, max, up, path);
                }
                let name = enc.name();
                let bytes = enc.max_output().unwrap_or(PACKET_CAPACITY).max(1);
                let mut path = path;
                path.push(self.row(name, Role::Stage));
                let next = self.packets(elements, tail, bytes, name, path)?;
                Ok(Box::new(PacketStageNode {
                    name,
                    stage: enc,
                    out: Packet::with_capacity(bytes),
                    next,
                    count_input: true,
                }))
            }
            Element::Boundary(link) => {
                let name = self.link_name(&link);
                let ring =
                    crate::link::frame_ring_in(fmt, max, link, name, Arc::clone(&self.stop))?;
                self.cut(
                    name,
                    ring,
                    path,
                    || AudioFrame::with_capacity(fmt, max),
                    |w, path| w.audio(elements, tail, fmt, max, name, path),
                )
            }
            Element::Tee(branch) => {
                let Branch {
                    elements: b,
                    tail: bt,
                } = branch;
                let mut b: VecDeque<Element> = b.into();
                let first = self.audio(&mut b, bt, fmt, max, up, path.clone())?;
                let rest = self.audio(elements, tail, fmt, max, up, path)?;
                Ok(Box::new(TeeNode {
                    branches: vec![first, rest],
                }))
            }
            e @ (Element::Packets(_) | Element::Decoder(_)) => {
                Err(mismatch(up, &e, "audio frames"))
            }
        }
    }

    /// Builds the nodes for the packet part of a chain starting at `elements`' front.
    pub(crate) fn packets(
        &mut self,
        elements: &mut VecDeque<Element>,
        tail: Option<Tail>,
        bytes: usize,
        up: &'static str,
        path: Vec<usize>,
    ) -> Result<Box<dyn Node<Packet>>, Error> {
        let Some(e) = elements.pop_front() else {
            return match tail {
                Some(Tail::Packets(sink)) => Ok(self.sink(sink, path)),
                Some(Tail::Audio(sink)) => Err(Error::ItemMismatch {
                    upstream: up,
                    downstream: sink.name(),
                    carries: "packets",
                    expects: "audio frames",
                }),
                None => Err(no_sink(up)),
            };
        };
        match e {
            Element::Packets(stage) => {
                let name = stage.name();
                let out = stage.max_output().unwrap_or(PACKET_CAPACITY).max(1);
                let mut path = path;
                path.push(self.row(name, Role::Stage));
                let next = self.packets(elements, tail, out, name, path)?;
                Ok(Box::new(PacketStageNode {
                    name,
                    stage,
                    out: Packet::with_capacity(out),
                    next,
                    count_input: false,
                }))
            }
            Element::Decoder(dec) => {
                let name = dec.name();
                let fmt = dec.output_format().ok_or_else(|| Error::InvalidConfig {
                    what: "decoder",
                    reason: format!("{name} does not report its output_format()"),
                })?;
                let max = dec
                    .max_output()
                    .unwrap_or_else(|| default_decoded_frames(fmt))
                    .max(1);
                let mut path = path;
                path.push(self.row(name, Role::Stage));
                let next = self.audio(elements, tail, fmt, max, name, path)?;
                Ok(Box::new(PacketStageNode {
                    name,
                    stage: dec,
                    out: AudioFrame::with_capacity(fmt, max),
                    next,
                    count_input: false,
                }))
            }
            Element::Boundary(link) => {
                let name = self.link_name(&link);
                let slots = link.item_slots()?;
                let ring = crate::ring::ring_in(
                    slots,
                    link.overflow(),
                    name,
                    Arc::clone(&self.stop),
                    || Packet::with_capacity(bytes),
                );
                self.cut(
                    name,
                    ring,
                    path,
                    || Packet::with_capacity(bytes),
                    |w, path| w.packets(elements, tail, bytes, name, path),
                )
            }
            Element::Tee(branch) => {
                let Branch {
                    elements: b,
                    tail: bt,
                } = branch;
                let mut b: VecDeque<Element> = b.into();
                let first = self.packets(&mut b, bt, bytes, up, path.clone())?;
                let rest = self.packets(elements, tail, bytes, up, path)?;
                Ok(Box::new(TeeNode {
                    branches: vec![first, rest],
                }))
            }
            e @ (Element::Stage(_) | Element::Encoder(_)) => Err(mismatch(up, &e, "packets")),
        }
    }
}
