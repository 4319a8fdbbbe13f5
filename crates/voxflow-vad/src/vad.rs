//! The [`Vad`] stage: any-format `AudioFrame`s in, one decision per 10 ms out.

use voxflow_core::{AudioFormat, AudioFrame, AudioStage, MediaTime};
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
    /// The decision rule; `None` uses the model's [`SpeechModel::default_decision`].
    pub decision: Option<Decision>,
    /// Largest frame (in sample frames at the input rate) that [`Vad::push`] accepts; larger
    /// frames are fine with [`Vad::process`], which splits them. Default: 100 ms.
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
    /// Speech probability from the model.
    pub probability: f32,
    /// The smoothed decision (hysteresis + hangover).
    pub speech: bool,
}

impl VadFrame {
    /// End of the frame (pts + 10 ms).
    pub fn end(&self) -> MediaTime {
        self.pts + MediaTime::new(HOP as i64, MODEL_RATE)
    }
}

/// Streaming voice activity detector: resamples/downmixes to 16 kHz mono once (voxflow-resample,
/// `LowLatency` preset; a passthrough regrouping when the input already is 16 kHz mono), runs a
/// [`SpeechModel`] per 10 ms and applies the decision rule.
///
/// Sans-IO: [`push`](Vad::push) a frame, then [`poll`](Vad::poll) until `None`; or use
/// [`process`](Vad::process), which does both (and splits large frames). Nothing allocates after
/// construction.
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
        })
    }

    /// The input format.
    pub fn input_format(&self) -> AudioFormat {
        self.input
    }

    /// The decision rule in use.
    pub fn decision(&self) -> Decision {
        self.decision
    }

    /// The model's name.
    pub fn model_name(&self) -> &'static str {
        self.model.name()
    }

    /// Largest frame [`push`](Vad::push) accepts.
    pub fn max_input_frames(&self) -> usize {
        self.max_input
    }

    /// Delay of the internal resampler (already removed from the pts).
    pub fn resampler_delay(&self) -> MediaTime {
        self.resampler.delay()
    }

    /// Pushes one frame (at most `max_input_frames` long); then call [`poll`](Vad::poll) until
    /// it returns `None`.
    pub fn push(&mut self, frame: &AudioFrame) -> Result<(), Error> {
        self.resampler.push(frame).map_err(Error::Resample)
    }

    /// Signals the end of the stream: the resampler's tail is flushed (poll again after this).
    pub fn finish(&mut self) -> Result<(), Error> {
        self.resampler.finish().map_err(Error::Resample)
    }

    /// The next 10 ms result, or `None` when more input is needed.
    pub fn poll(&mut self) -> Result<Option<VadFrame>, Error> {
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
        VadFrame {
            pts: self.out.pts(),
            probability: p,
            speech,
        }
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

    /// The 16 kHz mono samples of the frame last returned by [`poll`](Vad::poll) (what the
    /// model saw; NaN/inf are not yet replaced here).
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
            self.push(frame)?;
            while let Some(v) = self.poll()? {
                f(&v, &self.hop);
            }
            return Ok(());
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
            while let Some(v) = self.poll()? {
                f(&v, &self.hop);
            }
            start += n;
        }
        Ok(())
    }

    /// Flushes the end of the stream through `f` (calls [`finish`](Vad::finish) and polls).
    pub fn flush(&mut self, mut f: impl FnMut(&VadFrame, &[f32; HOP])) -> Result<(), Error> {
        self.finish()?;
        while let Some(v) = self.poll()? {
            f(&v, &self.hop);
        }
        Ok(())
    }

    /// Resets the resampler, the model and the decision state (a new stream).
    pub fn reset(&mut self) {
        self.resampler.reset();
        self.model.reset();
        self.active = false;
        self.hang = 0;
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
