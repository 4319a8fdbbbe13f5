//! The typed builder: the same pipelines as [`PipelineBuilder`], with item types checked by the
//! compiler. A stage that takes packets cannot follow one that writes frames.

use std::marker::PhantomData;
use std::sync::Arc;

use voxflow_core::{
    AudioFrame, AudioSink, AudioSource, AudioStage, Packet, PacketSink, PacketSource, PacketStage,
};

use crate::builder::Branch;
use crate::{Clock, Link, Pacing, Pipeline, PipelineBuilder};

/// The methods that fit where frames flow, for both typed builders.
macro_rules! frame_methods {
    ($builder:ident) => {
        /// Appends a frame → frame stage.
        pub fn stage(self, stage: impl AudioStage + 'static) -> Self {
            self.map(|b| b.stage(stage))
        }

        /// Appends an encoder: frames in, packets out.
        pub fn encoder(
            self,
            encoder: impl PacketStage<Input = AudioFrame, Output = Packet> + 'static,
        ) -> $builder<Packet> {
            self.map(|b| b.encoder(encoder))
        }
    };
}

/// The methods that fit where packets flow, for both typed builders.
macro_rules! packet_methods {
    ($builder:ident) => {
        /// Appends a packet → packet stage.
        pub fn packet_stage(
            self,
            stage: impl PacketStage<Input = Packet, Output = Packet> + 'static,
        ) -> Self {
            self.map(|b| b.packet_stage(stage))
        }

        /// Appends a decoder or jitter buffer: packets in, frames out.
        pub fn decoder(
            self,
            decoder: impl PacketStage<Input = Packet, Output = AudioFrame> + 'static,
        ) -> $builder<AudioFrame> {
            self.map(|b| b.decoder(decoder))
        }
    };
}

/// A pipeline being described, whose stream at this point carries `T` ([`AudioFrame`] or
/// [`Packet`]). Methods exist only where they fit: `stage` on frames, `packet_stage` on packets,
/// `encoder` turns frames into packets, `decoder` packets into frames. A sink ends it and gives
/// back the [`PipelineBuilder`] to spawn, schedule or build. Formats and frame sizes are still
/// checked when the pipeline is built.
///
/// ```
/// use voxflow_core::AudioFormat;
/// use voxflow_pipeline::{ChainBuilder, sinks::NullSink, sources::Sine};
/// let fmt = AudioFormat::new(16_000, 1).unwrap();
/// let report = ChainBuilder::from_source(Sine::new(fmt, 300.0, 160).frames(16_000))
///     .tee(|vad| vad.sink(NullSink::new()))
///     .sink(NullSink::new())
///     .spawn().unwrap()
///     .wait().unwrap();
/// assert_eq!(report.sample_frames_in, 16_000);
/// ```
///
/// Mixing up the domains does not compile:
///
/// ```compile_fail
/// use voxflow_core::AudioFormat;
/// use voxflow_pipeline::{ChainBuilder, sinks::NullSink, sources::Sine, sinks::CollectPackets};
/// let fmt = AudioFormat::new(16_000, 1).unwrap();
/// // A packet sink straight after an audio source: no encoder in between.
/// let sink = CollectPackets::new();
/// ChainBuilder::from_source(Sine::new(fmt, 300.0, 160)).sink(sink);
/// ```
pub struct ChainBuilder<T> {
    inner: PipelineBuilder,
    _item: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for ChainBuilder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T> ChainBuilder<T> {
    fn map<U>(self, f: impl FnOnce(PipelineBuilder) -> PipelineBuilder) -> ChainBuilder<U> {
        ChainBuilder {
            inner: f(self.inner),
            _item: PhantomData,
        }
    }

    /// A thread boundary: what follows runs in another chain, fed through a ring.
    pub fn boundary(self, link: Link) -> Self {
        self.map(|b| b.boundary(link))
    }

    /// Sets the pacing (see [`PipelineBuilder::pacing`]).
    pub fn pacing(self, pacing: Pacing) -> Self {
        self.map(|b| b.pacing(pacing))
    }

    /// Sets the clock (see [`PipelineBuilder::clock`]).
    pub fn clock(self, clock: Arc<dyn Clock>) -> Self {
        self.map(|b| b.clock(clock))
    }

    /// Feeds the stream at this point to a branch as well; `f` describes it and ends it with a
    /// sink.
    pub fn tee(self, f: impl FnOnce(BranchBuilder<T>) -> Tee) -> Self {
        let Tee(branch) = f(BranchBuilder {
            inner: Branch::new(),
            _item: PhantomData,
        });
        self.map(|b| b.tee(branch))
    }
}

impl ChainBuilder<AudioFrame> {
    /// Starts from an audio source.
    pub fn from_source(source: impl AudioSource + 'static) -> Self {
        ChainBuilder {
            inner: Pipeline::builder().source(source),
            _item: PhantomData,
        }
    }

    frame_methods!(ChainBuilder);

    /// Ends the chain with an audio sink.
    pub fn sink(self, sink: impl AudioSink + 'static) -> PipelineBuilder {
        self.inner.sink(sink)
    }
}

impl ChainBuilder<Packet> {
    /// Starts from a packet source.
    pub fn from_packets(source: impl PacketSource + 'static) -> Self {
        ChainBuilder {
            inner: Pipeline::builder().packet_source(source),
            _item: PhantomData,
        }
    }

    packet_methods!(ChainBuilder);

    /// Ends the chain with a packet sink.
    pub fn sink(self, sink: impl PacketSink + 'static) -> PipelineBuilder {
        self.inner.packet_sink(sink)
    }
}

/// A branch being described for [`ChainBuilder::tee`], carrying `T` at this point.
pub struct BranchBuilder<T> {
    inner: Branch,
    _item: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for BranchBuilder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

/// A finished branch (ended by a sink), for [`ChainBuilder::tee`].
#[derive(Debug)]
pub struct Tee(Branch);

impl<T> BranchBuilder<T> {
    fn map<U>(self, f: impl FnOnce(Branch) -> Branch) -> BranchBuilder<U> {
        BranchBuilder {
            inner: f(self.inner),
            _item: PhantomData,
        }
    }

    /// A thread boundary inside the branch.
    pub fn boundary(self, link: Link) -> Self {
        self.map(|b| b.boundary(link))
    }
}

impl BranchBuilder<AudioFrame> {
    frame_methods!(BranchBuilder);

    /// Ends the branch with an audio sink.
    pub fn sink(self, sink: impl AudioSink + 'static) -> Tee {
        Tee(self.inner.sink(sink))
    }
}

impl BranchBuilder<Packet> {
    packet_methods!(BranchBuilder);

    /// Ends the branch with a packet sink.
    pub fn sink(self, sink: impl PacketSink + 'static) -> Tee {
        Tee(self.inner.packet_sink(sink))
    }
}
