//! Pitch-preserving time-stretch: remove or insert whole pitch periods (WSOLA-style
//! overlap-add), the jitter buffer's *accelerate* and *expand* operations.
//!
//! # Algorithm
//!
//! One call looks at one segment of interleaved audio (at least
//! [`TimeStretcher::min_input_frames`], 30 ms; at most [`TimeStretcher::max_input_frames`],
//! 60 ms, are analysed).
//!
//! 1. **Analysis signal.** The channels are averaged to one mono signal at full rate, less its
//!    mean over the analysed input (so a DC offset does not look like periodicity). A coarse
//!    copy is made by averaging blocks of `d = round(rate / 4000)` samples (a box-car low-pass
//!    and decimation to about 4 kHz; speech pitch lies well below 2 kHz).
//! 2. **Coarse lag search.** For every lag `L` between [`MIN_PITCH_MS`] (2.5 ms, 400 Hz) and
//!    [`MAX_PITCH_MS`] (15 ms, 67 Hz; less when the input is short) the normalised
//!    cross-correlation of the two adjacent coarse segments `[s, s+L)` and `[s+L, s+2L)` is
//!    computed — exactly the two segments that the splice will cross-fade. The best interior
//!    local maximum is taken, unless a shorter local maximum within [`OCTAVE_MARGIN`] of it
//!    has a multiple (2×, 3×, …, ± one coarse sample per multiple) equal to the best lag: then
//!    that shorter one is the period (so one period is chosen rather than two).
//! 3. **Refinement.** The lag is refined at full rate within ±`d` samples of the coarse lag, by
//!    the same normalised correlation on the full-rate mono signal. Then a third and a half of
//!    that lag are refined too: when one passes the threshold and is within
//!    [`OCTAVE_MARGIN`] of the lag's correlation, the shortest such lag is the period.
//! 4. **Decision.** The splice is made when the full-rate correlation is at least
//!    [`CORRELATION_THRESHOLD`] (0.9), or when the analysed region is *quiet*: its power (mean
//!    square over all channels, less the squared mean of the channel average, i.e. without a
//!    DC offset) is below [`DEFAULT_QUIET_DBFS`] (−45 dBFS RMS; see
//!    [`TimeStretcher::set_quiet_dbfs`]). Quiet input needs no pitch: a segment of any
//!    length up to the caller's limit is spliced (at most the longest period in normal
//!    accelerate and in expand, up to about half the input in fast accelerate). Otherwise (noise, transients, onsets) the input is copied unchanged and the call reports
//!    `changed_frames == 0`. Any non-finite sample (NaN, ±inf) in the analysed region also
//!    leads to an unchanged copy.
//! 5. **Cross-fade.** With `s` the splice start (sample frame 1 of the input) and `w_i =
//!    (i+1)/(L+1)` a linear ramp over `L` frames:
//!    * *accelerate* writes `x[..s]`, then `(1-w_i)·x[s+i] + w_i·x[s+L+i]` for `i < L`, then
//!      `x[s+2L..]`: `L` frames fewer. In fast mode this repeats on the untouched rest of the
//!      input (each splice consumes `2L` input frames, so at most about half is removed; after
//!      a position that does not qualify the search moves on by half the longest period);
//!    * *expand* writes `x[..s+L]`, then `(1-w_i)·x[s+L+i] + w_i·x[s+i]`, then `x[s+L..]`:
//!      one period repeated, `L` frames more. (When the one-period correlation is more than
//!      [`OCTAVE_MARGIN`] below that of two periods, two are inserted.)
//!
//! Each channel is cross-faded with the same lag, so the channel alignment is kept.
//!
//! # Continuity
//!
//! The first and the last sample frame of the output are always exactly the first and the last
//! sample frame of the input (splices start at frame 1 and end at least one frame before the
//! end), so the caller can put the output between untouched audio without a click. Inside,
//! the cross-fades join segments whose correlation is at least 0.9 (or quiet ones).
//!
//! # Real-time guarantees
//!
//! All scratch memory is allocated in [`TimeStretcher::new`]; [`accelerate`], [`expand`] and
//! [`reset`] never allocate, never block and never panic, whatever the slice lengths and
//! values. The work per call is bounded by the analysed length (at most 60 ms): per splice
//! attempt at 48 kHz about 50 coarse lags × ≤ 60 samples, then 25 full-rate lags × ≤ 720
//! samples for the refinement and at most 2 × 25 more for the octave check (≈ 50 k
//! multiply-adds); normal mode makes one attempt, fast mode at most one per half longest
//! period of input (≤ 8 per 60 ms). Measured (criterion, `benches/stretch.rs`, 2-core shared
//! machine under load, 2026-12-04): at 48 kHz mono 11–16 µs per accelerate or expand of
//! 30 ms of a voiced tone (6–7 µs for white noise), about 50 µs for fast accelerate of 60 ms;
//! at 16 kHz 3–5 µs per 30 ms call.
//!
//! # Sizes and the output rule
//!
//! * Input of `input.len() / channels` frames; when `input.len()` is not a multiple of the
//!   channel count, or the input is shorter than [`min_input_frames`], or `out` is smaller
//!   than the input, the call copies `min(input.len(), out.len())` samples and returns
//!   `output_frames = copied / channels` (rounded down), `changed_frames = 0`.
//! * Frames beyond [`max_input_frames`] are not analysed; they are copied after the processed
//!   part.
//! * [`expand`] inserts at most `max_insert` frames and never more than `out` can hold beyond
//!   the input.
//!
//! [`accelerate`]: TimeStretcher::accelerate
//! [`expand`]: TimeStretcher::expand
//! [`reset`]: TimeStretcher::reset
//! [`min_input_frames`]: TimeStretcher::min_input_frames
//! [`max_input_frames`]: TimeStretcher::max_input_frames

use voxflow_core::AudioFormat;

/// Shortest pitch period searched (ms): 400 Hz.
pub const MIN_PITCH_MS: f64 = 2.5;
/// Longest pitch period searched (ms): about 67 Hz.
pub const MAX_PITCH_MS: f64 = 15.0;
/// Fewest input milliseconds a call needs to do anything (two longest periods).
pub const MIN_INPUT_MS: f64 = 30.0;
/// Most input milliseconds a call analyses.
pub const MAX_INPUT_MS: f64 = 60.0;
/// Rate of the coarse pitch search (Hz, approximately: the decimation factor is an integer).
pub const COARSE_RATE: u32 = 4000;
/// Normalised cross-correlation (full rate) the two cross-faded segments need for a splice
/// in non-quiet audio.
pub const CORRELATION_THRESHOLD: f32 = 0.9;
/// Coarse correlation a lag candidate needs to be refined at full rate.
pub const COARSE_THRESHOLD: f32 = 0.7;
/// A shorter lag whose multiple is the best lag is preferred over the best one when its coarse
/// correlation is at most this much lower (octave-error guard: one period rather than two).
pub const OCTAVE_MARGIN: f32 = 0.08;
/// Default quiet level (dBFS RMS over all channels): below it any length may be spliced.
pub const DEFAULT_QUIET_DBFS: f32 = -45.0;

/// Result of one stretch call.
///
/// ```
/// use voxflow_jitter_buffer::stretch::Stretched;
/// let s = Stretched { output_frames: 480, changed_frames: 0 };
/// assert_eq!(s, Stretched { output_frames: 480, ..Default::default() });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Stretched {
    /// Sample frames written to `out`.
    pub output_frames: usize,
    /// Sample frames removed (accelerate) or inserted (expand): |output - input|. 0 = the
    /// input was copied unchanged (signal not suitable).
    pub changed_frames: usize,
}

/// Pitch-synchronous time-stretcher (accelerate / expand) for one audio format.
///
/// See the [module documentation](self) for the algorithm.
///
/// ```
/// use voxflow_core::AudioFormat;
/// use voxflow_jitter_buffer::stretch::TimeStretcher;
///
/// let fmt = AudioFormat::new(16_000, 1).unwrap();
/// let mut ts = TimeStretcher::new(fmt);
/// // 30 ms of a 200 Hz tone (period 80 samples).
/// let input: Vec<f32> = (0..480)
///     .map(|i| (i as f32 * 2.0 * std::f32::consts::PI / 80.0).sin() * 0.5)
///     .collect();
/// let mut out = vec![0.0; input.len()];
/// let r = ts.accelerate(&input, 480, false, &mut out);
/// assert_eq!(r.changed_frames, 80);
/// assert_eq!(r.output_frames, 400);
/// assert_eq!(out[0], input[0]);
/// assert_eq!(out[399], input[479]);
/// ```
#[derive(Debug, Clone)]
pub struct TimeStretcher {
    format: AudioFormat,
    /// Channels used for indexing (at least 1).
    ch: usize,
    /// Shortest / longest lag at full rate (frames).
    min_lag: usize,
    max_lag: usize,
    min_input: usize,
    max_input: usize,
    /// Decimation factor of the coarse signal.
    decim: usize,
    /// Quiet threshold as a mean square.
    quiet_ms: f32,
    /// Channel mean at full rate (max_input).
    mono: Vec<f32>,
    /// Mean square over the channels per frame (max_input): the quiet test, so that channels
    /// in anti-phase (whose mean cancels) are not taken for silence.
    power: Vec<f32>,
    /// `mono` less its mean over the analysed input: the signal the pitch search correlates.
    hp: Vec<f32>,
    /// Decimated channel mean (max_input / decim + 1).
    coarse: Vec<f32>,
    /// Frames of `mono` filled by the last `prepare`.
    valid: usize,
    /// Coarse correlation per lag (index = coarse lag).
    corr: Vec<f32>,
    /// Coarse lags of `corr` computed by the last coarse search (empty when `.0 > .1`).
    corr_range: (usize, usize),
}

/// What the analysis decided for one splice position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Splice {
    /// Splice `L` frames.
    Lag(usize),
    /// Nothing suitable.
    None,
}

impl TimeStretcher {
    /// A stretcher for interleaved f32 audio of `format` (any rate 8 k..=48 k is the design
    /// range, rates up to [`voxflow_core::MAX_SAMPLE_RATE`] work; any channel count; mono is
    /// the main case). Allocates all scratch memory here. A format with 0 channels or rate 0
    /// (possible through the public fields) is treated as 1 channel / 1 Hz.
    ///
    /// ```
    /// use voxflow_core::AudioFormat;
    /// use voxflow_jitter_buffer::stretch::TimeStretcher;
    /// let ts = TimeStretcher::new(AudioFormat::new(48_000, 2).unwrap());
    /// assert_eq!(ts.min_input_frames(), 1440);
    /// assert_eq!(ts.max_input_frames(), 2880);
    /// ```
    pub fn new(format: AudioFormat) -> Self {
        let rate = f64::from(format.rate.max(1));
        let ch = usize::from(format.channels.max(1));
        let ms = |m: f64| (rate * m / 1000.0).round() as usize;
        let min_input = ms(MIN_INPUT_MS).max(4);
        let max_input = ms(MAX_INPUT_MS).max(min_input);
        // Two longest periods plus the two untouched boundary frames fit in min_input.
        let max_lag = ms(MAX_PITCH_MS).min((min_input - 2) / 2).max(1);
        let min_lag = ms(MIN_PITCH_MS).clamp(1, max_lag);
        let decim = ((rate / f64::from(COARSE_RATE)).round() as usize).max(1);
        let coarse_len = max_input / decim + 1;
        TimeStretcher {
            format,
            ch,
            min_lag,
            max_lag,
            min_input,
            max_input,
            decim,
            quiet_ms: db_to_ms(DEFAULT_QUIET_DBFS),
            mono: vec![0.0; max_input],
            power: vec![0.0; max_input],
            hp: vec![0.0; max_input],
            coarse: vec![0.0; coarse_len],
            valid: 0,
            corr: vec![0.0; max_lag / decim + 2],
            corr_range: (1, 0),
        }
    }

    /// The format it was built for.
    ///
    /// ```
    /// use voxflow_core::AudioFormat;
    /// use voxflow_jitter_buffer::stretch::TimeStretcher;
    /// let fmt = AudioFormat::new(8_000, 1).unwrap();
    /// assert_eq!(TimeStretcher::new(fmt).format(), fmt);
    /// ```
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// Fewest sample frames of input accelerate/expand need to do anything: 30 ms (two
    /// longest pitch periods searched plus the two boundary frames). With less input they
    /// copy and return `changed_frames == 0`.
    ///
    /// ```
    /// use voxflow_core::AudioFormat;
    /// use voxflow_jitter_buffer::stretch::TimeStretcher;
    /// let ts = TimeStretcher::new(AudioFormat::new(16_000, 1).unwrap());
    /// assert_eq!(ts.min_input_frames(), 480);
    /// ```
    pub fn min_input_frames(&self) -> usize {
        self.min_input
    }

    /// Most sample frames of input one call analyses (60 ms; at least
    /// [`min_input_frames`](Self::min_input_frames)). Frames beyond it are copied unchanged
    /// after the processed part.
    ///
    /// ```
    /// use voxflow_core::AudioFormat;
    /// use voxflow_jitter_buffer::stretch::TimeStretcher;
    /// let ts = TimeStretcher::new(AudioFormat::new(16_000, 1).unwrap());
    /// assert_eq!(ts.max_input_frames(), 960);
    /// ```
    pub fn max_input_frames(&self) -> usize {
        self.max_input
    }

    /// The quiet level (dBFS RMS over all channels) below which input is spliced without a
    /// pitch; default [`DEFAULT_QUIET_DBFS`]. `f32::NEG_INFINITY` (or NaN) leaves only
    /// digital silence quiet; `0.0` treats everything up to full-scale RMS as quiet.
    ///
    /// ```
    /// use voxflow_core::AudioFormat;
    /// use voxflow_jitter_buffer::stretch::TimeStretcher;
    /// let mut ts = TimeStretcher::new(AudioFormat::new(16_000, 1).unwrap());
    /// ts.set_quiet_dbfs(-60.0);
    /// assert!((ts.quiet_dbfs() + 60.0).abs() < 1e-3);
    /// ```
    pub fn set_quiet_dbfs(&mut self, dbfs: f32) {
        self.quiet_ms = if dbfs.is_nan() { 0.0 } else { db_to_ms(dbfs) };
    }

    /// The quiet level in dBFS (see [`set_quiet_dbfs`](Self::set_quiet_dbfs)).
    pub fn quiet_dbfs(&self) -> f32 {
        10.0 * self.quiet_ms.log10()
    }

    /// Shortens `input` (interleaved; `input.len() / channels` frames, at most
    /// [`max_input_frames`](Self::max_input_frames) analysed) by removing whole pitch periods:
    /// one per call in normal mode; when `fast` is true, as many as fit (each removal consumes
    /// two periods of input, so up to about half the input). Never removes more than
    /// `max_remove` frames. Writes the result to `out` (`out.len() >= input.len()`) and
    /// returns what it did.
    ///
    /// When the segment is neither periodic enough (correlation below
    /// [`CORRELATION_THRESHOLD`]) nor quiet, the input is copied unchanged (`changed_frames`
    /// 0). Quiet input may have any length removed up to `max_remove` (at most the longest
    /// period in normal mode, about half the input in fast mode).
    ///
    /// The first and last output frames equal the first and last input frames. For
    /// misaligned, too short input or a too small `out`, see the
    /// [module documentation](self#sizes-and-the-output-rule).
    ///
    /// ```
    /// use voxflow_core::AudioFormat;
    /// use voxflow_jitter_buffer::stretch::TimeStretcher;
    /// let mut ts = TimeStretcher::new(AudioFormat::new(16_000, 1).unwrap());
    /// let silence = vec![0.0f32; 960];
    /// let mut out = vec![1.0f32; 960];
    /// let r = ts.accelerate(&silence, 400, true, &mut out);
    /// assert_eq!(r.changed_frames, 400);
    /// assert_eq!(r.output_frames, 560);
    /// ```
    pub fn accelerate(
        &mut self,
        input: &[f32],
        max_remove: usize,
        fast: bool,
        out: &mut [f32],
    ) -> Stretched {
        let ch = self.ch;
        let Some(n) = self.usable_frames(input, out, 0) else {
            return copy_fallback(input, out, ch);
        };
        let na = n.min(self.max_input);
        if max_remove == 0 || !self.prepare(&input[..na * ch]) {
            return copy_fallback(input, out, ch);
        }
        // Cursor in input frames (everything before `src` is written), output frame cursor.
        let mut src = 0usize;
        let mut dst = 0usize;
        let mut pos = 1usize;
        let mut removed = 0usize;
        let step = (self.max_lag / 2).max(1);
        loop {
            let budget = max_remove - removed;
            if budget == 0 || pos + 3 > na {
                break;
            }
            // Space for [pos, pos+2L) with one untouched frame after it (within the analysed part).
            let room = (na - 1 - pos) / 2;
            let quiet_cap = if fast { room } else { room.min(self.max_lag) };
            match self.analyse(pos, room.min(budget), quiet_cap.min(budget)) {
                Splice::Lag(l) => {
                    // Copy up to the splice start, then the cross-fade.
                    copy_frames(input, src, pos, out, dst, ch);
                    dst += pos - src;
                    crossfade(input, pos, pos + l, l, out, dst, ch);
                    dst += l;
                    src = pos + 2 * l;
                    pos = src;
                    removed += l;
                    if !fast {
                        break;
                    }
                }
                Splice::None => {
                    if !fast {
                        break;
                    }
                    pos += step;
                }
            }
        }
        copy_frames(input, src, n, out, dst, ch);
        dst += n - src;
        Stretched {
            output_frames: dst,
            changed_frames: removed,
        }
    }

    /// Lengthens `input` by inserting one pitch period (at most `max_insert` frames) with
    /// cross-fades. `out.len()` must be at least `input.len() + max_insert * channels`; when
    /// it is smaller (but at least `input.len()`) the insert is limited to what fits. Same
    /// "not suitable → copy" rule as [`accelerate`](Self::accelerate); quiet input may be
    /// lengthened without a pitch (by up to the longest period, `max_insert` permitting).
    ///
    /// The first and last output frames equal the first and last input frames.
    ///
    /// ```
    /// use voxflow_core::AudioFormat;
    /// use voxflow_jitter_buffer::stretch::TimeStretcher;
    /// let mut ts = TimeStretcher::new(AudioFormat::new(16_000, 1).unwrap());
    /// let input: Vec<f32> = (0..480)
    ///     .map(|i| (i as f32 * 2.0 * std::f32::consts::PI / 100.0).sin() * 0.5)
    ///     .collect();
    /// let mut out = vec![0.0; 480 + 240];
    /// let r = ts.expand(&input, 240, &mut out);
    /// assert_eq!(r.changed_frames, 100);
    /// assert_eq!(r.output_frames, 580);
    /// ```
    pub fn expand(&mut self, input: &[f32], max_insert: usize, out: &mut [f32]) -> Stretched {
        let ch = self.ch;
        let Some(n) = self.usable_frames(input, out, 0) else {
            return copy_fallback(input, out, ch);
        };
        let fits = out.len() / ch - n;
        let budget = max_insert.min(fits);
        let na = n.min(self.max_input);
        if budget == 0 || !self.prepare(&input[..na * ch]) {
            return copy_fallback(input, out, ch);
        }
        let pos = 1usize;
        let room = (na - 1 - pos) / 2;
        let cap = room.min(budget);
        match self.analyse(pos, cap, cap.min(self.max_lag)) {
            Splice::Lag(l) => {
                copy_frames(input, 0, pos + l, out, 0, ch);
                crossfade(input, pos + l, pos, l, out, pos + l, ch);
                copy_frames(input, pos + l, n, out, pos + 2 * l, ch);
                Stretched {
                    output_frames: n + l,
                    changed_frames: l,
                }
            }
            Splice::None => copy_fallback(input, out, ch),
        }
    }

    /// Forgets state. The stretcher keeps none between calls (each call is independent), so
    /// this does nothing; it exists for the jitter buffer's reset path.
    pub fn reset(&mut self) {}

    /// Input frames when the input is processable (aligned, long enough, `out` holds at least
    /// the input + `extra` frames); `None` for the copy fallback.
    fn usable_frames(&self, input: &[f32], out: &[f32], extra: usize) -> Option<usize> {
        let ch = self.ch;
        if !input.len().is_multiple_of(ch) {
            return None;
        }
        let n = input.len() / ch;
        if n < self.min_input || out.len() / ch < n + extra {
            return None;
        }
        Some(n)
    }

    /// Fills the mono and coarse scratch from `input` (whole frames, at most max_input);
    /// false when a sample is not finite.
    fn prepare(&mut self, input: &[f32]) -> bool {
        let ch = self.ch;
        let frames = (input.len() / ch).min(self.mono.len());
        let inv = 1.0 / ch as f32;
        let mut finite = true;
        if ch == 1 {
            // Mono: a plain copy (the generic per-frame loop below costs several times more).
            let x = &input[..frames];
            finite = x.iter().all(|v| v.is_finite());
            self.mono[..frames].copy_from_slice(x);
            for (p, &v) in self.power[..frames].iter_mut().zip(x) {
                *p = v * v;
            }
        } else {
            for ((m, p), frame) in self.mono[..frames]
                .iter_mut()
                .zip(&mut self.power[..frames])
                .zip(input.chunks_exact(ch))
            {
                let s: f32 = frame.iter().sum::<f32>() * inv;
                finite &= s.is_finite() && frame.iter().all(|v| v.is_finite());
                *m = s;
                *p = frame.iter().map(|v| v * v).sum::<f32>() * inv;
            }
        }
        self.valid = 0;
        if !finite {
            return false;
        }
        self.valid = frames;
        // The analysis signal without its mean over the analysed input: an offset does not
        // count as a match between segments.
        let mean = self.mono[..frames].iter().sum::<f32>() / frames.max(1) as f32;
        for (y, &x) in self.hp[..frames].iter_mut().zip(&self.mono[..frames]) {
            *y = x - mean;
        }
        let d = self.decim;
        let inv_d = 1.0 / d as f32;
        let coarse_frames = (frames / d).min(self.coarse.len());
        for (c, block) in self.coarse[..coarse_frames]
            .iter_mut()
            .zip(self.hp[..frames].chunks_exact(d))
        {
            *c = block.iter().sum::<f32>() * inv_d;
        }
        true
    }

    /// Decides the splice at input frame `pos`: a pitch lag of at most `pitch_cap` frames, or
    /// (quiet input) `quiet_cap` frames.
    fn analyse(&mut self, pos: usize, pitch_cap: usize, quiet_cap: usize) -> Splice {
        if quiet_cap >= 1 {
            let end = (pos + 2 * quiet_cap).min(self.valid);
            let start = pos.min(end);
            let region = &self.power[start..end];
            if !region.is_empty() {
                // Variance: the mean square less the squared mean of the channel average (a DC
                // offset on silence is still quiet).
                let len = region.len() as f32;
                let mean = self.mono[start..end].iter().sum::<f32>() / len;
                let ms = region.iter().sum::<f32>() / len - mean * mean;
                if ms <= self.quiet_ms {
                    return Splice::Lag(quiet_cap);
                }
            }
        }
        let max_lag = pitch_cap.min(self.max_lag);
        if max_lag < self.min_lag {
            return Splice::None;
        }
        let Some(coarse_lag) = self.coarse_search(pos, max_lag) else {
            return Splice::None;
        };
        let d = self.decim;
        let (lag, c) = self.refine(pos, coarse_lag * d, d, max_lag);
        if lag == 0 || c < CORRELATION_THRESHOLD {
            return Splice::None;
        }
        // Full-rate octave check: when a third or a half of the lag also passes (and is almost
        // as good), the shorter one is the period.
        for k in [3usize, 2] {
            let centre = (lag + k / 2) / k;
            if centre < self.min_lag {
                continue;
            }
            // Skip the full-rate work when the coarse correlation near lag / k is poor.
            let ck = (coarse_lag + k / 2) / k;
            let (clo, chi) = self.corr_range;
            let near = (ck.saturating_sub(1).max(clo)..=(ck + 1).min(chi))
                .map(|i| self.corr.get(i).copied().unwrap_or(0.0))
                .fold(f32::NEG_INFINITY, f32::max);
            if near.is_finite() && near < COARSE_THRESHOLD - 0.1 {
                continue;
            }
            let (short, cs) = self.refine(pos, centre, d.max(2), max_lag);
            if short > 0 && cs >= CORRELATION_THRESHOLD && cs >= c - OCTAVE_MARGIN {
                return Splice::Lag(short);
            }
        }
        Splice::Lag(lag)
    }

    /// Best full-rate lag (and its correlation) within `centre ± radius`, limited to
    /// `min_lag..=max_lag`; `(0, -inf)` when no lag fits.
    fn refine(&self, pos: usize, centre: usize, radius: usize, max_lag: usize) -> (usize, f32) {
        let lo = centre.saturating_sub(radius).max(self.min_lag);
        let hi = (centre + radius).min(max_lag);
        let mut best = (0usize, f32::NEG_INFINITY);
        for lag in lo..=hi {
            if pos + 2 * lag > self.valid {
                break;
            }
            let a = &self.hp[pos..pos + lag];
            let b = &self.hp[pos + lag..pos + 2 * lag];
            let c = ncc(a, b);
            if c > best.1 {
                best = (lag, c);
            }
        }
        best
    }

    /// Coarse lag (in coarse samples) for a splice at full-rate frame `pos`, lags up to
    /// `max_lag` full-rate frames.
    fn coarse_search(&mut self, pos: usize, max_lag: usize) -> Option<usize> {
        self.corr_range = (1, 0);
        let d = self.decim;
        let k0 = pos.div_ceil(d);
        let avail = (self.valid / d).min(self.coarse.len()).saturating_sub(k0);
        let lo = self.min_lag.div_ceil(d).max(1);
        let hi = (max_lag / d)
            .min(avail / 2)
            .min(self.corr.len().saturating_sub(2));
        if hi < lo + 2 {
            // Too few coarse lags for a local maximum: refine around the middle directly
            // when the range is tiny (very low rates).
            return if hi >= lo { Some((lo + hi) / 2) } else { None };
        }
        // One lag below the range is computed as a neighbour only, so that the shortest lag
        // of the range can be a local maximum.
        let lo = (lo - 1).max(1);
        self.corr_range = (lo, hi);
        for lag in lo..=hi {
            let a = &self.coarse[k0..k0 + lag];
            let b = &self.coarse[k0 + lag..k0 + 2 * lag];
            self.corr[lag] = ncc(a, b);
        }
        let is_peak =
            |corr: &[f32], lag: usize| corr[lag] >= corr[lag - 1] && corr[lag] >= corr[lag + 1];
        let mut best = (0usize, f32::NEG_INFINITY);
        for lag in lo + 1..hi {
            let c = self.corr[lag];
            if is_peak(&self.corr, lag) && c > best.1 {
                best = (lag, c);
            }
        }
        if best.0 == 0 || best.1.is_nan() || best.1 < COARSE_THRESHOLD {
            return None;
        }
        // Octave guard: a shorter peak almost as good whose multiple is the best lag is the
        // period (the best may be two or three periods). Other peaks near the best one are
        // comb-structure artefacts of a harmonic-rich signal, not periods.
        let (best_lag, best_c) = best;
        (lo + 1..best_lag)
            .find(|&lag| {
                is_peak(&self.corr, lag)
                    && self.corr[lag] >= best_c - OCTAVE_MARGIN
                    && (2..=best_lag / lag + 1).any(|k| (k * lag).abs_diff(best_lag) <= k)
            })
            .or(Some(best_lag))
    }
}

/// Mean square of a dBFS RMS level.
fn db_to_ms(dbfs: f32) -> f32 {
    10f32.powf(dbfs / 10.0)
}

/// Normalised cross-correlation of two equally long slices (0 when either is silent). The
/// slices come from the analysis signal less its mean, so an offset does not count as a
/// match.
fn ncc(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent partial sums per quantity so the compiler can vectorise the loop
    // (a single f32 accumulator forces sequential adds).
    const LANES: usize = 8;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut ab = [0.0f32; LANES];
    let mut aa = [0.0f32; LANES];
    let mut bb = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..LANES {
            ab[k] += x[k] * y[k];
            aa[k] += x[k] * x[k];
            bb[k] += y[k] * y[k];
        }
    }
    let (mut sab, mut saa, mut sbb) = (
        ab.iter().sum::<f32>(),
        aa.iter().sum::<f32>(),
        bb.iter().sum::<f32>(),
    );
    for (&x, &y) in ra.iter().zip(rb) {
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    let den = saa.sqrt() * sbb.sqrt();
    if den > 1e-30 { sab / den } else { 0.0 }
}

/// Copies input frames `from..to` to output frame `dst` onwards (bounds checked: never
/// writes beyond `out`).
fn copy_frames(input: &[f32], from: usize, to: usize, out: &mut [f32], dst: usize, ch: usize) {
    if to <= from {
        return;
    }
    let src = input.get(from * ch..to * ch);
    let len = (to - from) * ch;
    let dst_slice = out.get_mut(dst * ch..dst * ch + len);
    if let (Some(s), Some(d)) = (src, dst_slice) {
        d.copy_from_slice(s);
    }
}

/// Writes `l` frames fading from input frame `fade_out` onwards to input frame `fade_in`
/// onwards (`w_i = (i+1)/(l+1)`) at output frame `dst`.
fn crossfade(
    input: &[f32],
    fade_out: usize,
    fade_in: usize,
    l: usize,
    out: &mut [f32],
    dst: usize,
    ch: usize,
) {
    let (Some(a), Some(b), Some(o)) = (
        input.get(fade_out * ch..(fade_out + l) * ch),
        input.get(fade_in * ch..(fade_in + l) * ch),
        out.get_mut(dst * ch..(dst + l) * ch),
    ) else {
        return;
    };
    let step = 1.0 / (l as f32 + 1.0);
    for (i, ((fa, fb), fo)) in a
        .chunks_exact(ch)
        .zip(b.chunks_exact(ch))
        .zip(o.chunks_exact_mut(ch))
        .enumerate()
    {
        let w = (i as f32 + 1.0) * step;
        for ((&x, &y), z) in fa.iter().zip(fb).zip(fo.iter_mut()) {
            *z = x + w * (y - x);
        }
    }
}

/// The copy fallback: `min(input.len(), out.len())` samples, whole frames reported.
fn copy_fallback(input: &[f32], out: &mut [f32], ch: usize) -> Stretched {
    let len = input.len().min(out.len());
    out[..len].copy_from_slice(&input[..len]);
    Stretched {
        output_frames: len / ch.max(1),
        changed_frames: 0,
    }
}
