//! Events a stage raises beside its output: speech onsets, turn ends, barge-in.
//!
//! A stage queues them and the driver takes them with `poll_event` after each call (the same
//! "drain until `None`" rule as for output), then delivers them on its own channel; stages stay
//! sans-IO. `voxflow-pipeline` forwards them as `Event::Stage`.

use std::time::Duration;

use crate::MediaTime;

/// Something a stage noticed that its output does not carry.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StageEvent {
    /// A voice activity detector's decision changed (raised on edges, not per frame).
    Voice {
        /// True at a speech onset, false at its end.
        speech: bool,
        /// Start of the 10 ms analysis frame where the decision changed.
        at: MediaTime,
    },
    /// A turn detector's event.
    Turn(TurnEvent),
    /// An event of your own stage: a static kind, where it happened, and one value (a level,
    /// a count). Allocation-free, so a stage may raise it from its real-time path.
    Custom {
        /// What happened (e.g. `"clipped"`).
        kind: &'static str,
        /// Where on the stage's timeline.
        at: MediaTime,
        /// A value that goes with it.
        value: f64,
    },
}

/// Events of a turn detector (`voxflow-vad`'s `TurnDetector`): reply on pause, barge-in.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum TurnEvent {
    /// `min_speech` of speech was seen; `at` is the start of its first speech frame.
    SpeechStarted {
        /// Start of the first speech frame.
        at: MediaTime,
    },
    /// The turn ended: `min_silence` of pause (or `max_turn` reached).
    TurnEnded {
        /// The whole utterance, mono at `rate`, from `started_at - pre_roll` to `ended_at`.
        audio: Vec<f32>,
        /// Sample rate of `audio`.
        rate: u32,
        /// Start of the first speech frame.
        started_at: MediaTime,
        /// End of the last speech frame (for a capped turn: the cap).
        ended_at: MediaTime,
        /// Stream position at which the event was emitted (end of the frame that completed
        /// `min_silence`): `detected_at - ended_at == min_silence` for a normal end.
        detected_at: MediaTime,
        /// True when the turn was ended by `max_turn`.
        capped: bool,
    },
    /// Speech started while the application had marked its reply as playing (barge-in).
    /// Playing is cleared when this is emitted.
    Interrupted {
        /// Start of the first speech frame.
        at: MediaTime,
        /// How much reply audio had been played when the speech started.
        played: Duration,
    },
}

impl From<TurnEvent> for StageEvent {
    fn from(e: TurnEvent) -> Self {
        StageEvent::Turn(e)
    }
}
