//! The [`Resampler`] stage.

use std::time::Duration;

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::Indexing;
use voxflow_core::{
    AudioFormat, AudioFrame, AudioStage, MAX_CHANNELS, MAX_SAMPLE_RATE, MediaTime, SampleFifo,
    Trace,
};

use crate::Error;
use crate::engine::{self, Engine};
use crate::remix::{Mixer, Remix};

/// Quality presets. Measured figures are in the crate README.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Preset {
    /// At most 3 ms of algorithmic delay (for rates of 8 kHz and up): a short sinc filter
    /// (half-length ≤ 2.5 ms at the lower rate) processed in 1 ms chunks. Rolls off early
    /// and is the slowest per sample; for live, interactive paths.
    LowLatency,
    /// The default: FFT resampler with a ≈150-sample (at the lower rate) Blackman-Harris²
    /// filter; flat within 0.1 dB to 0.85 × Nyquist, stopband ≥ 100 dB (measured ≈ 138 dB).
    #[default]
    Balanced,
    /// FFT resampler with a 256-sample (or longer) filter at the lower rate: flat within
    /// 0.1 dB to 0.9 × Nyquist of the lower rate, stopband ≥ 100 dB (libsoxr "HQ" or better).
    High,
}

/// Size of the frames [`Resampler`] emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameSize {
    /// A duration, converted to sample frames at the output rate (rounded to the nearest).
    Duration(Duration),
    /// A number of sample frames at the output rate.
    Frames(usize),
}

impl Default for FrameSize {
    fn default() -> Self {
        FrameSize::Duration(Duration::from_millis(20))
    }
}

/// Everything [`Resampler::new`] needs.
#[derive(Clone, Debug, PartialEq)]
pub struct ResamplerConfig {
    /// Format of the frames pushed in.
    pub input: AudioFormat,
    /// Format of the frames polled out (rate and channel count).
    pub output: AudioFormat,
    /// Quality/latency trade-off.
    pub preset: Preset,
    /// How input channels map to output channels.
    pub remix: Remix,
    /// Size of every output frame (the last one after `finish` may be shorter).
    pub frame: FrameSize,
    /// The largest input frame `push` accepts, in sample frames. Buffers are sized from it.
    pub max_input_frames: usize,
}

impl ResamplerConfig {
    /// `input` → `output` with the defaults: [`Preset::Balanced`], [`Remix::Auto`], 20 ms output
    /// frames, inputs of up to 100 ms.
    pub fn new(input: AudioFormat, output: AudioFormat) -> Self {
        ResamplerConfig {
            input,
            output,
            preset: Preset::default(),
            remix: Remix::Auto,
            frame: FrameSize::default(),
            max_input_frames: (input.rate as usize / 10).max(1),
        }
    }

    /// The same configuration with another preset.
    pub fn preset(mut self, preset: Preset) -> Self {
        self.preset = preset;
        self
    }

    /// The same configuration with another output frame size.
    pub fn frame(mut self, frame: FrameSize) -> Self {
        self.frame = frame;
        self
    }

    /// The same configuration with another input size limit.
    pub fn max_input_frames(mut self, frames: usize) -> Self {
        self.max_input_frames = frames;
        self
    }

    /// The same configuration with another remix.
    pub fn remix(mut self, remix: Remix) -> Self {
        self.remix = remix;
        self
    }
}

const TRACE_SLOTS: usize = 32;

/// Sample-rate converter and channel remixer emitting fixed-size frames: an [`AudioStage`]
/// named `"resample"`.
///
/// Push frames of any size up to `max_input_frames`, poll until `false`, call
/// [`finish`](AudioStage::finish) at the end of the stream and poll again. Output pts are
/// corrected for the filter delay: the output sample with pts `t` corresponds to input time
/// `t`. After `finish` the output holds exactly `round(input_frames × out_rate / in_rate)`
/// sample frames. Nothing allocates after [`new`](Self::new).
pub struct Resampler {
    input: AudioFormat,
    output: AudioFormat,
    preset: Preset,
    engine: Engine,
    frame_len: usize,
    max_input: usize,
    rs: Option<Box<dyn rubato::Resampler<f32>>>,
    /// Channels through the resampler: `min(in, out)`.
    rs_ch: usize,
    pre: Mixer,
    post: Mixer,
    /// Input at the input rate with `rs_ch` channels, awaiting a full chunk.
    pending: SampleFifo,
    /// rubato output before the post-remix (only used when `post` is not the identity).
    scratch: Vec<f32>,
    /// Output at the output rate with output channels, awaiting a full frame.
    fifo: SampleFifo,
    /// Filter delay in output frames.
    delay: usize,
    trim_left: usize,
    in_total: u64,
    produced: u64,
    emitted: u64,
    expected_total: u64,
    finished: bool,
    base_pts: Option<MediaTime>,
    traces: [(u64, Trace); TRACE_SLOTS],
    n_traces: usize,
    /// Passthrough: one whole output frame copied once from the input, handed to `poll` by
    /// swapping frames (no second copy). Empty when unused.
    stash: AudioFrame,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("input", &self.input)
            .field("output", &self.output)
            .field("preset", &self.preset)
            .field("engine", &self.engine)
            .field("frame_len", &self.frame_len)
            .field("delay", &self.delay)
            .finish_non_exhaustive()
    }
}

fn check_format(side: &'static str, format: AudioFormat) -> Result<(), Error> {
    if format.rate == 0
        || format.rate > MAX_SAMPLE_RATE
        || format.channels == 0
        || format.channels > MAX_CHANNELS
    {
        return Err(Error::InvalidConfig {
            what: side,
            reason: format!(
                "{format} (allowed: 1..={MAX_SAMPLE_RATE} Hz, 1..={MAX_CHANNELS} channels)"
            ),
        });
    }
    Ok(())
}

impl Resampler {
    /// Builds the resampler and allocates every buffer it will use.
    pub fn new(config: ResamplerConfig) -> Result<Self, Error> {
        let ResamplerConfig {
            input,
            output,
            preset,
            remix,
            frame,
            max_input_frames,
        } = config;
        check_format("input format", input)?;
        check_format("output format", output)?;
        let frame_len = match frame {
            FrameSize::Duration(d) => output.frames_in(d),
            FrameSize::Frames(n) => n,
        };
        let max_frame = output.rate as usize;
        if frame_len == 0 || frame_len > max_frame {
            return Err(Error::InvalidConfig {
                what: "output frame size",
                reason: format!("{frame_len} sample frames (allowed: 1..={max_frame})"),
            });
        }
        let max_in_limit = input.rate as usize * 10;
        if max_input_frames == 0 || max_input_frames > max_in_limit {
            return Err(Error::InvalidConfig {
                what: "max_input_frames",
                reason: format!("{max_input_frames} (allowed: 1..={max_in_limit})"),
            });
        }
        let (ic, oc) = (input.channels, output.channels);
        let mixer = Mixer::new(ic, oc, &remix)?;
        // Resample the smaller channel count: mix down before, or up after.
        let rs_ch = ic.min(oc);
        let (pre, post) = if oc <= ic {
            (mixer, Mixer::new(oc, oc, &Remix::Auto)?)
        } else {
            (Mixer::new(ic, ic, &Remix::Auto)?, mixer)
        };
        let rch = usize::from(rs_ch);
        let (rs, engine) = if input.rate == output.rate {
            let e = if pre.is_identity() && post.is_identity() {
                Engine::Passthrough
            } else {
                Engine::Remix
            };
            (None, e)
        } else {
            let b = engine::build(preset, input.rate, output.rate, rch)?;
            (Some((b.rs, b.delay)), b.engine)
        };
        let (pending_frames, fifo_frames, scratch_frames, delay) = match &rs {
            None => (0, frame_len + max_input_frames, 0, 0),
            Some((r, delay)) => (
                r.input_frames_max() + max_input_frames,
                frame_len + r.output_frames_max(),
                if post.is_identity() {
                    0
                } else {
                    r.output_frames_max()
                },
                *delay,
            ),
        };
        let rs = rs.map(|(r, _)| r);
        Ok(Resampler {
            input,
            output,
            preset,
            engine,
            frame_len,
            max_input: max_input_frames,
            rs,
            rs_ch: rch,
            pre,
            post,
            pending: SampleFifo::new(rs_ch, pending_frames),
            scratch: vec![0.0; scratch_frames * rch],
            fifo: SampleFifo::new(oc, fifo_frames),
            delay,
            trim_left: delay,
            in_total: 0,
            produced: 0,
            emitted: 0,
            expected_total: 0,
            finished: false,
            base_pts: None,
            traces: [(0, Trace::EMPTY); TRACE_SLOTS],
            n_traces: 0,
            stash: AudioFrame::with_capacity(
                output,
                if engine == Engine::Passthrough {
                    frame_len
                } else {
                    0
                },
            ),
        })
    }

    /// Sample frames in every output frame (the last one after `finish` may be shorter).
    pub fn output_frame_len(&self) -> usize {
        self.frame_len
    }

    /// True when input and output formats are equal: frames are only regrouped.
    pub fn is_passthrough(&self) -> bool {
        self.engine == Engine::Passthrough
    }

    /// The algorithm in use (depends on the preset and on the two rates).
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The preset this resampler was built with.
    pub fn preset(&self) -> Preset {
        self.preset
    }

    /// The filter delay in output sample frames (what [`delay`](AudioStage::delay) reports as a
    /// time). Output pts already account for it.
    pub fn delay_frames(&self) -> usize {
        self.delay
    }

    /// Input sample frames the resampler processes at once (0 for passthrough and remix). A
    /// frame can leave only once the chunk holding its last sample is complete, so in a live
    /// stream the worst-case added latency is `delay + chunk + output frame`.
    pub fn chunk_frames(&self) -> usize {
        self.rs.as_ref().map_or(0, |r| r.input_frames_max())
    }

    fn fifo_len(&self) -> usize {
        self.fifo.frames()
    }

    /// Runs one resampler chunk (zero-padded when flushing) into the fifo. Returns false when
    /// nothing could be done.
    fn process_chunk(&mut self) -> Result<bool, Error> {
        let Some(rs) = self.rs.as_mut() else {
            return Ok(false);
        };
        let need = rs.input_frames_next();
        let avail = self.pending.frames();
        let indexing;
        let idx = if avail >= need {
            None
        } else if self.finished {
            indexing = Indexing::new().partial_len(avail);
            Some(&indexing)
        } else {
            return Ok(false);
        };
        let out_max = rs.output_frames_max();
        let och = usize::from(self.output.channels);
        // Always room: poll only processes while fewer than frame_len frames are buffered,
        // and the fifo holds frame_len + out_max (the fifo moves its samples to the front
        // when the room is not at the end).
        let slot = self.fifo.spare_mut(out_max).map_err(|_| Error::Buffer {
            what: "output fifo",
        })?;
        let rch = self.rs_ch;
        let input = InterleavedSlice::new(self.pending.peek(avail), rch, avail).map_err(|_| {
            Error::Buffer {
                what: "pending input",
            }
        })?;
        let (consumed, produced) = if self.post.is_identity() {
            let mut out =
                InterleavedSlice::new_mut(&mut *slot, och, out_max).map_err(|_| Error::Buffer {
                    what: "output fifo",
                })?;
            rs.process_into_buffer(&input, &mut out, idx)?
        } else {
            let mut out = InterleavedSlice::new_mut(&mut self.scratch, rch, out_max)
                .map_err(|_| Error::Buffer { what: "scratch" })?;
            let r = rs.process_into_buffer(&input, &mut out, idx)?;
            self.post
                .apply(&self.scratch[..r.1 * rch], &mut slot[..r.1 * och]);
            r
        };
        // Drop the filter's leading delay.
        let t = self.trim_left.min(produced);
        self.trim_left -= t;
        if t > 0 && produced > t {
            slot.copy_within(t * och..produced * och, 0);
        }
        let mut kept = (produced - t) as u64;
        if self.finished {
            kept = kept.min(self.expected_total.saturating_sub(self.produced));
        }
        // Cannot fail: `kept` <= `produced` <= `out_max`, the slot just taken.
        self.fifo.commit(kept as usize).map_err(|_| Error::Buffer {
            what: "output fifo",
        })?;
        self.pending.consume(consumed.min(avail));
        self.produced += kept;
        Ok(consumed > 0 || produced > 0)
    }

    fn emit(&mut self, n: usize, out: &mut AudioFrame) -> Result<(), Error> {
        out.reset(self.output);
        if out.capacity_frames() < n {
            return Err(Error::FrameTooLarge {
                max_frames: out.capacity_frames(),
                frames: n,
            });
        }
        out.extend_from_interleaved(self.fifo.peek(n))
            .map_err(|_| Error::Buffer {
                what: "output frame",
            })?;
        self.stamp_output(n, out);
        self.fifo.consume(n);
        Ok(())
    }

    /// Sets the pts and trace of the next `n` output sample frames, now in `out`.
    fn stamp_output(&mut self, n: usize, out: &mut AudioFrame) {
        let base = self.base_pts.unwrap_or(MediaTime::new(0, self.output.rate));
        out.set_pts(base.add_ticks(i64::try_from(self.emitted).unwrap_or(i64::MAX)));
        // The input holding the instant of this frame's first sample.
        let at = (u128::from(self.emitted) * u128::from(self.input.rate)
            / u128::from(self.output.rate)) as u64;
        let mut keep = 0;
        while keep + 1 < self.n_traces && self.traces[keep + 1].0 <= at {
            keep += 1;
        }
        if keep > 0 {
            self.traces.copy_within(keep..self.n_traces, 0);
            self.n_traces -= keep;
        }
        if self.n_traces > 0 {
            out.set_trace(self.traces[0].1);
        }
        self.emitted += n as u64;
    }

    fn push_inner(&mut self, input: &AudioFrame) -> Result<(), Error> {
        if self.finished {
            return Err(Error::Finished);
        }
        if input.format() != self.input {
            return Err(Error::FormatMismatch {
                expected: self.input,
                actual: input.format(),
            });
        }
        let n = input.frames();
        if n > self.max_input {
            return Err(Error::FrameTooLarge {
                max_frames: self.max_input,
                frames: n,
            });
        }
        if n == 0 {
            return Ok(());
        }
        if self.rs.is_some() {
            let cap = self.pending.capacity_frames();
            let have = self.pending.frames();
            if have + n > cap {
                return Err(Error::FrameTooLarge {
                    max_frames: cap - have,
                    frames: n,
                });
            }
            // Cannot fail: checked just above.
            let slot = self.pending.spare_mut(n).map_err(|_| Error::Buffer {
                what: "pending input",
            })?;
            self.pre.apply(input.samples(), slot);
            self.pending.commit(n).map_err(|_| Error::Buffer {
                what: "pending input",
            })?;
        } else if self.engine == Engine::Passthrough
            && n == self.frame_len
            && self.fifo.is_empty()
            && self.stash.is_empty()
            && self.stash.capacity_frames() >= n
        {
            // Whole frames in, whole frames out: the only copy is this one.
            self.stash.copy_from(input).map_err(|_| Error::Buffer {
                what: "passthrough frame",
            })?;
            self.produced += n as u64;
        } else {
            let cap = self.fifo.capacity_frames();
            let have = self.fifo_len();
            if have + n > cap {
                return Err(Error::FrameTooLarge {
                    max_frames: cap - have,
                    frames: n,
                });
            }
            let mixer = if self.pre.is_identity() {
                &self.post
            } else {
                &self.pre
            };
            // Cannot fail: checked just above.
            let slot = self.fifo.spare_mut(n).map_err(|_| Error::Buffer {
                what: "output fifo",
            })?;
            mixer.apply(input.samples(), slot);
            self.fifo.commit(n).map_err(|_| Error::Buffer {
                what: "output fifo",
            })?;
            self.produced += n as u64;
        }
        if self.base_pts.is_none() {
            self.base_pts = Some(input.pts().rescale(self.output.rate));
        }
        if self.n_traces < TRACE_SLOTS {
            self.traces[self.n_traces] = (self.in_total, *input.trace());
            self.n_traces += 1;
        }
        // When the slots are full, later inputs share an older trace: latency is over- rather
        // than under-reported.
        self.in_total += n as u64;
        Ok(())
    }

    fn poll_inner(&mut self, out: &mut AudioFrame) -> Result<bool, Error> {
        if !self.stash.is_empty() {
            // Hand the stashed frame over by swapping buffers; `out`'s old buffer becomes the
            // next stash (used again only if it can hold a whole frame).
            std::mem::swap(out, &mut self.stash);
            self.stash.clear();
            let n = out.frames();
            self.stamp_output(n, out);
            return Ok(true);
        }
        loop {
            if self.fifo_len() >= self.frame_len {
                self.emit(self.frame_len, out)?;
                return Ok(true);
            }
            let more = self.finished && self.produced < self.expected_total;
            let full_chunk = self
                .rs
                .as_ref()
                .is_some_and(|r| self.pending.frames() >= r.input_frames_next());
            if (full_chunk || more) && self.process_chunk()? {
                continue;
            }
            if self.finished && self.fifo_len() > 0 {
                self.emit(self.fifo_len(), out)?;
                return Ok(true);
            }
            return Ok(false);
        }
    }
}

impl AudioStage for Resampler {
    fn name(&self) -> &'static str {
        "resample"
    }

    fn input_format(&self) -> AudioFormat {
        self.input
    }

    fn output_format(&self) -> AudioFormat {
        self.output
    }

    fn max_input_frames(&self) -> usize {
        self.max_input
    }

    fn max_output_frames(&self) -> usize {
        self.frame_len
    }

    fn input_frames_next(&self) -> usize {
        if !self.stash.is_empty() {
            return 0;
        }
        let have = self.fifo_len();
        if have >= self.frame_len {
            return 0;
        }
        let Some(rs) = self.rs.as_ref() else {
            return self.frame_len - have;
        };
        let need_out = self.frame_len - have + self.trim_left;
        let per_chunk = rs.output_frames_next().max(1);
        let chunks = need_out.div_ceil(per_chunk);
        let pending = self.pending.frames();
        (chunks * rs.input_frames_next())
            .saturating_sub(pending)
            .max(1)
    }

    fn push(&mut self, input: &AudioFrame) -> voxflow_core::Result<()> {
        Ok(self.push_inner(input)?)
    }

    fn poll(&mut self, out: &mut AudioFrame) -> voxflow_core::Result<bool> {
        Ok(self.poll_inner(out)?)
    }

    fn finish(&mut self) -> voxflow_core::Result<()> {
        if !self.finished {
            self.finished = true;
            let num = u128::from(self.in_total) * u128::from(self.output.rate);
            let den = u128::from(self.input.rate);
            self.expected_total = ((num + den / 2) / den) as u64;
        }
        Ok(())
    }

    fn reset(&mut self) {
        if let Some(rs) = self.rs.as_mut() {
            rs.reset();
        }
        self.pending.clear();
        self.fifo.clear();
        self.trim_left = self.delay;
        self.in_total = 0;
        self.produced = 0;
        self.emitted = 0;
        self.expected_total = 0;
        self.finished = false;
        self.base_pts = None;
        self.n_traces = 0;
        self.stash.clear();
    }

    fn delay(&self) -> MediaTime {
        MediaTime::new(
            i64::try_from(self.delay).unwrap_or(i64::MAX),
            self.output.rate,
        )
    }
}
