#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Time-stretch (accelerate / expand) quality and robustness: removed / inserted lengths are
//! whole pitch periods of synthetic tones, the output keeps the pitch, has no gap (sample
//! steps and short-term energy), real speech accelerates by the required share, white noise
//! is left alone, arbitrary input never panics, and no call allocates.

use proptest::prelude::*;
use voxflow_core::AudioFormat;
use voxflow_jitter_buffer::stretch::{Stretched, TimeStretcher};
use voxflow_testkit::alloc::{CountingAlloc, Window};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn fmt(rate: u32, ch: u16) -> AudioFormat {
    AudioFormat::new(rate, ch).unwrap()
}

/// A harmonic-rich tone (8 harmonics, amplitude 1/k, peak about 0.5) of `secs` seconds, mono.
fn tone(f0: f64, rate: u32, secs: f64) -> Vec<f32> {
    let n = (f64::from(rate) * secs) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let mut v = 0.0;
            for k in 1..=8 {
                let k = f64::from(k);
                v += (2.0 * std::f64::consts::PI * f0 * k * t + 0.3 * k).sin() / k;
            }
            (0.2 * v) as f32
        })
        .collect()
}

/// xorshift64* uniform in [-1, 1).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        (v as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

thread_local! {
    /// Largest per-window ratio of output to input sample step seen by `stream` on this thread.
    static WORST_STEP: std::cell::Cell<f32> = const { std::cell::Cell::new(0.0) };
}

/// Runs `op` over consecutive `win`-frame windows of mono `x`, concatenating the outputs
/// (valid because every output starts and ends with its window's boundary samples).
fn stream(
    ts: &mut TimeStretcher,
    x: &[f32],
    win: usize,
    op: impl FnMut(&mut TimeStretcher, &[f32], &mut [f32]) -> Stretched,
) -> (Vec<f32>, Vec<Stretched>) {
    stream_ch(ts, x, 1, win, op)
}

/// [`stream`] for `ch` interleaved channels (`win` in frames).
fn stream_ch(
    ts: &mut TimeStretcher,
    x: &[f32],
    ch: usize,
    win: usize,
    mut op: impl FnMut(&mut TimeStretcher, &[f32], &mut [f32]) -> Stretched,
) -> (Vec<f32>, Vec<Stretched>) {
    let mut out = Vec::new();
    let mut results = Vec::new();
    let mut buf = vec![0.0; 4 * win * ch];
    for w in x.chunks_exact(win * ch) {
        let r = op(ts, w, &mut buf);
        let o = r.output_frames * ch;
        assert_eq!(&buf[..ch], &w[..ch], "first frame kept");
        assert_eq!(&buf[o - ch..o], &w[w.len() - ch..], "last frame kept");
        // No click: within the window, no sample step larger than the input's own largest
        // one × 1.5 (+ 1e-4 for near-silent windows).
        let (step_in, step_out) = (max_step_ch(w, ch), max_step_ch(&buf[..o], ch));
        assert!(
            step_out <= 1.5 * step_in + 1e-4,
            "window {}: output step {step_out} vs input {step_in} ({r:?})",
            results.len()
        );
        WORST_STEP.with(|c| c.set(c.get().max(step_out / step_in.max(1e-4))));
        out.extend_from_slice(&buf[..o]);
        results.push(r);
    }
    (out, results)
}

/// Pitch period (samples) of `x` by normalised autocorrelation: the shortest local maximum
/// within 5 % of the best, lags for 60..500 Hz.
fn pitch_period(x: &[f32], rate: u32) -> f64 {
    let lo = rate as usize / 500;
    let hi = rate as usize / 60;
    let n = x.len() - hi - 1;
    let r: Vec<f64> = (0..=hi + 1)
        .map(|lag| {
            let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
            for i in 0..n {
                let (a, b) = (f64::from(x[i]), f64::from(x[i + lag]));
                ab += a * b;
                aa += a * a;
                bb += b * b;
            }
            ab / (aa * bb).sqrt().max(1e-30)
        })
        .collect();
    let peaks: Vec<usize> = (lo.max(1)..=hi)
        .filter(|&l| r[l] >= r[l - 1] && r[l] >= r[l + 1])
        .collect();
    let best = peaks.iter().map(|&l| r[l]).fold(f64::MIN, f64::max);
    let l = *peaks.iter().find(|&&l| r[l] >= best - 0.05).unwrap();
    // Parabolic interpolation for a sub-sample period.
    let (a, b, c) = (r[l - 1], r[l], r[l + 1]);
    let den = a - 2.0 * b + c;
    let off = if den.abs() > 1e-12 {
        0.5 * (a - c) / den
    } else {
        0.0
    };
    l as f64 + off
}

/// Largest sample-to-sample step of any channel of interleaved `x`.
fn max_step_ch(x: &[f32], ch: usize) -> f32 {
    (0..ch)
        .map(|c| {
            let v: Vec<f32> = x.iter().skip(c).step_by(ch).copied().collect();
            max_step(&v)
        })
        .fold(0.0, f32::max)
}

fn max_step(x: &[f32]) -> f32 {
    x.windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max)
}

/// dB of the mean square of every `len`-sample window (hop `hop`).
fn window_db(x: &[f32], len: usize, hop: usize) -> Vec<f64> {
    (0..=x.len().saturating_sub(len))
        .step_by(hop)
        .map(|s| {
            let e = x[s..s + len]
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>()
                / len as f64;
            10.0 * e.max(1e-20).log10()
        })
        .collect()
}

fn assert_multiple_of_period(changed: usize, period: f64, what: &str) -> usize {
    let m = (changed as f64 / period).round().max(1.0);
    let err = (changed as f64 - m * period).abs() / (m * period);
    assert!(
        changed > 0 && err <= 0.02,
        "{what}: {changed} frames is not a multiple of the period {period:.2} ({err:.3})"
    );
    m as usize
}

/// Checks the quality of a stretched tone stream against the input tone.
fn assert_quality(input: &[f32], output: &[f32], rate: u32, period: f64, what: &str) {
    let p_out = pitch_period(output, rate);
    assert!(
        (p_out - period).abs() / period <= 0.02,
        "{what}: output period {p_out:.2} vs {period:.2}"
    );
    let (step_in, step_out) = (max_step(input), max_step(output));
    assert!(
        step_out <= step_in * 1.5,
        "{what}: output step {step_out} vs input {step_in}"
    );
    let len = rate as usize / 200;
    let hop = rate as usize / 1000;
    let db_in = window_db(input, len, 1);
    let (lo, hi) = db_in
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    for (k, v) in window_db(output, len, hop).into_iter().enumerate() {
        assert!(
            v >= lo - 3.0 && v <= hi + 3.0,
            "{what}: 5 ms window {k} at {v:.2} dB outside input {lo:.2}..{hi:.2} dB ± 3"
        );
    }
}

#[test]
fn accelerate_removes_whole_periods_and_keeps_pitch() {
    for rate in [16_000u32, 48_000] {
        for f0 in [150.0, 220.0] {
            let period = f64::from(rate) / f0;
            let x = tone(f0, rate, 1.0);
            let mut ts = TimeStretcher::new(fmt(rate, 1));
            for fast in [false, true] {
                let win = if fast {
                    ts.max_input_frames()
                } else {
                    ts.min_input_frames()
                };
                let (out, rs) = stream(&mut ts, &x, win, |ts, w, o| {
                    ts.accelerate(w, usize::MAX, fast, o)
                });
                let what = format!("{f0} Hz at {rate} Hz fast={fast}");
                let mut periods = 0;
                for r in &rs {
                    periods += assert_multiple_of_period(r.changed_frames, period, &what);
                    assert_eq!(r.output_frames + r.changed_frames, win, "{what}");
                }
                if !fast {
                    assert_eq!(periods, rs.len(), "{what}: one period per call");
                }
                let used = rs.len() * win;
                let share = 1.0 - out.len() as f64 / used as f64;
                println!(
                    "{what}: removed {:.1} % ({periods} periods in {} calls)",
                    100.0 * share,
                    rs.len()
                );
                if fast {
                    assert!(share >= 0.3, "{what}: fast mode removed only {share:.3}");
                }
                assert_quality(&x[..used], &out, rate, period, &what);
            }
        }
    }
}

#[test]
fn expand_inserts_one_period_and_keeps_pitch() {
    for rate in [16_000u32, 48_000] {
        for f0 in [150.0, 220.0] {
            let period = f64::from(rate) / f0;
            let x = tone(f0, rate, 1.0);
            let mut ts = TimeStretcher::new(fmt(rate, 1));
            let win = ts.min_input_frames();
            let max_insert = rate as usize / 50;
            let (out, rs) = stream(&mut ts, &x, win, |ts, w, o| {
                ts.expand(w, max_insert, &mut o[..win + max_insert])
            });
            let what = format!("expand {f0} Hz at {rate} Hz");
            for r in &rs {
                assert_eq!(
                    assert_multiple_of_period(r.changed_frames, period, &what),
                    1,
                    "{what}: one period"
                );
                assert_eq!(r.output_frames, win + r.changed_frames);
            }
            assert_quality(&x[..rs.len() * win], &out, rate, period, &what);
        }
    }
}

#[test]
fn limits_are_respected() {
    let rate = 16_000;
    let x = tone(150.0, rate, 0.06);
    let mut ts = TimeStretcher::new(fmt(rate, 1));
    let mut out = vec![0.0; 2000];
    // The period (107) does not fit in 100 frames: no pitch splice, copy.
    let r = ts.accelerate(&x[..480], 100, false, &mut out);
    assert_eq!(
        r,
        Stretched {
            output_frames: 480,
            changed_frames: 0
        }
    );
    assert_eq!(&out[..480], &x[..480]);
    let r = ts.expand(&x[..480], 100, &mut out);
    assert_eq!(r.changed_frames, 0);
    // Short input: copied.
    let r = ts.accelerate(&x[..479], 1000, true, &mut out);
    assert_eq!(
        r,
        Stretched {
            output_frames: 479,
            changed_frames: 0
        }
    );
    // `out` too small: what fits is copied.
    let r = ts.accelerate(&x[..480], 1000, false, &mut out[..300]);
    assert_eq!(
        r,
        Stretched {
            output_frames: 300,
            changed_frames: 0
        }
    );
    assert_eq!(&out[..300], &x[..300]);
    // Expand limited by `out`: 50 extra frames cannot hold a 107-frame period.
    let r = ts.expand(&x[..480], 1000, &mut out[..530]);
    assert_eq!(r.changed_frames, 0);
    // Quiet input: any length up to the limit.
    let quiet: Vec<f32> = x.iter().map(|v| v * 1e-3).collect();
    let r = ts.accelerate(&quiet, 37, false, &mut out);
    assert_eq!(
        r,
        Stretched {
            output_frames: 960 - 37,
            changed_frames: 37
        }
    );
    let r = ts.expand(&quiet[..480], 37, &mut out);
    assert_eq!(
        r,
        Stretched {
            output_frames: 480 + 37,
            changed_frames: 37
        }
    );
    // Input longer than max_input_frames: the rest is copied after the processed part.
    let long = tone(150.0, rate, 0.1);
    let r = ts.accelerate(&long, usize::MAX, true, &mut out);
    assert!(r.changed_frames > 0);
    assert_eq!(r.output_frames, 1600 - r.changed_frames);
    assert_eq!(&out[r.output_frames - 640..r.output_frames], &long[960..]);
}

#[test]
fn multichannel_keeps_channels_aligned() {
    let rate = 48_000;
    let mono = tone(220.0, rate, 0.03);
    let ch = 3;
    // Three gains, one inverted: the analysis uses the channel mean.
    let gains = [0.5f32, 0.8, -0.3];
    let x: Vec<f32> = mono.iter().flat_map(|&v| gains.map(|g| g * v)).collect();
    let mut ts = TimeStretcher::new(fmt(rate, ch));
    let mut out = vec![0.0; x.len() + 2000 * 3];
    for op in 0..2 {
        let r = if op == 0 {
            ts.accelerate(&x, usize::MAX, false, &mut out)
        } else {
            ts.expand(&x, 1000, &mut out)
        };
        assert_multiple_of_period(r.changed_frames, f64::from(rate) / 220.0, "stereo");
        let frames = &out[..r.output_frames * 3];
        for f in frames.chunks_exact(3) {
            for c in 1..3 {
                assert!(
                    (f[c] - f[0] * gains[c] / gains[0]).abs() < 1e-5,
                    "channels drifted: {f:?}"
                );
            }
        }
        assert_eq!(&frames[..3], &x[..3]);
        assert_eq!(&frames[frames.len() - 3..], &x[x.len() - 3..]);
    }
}

#[test]
fn white_noise_is_copied_unchanged() {
    for rate in [8_000u32, 16_000, 48_000] {
        let mut ts = TimeStretcher::new(fmt(rate, 1));
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(rate));
        let n = ts.max_input_frames();
        let mut out = vec![0.0; 2 * n];
        for k in 0..40 {
            let x: Vec<f32> = (0..n).map(|_| rng.next()).collect();
            let r = ts.accelerate(&x, usize::MAX, k % 2 == 0, &mut out);
            assert_eq!(
                r,
                Stretched {
                    output_frames: n,
                    changed_frames: 0
                },
                "noise at {rate} Hz, call {k}"
            );
            assert_eq!(&out[..n], &x[..]);
            let r = ts.expand(&x, n, &mut out);
            assert_eq!(r.changed_frames, 0, "noise expand at {rate} Hz, call {k}");
        }
    }
}

#[test]
fn every_rate_and_channel_count_splices_a_period() {
    for rate in [
        8_000u32, 11_025, 22_050, 32_000, 44_100, 48_000, 96_000, 192_000,
    ] {
        let mono = tone(200.0, rate, 0.06);
        let period = f64::from(rate) / 200.0;
        for ch in 1..=8u16 {
            let chs = usize::from(ch);
            // Channel c carries the tone with gain (c + 1) / chs.
            let x: Vec<f32> = mono
                .iter()
                .flat_map(|&v| (0..chs).map(move |c| v * (c + 1) as f32 / chs as f32))
                .collect();
            let mut ts = TimeStretcher::new(fmt(rate, ch));
            let n = ts.min_input_frames();
            let mut out = vec![0.0; 3 * x.len()];
            let what = format!("{rate} Hz × {ch}");
            let r = ts.accelerate(&x[..n * chs], usize::MAX, false, &mut out);
            assert_eq!(
                assert_multiple_of_period(r.changed_frames, period, &what),
                1,
                "{what}"
            );
            assert_eq!(&out[..chs], &x[..chs], "{what}");
            let o = r.output_frames * chs;
            assert_eq!(&out[o - chs..o], &x[n * chs - chs..n * chs], "{what}");
            let r = ts.expand(&x[..n * chs], n, &mut out);
            assert_eq!(
                assert_multiple_of_period(r.changed_frames, period, &what),
                1,
                "{what} expand"
            );
            let r = ts.accelerate(&x, usize::MAX, true, &mut out);
            assert!(
                r.changed_frames as f64 >= 2.0 * period * 0.98,
                "{what} fast: {r:?}"
            );
        }
    }
}

#[test]
fn pitch_range_is_covered() {
    // 75..380 Hz: accelerate removes a multiple of the period, expand inserts exactly one.
    for rate in [16_000u32, 48_000] {
        let mut ts = TimeStretcher::new(fmt(rate, 1));
        let n = ts.min_input_frames();
        let mut out = vec![0.0; 3 * n];
        for f0 in [75.0, 90.0, 110.0, 135.0, 165.0, 200.0, 245.0, 300.0, 380.0] {
            let x = tone(f0, rate, 0.03);
            let period = f64::from(rate) / f0;
            let what = format!("{f0} Hz at {rate} Hz");
            let r = ts.accelerate(&x[..n], usize::MAX, false, &mut out);
            assert_multiple_of_period(r.changed_frames, period, &what);
            let r = ts.expand(&x[..n], n, &mut out);
            let m = assert_multiple_of_period(r.changed_frames, period, &what);
            assert_eq!(m, 1, "{what}: expand inserted {m} periods");
        }
    }
}

#[test]
fn anti_phase_channels_are_not_quiet() {
    // Loud noise with R = -L: the channel mean is exactly 0, the power is not.
    let mut rng = Rng(3);
    let mut ts = TimeStretcher::new(fmt(16_000, 2));
    let n = ts.max_input_frames();
    let x: Vec<f32> = (0..n)
        .flat_map(|_| {
            let v = rng.next() * 0.5;
            [v, -v]
        })
        .collect();
    let mut out = vec![0.0; 2 * x.len()];
    let r = ts.accelerate(&x, usize::MAX, true, &mut out);
    assert_eq!(
        r,
        Stretched {
            output_frames: n,
            changed_frames: 0
        }
    );
    assert_eq!(ts.expand(&x, n, &mut out).changed_frames, 0);
}

#[test]
fn a_dc_offset_is_not_periodicity() {
    let rate = 16_000;
    let mut ts = TimeStretcher::new(fmt(rate, 1));
    let n = ts.max_input_frames();
    let mut out = vec![0.0; 2 * n];
    let mut rng = Rng(11);
    // Offset 0.3 + white noise at 0.1: not periodic, not quiet → copied.
    for k in 0..40 {
        let x: Vec<f32> = (0..n).map(|_| 0.3 + 0.1 * rng.next()).collect();
        let r = ts.accelerate(&x, usize::MAX, k % 2 == 0, &mut out);
        assert_eq!(r.changed_frames, 0, "offset noise, call {k}");
        assert_eq!(
            ts.expand(&x, n, &mut out).changed_frames,
            0,
            "offset noise, call {k}"
        );
    }
    // Offset 0.3 on near silence: quiet (the offset is not signal).
    let x: Vec<f32> = (0..n).map(|_| 0.3 + 1e-4 * rng.next()).collect();
    assert_eq!(ts.accelerate(&x, 100, false, &mut out).changed_frames, 100);
    // Offset 0.3 on a tone: still exactly one period.
    let x: Vec<f32> = tone(150.0, rate, 0.03).iter().map(|v| v + 0.3).collect();
    let r = ts.accelerate(&x, usize::MAX, false, &mut out);
    assert_eq!(
        assert_multiple_of_period(r.changed_frames, 16_000.0 / 150.0, "offset tone"),
        1
    );
}

#[test]
fn non_finite_input_is_copied() {
    let mut ts = TimeStretcher::new(fmt(16_000, 1));
    let mut x = tone(150.0, 16_000, 0.03);
    let mut out = vec![0.0; 1000];
    x[200] = f32::NAN;
    let r = ts.accelerate(&x, 1000, true, &mut out);
    assert_eq!(
        r,
        Stretched {
            output_frames: 480,
            changed_frames: 0
        }
    );
    x[200] = f32::INFINITY;
    assert_eq!(ts.expand(&x, 500, &mut out).changed_frames, 0);
}

#[test]
fn degenerate_formats_do_not_panic() {
    for (rate, ch) in [(0u32, 0u16), (1, 1), (100, 2), (192_000, 8), (768_000, 1)] {
        let mut ts = TimeStretcher::new(AudioFormat { rate, channels: ch });
        let n = ts.max_input_frames() * usize::from(ch.max(1));
        let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        let mut out = vec![0.0; 2 * n + 16];
        let r = ts.accelerate(&x, usize::MAX, true, &mut out);
        assert_eq!(
            r.output_frames + r.changed_frames,
            n / usize::from(ch.max(1))
        );
        let r = ts.expand(&x, usize::MAX, &mut out);
        assert_eq!(
            r.output_frames,
            n / usize::from(ch.max(1)) + r.changed_frames
        );
        ts.reset();
    }
}

/// 16-bit PCM WAV: rate, channels and interleaved samples, or `None` when the file is not
/// that.
fn read_wav_i16(bytes: &[u8]) -> Option<(u32, u16, Vec<f32>)> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let mut p = 12;
    let mut rate = None;
    while p + 8 <= bytes.len() {
        let id = &bytes[p..p + 4];
        let len = u32::from_le_bytes(bytes[p + 4..p + 8].try_into().ok()?) as usize;
        let body = bytes.get(p + 8..(p + 8 + len).min(bytes.len()))?;
        if id == b"fmt " {
            let format = u16::from_le_bytes(body.get(0..2)?.try_into().ok()?);
            let channels = u16::from_le_bytes(body.get(2..4)?.try_into().ok()?);
            let bits = u16::from_le_bytes(body.get(14..16)?.try_into().ok()?);
            if format != 1 || channels == 0 || bits != 16 {
                return None;
            }
            rate = Some((
                u32::from_le_bytes(body.get(4..8)?.try_into().ok()?),
                channels,
            ));
        } else if id == b"data" {
            let s = body
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
                .collect();
            let (rate, channels) = rate?;
            return Some((rate, channels, s));
        }
        p += 8 + len + (len & 1);
    }
    None
}

/// Accelerate (normal on 30 ms windows, fast on 60 ms windows, normal with the quiet path
/// off) and expand over a whole speech file; returns the removed shares (normal, fast,
/// pitch only), or `None` when the file is missing.
fn speech(file: &str) -> Option<(f64, f64, f64)> {
    let path = voxflow_testkit::data::shared_data(&format!("media/{file}"))?;
    let (rate, channels, x) = read_wav_i16(&std::fs::read(&path).unwrap()).expect("16-bit PCM WAV");
    let ch = usize::from(channels);
    let mut ts = TimeStretcher::new(fmt(rate, channels));
    let (min_in, max_in) = (ts.min_input_frames(), ts.max_input_frames());
    let report = |ts: &mut TimeStretcher, fast: bool, win: usize| {
        let (out, rs) = stream_ch(ts, &x, ch, win, |ts, w, o| {
            ts.accelerate(w, usize::MAX, fast, o)
        });
        let used = rs.len() * win;
        let removed = used - out.len() / ch;
        let changed = rs.iter().filter(|r| r.changed_frames > 0).count();
        let share = removed as f64 / used as f64;
        // No gap: no sample step beyond the input's own largest one (× 1.25), over the file.
        let (step_in, step_out) = (max_step_ch(&x[..used * ch], ch), max_step_ch(&out, ch));
        let worst = WORST_STEP.with(|c| c.replace(0.0));
        println!(
            "{file} fast={fast} quiet path {}: {} ms windows: {changed}/{} windows changed ({:.1} %), {:.2} ms removed per 10 ms, {:.1} % overall; largest step in {step_in:.4}, out {step_out:.4}, worst per-window step ratio {worst:.3}",
            if ts.quiet_dbfs().is_finite() {
                "on"
            } else {
                "off"
            },
            win * 1000 / rate as usize,
            rs.len(),
            100.0 * changed as f64 / rs.len() as f64,
            10.0 * share,
            100.0 * share
        );
        assert!(
            step_out <= 1.25 * step_in,
            "{file} fast={fast}: step {step_out} vs {step_in}"
        );
        share
    };
    let normal = report(&mut ts, false, min_in);
    let fast = report(&mut ts, true, max_in);
    // Energy at the splice (normal mode, documented to cross-fade frames 1..1+L from the
    // segments 1..1+L and 1+L..1+2L): within ±3 dB of the two segments' mean energy wherever
    // the segments are above -40 dBFS.
    let mut worst_db = 0.0f64;
    let mut checked = 0;
    let mut buf = vec![0.0; 2 * min_in * ch];
    for w in x.chunks_exact(min_in * ch) {
        let r = ts.accelerate(w, usize::MAX, false, &mut buf);
        let l = r.changed_frames;
        if l == 0 {
            continue;
        }
        let energy =
            |s: &[f32]| s.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / s.len() as f64;
        let src = 0.5 * (energy(&w[ch..(1 + l) * ch]) + energy(&w[(1 + l) * ch..(1 + 2 * l) * ch]));
        if src < 1e-4 {
            continue;
        }
        let db = 10.0 * (energy(&buf[ch..(1 + l) * ch]) / src).log10();
        worst_db = if db.abs() > worst_db.abs() {
            db
        } else {
            worst_db
        };
        checked += 1;
    }
    println!(
        "{file}: splice energy vs its sources, worst {worst_db:+.2} dB over {checked} splices"
    );
    assert!(
        checked > 0 && worst_db.abs() <= 3.0,
        "{file}: splice energy off by {worst_db:.2} dB"
    );
    // The same with the quiet path off: the share that pitch splices alone achieve.
    ts.set_quiet_dbfs(f32::NEG_INFINITY);
    let pitch_only = report(&mut ts, false, min_in);
    ts.set_quiet_dbfs(voxflow_jitter_buffer::stretch::DEFAULT_QUIET_DBFS);
    // Expand on the same windows, for the record (no threshold set by the brief).
    let (out, rs) = stream_ch(&mut ts, &x, ch, min_in, |ts, w, o| ts.expand(w, min_in, o));
    let changed = rs.iter().filter(|r| r.changed_frames > 0).count();
    println!(
        "{file} expand 30 ms windows: {changed}/{} windows changed, {:.1} % added",
        rs.len(),
        100.0 * (out.len() as f64 / (rs.len() * min_in * ch) as f64 - 1.0)
    );
    Some((normal, fast, pitch_only))
}

#[test]
fn real_speech_accelerates_enough() {
    let Some((normal, fast, pitch_only)) = speech("librivox_16k_mono.wav") else {
        return;
    };
    assert!(
        normal >= 0.05,
        "normal accelerate removed only {:.1} %",
        100.0 * normal
    );
    assert!(
        fast >= 0.20,
        "fast accelerate removed only {:.1} %",
        100.0 * fast
    );
    assert!(
        pitch_only >= 0.03,
        "pitch splices removed only {:.1} %",
        100.0 * pitch_only
    );
}

#[test]
fn real_stereo_speech_at_44k1_accelerates_enough() {
    let Some((normal, fast, pitch_only)) = speech("speech_44k1_stereo_10s.wav") else {
        return;
    };
    assert!(
        normal >= 0.05,
        "normal accelerate removed only {:.1} %",
        100.0 * normal
    );
    assert!(
        fast >= 0.20,
        "fast accelerate removed only {:.1} %",
        100.0 * fast
    );
    assert!(
        pitch_only >= 0.03,
        "pitch splices removed only {:.1} %",
        100.0 * pitch_only
    );
}

#[test]
fn calls_do_not_allocate() {
    let mut rng = Rng(7);
    for (rate, ch) in [(16_000u32, 1u16), (48_000, 2), (8_000, 1), (44_100, 6)] {
        let mut ts = TimeStretcher::new(fmt(rate, ch));
        let ch = usize::from(ch);
        let n = ts.max_input_frames();
        let t = tone(180.0, rate, 0.06);
        let tonal: Vec<f32> = t.iter().flat_map(|&v| std::iter::repeat_n(v, ch)).collect();
        let noise: Vec<f32> = (0..n * ch).map(|_| rng.next()).collect();
        let quiet: Vec<f32> = noise.iter().map(|v| v * 1e-4).collect();
        let mut out = vec![0.0; 3 * n * ch];
        let mut changed = 0;
        let window = Window::start();
        for input in [&tonal, &noise, &quiet] {
            for fast in [false, true] {
                changed += ts
                    .accelerate(input, usize::MAX, fast, &mut out)
                    .changed_frames;
                changed += ts
                    .accelerate(&input[..ts.min_input_frames() * ch], 100, fast, &mut out)
                    .changed_frames;
            }
            changed += ts.expand(input, n, &mut out).changed_frames;
            changed += ts
                .accelerate(&input[1..], n, false, &mut out)
                .changed_frames;
            ts.reset();
        }
        assert_eq!(
            window.allocs().this_thread,
            0,
            "{rate} Hz × {ch}: a call allocated"
        );
        assert!(changed > 0);
    }
}

/// Input: `frames` frames of `ch` channels of a periodic signal (period in frames, level in
/// dBFS, each channel a different gain) with special values injected; or arbitrary floats
/// (`raw`); optionally one sample short (misaligned).
#[derive(Debug, Clone)]
struct Input {
    periodic: bool,
    frames: usize,
    period: usize,
    db: f32,
    specials: Vec<(prop::sample::Index, f32)>,
    raw: Vec<f32>,
    misalign: bool,
}

fn input() -> impl Strategy<Value = Input> {
    let special = prop_oneof![
        Just(f32::NAN),
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        Just(f32::MAX),
        any::<f32>()
    ];
    (
        prop::bool::weighted(0.8),
        0usize..2000,
        1usize..700,
        -90.0f32..0.0,
        proptest::collection::vec((any::<prop::sample::Index>(), special), 0..3),
        proptest::collection::vec(any::<f32>(), 0..3000),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(periodic, frames, period, db, specials, raw, misalign)| Input {
                periodic,
                frames,
                period,
                db,
                // Most periodic cases stay finite, so that splices happen.
                specials: if specials.len() == 2 {
                    specials
                } else {
                    Vec::new()
                },
                raw,
                misalign,
            },
        )
}

impl Input {
    fn samples(&self, ch: usize) -> Vec<f32> {
        let mut v = if self.periodic {
            let a = 10f32.powf(self.db / 20.0);
            let p = self.period as f32;
            (0..self.frames)
                .flat_map(|i| {
                    let ph = (i % self.period) as f32 / p * std::f32::consts::TAU;
                    let v = a * (ph.sin() + 0.3 * (3.0 * ph).sin());
                    (0..ch).map(move |c| v * (1.0 - 0.1 * c as f32))
                })
                .collect()
        } else {
            self.raw.clone()
        };
        if !v.is_empty() {
            for (idx, s) in &self.specials {
                let i = idx.index(v.len());
                v[i] = *s;
            }
        }
        if self.misalign {
            v.pop();
        }
        v
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_input_never_panics(
        input in input(),
        rate in prop_oneof![4 => Just(8_000u32), 4 => Just(16_000), 1 => Just(44_100), 1 => Just(48_000), 1 => 1u32..200_000],
        ch in prop_oneof![3 => Just(1u16), 1 => 1u16..=8],
        limit in 0usize..4000,
        fast in any::<bool>(),
        out_extra in -200isize..3000,
    ) {
        let x = input.samples(usize::from(ch));
        let mut ts = TimeStretcher::new(fmt(rate, ch));
        let chs = usize::from(ch);
        let out_len = (x.len() as isize + out_extra).max(0) as usize;
        let mut out = vec![0.0f32; out_len];
        for expand in [false, true] {
            let r = if expand { ts.expand(&x, limit, &mut out) } else { ts.accelerate(&x, limit, fast, &mut out) };
            prop_assert!(r.output_frames * chs <= out_len);
            prop_assert!(r.changed_frames <= limit);
            if out_len >= x.len() {
                let frames = x.len() / chs;
                let expected = if expand { frames + r.changed_frames } else { frames - r.changed_frames };
                prop_assert_eq!(r.output_frames, expected);
            }
            if r.changed_frames == 0 {
                let n = x.len().min(out_len);
                // Unchanged: a bit-exact copy (NaN compared by bits).
                prop_assert!(out[..n].iter().zip(&x[..n]).all(|(a, b)| a.to_bits() == b.to_bits()));
            } else {
                // Only finite input is spliced.
                let analysed = x.len().min(ts.max_input_frames() * chs);
                prop_assert!(x[..analysed].iter().all(|v| v.is_finite()));
                prop_assert_eq!(&out[..chs], &x[..chs]);
                let o = r.output_frames * chs;
                prop_assert_eq!(&out[o - chs..o], &x[x.len() - chs..]);
            }
        }
    }
}
