//! The pipeline's error type.

use voxflow_core::AudioFormat;

/// Errors from building or running a pipeline. Each variant's documentation says what to do:
/// **skip**, **reset** or **stop**. Skippable errors from stages never reach this type: the
/// runtime counts them ([`Report::skipped`](crate::Report::skipped)) and goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The builder was given an inconsistent or incomplete description (no source, no sink, a
    /// zero-capacity ring, …). **Stop**: fix the description; raised by
    /// [`PipelineBuilder::spawn`](crate::PipelineBuilder::spawn), never mid-stream.
    #[error("invalid pipeline: {what}: {reason}")]
    InvalidConfig {
        /// The element or setting that is wrong.
        what: &'static str,
        /// Why it is wrong.
        reason: String,
    },
    /// Two neighbours in the chain disagree on the audio format. **Stop**: put a resampler or
    /// remixer (e.g. `voxflow-resample`) between them.
    #[error("format mismatch between {upstream} ({output}) and {downstream} (expects {input})")]
    FormatMismatch {
        /// The element that produces the audio.
        upstream: &'static str,
        /// The stage that consumes it.
        downstream: &'static str,
        /// What `upstream` writes.
        output: AudioFormat,
        /// What `downstream` accepts.
        input: AudioFormat,
    },
    /// An element's frames can be larger than the next stage accepts. **Stop**: configure the
    /// next stage for larger inputs or put a [`Reframer`](voxflow_core::Reframer) in front of it.
    #[error(
        "{upstream} writes up to {frames} sample frames, but {downstream} accepts at most {max_frames}"
    )]
    FrameSizeMismatch {
        /// The element that produces the audio.
        upstream: &'static str,
        /// The stage that consumes it.
        downstream: &'static str,
        /// Largest frame `upstream` writes.
        frames: usize,
        /// Largest frame `downstream` accepts.
        max_frames: usize,
    },
    /// An element receives the wrong kind of item: packets where it takes audio frames, or the
    /// reverse (an encoder or decoder missing between them). **Stop**: fix the description.
    #[error("{downstream} takes {expects}, but the chain carries {carries} after {upstream}")]
    ItemMismatch {
        /// The element before.
        upstream: &'static str,
        /// The element that cannot take what arrives.
        downstream: &'static str,
        /// What flows after `upstream`.
        carries: &'static str,
        /// What `downstream` takes.
        expects: &'static str,
    },
    /// The source produced input but nothing reached any sink, because every item was refused
    /// with a skippable error (counted in [`Report::skipped`](crate::Report::skipped); the
    /// `Skipped` events say why). **Stop**: the output is empty, which is not success.
    #[error(
        "nothing was delivered: all {skipped} skipped errors, no frame or packet reached a sink"
    )]
    NothingDelivered {
        /// Skipped errors counted.
        skipped: u64,
    },
    /// The operating system refused to start a worker thread. **Stop** (or retry later).
    #[error("cannot spawn thread {thread}: {source}")]
    Spawn {
        /// The thread's name.
        thread: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A source, stage or sink failed with an error that is not skippable. **Stop**: the
    /// pipeline has shut down; `stage` names the element (its `name()`).
    #[error("{}", stage_text(.stage, .source))]
    Stage {
        /// The element's name.
        stage: &'static str,
        /// What went wrong inside it.
        source: voxflow_core::Error,
    },
    /// A worker thread panicked (a bug in a stage or in this crate). **Stop**.
    #[error("worker thread {thread} panicked: {message}")]
    Panicked {
        /// The thread's name.
        thread: String,
        /// The panic message, when it was a string.
        message: String,
    },
    /// A ring link's other end has gone (its thread ended or the pipeline stopped). **Stop**.
    #[error("link {0} closed")]
    Closed(&'static str),
    /// A packet is longer than the slots of the ring it was sent on (see
    /// [`packet_ring`](crate::packet_ring)). **Skip** it, or size the ring for the largest
    /// packet.
    #[error("packet of {bytes} bytes exceeds the ring's {max_bytes}-byte slots")]
    PacketTooLarge {
        /// The packet's payload length.
        bytes: usize,
        /// The most a slot holds.
        max_bytes: usize,
    },
    /// Any other core error (e.g. an invalid format while building). What to do depends on the
    /// inner error ([`voxflow_core::Error::is_skippable`]).
    #[error(transparent)]
    Core(#[from] voxflow_core::Error),
}

impl From<Error> for voxflow_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Core(inner) => inner,
            Error::Stage { stage, source } => voxflow_core::Error::Stage {
                stage,
                source: Box::new(source),
            },
            Error::Closed(what) => voxflow_core::Error::Closed(what),
            other => voxflow_core::Error::Stage {
                stage: "pipeline",
                source: Box::new(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_both_ways_keeping_the_stage_name() {
        let e = Error::Stage {
            stage: "gain",
            source: voxflow_core::Error::Unsupported("x".into()),
        };
        let core: voxflow_core::Error = e.into();
        assert!(matches!(
            core,
            voxflow_core::Error::Stage { stage: "gain", .. }
        ));
        let back: Error = voxflow_core::Error::Closed("ring").into();
        assert!(matches!(
            back,
            Error::Core(voxflow_core::Error::Closed("ring"))
        ));
        let core2: voxflow_core::Error = Error::Closed("net").into();
        assert!(matches!(core2, voxflow_core::Error::Closed("net")));
    }
}

/// "stage NAME: what went wrong", naming the stage once even when the element's own error
/// already says which stage it came from (a core `Error::Stage` of the same name).
fn stage_text(stage: &str, source: &voxflow_core::Error) -> String {
    match source {
        voxflow_core::Error::Stage {
            stage: inner,
            source,
        } if *inner == stage => format!("stage {stage}: {source}"),
        other => format!("stage {stage}: {other}"),
    }
}

#[cfg(test)]
mod stage_text_tests {
    use super::*;

    #[test]
    fn a_stage_is_named_once() {
        let inner = std::io::Error::other("invalid state");
        let e = Error::Stage {
            stage: "opus",
            source: voxflow_core::Error::Stage {
                stage: "opus",
                source: Box::new(inner),
            },
        };
        assert_eq!(e.to_string(), "stage opus: invalid state");
        let e = Error::Stage {
            stage: "net",
            source: voxflow_core::Error::Closed("ring"),
        };
        assert_eq!(e.to_string(), "stage net: ring closed");
    }
}
