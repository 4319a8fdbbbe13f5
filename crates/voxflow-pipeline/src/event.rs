//! What a running chain tells its owner: events out, control in.

use std::time::Duration;

use voxflow_core::StageEvent;

/// Something that happened in a running pipeline, delivered on
/// [`Running::events`](crate::Running::events) (or a scheduled [`Session`](crate::Session)'s).
///
/// The channel is bounded (see [`PipelineBuilder::event_capacity`](crate::PipelineBuilder::event_capacity))
/// and never blocks a worker: when it is full, events are counted in
/// [`Report::events_lost`](crate::Report::events_lost) and discarded.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The pipeline is starting (always the first event).
    Started,
    /// The source produced its first frame (or packet), `after` spawn.
    FirstFrameIn {
        /// Time since spawn.
        after: Duration,
    },
    /// The first frame (or packet) reached a sink, `after` spawn.
    FirstFrameOut {
        /// Time since spawn.
        after: Duration,
    },
    /// A link dropped items (at most one event per link every 50 ms).
    Dropped {
        /// The link's name.
        link: &'static str,
        /// Items it has dropped so far.
        total: u64,
    },
    /// A stage raised an event beside its output (a speech onset, a turn end): see
    /// [`StageEvent`].
    Stage {
        /// The stage's name.
        stage: &'static str,
        /// What it raised.
        event: StageEvent,
    },
    /// An element returned a skippable error; the input was passed over and the stream goes on.
    Skipped {
        /// The element's name.
        stage: &'static str,
        /// The error's message.
        error: String,
    },
    /// An element failed; the pipeline is stopping and `wait` returns the error.
    Error {
        /// The element's name.
        stage: &'static str,
        /// The error's message.
        error: String,
    },
    /// The last sink has finished (end of stream, or `stopped` by a stop request or an error).
    Finished {
        /// True when the pipeline was stopped rather than running to the end of the source.
        stopped: bool,
    },
}

/// A control message to the source (sent by `stop` and `flush` on the running handle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Control {
    /// Stop now: every chain exits promptly, queued audio is discarded.
    Stop,
    /// End the input now: stop reading the source, let every stage finish and deliver what it
    /// holds to the sink, then end normally.
    Flush,
}
