//! Describing a pipeline: the boxed builder (configuration at run time, checked when built)
//! and the walk that turns a description into chains of nodes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use voxflow_core::{
    AudioFrame, AudioSink, AudioSource, AudioStage, Packet, PacketSink, PacketSource, PacketStage,
};

use crate::chain::{Input, Read};
use crate::event::Event;
use crate::pacer::{Pacer, Pacing};
use crate::report::Role;
use crate::shared::Shared;
use crate::walk::{Built, PendingSegment, Walk, pending};
use crate::{Clock, Error, Link, SystemClock};

/// An encoder as the pipeline holds it: audio frames in, packets out.
pub type BoxedEncoder = Box<dyn PacketStage<Input = AudioFrame, Output = Packet>>;
/// A packet → packet stage (packetizer, RTP rewriter) as the pipeline holds it.
pub type BoxedPacketStage = Box<dyn PacketStage<Input = Packet, Output = Packet>>;
/// A packet → frame stage (decoder, jitter buffer) as the pipeline holds it.
pub type BoxedDecoder = Box<dyn PacketStage<Input = Packet, Output = AudioFrame>>;

/// Bytes pre-allocated for each packet a stage writes into, when the stage does not say
/// ([`PacketStage::max_output`]); reused for every packet.
pub const PACKET_CAPACITY: usize = 4000;

pub(crate) enum Element {
    Stage(Box<dyn AudioStage>),
    Encoder(BoxedEncoder),
    Packets(BoxedPacketStage),
    Decoder(BoxedDecoder),
    Boundary(Link),
    Tee(Branch),
}

impl Element {
    pub(crate) fn describe(&self) -> &'static str {
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
        /// ([`PacketStage::input_frames`]) a [`Reframer`](voxflow_core::Reframer) is inserted in front of it if the
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
            budget: _,
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
        let mut w = Walk::new(Arc::clone(&stop), report_interval);
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
