//! Describing a pipeline: the boxed builder (configuration at run time, checked when built)
//! and the walk that turns a description into chains of nodes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use voxflow_core::{
    AudioFormat, AudioFrame, AudioSink, AudioSource, AudioStage, Packet, PacketSink, PacketSource,
    PacketStage, Reframer,
};

use crate::chain::{DropWatch, Input, Read, Runnable, Segment};
use crate::event::Event;
use crate::flow::Flow;
use crate::node::{AudioStageNode, Node, PacketStageNode, RingNode, SinkNode, SinkState, TeeNode};
use crate::pacer::{Pacer, Pacing};
use crate::recorder::Recorder;
use crate::report::Role;
use crate::shared::Shared;
use crate::{Clock, Error, Histogram, Link, LinkStats, SystemClock};

/// An encoder as the pipeline holds it: audio frames in, packets out.
pub type BoxedEncoder = Box<dyn PacketStage<Input = AudioFrame, Output = Packet>>;
/// A packet → packet stage (packetizer, RTP rewriter) as the pipeline holds it.
pub type BoxedPacketStage = Box<dyn PacketStage<Input = Packet, Output = Packet>>;
/// A packet → frame stage (decoder, jitter buffer) as the pipeline holds it.
pub type BoxedDecoder = Box<dyn PacketStage<Input = Packet, Output = AudioFrame>>;

/// Bytes pre-allocated for each packet a stage writes into, when the stage does not say
/// ([`PacketStage::max_output`]); reused for every packet.
pub const PACKET_CAPACITY: usize = 4000;

/// Most sample frames a packet → frame stage writes when it does not say (120 ms at its rate,
/// the longest Opus packet).
fn default_decoded_frames(fmt: AudioFormat) -> usize {
    (fmt.rate as usize * 120 / 1000).max(1)
}

pub(crate) enum Element {
    Stage(Box<dyn AudioStage>),
    Encoder(BoxedEncoder),
    Packets(BoxedPacketStage),
    Decoder(BoxedDecoder),
    Boundary(Link),
    Tee(Branch),
}

impl Element {
    fn describe(&self) -> &'static str {
        match self {
            Element::Stage(s) => s.name(),
            Element::Encoder(s) => s.name(),
            Element::Packets(s) => s.name(),
            Element::Decoder(s) => s.name(),
            Element::Boundary(l) => l.name().unwrap_or("a boundary"),
            Element::Tee(_) => "a tee",
        }
    }
}

pub(crate) enum Tail {
    Audio(Box<dyn AudioSink>),
    Packets(Box<dyn PacketSink>),
}

pub(crate) enum SourceBox {
    Audio(Box<dyn AudioSource>),
    Packets(Box<dyn PacketSource>),
}

/// A second path for the stream at the point where it is attached with
/// [`PipelineBuilder::tee`]: its own elements and its own sink. The item is not copied: each
/// branch reads the same frame (a branch that crosses a [`boundary`](Self::boundary) copies it
/// once, into its ring).
///
/// ```
/// use voxflow_core::{AudioFormat, Reframer};
/// use voxflow_pipeline::{Branch, Pipeline, sinks::{CollectSink, NullSink}, sources::Sine};
/// let fmt = AudioFormat::new(48_000, 1).unwrap();
/// let analysis = CollectSink::new();
/// let collected = analysis.collected();
/// let report = Pipeline::builder()
///     .source(Sine::new(fmt, 440.0, 480).frames(48_000))
///     .tee(Branch::new().stage(Reframer::new(fmt, 960, 480)).sink(analysis))
///     .sink(NullSink::new())
///     .spawn().unwrap()
///     .wait().unwrap();
/// assert_eq!(collected.samples().len(), 48_000);
/// assert_eq!(report.frames_out, 100 + 50); // both sinks count
/// ```
#[derive(Default)]
pub struct Branch {
    pub(crate) elements: Vec<Element>,
    pub(crate) tail: Option<Tail>,
}

impl std::fmt::Debug for Branch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.elements.iter().map(Element::describe).collect();
        f.debug_struct("Branch")
            .field("elements", &names)
            .finish_non_exhaustive()
    }
}

macro_rules! element_methods {
    () => {
        /// Appends a frame → frame stage (resampler, VAD, gain), fused on the same thread as
        /// the element before it.
        pub fn stage(self, stage: impl AudioStage + 'static) -> Self {
            self.stage_boxed(Box::new(stage))
        }

        /// Appends a frame → frame stage given as a trait object.
        pub fn stage_boxed(mut self, stage: Box<dyn AudioStage>) -> Self {
            self.push(Element::Stage(stage));
            self
        }

        /// Appends a frame → packet stage (an encoder). Its input format is checked when the
        /// pipeline is built, and when it needs frames of a fixed size
        /// ([`PacketStage::input_frames`]) a [`Reframer`] is inserted in front of it if the
        /// frames arriving can differ. Packets come out; what follows must take packets.
        pub fn encoder(
            self,
            encoder: impl PacketStage<Input = AudioFrame, Output = Packet> + 'static,
        ) -> Self {
            self.encoder_boxed(Box::new(encoder))
        }

        /// Appends an encoder given as a trait object (see [`encoder`](Self::encoder)).
        pub fn encoder_boxed(mut self, encoder: BoxedEncoder) -> Self {
            self.push(Element::Encoder(encoder));
            self
        }

        /// Appends a packet → packet stage (a packetizer).
        pub fn packet_stage(
            self,
            stage: impl PacketStage<Input = Packet, Output = Packet> + 'static,
        ) -> Self {
            self.packet_stage_boxed(Box::new(stage))
        }

        /// Appends a packet → packet stage given as a trait object.
        pub fn packet_stage_boxed(mut self, stage: BoxedPacketStage) -> Self {
            self.push(Element::Packets(stage));
            self
        }

        /// Appends a packet → frame stage (a decoder, a jitter buffer). It must report its
        /// [`output_format`](PacketStage::output_format).
        pub fn decoder(
            self,
            decoder: impl PacketStage<Input = Packet, Output = AudioFrame> + 'static,
        ) -> Self {
            self.decoder_boxed(Box::new(decoder))
        }

        /// Appends a packet → frame stage given as a trait object.
        pub fn decoder_boxed(mut self, decoder: BoxedDecoder) -> Self {
            self.push(Element::Decoder(decoder));
            self
        }

        /// Appends a thread boundary: the elements after it run in another chain, fed through
        /// a lock-free ring described by `link` (frames or packets, whichever flows there).
        pub fn boundary(mut self, link: Link) -> Self {
            self.push(Element::Boundary(link));
            self
        }

        /// Feeds the stream at this point to `branch` as well (its own elements and sink),
        /// then goes on with the elements that follow.
        pub fn tee(mut self, branch: Branch) -> Self {
            self.push(Element::Tee(branch));
            self
        }

        /// Ends the chain with an audio sink.
        pub fn sink(self, sink: impl AudioSink + 'static) -> Self {
            self.sink_boxed(Box::new(sink))
        }

        /// Ends the chain with an audio sink given as a trait object.
        pub fn sink_boxed(mut self, sink: Box<dyn AudioSink>) -> Self {
            self.set_tail(Tail::Audio(sink));
            self
        }

        /// Ends the chain with a packet sink (after an encoder or a packet source).
        pub fn packet_sink(self, sink: impl PacketSink + 'static) -> Self {
            self.packet_sink_boxed(Box::new(sink))
        }

        /// Ends the chain with a packet sink given as a trait object.
        pub fn packet_sink_boxed(mut self, sink: Box<dyn PacketSink>) -> Self {
            self.set_tail(Tail::Packets(sink));
            self
        }
    };
}

impl Branch {
    /// An empty branch.
    pub fn new() -> Self {
        Branch::default()
    }

    fn push(&mut self, e: Element) {
        self.elements.push(e);
    }

    fn set_tail(&mut self, t: Tail) {
        self.tail = Some(t);
    }

    element_methods!();
}

/// Entry point: `Pipeline::builder()`.
#[derive(Debug)]
pub struct Pipeline;

impl Pipeline {
    /// A new, empty builder.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder {
            source: None,
            main: Branch::new(),
            two_sinks: false,
            pacing: Pacing::AsFastAsPossible,
            clock: Arc::new(SystemClock),
            event_capacity: 1024,
            report_interval: Duration::from_millis(100),
            budget: 64,
        }
    }
}

/// Describes a pipeline at run time: one source (frames or packets), elements, and one sink;
/// [`tee`](Self::tee) adds branches, [`boundary`](Self::boundary) cuts it into chains that run
/// on different threads. Nothing runs until [`spawn`](Self::spawn) (a thread per chain),
/// [`Scheduler::spawn`](crate::Scheduler::spawn) (many pipelines on a few threads) or
/// [`build`](Self::build) (you drive the chains).
///
/// Every neighbour pair is checked when the pipeline is built: item type (frames vs packets),
/// format and frame size; a mismatch is an [`Error`] naming both sides. For the same checks at
/// compile time use [`ChainBuilder`](crate::ChainBuilder).
pub struct PipelineBuilder {
    source: Option<SourceBox>,
    main: Branch,
    two_sinks: bool,
    pacing: Pacing,
    clock: Arc<dyn Clock>,
    event_capacity: usize,
    report_interval: Duration,
    budget: usize,
}

impl std::fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = self.source.as_ref().map(|s| match s {
            SourceBox::Audio(s) => s.name(),
            SourceBox::Packets(s) => s.name(),
        });
        f.debug_struct("PipelineBuilder")
            .field("source", &source)
            .field("main", &self.main)
            .field("pacing", &self.pacing)
            .finish_non_exhaustive()
    }
}

impl PipelineBuilder {
    /// Sets an audio source.
    pub fn source(self, source: impl AudioSource + 'static) -> Self {
        self.source_boxed(Box::new(source))
    }

    /// Sets an audio source from a trait object.
    pub fn source_boxed(mut self, source: Box<dyn AudioSource>) -> Self {
        self.source = Some(SourceBox::Audio(source));
        self
    }

    /// Sets a packet source (an Ogg reader, an RTP receiver).
    pub fn packet_source(self, source: impl PacketSource + 'static) -> Self {
        self.packet_source_boxed(Box::new(source))
    }

    /// Sets a packet source from a trait object.
    pub fn packet_source_boxed(mut self, source: Box<dyn PacketSource>) -> Self {
        self.source = Some(SourceBox::Packets(source));
        self
    }

    fn push(&mut self, e: Element) {
        self.main.push(e);
    }

    fn set_tail(&mut self, t: Tail) {
        if self.main.tail.is_some() {
            self.two_sinks = true;
        }
        self.main.set_tail(t);
    }

    element_methods!();

    /// Sets the pacing (default [`Pacing::AsFastAsPossible`]).
    pub fn pacing(mut self, pacing: Pacing) -> Self {
        self.pacing = pacing;
        self
    }

    /// Sets the clock used for trace stamps and wall time (default [`SystemClock`]), and by
    /// [`spawn`](Self::spawn)'s threads for pacing.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Capacity of the event channel (default 1024; at least 1).
    pub fn event_capacity(mut self, n: usize) -> Self {
        self.event_capacity = n.max(1);
        self
    }

    /// How often sinks publish their histograms for `report()` (default 100 ms). The final
    /// report is always complete.
    pub fn report_interval(mut self, d: Duration) -> Self {
        self.report_interval = d;
        self
    }

    /// Most input items one poll of a chain processes before it returns (default 64; at least
    /// 1): the fairness slice when many chains share a thread.
    pub fn budget(mut self, items: usize) -> Self {
        self.budget = items.max(1);
        self
    }

    pub(crate) fn budget_items(&self) -> usize {
        self.budget
    }

    /// Checks the description and allocates every buffer, ring and histogram; returns the
    /// chains for you to drive with [`Chain::poll`](crate::Chain::poll) and the handle for
    /// events, control and reports. Nothing runs until you poll.
    pub fn build(self) -> Result<(Vec<crate::Chain>, crate::Handle), Error> {
        let budget = self.budget;
        let built = self.build_inner()?;
        let chains = built
            .runnables
            .into_iter()
            .map(|inner| crate::Chain { inner, budget })
            .collect();
        Ok((chains, built.handle))
    }

    pub(crate) fn build_inner(self) -> Result<Built, Error> {
        let PipelineBuilder {
            source,
            main,
            two_sinks,
            pacing,
            clock,
            event_capacity,
            report_interval,
            budget,
        } = self;
        let source = source.ok_or(Error::InvalidConfig {
            what: "source",
            reason: "no source was given".into(),
        })?;
        if two_sinks {
            return Err(Error::InvalidConfig {
                what: "sink",
                reason: "two sinks were given for one chain: use one, or a tee for a second".into(),
            });
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (event_tx, event_rx) = crossbeam_channel::bounded(event_capacity);
        let (control_tx, control_rx) = crossbeam_channel::bounded(16);
        let mut w = Walk {
            rows: Vec::new(),
            owned: Vec::new(),
            links: Vec::new(),
            segments: Vec::new(),
            sinks: 0,
            stop: Arc::clone(&stop),
            interval: report_interval,
        };
        let Branch { elements, tail } = main;
        let mut elements: VecDeque<Element> = elements.into();
        let first: PendingSegment = match source {
            SourceBox::Audio(src) => {
                let fmt = src.format();
                let max = src.max_frames();
                let name = src.name();
                if max == 0 {
                    return Err(Error::InvalidConfig {
                        what: "source",
                        reason: format!("{name} reports max_frames() == 0"),
                    });
                }
                let row = w.row(name, Role::Source);
                let head = w.audio(&mut elements, tail, fmt, max, name, vec![row])?;
                let src: Box<dyn Read<AudioFrame>> = Box::new(src);
                pending(
                    Input::Source {
                        src,
                        control: control_rx,
                        pacer: Pacer::new(pacing),
                    },
                    AudioFrame::with_capacity(fmt, max),
                    head,
                )
            }
            SourceBox::Packets(src) => {
                let name = src.name();
                let bytes = src.max_bytes().max(1);
                let row = w.row(name, Role::Source);
                let head = w.packets(&mut elements, tail, bytes, name, vec![row])?;
                let src: Box<dyn Read<Packet>> = Box::new(src);
                pending(
                    Input::Source {
                        src,
                        control: control_rx,
                        pacer: Pacer::new(pacing),
                    },
                    Packet::with_capacity(bytes),
                    head,
                )
            }
        };
        // The source's chain first: index 0, thread voxflow-0.
        let mut pendings = vec![first];
        pendings.extend(w.segments.drain(..).rev());
        let shared = Arc::new(Shared::new(
            stop,
            clock,
            w.links,
            w.rows,
            pendings.len(),
            w.sinks,
            event_tx,
        ));
        shared.emit(Event::Started);
        let runnables = pendings
            .into_iter()
            .enumerate()
            .map(|(i, p)| p(Arc::clone(&shared), i))
            .collect();
        let _ = budget;
        Ok(Built {
            runnables,
            handle: crate::Handle {
                shared,
                events: event_rx,
                control: control_tx,
            },
        })
    }
}

pub(crate) struct Built {
    pub(crate) runnables: Vec<Box<dyn Runnable>>,
    pub(crate) handle: crate::Handle,
}

type PendingSegment = Box<dyn FnOnce(Arc<Shared>, usize) -> Box<dyn Runnable>>;

fn pending<T: Flow + crate::RingItem>(
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
struct Walk {
    rows: Vec<(&'static str, Role)>,
    /// Whether some sink's recorder already publishes the row.
    owned: Vec<bool>,
    links: Vec<Arc<LinkStats>>,
    segments: Vec<PendingSegment>,
    sinks: usize,
    stop: Arc<AtomicBool>,
    interval: Duration,
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
    fn row(&mut self, name: &'static str, role: Role) -> usize {
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

    fn link_name(&self, link: &Link) -> &'static str {
        link.name()
            .unwrap_or_else(|| crate::link::default_name(self.links.len()))
    }

    /// Builds the nodes for the audio-frame part of a chain starting at `elements`' front.
    fn audio(
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
                Some(Tail::Audio(sink)) => {
                    let mut path = path;
                    path.push(self.row(sink.name(), Role::Sink));
                    let rec = self.recorder(&path);
                    Ok(Box::new(SinkNode {
                        sink,
                        state: SinkState { rec, done: false },
                        _item: std::marker::PhantomData,
                    }))
                }
                Some(Tail::Packets(sink)) => Err(Error::ItemMismatch {
                    upstream: up,
                    downstream: sink.name(),
                    carries: "audio frames",
                    expects: "packets",
                }),
                None => Err(Error::InvalidConfig {
                    what: "sink",
                    reason: format!("the chain after {up} has no sink"),
                }),
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
                let (tx, rx) =
                    crate::link::frame_ring_in(fmt, max, link, name, Arc::clone(&self.stop))?;
                self.links.push(Arc::clone(tx.stats()));
                let mut path = path;
                path.push(self.row(name, Role::Link));
                let head = self.audio(elements, tail, fmt, max, name, path)?;
                self.segments.push(pending(
                    Input::Ring { rx, name },
                    AudioFrame::with_capacity(fmt, max),
                    head,
                ));
                Ok(Box::new(RingNode {
                    tx: Some(tx),
                    scratch: AudioFrame::with_capacity(fmt, max),
                }))
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
    fn packets(
        &mut self,
        elements: &mut VecDeque<Element>,
        tail: Option<Tail>,
        bytes: usize,
        up: &'static str,
        path: Vec<usize>,
    ) -> Result<Box<dyn Node<Packet>>, Error> {
        let Some(e) = elements.pop_front() else {
            return match tail {
                Some(Tail::Packets(sink)) => {
                    let mut path = path;
                    path.push(self.row(sink.name(), Role::Sink));
                    let rec = self.recorder(&path);
                    Ok(Box::new(SinkNode {
                        sink,
                        state: SinkState { rec, done: false },
                        _item: std::marker::PhantomData,
                    }))
                }
                Some(Tail::Audio(sink)) => Err(Error::ItemMismatch {
                    upstream: up,
                    downstream: sink.name(),
                    carries: "packets",
                    expects: "audio frames",
                }),
                None => Err(Error::InvalidConfig {
                    what: "sink",
                    reason: format!("the chain after {up} has no sink"),
                }),
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
                let (tx, rx) = crate::ring::ring_in(
                    slots,
                    link.overflow(),
                    name,
                    Arc::clone(&self.stop),
                    || Packet::with_capacity(bytes),
                );
                self.links.push(Arc::clone(tx.stats()));
                let mut path = path;
                path.push(self.row(name, Role::Link));
                let head = self.packets(elements, tail, bytes, name, path)?;
                self.segments.push(pending(
                    Input::Ring { rx, name },
                    Packet::with_capacity(bytes),
                    head,
                ));
                Ok(Box::new(RingNode {
                    tx: Some(tx),
                    scratch: Packet::with_capacity(bytes),
                }))
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
