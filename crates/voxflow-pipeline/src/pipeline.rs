//! The builder, the running handle and the worker threads.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use voxflow_core::{
    AudioFrame, AudioSink, AudioSource, AudioStage, MediaTime, Packet, PacketSink, PacketStage,
    Trace,
};

/// An encoder as the pipeline holds it: audio frames in, packets out.
pub type BoxedEncoder = Box<dyn PacketStage<Input = AudioFrame, Output = Packet>>;

/// Bytes pre-allocated for the packet the encoder writes into (reused for every packet).
pub const PACKET_CAPACITY: usize = 4000;

use crate::link::{RingReceiver, RingSender, default_name, frame_ring_in};
use crate::report::{LatencyStats, LinkReport, Report, Role, StageLatency};
use crate::{Clock, Error, Histogram, Link, LinkStats, SystemClock};

/// How fast the source is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pacing {
    /// Read as fast as the slowest element (or a [`Overflow::Block`](crate::Overflow::Block)
    /// ring) allows: files, batch jobs, tests.
    #[default]
    AsFastAsPossible,
    /// Read in real time against the pipeline's [`Clock`]: the source thread never runs more
    /// than `lead` ahead of wall time measured from the first frame (frame pts against elapsed
    /// time). Use it when streaming to a network peer. `lead` should be at least one frame.
    RealTime {
        /// How far ahead of wall time the source may run.
        lead: Duration,
    },
}

/// Something that happened in a running pipeline, delivered on [`Running::events`].
///
/// The channel is bounded (see [`PipelineBuilder::event_capacity`]) and never blocks a worker:
/// when it is full, events are counted in [`Report::events_lost`] and discarded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The pipeline is starting (always the first event).
    Started,
    /// The source produced its first frame, `after` spawn.
    FirstFrameIn {
        /// Time since spawn.
        after: Duration,
    },
    /// The first frame reached the sink, `after` spawn.
    FirstFrameOut {
        /// Time since spawn.
        after: Duration,
    },
    /// A link dropped frames (at most one event per link every 50 ms).
    Dropped {
        /// The link's name.
        link: &'static str,
        /// Frames it has dropped so far.
        total: u64,
    },
    /// An element returned a skippable error; the input was passed over and the stream goes on.
    Skipped {
        /// The element's name.
        stage: &'static str,
        /// The error's message.
        error: String,
    },
    /// An element failed; the pipeline is stopping and [`Running::wait`] returns the error.
    Error {
        /// The element's name.
        stage: &'static str,
        /// The error's message.
        error: String,
    },
    /// The sink has finished (end of stream, or `stopped` by a stop request or an error).
    Finished {
        /// True when the pipeline was stopped rather than running to the end of the source.
        stopped: bool,
    },
}

/// A control message to the source thread (sent by [`Running::stop`] and [`Running::flush`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Control {
    /// Stop now: every thread exits promptly, queued audio is discarded.
    Stop,
    /// End the input now: stop reading the source, let every stage finish and deliver what it
    /// holds to the sink, then end normally.
    Flush,
}

enum Item {
    Stage(Box<dyn AudioStage>),
    Boundary(Link),
}

/// Entry point: `Pipeline::builder()`.
#[derive(Debug)]
pub struct Pipeline;

impl Pipeline {
    /// A new, empty builder.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder {
            source: None,
            items: Vec::new(),
            sink: None,
            encoder: None,
            packet_sink: None,
            after_encoder: None,
            pacing: Pacing::AsFastAsPossible,
            clock: Arc::new(SystemClock),
            event_capacity: 1024,
            report_interval: Duration::from_millis(100),
        }
    }
}

/// Describes a pipeline: one source, stages (fused on one thread unless separated by a
/// [`boundary`](Self::boundary)), and either one audio sink or a packet tail (an
/// [`encoder`](Self::encoder) followed by a [`packet_sink`](Self::packet_sink)). Nothing runs
/// until [`spawn`](Self::spawn).
pub struct PipelineBuilder {
    source: Option<Box<dyn AudioSource>>,
    items: Vec<Item>,
    sink: Option<Box<dyn AudioSink>>,
    encoder: Option<BoxedEncoder>,
    packet_sink: Option<Box<dyn PacketSink>>,
    /// What was added after the encoder (a configuration error reported at spawn).
    after_encoder: Option<&'static str>,
    pacing: Pacing,
    clock: Arc<dyn Clock>,
    event_capacity: usize,
    report_interval: Duration,
}

impl std::fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("source", &self.source.as_ref().map(|s| s.name()))
            .field("items", &self.items.len())
            .field("sink", &self.sink.as_ref().map(|s| s.name()))
            .field("encoder", &self.encoder.as_ref().map(|s| s.name()))
            .field("packet_sink", &self.packet_sink.as_ref().map(|s| s.name()))
            .field("pacing", &self.pacing)
            .finish_non_exhaustive()
    }
}

impl PipelineBuilder {
    /// Sets the source.
    pub fn source(self, source: impl AudioSource + 'static) -> Self {
        self.source_boxed(Box::new(source))
    }

    /// Sets the source from a trait object.
    pub fn source_boxed(mut self, source: Box<dyn AudioSource>) -> Self {
        self.source = Some(source);
        self
    }

    /// Appends a stage, fused on the same thread as the element before it.
    pub fn stage(self, stage: impl AudioStage + 'static) -> Self {
        self.stage_boxed(Box::new(stage))
    }

    /// Appends a stage given as a trait object.
    pub fn stage_boxed(mut self, stage: Box<dyn AudioStage>) -> Self {
        if self.encoder.is_some() {
            self.after_encoder.get_or_insert(stage.name());
        }
        self.items.push(Item::Stage(stage));
        self
    }

    /// Appends a thread boundary: the elements after it run on a new thread, fed through a
    /// lock-free ring described by `link`.
    pub fn boundary(mut self, link: Link) -> Self {
        if self.encoder.is_some() {
            self.after_encoder.get_or_insert("a boundary");
        }
        self.items.push(Item::Boundary(link));
        self
    }

    /// Sets the sink.
    pub fn sink(self, sink: impl AudioSink + 'static) -> Self {
        self.sink_boxed(Box::new(sink))
    }

    /// Sets the sink from a trait object.
    pub fn sink_boxed(mut self, sink: Box<dyn AudioSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Ends the audio chain with an encoder (frames in, packets out). It runs fused on the
    /// thread of the last segment, after every stage and boundary (adding a stage or a boundary
    /// after it is an [`Error::Config`] at spawn), and must be followed by a
    /// [`packet_sink`](Self::packet_sink) instead of a [`sink`](Self::sink).
    ///
    /// Per frame the runtime pushes the frame with `now`, then polls packets until `poll`
    /// returns false, each into one pre-allocated [`Packet`] of [`PACKET_CAPACITY`] bytes,
    /// stamps the packet's trace with the encoder's name and then the packet sink's, and writes
    /// it. At the end of the stream it calls the encoder's `finish(now)`, drains it, then calls
    /// the packet sink's `finish`. The encoder must copy the frame's trace into its packets
    /// (packets without a trace origin, e.g. an encoder's flush packets, are written and counted
    /// but not recorded in the latency report). The runtime cannot check the encoder's input
    /// format: a mismatch shows as the encoder's error on the first frame.
    pub fn encoder(
        self,
        encoder: impl PacketStage<Input = AudioFrame, Output = Packet> + 'static,
    ) -> Self {
        self.encoder_boxed(Box::new(encoder))
    }

    /// Sets the encoder from a trait object (see [`encoder`](Self::encoder)).
    pub fn encoder_boxed(mut self, encoder: BoxedEncoder) -> Self {
        self.encoder = Some(encoder);
        self
    }

    /// Sets the packet sink that takes the [`encoder`](Self::encoder)'s packets (instead of
    /// an audio [`sink`](Self::sink)).
    pub fn packet_sink(self, sink: impl PacketSink + 'static) -> Self {
        self.packet_sink_boxed(Box::new(sink))
    }

    /// Sets the packet sink from a trait object.
    pub fn packet_sink_boxed(mut self, sink: Box<dyn PacketSink>) -> Self {
        self.packet_sink = Some(sink);
        self
    }

    /// Sets the pacing (default [`Pacing::AsFastAsPossible`]).
    pub fn pacing(mut self, pacing: Pacing) -> Self {
        self.pacing = pacing;
        self
    }

    /// Sets the clock used for trace stamps, pacing and wall time (default [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Capacity of the event channel (default 1024; at least 1).
    pub fn event_capacity(mut self, n: usize) -> Self {
        self.event_capacity = n.max(1);
        self
    }

    /// How often the sink thread publishes its histograms for [`Running::report`] (default
    /// 100 ms). The final report is always complete.
    pub fn report_interval(mut self, d: Duration) -> Self {
        self.report_interval = d;
        self
    }

    /// Checks the chain (formats and frame sizes must agree between neighbours), allocates
    /// every buffer, ring and histogram, and starts one named thread (`voxflow-0`, `voxflow-1`,
    /// …) per segment between boundaries.
    pub fn spawn(self) -> Result<Running, Error> {
        let PipelineBuilder {
            source,
            items,
            sink,
            encoder,
            packet_sink,
            after_encoder,
            pacing,
            clock,
            event_capacity,
            report_interval,
        } = self;
        let source = source.ok_or(Error::Config {
            what: "source",
            reason: "no source was given".into(),
        })?;
        if let Some(what) = after_encoder {
            return Err(Error::Config {
                what: "encoder",
                reason: format!(
                    "{what} was added after the encoder: the encoder must come after every stage and boundary"
                ),
            });
        }
        let tail = match (sink, encoder, packet_sink) {
            (Some(sink), None, None) => Tail::Audio(sink),
            (None, Some(enc), Some(psink)) => Tail::Packets(enc, psink),
            (None, None, None) => {
                return Err(Error::Config {
                    what: "sink",
                    reason: "no sink was given".into(),
                });
            }
            (Some(_), _, _) => {
                return Err(Error::Config {
                    what: "sink",
                    reason: "both an audio sink and an encoder/packet sink were given: use one"
                        .into(),
                });
            }
            (None, Some(_), None) => {
                return Err(Error::Config {
                    what: "packet_sink",
                    reason: "an encoder needs a packet sink after it".into(),
                });
            }
            (None, None, Some(_)) => {
                return Err(Error::Config {
                    what: "encoder",
                    reason: "a packet sink needs an encoder before it".into(),
                });
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let (event_tx, event_rx) = crossbeam_channel::bounded(event_capacity);
        let (control_tx, control_rx) = crossbeam_channel::bounded(16);

        // Walk the chain: check neighbours, allocate buffers and rings, cut into segments.
        let mut fmt = source.format();
        let mut max = source.max_frames();
        let mut up = source.name();
        if max == 0 {
            return Err(Error::Config {
                what: "source",
                reason: format!("{up} reports max_frames() == 0"),
            });
        }
        let mut rows = vec![(source.name(), Role::Source)];
        let mut links = Vec::new();
        let first_frame = AudioFrame::with_capacity(fmt, max);
        let mut segments: Vec<Segment> = Vec::new();
        let mut current = Segment {
            input: Input::Source {
                src: source,
                control: control_rx,
                pacer: Pacer::new(pacing),
            },
            frame: first_frame,
            stages: Vec::new(),
            output: None,
        };
        for item in items {
            match item {
                Item::Stage(stage) => {
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
                    fmt = stage.output_format();
                    max = stage.max_output_frames().max(1);
                    up = stage.name();
                    rows.push((up, Role::Stage));
                    current.stages.push(StageSlot {
                        name: up,
                        out: AudioFrame::with_capacity(fmt, max),
                        stage,
                    });
                }
                Item::Boundary(link) => {
                    let name = link
                        .given_name()
                        .unwrap_or_else(|| default_name(links.len()));
                    let (tx, rx) = frame_ring_in(fmt, max, link, name, Arc::clone(&stop))?;
                    links.push(Arc::clone(tx.stats()));
                    rows.push((name, Role::Link));
                    current.output = Some(Output::Ring(tx));
                    segments.push(current);
                    current = Segment {
                        input: Input::Ring { rx, name },
                        frame: AudioFrame::with_capacity(fmt, max),
                        stages: Vec::new(),
                        output: None,
                    };
                    up = name;
                }
            }
        }
        match &tail {
            Tail::Audio(sink) => rows.push((sink.name(), Role::Sink)),
            Tail::Packets(enc, psink) => {
                rows.push((enc.name(), Role::Stage));
                rows.push((psink.name(), Role::Sink));
            }
        }
        let names: Vec<&'static str> = rows.iter().map(|r| r.0).collect();
        let published = Published {
            hists: (0..rows.len()).map(|_| Histogram::new()).collect(),
            total: Histogram::new(),
        };
        let rt = Arc::new(Runtime {
            stop,
            stopped: AtomicBool::new(false),
            spawned_at: clock.now(),
            clock,
            links,
            rows,
            frames_in: AtomicU64::new(0),
            samples_in: AtomicU64::new(0),
            frames_out: AtomicU64::new(0),
            samples_out: AtomicU64::new(0),
            packets_out: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            first_in_ns: AtomicU64::new(NONE),
            first_out_ns: AtomicU64::new(NONE),
            end_ns: AtomicU64::new(NONE),
            alive: AtomicUsize::new(0),
            first_failed: AtomicUsize::new(usize::MAX),
            events: event_tx,
            events_lost: AtomicU64::new(0),
            published: Mutex::new(published),
        });
        let rec = Recorder {
            hists: names.iter().map(|_| Histogram::new()).collect(),
            names,
            total: Histogram::new(),
            last_publish: rt.spawned_at,
            interval: report_interval,
        };
        current.output = Some(match tail {
            Tail::Audio(sink) => Output::Sink { sink, rec },
            Tail::Packets(enc, sink) => Output::Packets(Box::new(PacketTail {
                enc_name: enc.name(),
                sink_name: sink.name(),
                enc,
                sink,
                packet: Packet::with_capacity(PACKET_CAPACITY),
                rec,
            })),
        });
        segments.push(current);

        let mut threads = Vec::with_capacity(segments.len());
        rt.alive.store(segments.len(), Ordering::Release);
        // Sent before the workers start, so it is always the first event.
        rt.emit(Event::Started);
        for (k, seg) in segments.into_iter().enumerate() {
            let name = format!("voxflow-{k}");
            let worker = Worker {
                rt: Arc::clone(&rt),
                seg,
                index: k,
                drops: DropWatch::default(),
            };
            match std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || worker.run())
            {
                Ok(h) => threads.push(h),
                Err(source) => {
                    rt.request_stop();
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
            rt,
            events: event_rx,
            control: control_tx,
        })
    }
}

const NONE: u64 = u64::MAX;

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(NONE - 1)
}

/// Histograms as last published by the sink thread.
struct Published {
    hists: Vec<Histogram>,
    total: Histogram,
}

/// State shared by the workers and the handle.
struct Runtime {
    stop: Arc<AtomicBool>,
    stopped: AtomicBool,
    clock: Arc<dyn Clock>,
    spawned_at: Instant,
    links: Vec<Arc<LinkStats>>,
    rows: Vec<(&'static str, Role)>,
    frames_in: AtomicU64,
    samples_in: AtomicU64,
    frames_out: AtomicU64,
    samples_out: AtomicU64,
    packets_out: AtomicU64,
    bytes_out: AtomicU64,
    skipped: AtomicU64,
    first_in_ns: AtomicU64,
    first_out_ns: AtomicU64,
    end_ns: AtomicU64,
    alive: AtomicUsize,
    first_failed: AtomicUsize,
    events: Sender<Event>,
    events_lost: AtomicU64,
    published: Mutex<Published>,
}

impl Runtime {
    fn emit(&self, e: Event) {
        if let Err(TrySendError::Full(_)) = self.events.try_send(e) {
            self.events_lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn request_stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.stop.store(true, Ordering::Release);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn since_spawn(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.spawned_at)
    }

    fn skip(&self, stage: &'static str, e: &voxflow_core::Error) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
        // Error path: formatting the message allocates.
        self.emit(Event::Skipped {
            stage,
            error: e.to_string(),
        });
    }

    fn published(&self) -> MutexGuard<'_, Published> {
        self.published.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn report(&self) -> Report {
        let (stages, total) = {
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
            (stages, LatencyStats::from_histogram(&p.total))
        };
        let opt = |a: &AtomicU64| match a.load(Ordering::Acquire) {
            NONE => None,
            ns => Some(Duration::from_nanos(ns)),
        };
        let finished = self.alive.load(Ordering::Acquire) == 0;
        let wall = opt(&self.end_ns).unwrap_or_else(|| self.since_spawn(self.clock.now()));
        Report {
            stages,
            total,
            first_frame_in: opt(&self.first_in_ns),
            first_frame_out: opt(&self.first_out_ns),
            frames_in: self.frames_in.load(Ordering::Acquire),
            samples_in: self.samples_in.load(Ordering::Acquire),
            frames_out: self.frames_out.load(Ordering::Acquire),
            samples_out: self.samples_out.load(Ordering::Acquire),
            packets_out: self.packets_out.load(Ordering::Acquire),
            bytes_out: self.bytes_out.load(Ordering::Acquire),
            skipped: self.skipped.load(Ordering::Acquire),
            wall,
            links: self
                .links
                .iter()
                .map(|l| LinkReport {
                    name: l.name(),
                    policy: l.policy(),
                    slots: l.slots(),
                    sent: l.sent(),
                    delivered: l.delivered(),
                    dropped: l.dropped(),
                })
                .collect(),
            finished,
            stopped: self.stopped.load(Ordering::Acquire),
            events_lost: self.events_lost.load(Ordering::Relaxed),
        }
    }
}

/// A running pipeline. Dropping it stops the pipeline and joins its threads.
pub struct Running {
    threads: Vec<JoinHandle<Result<(), Error>>>,
    rt: Arc<Runtime>,
    events: Receiver<Event>,
    control: Sender<Control>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("threads", &self.threads.len())
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl Running {
    /// Waits for every thread to end and returns the final report, or the first error (an
    /// element's [`Error::Stage`] with its name, or [`Error::Panicked`]). After
    /// [`stop`](Self::stop) it returns `Ok` with [`Report::stopped`] set.
    pub fn wait(mut self) -> Result<Report, Error> {
        let threads = std::mem::take(&mut self.threads);
        let mut errors: Vec<Option<Error>> = Vec::with_capacity(threads.len());
        for h in threads {
            let name = h.thread().name().unwrap_or("voxflow").to_string();
            errors.push(match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(payload) => {
                    let message = payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    Some(Error::Panicked {
                        thread: name,
                        message,
                    })
                }
            });
        }
        let first = self.rt.first_failed.load(Ordering::Acquire);
        if let Some(e) = errors.get_mut(first).and_then(Option::take) {
            return Err(e);
        }
        if let Some(e) = errors.into_iter().flatten().next() {
            return Err(e);
        }
        Ok(self.rt.report())
    }

    /// Asks every thread to stop now (a [`Control::Stop`] to the source thread, a stop flag
    /// and an unpark for every worker, so a producer blocked on a full ring exits too). Returns
    /// at once; [`wait`](Self::wait) joins. Queued audio is discarded; the sink's `finish` is
    /// still called, so files are left valid.
    pub fn stop(&self) {
        let _ = self.control.try_send(Control::Stop);
        self.rt.request_stop();
        for h in &self.threads {
            h.thread().unpark();
        }
    }

    /// Ends the input now and lets everything buffered drain to the sink (a
    /// [`Control::Flush`] to the source thread). Returns at once.
    pub fn flush(&self) {
        let _ = self.control.try_send(Control::Flush);
    }

    /// The event channel.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// A snapshot: counters are live, latency percentiles are as last published by the sink
    /// thread (at most [`report_interval`](PipelineBuilder::report_interval) old). Allocates.
    pub fn report(&self) -> Report {
        self.rt.report()
    }

    /// The live counters of every ring link, in pipeline order.
    pub fn links(&self) -> &[Arc<LinkStats>] {
        &self.rt.links
    }

    /// Frames dropped so far, summed over all links (per link: [`links`](Self::links)).
    pub fn dropped(&self) -> u64 {
        self.rt.links.iter().map(|l| l.dropped()).sum()
    }

    /// True once every worker thread has ended.
    pub fn is_finished(&self) -> bool {
        self.rt.alive.load(Ordering::Acquire) == 0
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

// ---------------------------------------------------------------------------------------------
// Workers

struct StageSlot {
    name: &'static str,
    stage: Box<dyn AudioStage>,
    out: AudioFrame,
}

enum Input {
    Source {
        src: Box<dyn AudioSource>,
        control: Receiver<Control>,
        pacer: Pacer,
    },
    Ring {
        rx: RingReceiver,
        name: &'static str,
    },
}

enum Output {
    Ring(RingSender),
    Sink {
        sink: Box<dyn AudioSink>,
        rec: Recorder,
    },
    Packets(Box<PacketTail>),
}

/// What ends the chain, as given to the builder.
enum Tail {
    Audio(Box<dyn AudioSink>),
    Packets(BoxedEncoder, Box<dyn PacketSink>),
}

/// The encoder and packet sink at the end of the last segment.
struct PacketTail {
    enc_name: &'static str,
    sink_name: &'static str,
    enc: BoxedEncoder,
    sink: Box<dyn PacketSink>,
    /// Pre-allocated at spawn, reused for every packet.
    packet: Packet,
    rec: Recorder,
}

impl PacketTail {
    /// Pushes one frame into the encoder and writes every packet it yields.
    fn push(&mut self, rt: &Runtime, frame: &AudioFrame) -> Result<(), Halt> {
        match self.enc.push(frame, rt.clock.now()) {
            Ok(()) => {}
            Err(e) if e.is_skippable() => {
                rt.skip(self.enc_name, &e);
                return Ok(());
            }
            Err(e) => return Err(stage_err(self.enc_name, e)),
        }
        rt.frames_out.fetch_add(1, Ordering::Relaxed);
        rt.samples_out
            .fetch_add(frame.samples().len() as u64, Ordering::Relaxed);
        self.drain(rt)
    }

    /// Polls the encoder until it has nothing more, writing each packet to the sink.
    fn drain(&mut self, rt: &Runtime) -> Result<(), Halt> {
        loop {
            match self.enc.poll(&mut self.packet, rt.clock.now()) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) if e.is_skippable() => {
                    rt.skip(self.enc_name, &e);
                    return Ok(());
                }
                Err(e) => return Err(stage_err(self.enc_name, e)),
            }
            // Flush packets carry no trace: written and counted, not recorded.
            let traced = self.packet.trace.origin().is_some();
            self.packet.trace.stamp(self.enc_name, rt.clock.now());
            let now = rt.clock.now();
            self.packet.trace.stamp(self.sink_name, now);
            if rt.first_out_ns.load(Ordering::Relaxed) == NONE {
                let after = rt.since_spawn(now);
                rt.first_out_ns.store(nanos(after), Ordering::Release);
                rt.emit(Event::FirstFrameOut { after });
            }
            match self.sink.write(&self.packet) {
                Ok(()) => {}
                Err(e) if e.is_skippable() => {
                    rt.skip(self.sink_name, &e);
                    continue;
                }
                Err(e) => return Err(stage_err(self.sink_name, e)),
            }
            rt.packets_out.fetch_add(1, Ordering::Relaxed);
            rt.bytes_out
                .fetch_add(self.packet.len() as u64, Ordering::Relaxed);
            if traced {
                self.rec.record(&self.packet.trace);
            }
            self.rec.maybe_publish(rt, now);
        }
    }

    /// End of stream: finish and drain the encoder, then finish the sink.
    fn finish(mut self: Box<Self>, rt: &Runtime) -> Result<(), Halt> {
        let drained = match self.enc.finish(rt.clock.now()) {
            Ok(()) => self.drain(rt),
            Err(e) if e.is_skippable() => {
                rt.skip(self.enc_name, &e);
                self.drain(rt)
            }
            Err(e) => Err(stage_err(self.enc_name, e)),
        };
        let r = self.sink.finish();
        finish_sink(rt, &self.rec);
        drained?;
        r.map_err(|e| stage_err(self.sink_name, e))
    }
}

struct Segment {
    input: Input,
    frame: AudioFrame,
    stages: Vec<StageSlot>,
    output: Option<Output>,
}

/// Why processing stopped early.
enum Halt {
    Stop,
    Fail(Error),
}

impl From<Error> for Halt {
    fn from(e: Error) -> Self {
        Halt::Fail(e)
    }
}

enum Next {
    Frame,
    Skip,
    End,
    Stop,
}

/// Real-time pacing state of the source thread.
struct Pacer {
    lead: Option<Duration>,
    /// Instant and pts of the first frame.
    start: Option<(Instant, MediaTime)>,
    /// Expected end of the next frame (end of the last + its duration).
    next_end: MediaTime,
}

impl Pacer {
    fn new(p: Pacing) -> Self {
        Pacer {
            lead: match p {
                Pacing::AsFastAsPossible => None,
                Pacing::RealTime { lead } => Some(lead),
            },
            start: None,
            next_end: MediaTime::ZERO,
        }
    }

    /// Waits until reading the next frame keeps the source within `lead` of wall time.
    /// Returns false when a stop was requested meanwhile.
    fn wait(&self, rt: &Runtime) -> bool {
        let (Some(lead), Some((t0, p0))) = (self.lead, self.start) else {
            return true;
        };
        let ahead = (self.next_end - p0).to_duration().unwrap_or(Duration::ZERO);
        let Some(wait) = ahead.checked_sub(lead) else {
            return true;
        };
        let target = t0 + wait;
        loop {
            let now = rt.clock.now();
            if now >= target {
                return true;
            }
            if rt.stopping() {
                return false;
            }
            // Short slices so a stop request is seen within ~5 ms.
            rt.clock
                .sleep_until(target.min(now + Duration::from_millis(5)));
        }
    }

    fn frame_read(&mut self, f: &AudioFrame, now: Instant) {
        if self.lead.is_none() {
            return;
        }
        if self.start.is_none() {
            self.start = Some((now, f.pts()));
        }
        self.next_end = f.end() + f.duration();
    }
}

/// Per-span histograms kept by the sink thread; published to the handle now and then.
struct Recorder {
    names: Vec<&'static str>,
    hists: Vec<Histogram>,
    total: Histogram,
    last_publish: Instant,
    interval: Duration,
}

impl Recorder {
    fn record(&mut self, trace: &Trace) {
        // Match spans to rows in pipeline order (names may repeat).
        let mut cursor = 0;
        for (name, d) in trace.spans() {
            if let Some(j) = self.names[cursor..].iter().position(|&n| n == name) {
                self.hists[cursor + j].record(d);
                cursor += j + 1;
            }
        }
        if let Some(t) = trace.total() {
            self.total.record(t);
        }
    }

    fn copy_into(&self, p: &mut Published) {
        for (dst, src) in p.hists.iter_mut().zip(self.hists.iter()) {
            dst.copy_from(src);
        }
        p.total.copy_from(&self.total);
    }

    /// Publishes if the interval has passed and the lock is free (never waits).
    fn maybe_publish(&mut self, rt: &Runtime, now: Instant) {
        if now.saturating_duration_since(self.last_publish) < self.interval {
            return;
        }
        if let Ok(mut p) = rt.published.try_lock() {
            self.copy_into(&mut p);
            self.last_publish = now;
        }
    }

    fn publish_final(&self, rt: &Runtime) {
        let mut p = rt.published();
        self.copy_into(&mut p);
    }
}

/// Rate-limits `Event::Dropped`.
#[derive(Default)]
struct DropWatch {
    seen: [u64; 2],
    last: [Option<Instant>; 2],
}

impl DropWatch {
    fn check(&mut self, rt: &Runtime, side: usize, stats: &LinkStats) {
        let d = stats.dropped();
        if d == self.seen[side] {
            return;
        }
        let now = rt.clock.now();
        if self.last[side].is_none_or(|t| now.saturating_duration_since(t) >= DROP_EVENT_EVERY) {
            self.seen[side] = d;
            self.last[side] = Some(now);
            rt.emit(Event::Dropped {
                link: stats.name(),
                total: d,
            });
        }
    }
}

const DROP_EVENT_EVERY: Duration = Duration::from_millis(50);

struct Worker {
    rt: Arc<Runtime>,
    seg: Segment,
    index: usize,
    drops: DropWatch,
}

/// Counts the worker out when it ends, and stops the pipeline if it unwinds.
struct ExitGuard<'a>(&'a Runtime);

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.request_stop();
        }
        self.0.alive.fetch_sub(1, Ordering::AcqRel);
    }
}

fn finish_sink(rt: &Runtime, rec: &Recorder) {
    rec.publish_final(rt);
    let end = rt.since_spawn(rt.clock.now());
    let _ = rt
        .end_ns
        .compare_exchange(NONE, nanos(end), Ordering::AcqRel, Ordering::Acquire);
    rt.emit(Event::Finished {
        stopped: rt.stopped.load(Ordering::Acquire),
    });
}

fn stage_err(stage: &'static str, source: voxflow_core::Error) -> Halt {
    Halt::Fail(Error::Stage { stage, source })
}

impl Worker {
    fn run(mut self) -> Result<(), Error> {
        let rt = Arc::clone(&self.rt);
        let _guard = ExitGuard(&rt);
        if let Input::Ring { rx, .. } = &self.seg.input {
            rx.register_current();
        }
        if let Some(Output::Ring(tx)) = &self.seg.output {
            tx.register_current();
        }
        match self.stream() {
            Ok(()) => Ok(()),
            Err(Halt::Stop) => {
                self.abort();
                Ok(())
            }
            Err(Halt::Fail(e)) => {
                let stage = match &e {
                    Error::Stage { stage, .. } => stage,
                    _ => "pipeline",
                };
                rt.emit(Event::Error {
                    stage,
                    error: e.to_string(),
                });
                let _ = rt.first_failed.compare_exchange(
                    usize::MAX,
                    self.index,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                rt.request_stop();
                self.abort();
                Err(e)
            }
        }
    }

    /// Runs the stream to its end.
    fn stream(&mut self) -> Result<(), Halt> {
        loop {
            if self.rt.stopping() {
                return Err(Halt::Stop);
            }
            match self.next_input()? {
                Next::Frame => {}
                Next::Skip => continue,
                Next::End => break,
                Next::Stop => return Err(Halt::Stop),
            }
            let Segment {
                frame,
                stages,
                output,
                ..
            } = &mut self.seg;
            let Some(output) = output.as_mut() else {
                return Err(Halt::Stop); // not reached: every segment has an output
            };
            process(&self.rt, stages, frame, output)?;
            if let Some(Output::Ring(tx)) = &self.seg.output {
                self.drops.check(&self.rt, 1, tx.stats());
            }
        }
        // End of stream: finish each stage in order and drain it through the rest.
        let Segment { stages, output, .. } = &mut self.seg;
        let Some(out) = output.as_mut() else {
            return Err(Halt::Stop);
        };
        for i in 0..stages.len() {
            let (head, tail) = stages.split_at_mut(i + 1);
            let st = &mut head[i];
            match st.stage.finish() {
                Ok(()) => {}
                Err(e) if e.is_skippable() => self.rt.skip(st.name, &e),
                Err(e) => return Err(stage_err(st.name, e)),
            }
            drain(&self.rt, st, tail, out)?;
        }
        match output.take() {
            Some(Output::Ring(mut tx)) => {
                tx.close();
                Ok(())
            }
            Some(Output::Sink { mut sink, rec }) => {
                let r = sink.finish();
                finish_sink(&self.rt, &rec);
                r.map_err(|e| stage_err(sink.name(), e))
            }
            Some(Output::Packets(tail)) => tail.finish(&self.rt),
            None => Ok(()),
        }
    }

    /// Leaves without draining: close the outgoing ring, finish the sink (files stay valid).
    fn abort(&mut self) {
        match self.seg.output.take() {
            Some(Output::Ring(tx)) => drop(tx),
            Some(Output::Sink { mut sink, rec }) => {
                let _ = sink.finish();
                finish_sink(&self.rt, &rec);
            }
            Some(Output::Packets(mut tail)) => {
                let _ = tail.sink.finish();
                finish_sink(&self.rt, &tail.rec);
            }
            None => {}
        }
    }

    fn next_input(&mut self) -> Result<Next, Halt> {
        let rt = &*self.rt;
        let frame = &mut self.seg.frame;
        match &mut self.seg.input {
            Input::Source {
                src,
                control,
                pacer,
            } => {
                if let Ok(c) = control.try_recv() {
                    match c {
                        Control::Stop => {
                            rt.request_stop();
                            return Ok(Next::Stop);
                        }
                        Control::Flush => return Ok(Next::End),
                    }
                }
                if !pacer.wait(rt) {
                    return Ok(Next::Stop);
                }
                let t0 = rt.clock.now();
                frame.trace_mut().restart(t0);
                match src.read(frame) {
                    Ok(true) => {
                        if frame.trace().origin().is_none() {
                            frame.trace_mut().restart(t0);
                        }
                        let now = rt.clock.now();
                        frame.trace_mut().stamp(src.name(), now);
                        rt.frames_in.fetch_add(1, Ordering::Relaxed);
                        rt.samples_in
                            .fetch_add(frame.samples().len() as u64, Ordering::Relaxed);
                        if rt.first_in_ns.load(Ordering::Relaxed) == NONE {
                            let after = rt.since_spawn(now);
                            rt.first_in_ns.store(nanos(after), Ordering::Release);
                            rt.emit(Event::FirstFrameIn { after });
                        }
                        pacer.frame_read(frame, now);
                        Ok(Next::Frame)
                    }
                    Ok(false) => Ok(Next::End),
                    Err(e) if e.is_skippable() => {
                        rt.skip(src.name(), &e);
                        Ok(Next::Skip)
                    }
                    Err(e) => Err(stage_err(src.name(), e)),
                }
            }
            Input::Ring { rx, name } => {
                let got = rx.recv(frame)?;
                self.drops.check(rt, 0, rx.stats());
                if got {
                    frame.trace_mut().stamp(name, rt.clock.now());
                    Ok(Next::Frame)
                } else if rt.stopping() {
                    Ok(Next::Stop)
                } else {
                    Ok(Next::End)
                }
            }
        }
    }
}

/// Pushes `frame` through `stages` (each drained until `poll` returns false) into `output`.
fn process(
    rt: &Runtime,
    stages: &mut [StageSlot],
    frame: &mut AudioFrame,
    output: &mut Output,
) -> Result<(), Halt> {
    match stages.split_first_mut() {
        None => emit(rt, frame, output),
        Some((st, rest)) => {
            match st.stage.push(frame) {
                Ok(()) => {}
                Err(e) if e.is_skippable() => {
                    rt.skip(st.name, &e);
                    return Ok(());
                }
                Err(e) => return Err(stage_err(st.name, e)),
            }
            drain(rt, st, rest, output)
        }
    }
}

/// Polls `st` until it has nothing more, passing each frame on through `rest`.
fn drain(
    rt: &Runtime,
    st: &mut StageSlot,
    rest: &mut [StageSlot],
    output: &mut Output,
) -> Result<(), Halt> {
    loop {
        match st.stage.poll(&mut st.out) {
            Ok(true) => {
                st.out.trace_mut().stamp(st.name, rt.clock.now());
                process(rt, rest, &mut st.out, output)?;
            }
            Ok(false) => return Ok(()),
            Err(e) if e.is_skippable() => {
                rt.skip(st.name, &e);
                return Ok(());
            }
            Err(e) => return Err(stage_err(st.name, e)),
        }
    }
}

/// Hands a finished frame to the segment's output.
fn emit(rt: &Runtime, frame: &mut AudioFrame, output: &mut Output) -> Result<(), Halt> {
    match output {
        Output::Ring(tx) => match tx.send(frame) {
            Ok(_) => Ok(()),
            Err(Error::Closed(_)) => Err(Halt::Stop),
            Err(e) => Err(Halt::Fail(e)),
        },
        Output::Sink { sink, rec } => {
            let now = rt.clock.now();
            frame.trace_mut().stamp(sink.name(), now);
            if rt.first_out_ns.load(Ordering::Relaxed) == NONE {
                let after = rt.since_spawn(now);
                rt.first_out_ns.store(nanos(after), Ordering::Release);
                rt.emit(Event::FirstFrameOut { after });
            }
            match sink.write(frame) {
                Ok(()) => {}
                Err(e) if e.is_skippable() => {
                    rt.skip(sink.name(), &e);
                    return Ok(());
                }
                Err(e) => return Err(stage_err(sink.name(), e)),
            }
            rt.frames_out.fetch_add(1, Ordering::Relaxed);
            rt.samples_out
                .fetch_add(frame.samples().len() as u64, Ordering::Relaxed);
            rec.record(frame.trace());
            rec.maybe_publish(rt, now);
            Ok(())
        }
        Output::Packets(tail) => tail.push(rt, frame),
    }
}
