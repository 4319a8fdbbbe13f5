//! Turn detection (reply on pause, barge-in) over a [`Vad`].

use std::collections::VecDeque;
use std::time::Duration;

use voxflow_core::{AudioFormat, AudioFrame, AudioStage, MediaTime, StageEvent, TurnEvent};
use voxflow_resample::{FrameSize, Preset, Resampler, ResamplerConfig};

use crate::error::Error;
use crate::model::{HOP, MODEL_RATE};
use crate::vad::{EVENT_QUEUE, Vad, VadConfig, VadFrame};

const FRAME: Duration = Duration::from_millis(10);

/// Configuration of a [`TurnDetector`].
///
/// **Who decides what.** `activation`/`deactivation` own turn onset and offset: the detector
/// applies them, as its own hysteresis without hangover, to the model's raw probability per
/// 10 ms. The wrapped [`Vad`]'s [`Decision`](crate::Decision) (0.9/0.4 for the default model)
/// is not consulted for turns; it owns only [`VadFrame::speech`] (segments, evaluation,
/// `StageEvent::Voice`). The turn thresholds are lower because a turn needs the onset early and
/// gets its robustness from `min_speech` and `min_silence` instead.
#[derive(Clone, Debug, PartialEq)]
pub struct TurnConfig {
    /// Probability at which a frame starts counting as turn speech (`None`: the VAD decision's
    /// `on`). Default `Some(0.5)`, like the peers' (Silero) default threshold.
    pub activation: Option<f32>,
    /// Probability below which a speaking frame stops counting as turn speech (`None`: the
    /// VAD decision's `off`). Default `Some(0.35)` (activation − 0.15, as the peers do).
    pub deactivation: Option<f32>,
    /// Continuous speech needed before [`TurnEvent::SpeechStarted`] (default 100 ms).
    pub min_speech: Duration,
    /// The pause that ends a turn (default 700 ms).
    pub min_silence: Duration,
    /// Audio kept before the first speech frame and included in the turn's audio (default
    /// 300 ms).
    pub pre_roll: Duration,
    /// Hard cap on a turn: a turn this long ends (with `capped: true`) even without a pause;
    /// speech that goes on starts a new turn after `min_speech` (default 30 s).
    pub max_turn: Duration,
    /// Sample rate of [`TurnEvent::TurnEnded`]'s audio (mono; default 16 000 Hz).
    pub audio_rate: u32,
}

impl Default for TurnConfig {
    fn default() -> Self {
        TurnConfig {
            activation: Some(0.5),
            deactivation: Some(0.35),
            min_speech: Duration::from_millis(100),
            min_silence: Duration::from_millis(700),
            pre_roll: Duration::from_millis(300),
            max_turn: Duration::from_secs(30),
            audio_rate: MODEL_RATE,
        }
    }
}

/// Where the detector is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnState {
    /// No speech.
    Idle,
    /// Speech seen, shorter than `min_speech`.
    Pending,
    /// In a turn (possibly in a pause shorter than `min_silence`).
    Speaking,
}

/// Reply-on-pause turn detection with barge-in, over a [`Vad`].
///
/// Two ways to drive it, both sans-IO:
///
/// - **As a pass-through [`AudioStage`]** (in a chain, or as `Box<dyn AudioStage>`): `push` a
///   frame, `poll` gives the same frame back (same samples, pts and trace; buffers swapped, not
///   copied again), and the events come out of `poll_event` as [`StageEvent::Turn`]. Drain
///   `poll_event` after every `push` and `finish`: a [`TurnEvent::TurnEnded`] is raised by the
///   very `push` whose audio completes `min_silence`. The stage holds one frame: drain `poll`
///   before the next `push`. Frames may be at most the VAD's `max_input_frames`.
/// - **Directly**: [`process`](TurnDetector::process) frames of any length, then
///   [`poll_turn_event`](TurnDetector::poll_turn_event) until `None`; [`finish`](Self::finish)
///   at the end. The audio is not held for output.
///
/// Both paths queue the same events in the same calls. Turn onset and offset use
/// [`TurnConfig`]'s `activation`/`deactivation` on the model's probability, not the VAD's
/// `Decision` (see [`TurnConfig`]). The turn's audio is kept in a ring buffer of
/// `pre_roll + max_turn + min_silence` allocated at construction; the only allocation after
/// that is the `Vec` handed out with each [`TurnEvent::TurnEnded`] (one per turn, not per
/// frame). At most 64 events wait in the queue; beyond that the oldest is dropped.
pub struct TurnDetector {
    vad: Vad,
    core: Core,
}

struct Core {
    cfg: TurnConfig,
    act: f32,
    deact: f32,
    min_speech_frames: u32,
    min_silence_frames: u32,
    max_turn_frames: u64,
    state: TurnState,
    active: bool,
    run_start: MediaTime,
    run_frames: u32,
    turn_frames: u64,
    silence_frames: u32,
    last_speech_end: MediaTime,
    position: MediaTime,
    origin: Option<MediaTime>,
    ring: Vec<f32>,
    written: u64,
    out_rs: Option<Resampler>,
    rs_in: AudioFrame,
    rs_out: AudioFrame,
    queue: VecDeque<TurnEvent>,
    playing: bool,
    playing_since: MediaTime,
    played: Option<Duration>,
}

impl std::fmt::Debug for TurnDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnDetector")
            .field("state", &self.core.state)
            .field("position", &self.core.position)
            .finish_non_exhaustive()
    }
}

fn frames_of(d: Duration) -> u64 {
    d.as_millis().div_ceil(10) as u64
}

impl TurnDetector {
    /// Wraps `vad` (allocates the audio ring and, when `audio_rate` is not 16 kHz, a resampler).
    /// The VAD's own [`StageEvent::Voice`] events are switched off: the detector raises turn
    /// events instead (its decisions stay readable through [`vad`](Self::vad)).
    pub fn new(mut vad: Vad, config: TurnConfig) -> Result<Self, Error> {
        let d = vad.decision();
        let act = config.activation.unwrap_or(d.on);
        let deact = config.deactivation.unwrap_or(d.off);
        if !(0.0..=1.0).contains(&act) || !(0.0..=1.0).contains(&deact) || deact > act {
            return Err(Error::InvalidConfig {
                what: "turn thresholds",
                reason: format!("need 0 <= deactivation <= activation <= 1, got {act} / {deact}"),
            });
        }
        if config.min_silence < FRAME || config.max_turn < FRAME {
            return Err(Error::InvalidConfig {
                what: "turn durations",
                reason: "min_silence and max_turn must be at least 10 ms".into(),
            });
        }
        if config.max_turn > Duration::from_secs(3600) || config.pre_roll > Duration::from_secs(60)
        {
            return Err(Error::InvalidConfig {
                what: "turn durations",
                reason: "max_turn is limited to 1 h and pre_roll to 60 s".into(),
            });
        }
        let out_fmt = AudioFormat::new(config.audio_rate, 1).map_err(|e| Error::InvalidConfig {
            what: "audio_rate",
            reason: e.to_string(),
        })?;
        let in_fmt = AudioFormat::new(MODEL_RATE, 1).map_err(|e| Error::InvalidConfig {
            what: "audio_rate",
            reason: e.to_string(),
        })?;
        let out_rs = if config.audio_rate == MODEL_RATE {
            None
        } else {
            Some(Resampler::new(
                ResamplerConfig::new(in_fmt, out_fmt)
                    .preset(Preset::LowLatency)
                    .frame(FrameSize::Frames((config.audio_rate as usize / 100).max(1)))
                    .max_input_frames(HOP),
            )?)
        };
        let out_cap = out_rs.as_ref().map_or(HOP, |r| r.max_output_frames());
        let ring_secs =
            config.pre_roll + config.max_turn + config.min_silence + Duration::from_millis(100);
        let ring_len = (ring_secs.as_secs_f64() * f64::from(config.audio_rate)).ceil() as usize;
        vad.mute_events();
        Ok(TurnDetector {
            vad,
            core: Core {
                act,
                deact,
                min_speech_frames: frames_of(config.min_speech).max(1) as u32,
                min_silence_frames: frames_of(config.min_silence).max(1) as u32,
                max_turn_frames: frames_of(config.max_turn).max(1),
                state: TurnState::Idle,
                active: false,
                run_start: MediaTime::ZERO,
                run_frames: 0,
                turn_frames: 0,
                silence_frames: 0,
                last_speech_end: MediaTime::ZERO,
                position: MediaTime::ZERO,
                origin: None,
                ring: vec![0.0; ring_len.max(1)],
                written: 0,
                out_rs,
                rs_in: AudioFrame::with_capacity(in_fmt, HOP),
                rs_out: AudioFrame::with_capacity(out_fmt, out_cap),
                queue: VecDeque::with_capacity(EVENT_QUEUE),
                playing: false,
                playing_since: MediaTime::ZERO,
                played: None,
                cfg: config,
            },
        })
    }

    /// Builds a [`Vad`] from `vad` and wraps it.
    pub fn from_config(vad: VadConfig, config: TurnConfig) -> Result<Self, Error> {
        Self::new(Vad::new(vad)?, config)
    }

    /// The underlying VAD (its decisions: [`Vad::last_decision`], [`Vad::speech_frames`]).
    pub fn vad(&self) -> &Vad {
        &self.vad
    }

    /// The current state.
    pub fn state(&self) -> TurnState {
        self.core.state
    }

    /// Stream position: end of the last 10 ms frame processed.
    pub fn position(&self) -> MediaTime {
        self.core.position
    }

    /// Marks the application's reply as playing (`true`) or stopped (`false`). Speech that
    /// starts while playing raises [`TurnEvent::Interrupted`].
    pub fn set_playing(&mut self, playing: bool) {
        let c = &mut self.core;
        if playing && !c.playing {
            c.playing_since = c.position;
            c.played = None;
        }
        c.playing = playing;
    }

    /// Reports how much of the reply has been played so far (reported in
    /// [`TurnEvent::Interrupted`]).
    pub fn report_played(&mut self, played: Duration) {
        self.core.played = Some(played);
    }

    /// True while the reply is marked as playing.
    pub fn is_playing(&self) -> bool {
        self.core.playing
    }

    /// The next event, if any (poll until `None`). The same queue as the stage's
    /// [`AudioStage::poll_event`], which wraps each event in [`StageEvent::Turn`].
    pub fn poll_turn_event(&mut self) -> Option<TurnEvent> {
        self.core.queue.pop_front()
    }

    /// Processes one frame of the VAD's input format (any length; the audio is not held for
    /// output). Events are queued during this call: a [`TurnEvent::TurnEnded`] comes out of the
    /// very call that processes the frame completing `min_silence`.
    pub fn process(&mut self, frame: &AudioFrame) -> Result<(), Error> {
        let TurnDetector { vad, core } = self;
        let mut err = None;
        vad.process(frame, |v, hop| {
            if let Err(e) = core.on_frame(v, hop) {
                err = Some(e);
            }
        })?;
        err.map_or(Ok(()), Err)
    }

    /// Runs the VAD's pending 10 ms results through the detector.
    fn drain(&mut self) -> Result<(), Error> {
        let TurnDetector { vad, core } = self;
        let mut err = None;
        vad.drain(|v, hop| {
            if let Err(e) = core.on_frame(v, hop) {
                err = Some(e);
            }
        })?;
        err.map_or(Ok(()), Err)
    }

    /// End of stream: flushes the VAD and ends an open turn (the same for both ways of driving
    /// the detector).
    pub fn finish(&mut self) -> Result<(), Error> {
        let TurnDetector { vad, core } = self;
        let mut err = None;
        vad.flush(|v, hop| {
            if let Err(e) = core.on_frame(v, hop) {
                err = Some(e);
            }
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        if core.state == TurnState::Speaking {
            core.end_turn(core.last_speech_end, false);
        }
        core.state = TurnState::Idle;
        Ok(())
    }

    /// Resets the VAD, the held frame and the detector (a new stream); queued events are kept.
    pub fn reset(&mut self) {
        self.vad.reset();
        let c = &mut self.core;
        if let Some(r) = c.out_rs.as_mut() {
            r.reset();
        }
        c.state = TurnState::Idle;
        c.active = false;
        c.origin = None;
        c.written = 0;
        c.run_frames = 0;
        c.silence_frames = 0;
        c.playing = false;
    }
}

/// The pass-through stage: frames out unchanged, events as [`StageEvent::Turn`]. See
/// [`TurnDetector`].
impl AudioStage for TurnDetector {
    fn name(&self) -> &'static str {
        "turns"
    }

    fn input_format(&self) -> AudioFormat {
        self.vad.input_format()
    }

    fn output_format(&self) -> AudioFormat {
        self.vad.input_format()
    }

    fn max_input_frames(&self) -> usize {
        self.vad.max_input_frames()
    }

    fn max_output_frames(&self) -> usize {
        self.vad.max_input_frames()
    }

    /// Runs the frame through the VAD and the detector at once (events raised by it are ready
    /// when this returns) and holds it for `poll`. An empty frame produces nothing.
    fn push(&mut self, input: &AudioFrame) -> Result<(), voxflow_core::Error> {
        self.vad.pass.check(input)?;
        if input.is_empty() {
            return Ok(());
        }
        self.vad.pass.hold(input)?;
        if let Err(e) = self.vad.push_analysis(input) {
            self.vad.pass.drop_held();
            return Err(e);
        }
        self.drain()?;
        Ok(())
    }

    fn poll(&mut self, out: &mut AudioFrame) -> Result<bool, voxflow_core::Error> {
        Ok(self.vad.pass.take(out))
    }

    /// Flushes the VAD and ends an open turn ([`TurnDetector::finish`]).
    fn finish(&mut self) -> Result<(), voxflow_core::Error> {
        TurnDetector::finish(self)?;
        Ok(())
    }

    fn reset(&mut self) {
        TurnDetector::reset(self);
    }

    fn poll_event(&mut self) -> Option<StageEvent> {
        self.core.queue.pop_front().map(StageEvent::Turn)
    }
}

impl Core {
    fn emit(&mut self, ev: TurnEvent) {
        if self.queue.len() == EVENT_QUEUE {
            self.queue.pop_front();
        }
        self.queue.push_back(ev);
    }

    fn store_audio(&mut self, v: &VadFrame, hop: &[f32; HOP]) -> Result<(), Error> {
        if self.origin.is_none() {
            self.origin = Some(v.pts);
        }
        let cap = self.ring.len();
        match self.out_rs.as_mut() {
            None => {
                for &x in hop {
                    let x = if x.is_finite() { x } else { 0.0 };
                    self.ring[(self.written % cap as u64) as usize] = x;
                    self.written += 1;
                }
            }
            Some(rs) => {
                self.rs_in.reset(self.rs_in.format());
                self.rs_in
                    .extend_from_interleaved(hop)
                    .map_err(Error::Resample)?;
                self.rs_in.set_pts(v.pts.rescale(MODEL_RATE));
                rs.push(&self.rs_in).map_err(Error::Resample)?;
                while rs.poll(&mut self.rs_out).map_err(Error::Resample)? {
                    for &x in self.rs_out.samples() {
                        let x = if x.is_finite() { x } else { 0.0 };
                        self.ring[(self.written % cap as u64) as usize] = x;
                        self.written += 1;
                    }
                }
            }
        }
        Ok(())
    }

    fn on_frame(&mut self, v: &VadFrame, hop: &[f32; HOP]) -> Result<(), Error> {
        self.store_audio(v, hop)?;
        self.position = v.end();
        let p = v.probability;
        self.active = if self.active {
            p >= self.deact
        } else {
            p >= self.act
        };
        match self.state {
            TurnState::Idle => {
                if self.active {
                    self.run_start = v.pts;
                    self.run_frames = 1;
                    self.state = TurnState::Pending;
                    self.check_started(v);
                }
            }
            TurnState::Pending => {
                if self.active {
                    self.run_frames += 1;
                    self.check_started(v);
                } else {
                    self.state = TurnState::Idle;
                }
            }
            TurnState::Speaking => {
                self.turn_frames += 1;
                if self.active {
                    self.silence_frames = 0;
                    self.last_speech_end = v.end();
                } else {
                    self.silence_frames += 1;
                    if self.silence_frames >= self.min_silence_frames {
                        self.end_turn(self.last_speech_end, false);
                        self.state = TurnState::Idle;
                        return Ok(());
                    }
                }
                if self.turn_frames >= self.max_turn_frames {
                    let end = if self.active {
                        v.end()
                    } else {
                        self.last_speech_end
                    };
                    self.end_turn(end, true);
                    self.state = TurnState::Idle;
                    // Continuing speech must qualify again (min_speech) to open a new turn.
                    self.active = false;
                }
            }
        }
        Ok(())
    }

    fn check_started(&mut self, v: &VadFrame) {
        if self.run_frames >= self.min_speech_frames {
            self.state = TurnState::Speaking;
            self.turn_frames = u64::from(self.run_frames);
            self.silence_frames = 0;
            self.last_speech_end = v.end();
            let at = self.run_start;
            self.emit(TurnEvent::SpeechStarted { at });
            if self.playing {
                let played = self.played.unwrap_or_else(|| {
                    (at - self.playing_since)
                        .to_duration()
                        .unwrap_or(Duration::ZERO)
                });
                self.playing = false;
                self.emit(TurnEvent::Interrupted { at, played });
            }
        }
    }

    fn end_turn(&mut self, ended_at: MediaTime, capped: bool) {
        let rate = self.cfg.audio_rate;
        let origin = self.origin.unwrap_or(MediaTime::ZERO);
        let pre = MediaTime::from_duration(self.cfg.pre_roll);
        let idx = |t: MediaTime| -> i64 { (t - origin).rescale(rate).ticks() };
        let cap = self.ring.len() as i64;
        let written = self.written as i64;
        let oldest = (written - cap).max(0);
        let start = idx(self.run_start - pre).clamp(oldest, written);
        let end = idx(ended_at).clamp(start, written);
        // The one allocation per turn: the buffer handed out with the event.
        let mut audio = Vec::with_capacity((end - start) as usize);
        for i in start..end {
            audio.push(self.ring[i.rem_euclid(cap) as usize]);
        }
        let ev = TurnEvent::TurnEnded {
            audio,
            rate,
            started_at: self.run_start,
            ended_at,
            detected_at: self.position,
            capped,
        };
        self.silence_frames = 0;
        self.emit(ev);
    }
}

/// A turn found by [`turns`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Turn {
    /// Start of the first speech frame.
    pub started_at: MediaTime,
    /// End of the last speech frame.
    pub ended_at: MediaTime,
    /// Stream position at which the turn end was reported.
    pub detected_at: MediaTime,
    /// Ended by `max_turn`.
    pub capped: bool,
}

/// Runs a [`TurnDetector`] over a whole buffer of interleaved samples (offline helper for
/// `voxflow turns FILE`; allocates).
pub fn turns(vad: VadConfig, config: TurnConfig, samples: &[f32]) -> Result<Vec<Turn>, Error> {
    let mut td = TurnDetector::from_config(vad, config)?;
    let fmt = td.vad().input_format();
    let frame =
        AudioFrame::from_interleaved(fmt, samples.to_vec(), MediaTime::ZERO).map_err(|e| {
            Error::InvalidConfig {
                what: "samples",
                reason: e.to_string(),
            }
        })?;
    let mut out = Vec::new();
    let collect = |td: &mut TurnDetector, out: &mut Vec<Turn>| {
        while let Some(ev) = td.poll_turn_event() {
            if let TurnEvent::TurnEnded {
                started_at,
                ended_at,
                detected_at,
                capped,
                ..
            } = ev
            {
                out.push(Turn {
                    started_at,
                    ended_at,
                    detected_at,
                    capped,
                });
            }
        }
    };
    td.process(&frame)?;
    collect(&mut td, &mut out);
    td.finish()?;
    collect(&mut td, &mut out);
    Ok(out)
}
