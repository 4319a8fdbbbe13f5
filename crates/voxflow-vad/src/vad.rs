//! The [`Vad`] stage: any-format `AudioFrame`s in and out unchanged, one decision per 10 ms
//! recorded beside them.

use std::collections::VecDeque;

use voxflow_core::{AudioFormat, AudioFrame, AudioStage, MediaTime, StageEvent};
use voxflow_resample::{FrameSize, Preset, Resampler, ResamplerConfig};

use crate::error::Error;
use crate::model::{Decision, HOP, MODEL_RATE, ModelKind, SpeechModel};

/// Configuration of a [`Vad`].
#[derive(Clone, Debug, PartialEq)]
pub struct VadConfig {
    /// Format of the frames that will be pushed (any rate, any channel count).
    pub input: AudioFormat,
    /// The model to build.
    pub model: ModelKind,
    /// The decision rule that owns [`VadFrame::speech`]; `None` uses the model's
    /// [`SpeechModel::default_decision`]. It does not affect a `TurnDetector`'s turns (see
    /// [`TurnConfig`](crate::TurnConfig)).
    pub decision: Option<Decision>,
    /// Largest frame (in sample frames at the input rate) that the stage's `push` and
    /// [`Vad::analyze`] accept (and the most the stage's `poll` writes); larger frames are fine
    /// with [`Vad::process`], which splits them. Default: 100 ms.
    pub max_input_frames: usize,
}

impl VadConfig {
    /// The default model and decision for frames of `input` format.
    pub fn new(input: AudioFormat) -> Self {
        VadConfig {
            input,
            model: ModelKind::default(),
            decision: None,
            max_input_frames: (input.rate as usize / 10).max(1),
        }
    }

    /// Chooses the model.
    pub fn model(mut self, model: ModelKind) -> Self {
        self.model = model;
        self
    }

    /// Overrides the decision rule.
    pub fn decision(mut self, decision: Decision) -> Self {
        self.decision = Some(decision);
        self
    }
}

/// The result for one 10 ms frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VadFrame {
    /// Start of the frame on the input timeline (at 16 kHz: derived from the first pushed
    /// frame's pts plus samples processed).
    pub pts: MediaTime,
    /// Speech probability from the model (layer 1 of the decision path: the model owns it).
    pub probability: f32,
    /// The decision of the [`Vad`]'s [`Decision`] rule (hysteresis `on`/`off` + `hangover`;
    /// layer 2: the rule owns it). Segments, evaluation and [`StageEvent::Voice`] use this flag;
    /// a `TurnDetector` does not (it thresholds `probability` itself, see
    /// [`TurnConfig`](crate::TurnConfig)).
    pub speech: bool,
}

impl VadFrame {
    /// End of the frame (pts + 10 ms).
    pub fn end(&self) -> MediaTime {
        self.pts + MediaTime::new(HOP as i64, MODEL_RATE)
    }
}

/// Events a [`Vad`] or `TurnDetector` keeps for [`AudioStage::poll_event`] before the oldest is
/// dropped (a driver drains after every call, so a push raises at most a few).
pub(crate) const EVENT_QUEUE: usize = 64;

/// Streaming voice activity detector: resamples/downmixes to 16 kHz mono once (voxflow-resample,
/// `LowLatency` preset; a passthrough regrouping when the input already is 16 kHz mono), runs a
/// [`SpeechModel`] per 10 ms and applies the [`Decision`] rule.
///
/// **Who decides what.** The model gives a probability per 10 ms; the `Decision` (the model's
/// [`default_decision`](SpeechModel::default_decision) unless [`VadConfig::decision`] overrides
/// it) owns the `speech` flag of every [`VadFrame`], which the segments, the evaluation and the
/// [`StageEvent::Voice`] edges use. A `TurnDetector` reads the same probabilities but owns its
/// own onset/offset thresholds ([`TurnConfig`](crate::TurnConfig) `activation`/`deactivation`).
///
/// Two ways to drive it, both sans-IO and allocation-free after construction:
///
/// - **As a pass-through [`AudioStage`]** (in a chain, or as `Box<dyn AudioStage>`): `push` a
///   frame, `poll` gives the same frame back (same samples, pts and trace; the buffer is swapped
///   with the one you poll into, not copied again), and the decisions made during the `push`
///   are recorded: [`last_decision`](Vad::last_decision), [`speech_frames`](Vad::speech_frames),
///   [`frames_decided`](Vad::frames_decided), and a [`StageEvent::Voice`] on every change of the
///   decision, taken with `poll_event` (drain after every `push` and `finish`). The stage holds
///   one frame: drain `poll` before the next `push` (a second push fails with
///   [`FrameTooLarge`](voxflow_core::Error::FrameTooLarge), nothing changed). Its output `delay`
///   is zero; decisions lag the audio by the resampler delay and the grouping into 10 ms.
/// - **For the decisions only** (evaluation, offline listings):
///   [`process`](Vad::process) calls you back with every [`VadFrame`] (and splits large
///   frames); or [`analyze`](Vad::analyze) a frame, then [`poll_decision`](Vad::poll_decision)
///   until `None`. These do not hold the audio. Decisions made this way are recorded (and raise
///   `Voice` events) just the same.
pub struct Vad {
    resampler: Resampler,
    model: Box<dyn SpeechModel>,
    decision: Decision,
    out: AudioFrame,
    hop: [f32; HOP],
    active: bool,
    hang: u32,
    chunk: AudioFrame,
    max_input: usize,
    input: AudioFormat,
    record: Record,
    pub(crate) pass: PassThrough,
}

/// What the decisions so far were, and the edge events not yet taken.
struct Record {
    last: Option<VadFrame>,
    decided: u64,
    speech: u64,
    events: VecDeque<StageEvent>,
    raise_events: bool,
}

impl Record {
    fn note(&mut self, v: VadFrame) {
        let was = self.last.is_some_and(|l| l.speech);
        if self.raise_events && v.speech != was {
            if self.events.len() == EVENT_QUEUE {
                self.events.pop_front();
            }
            self.events.push_back(StageEvent::Voice {
                speech: v.speech,
                at: v.pts,
            });
        }
        self.last = Some(v);
        self.decided += 1;
        self.speech += u64::from(v.speech);
    }

    fn reset(&mut self) {
        self.last = None;
        self.decided = 0;
        self.speech = 0;
    }
}

/// The one-frame hold of a pass-through stage: `push` copies the input in (the one copy
/// `AudioStage::push(&AudioFrame)` requires), `poll` swaps it out.
pub(crate) struct PassThrough {
    slot: AudioFrame,
    held: bool,
    format: AudioFormat,
    max: usize,
}

impl PassThrough {
    fn new(format: AudioFormat, max: usize) -> Self {
        PassThrough {
            slot: AudioFrame::with_capacity(format, max),
            held: false,
            format,
            max,
        }
    }

    /// Fails, changing nothing, when `input` has the wrong format, is too large, or the held
    /// frame has not been polled yet.
    pub(crate) fn check(&self, input: &AudioFrame) -> Result<(), voxflow_core::Error> {
        if input.format() != self.format {
            return Err(voxflow_core::Error::FormatMismatch {
                expected: self.format,
                actual: input.format(),
            });
        }
        let room = if self.held { 0 } else { self.max };
        if input.frames() > room {
            return Err(voxflow_core::Error::FrameTooLarge {
                max_frames: room,
                frames: input.frames(),
            });
        }
        Ok(())
    }

    /// Copies `input` into the slot (after [`check`](Self::check)).
    pub(crate) fn hold(&mut self, input: &AudioFrame) -> Result<(), voxflow_core::Error> {
        if self.slot.copy_from(input).is_err() {
            // The slot is the buffer of a frame the caller polled into, smaller than
            // `max_output_frames` (outside the real-time contract): grow it once.
            self.slot.reset(input.format());
            self.slot.reserve_frames(input.frames());
            self.slot.copy_from(input)?;
        }
        self.held = true;
        Ok(())
    }

    /// Forgets the held frame (its push failed after all).
    pub(crate) fn drop_held(&mut self) {
        self.held = false;
    }

    /// Hands the held frame out by swapping buffers with `out`.
    pub(crate) fn take(&mut self, out: &mut AudioFrame) -> bool {
        if !self.held {
            return false;
        }
        std::mem::swap(out, &mut self.slot);
        self.held = false;
        true
    }
}

impl std::fmt::Debug for Vad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vad")
            .field("model", &self.model.name())
            .field("decision", &self.decision)
            .field("input", &self.input)
            .finish_non_exhaustive()
    }
}

impl Vad {
    /// Builds the configured model and the resampler.
    pub fn new(config: VadConfig) -> Result<Self, Error> {
        let model = config.model.build()?;
        Self::with_model(config, model)
    }

    /// Uses your own model (`config.model` is ignored).
    pub fn with_model(config: VadConfig, model: Box<dyn SpeechModel>) -> Result<Self, Error> {
        let decision = config.decision.unwrap_or_else(|| model.default_decision());
        decision.validate()?;
        if config.max_input_frames == 0 {
            return Err(Error::InvalidConfig {
                what: "max_input_frames",
                reason: "must be > 0".into(),
            });
        }
        let out_fmt = AudioFormat::new(MODEL_RATE, 1).map_err(|e| Error::InvalidConfig {
            what: "format",
            reason: e.to_string(),
        })?;
        let resampler = Resampler::new(
            ResamplerConfig::new(config.input, out_fmt)
                .preset(Preset::LowLatency)
                .frame(FrameSize::Frames(HOP))
                .max_input_frames(config.max_input_frames),
        )?;
        let out = AudioFrame::with_capacity(out_fmt, resampler.max_output_frames().max(HOP));
        let record = Record {
            last: None,
            decided: 0,
            speech: 0,
            events: VecDeque::with_capacity(EVENT_QUEUE),
            raise_events: true,
        };
        Ok(Vad {
            resampler,
            model,
            decision,
            out,
            hop: [0.0; HOP],
            active: false,
            hang: 0,
            chunk: AudioFrame::with_capacity(config.input, config.max_input_frames),
            max_input: config.max_input_frames,
            input: config.input,
            record,
            pass: PassThrough::new(config.input, config.max_input_frames),
        })
    }

    /// The input format.
    pub fn input_format(&self) -> AudioFormat {
        self.input
    }

    /// The decision rule in use: it owns every [`VadFrame::speech`] flag.
    pub fn decision(&self) -> Decision {
        self.decision
    }

    /// The model's name.
    pub fn model_name(&self) -> &'static str {
        self.model.name()
    }

    /// Largest frame [`analyze`](Vad::analyze) and the stage's `push` accept.
    pub fn max_input_frames(&self) -> usize {
        self.max_input
    }

    /// The most recent decision (`None` before the first 10 ms were analysed, and after
    /// [`reset`](Vad::reset)).
    pub fn last_decision(&self) -> Option<VadFrame> {
        self.record.last
    }

    /// Decisions made (10 ms frames analysed) since construction or the last reset.
    pub fn frames_decided(&self) -> u64 {
        self.record.decided
    }

    /// Of [`frames_decided`](Vad::frames_decided), those whose decision was speech.
    pub fn speech_frames(&self) -> u64 {
        self.record.speech
    }

    /// Stops queueing [`StageEvent::Voice`] (a `TurnDetector` that wraps this VAD raises its
    /// own events instead).
    pub(crate) fn mute_events(&mut self) {
        self.record.raise_events = false;
        self.record.events.clear();
    }

    /// Delay of the internal resampler (already removed from the pts).
    pub fn resampler_delay(&self) -> MediaTime {
        self.resampler.delay()
    }

    /// Pushes one frame (at most `max_input_frames` long) for analysis only (the audio is not
    /// kept for output); then call [`poll_decision`](Vad::poll_decision) until it returns
    /// `None`.
    pub fn analyze(&mut self, frame: &AudioFrame) -> Result<(), Error> {
        self.resampler.push(frame).map_err(Error::Resample)
    }

    /// Signals the end of the analysed stream: the resampler's tail is flushed (call
    /// [`poll_decision`](Vad::poll_decision) again after this).
    pub fn finish_analysis(&mut self) -> Result<(), Error> {
        self.resampler.finish().map_err(Error::Resample)
    }

    /// The next 10 ms result, or `None` when more input is needed.
    pub fn poll_decision(&mut self) -> Result<Option<VadFrame>, Error> {
        let got = self
            .resampler
            .poll(&mut self.out)
            .map_err(Error::Resample)?;
        if !got {
            return Ok(None);
        }
        let s = self.out.samples();
        let n = s.len().min(HOP);
        self.hop[..n].copy_from_slice(&s[..n]);
        self.hop[n..].fill(0.0);
        Ok(Some(self.run_hop()))
    }

    fn run_hop(&mut self) -> VadFrame {
        let p = self.model.process(&self.hop);
        let p = if p.is_finite() {
            p.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let speech = self.decide(p);
        let v = VadFrame {
            pts: self.out.pts(),
            probability: p,
            speech,
        };
        self.record.note(v);
        v
    }

    fn decide(&mut self, p: f32) -> bool {
        if self.active {
            if p < self.decision.off {
                self.active = false;
                self.hang = self.decision.hangover;
            }
        } else if p >= self.decision.on {
            self.active = true;
        }
        if self.active {
            true
        } else if self.hang > 0 {
            self.hang -= 1;
            true
        } else {
            false
        }
    }

    /// The 16 kHz mono samples of the frame last returned by
    /// [`poll_decision`](Vad::poll_decision) (what the model saw; NaN/inf are not yet replaced
    /// here).
    pub fn frame_audio(&self) -> &[f32; HOP] {
        &self.hop
    }

    /// Pushes a frame of any length (split into `max_input_frames` pieces) and calls `f` for
    /// every 10 ms result. No allocation.
    pub fn process(
        &mut self,
        frame: &AudioFrame,
        mut f: impl FnMut(&VadFrame, &[f32; HOP]),
    ) -> Result<(), Error> {
        if frame.frames() <= self.max_input {
            self.analyze(frame)?;
            return self.drain(f);
        }
        let ch = usize::from(frame.channels());
        let rate = frame.rate();
        let mut start = 0;
        while start < frame.frames() {
            let n = (frame.frames() - start).min(self.max_input);
            self.chunk.reset(frame.format());
            self.chunk
                .extend_from_interleaved(&frame.samples()[start * ch..(start + n) * ch])
                .map_err(|e| Error::InvalidConfig {
                    what: "frame",
                    reason: e.to_string(),
                })?;
            self.chunk
                .set_pts(frame.pts() + MediaTime::new(start as i64, rate));
            self.resampler.push(&self.chunk).map_err(Error::Resample)?;
            self.drain(&mut f)?;
            start += n;
        }
        Ok(())
    }

    /// Calls `f` with every 10 ms result the pushed input completes.
    pub(crate) fn drain(&mut self, mut f: impl FnMut(&VadFrame, &[f32; HOP])) -> Result<(), Error> {
        while let Some(v) = self.poll_decision()? {
            f(&v, &self.hop);
        }
        Ok(())
    }

    /// Pushes `input` into the analysis resampler only (the stage paths check it first).
    pub(crate) fn push_analysis(&mut self, input: &AudioFrame) -> Result<(), voxflow_core::Error> {
        self.resampler.push(input)
    }

    /// Flushes the end of the stream through `f` (calls
    /// [`finish_analysis`](Vad::finish_analysis) and polls).
    pub fn flush(&mut self, f: impl FnMut(&VadFrame, &[f32; HOP])) -> Result<(), Error> {
        self.finish_analysis()?;
        self.drain(f)
    }

    /// Resets the resampler, the model, the decision state, the recorded decisions and the held
    /// frame (a new stream). Events not yet taken are kept.
    pub fn reset(&mut self) {
        self.resampler.reset();
        self.model.reset();
        self.active = false;
        self.hang = 0;
        self.record.reset();
        self.pass.drop_held();
    }
}

/// The pass-through stage: frames out unchanged, decisions recorded, [`StageEvent::Voice`] on
/// each decision edge. See [`Vad`].
impl AudioStage for Vad {
    fn name(&self) -> &'static str {
        "vad"
    }

    fn input_format(&self) -> AudioFormat {
        self.input
    }

    fn output_format(&self) -> AudioFormat {
        self.input
    }

    fn max_input_frames(&self) -> usize {
        self.max_input
    }

    fn max_output_frames(&self) -> usize {
        self.max_input
    }

    /// Analyses the frame at once (its decisions and events are ready when this returns) and
    /// holds it for `poll`. An empty frame is accepted and produces nothing.
    fn push(&mut self, input: &AudioFrame) -> Result<(), voxflow_core::Error> {
        self.pass.check(input)?;
        if input.is_empty() {
            return Ok(());
        }
        self.pass.hold(input)?;
        if let Err(e) = self.push_analysis(input) {
            self.pass.drop_held();
            return Err(e);
        }
        self.drain(|_, _| {})?;
        Ok(())
    }

    fn poll(&mut self, out: &mut AudioFrame) -> Result<bool, voxflow_core::Error> {
        Ok(self.pass.take(out))
    }

    /// Flushes the analysis tail: the last decisions (and their events) are made here.
    fn finish(&mut self) -> Result<(), voxflow_core::Error> {
        self.flush(|_, _| {})?;
        Ok(())
    }

    fn reset(&mut self) {
        Vad::reset(self);
    }

    fn poll_event(&mut self) -> Option<StageEvent> {
        self.record.events.pop_front()
    }
}

/// A speech segment (start and end on the input timeline).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    /// Start of the first speech frame.
    pub start: MediaTime,
    /// End of the last speech frame.
    pub end: MediaTime,
}

/// Runs the VAD over a whole buffer of interleaved samples and returns the speech segments
/// (runs of frames whose decision is speech). Allocates the result; for offline use
/// (`voxflow vad FILE`).
pub fn segments(config: VadConfig, samples: &[f32]) -> Result<Vec<Segment>, Error> {
    let mut vad = Vad::new(config)?;
    let frame = AudioFrame::from_interleaved(vad.input_format(), samples.to_vec(), MediaTime::ZERO)
        .map_err(|e| Error::InvalidConfig {
            what: "samples",
            reason: e.to_string(),
        })?;
    let mut segs = Vec::new();
    let mut open: Option<MediaTime> = None;
    let mut last_end = MediaTime::ZERO;
    let mut on = |v: &VadFrame, _: &[f32; HOP]| {
        match (v.speech, open) {
            (true, None) => open = Some(v.pts),
            (false, Some(s)) => {
                segs.push(Segment {
                    start: s,
                    end: v.pts,
                });
                open = None;
            }
            _ => {}
        }
        last_end = v.end();
    };
    vad.process(&frame, &mut on)?;
    vad.flush(&mut on)?;
    if let Some(s) = open {
        segs.push(Segment {
            start: s,
            end: last_end,
        });
    }
    Ok(segs)
}
