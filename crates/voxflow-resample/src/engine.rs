//! Which rubato resampler each preset builds, and with what parameters.

use rubato::{
    Async, Fft, FixedAsync, FixedSync, SincInterpolationParameters, SincInterpolationType,
    WindowFunction, calculate_cutoff,
};

use crate::{Error, Preset};

/// The algorithm a [`Resampler`](crate::Resampler) runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Engine {
    /// Same rate and channels: only reframing.
    Passthrough,
    /// Same rate, different channels: remix and reframe, no filtering.
    Remix,
    /// rubato's synchronous FFT resampler (`Fft`, both chunk sizes fixed): a windowed-sinc
    /// low-pass (Blackman-Harris²) applied by FFT overlap-add. Fast; needs the rates' greatest
    /// common divisor to give a small enough block.
    Fft,
    /// rubato's asynchronous sinc resampler (`Async::new_sinc`, Blackman-Harris², cubic
    /// interpolation between 128 sub-sample phases). Any ratio, small chunks, slower.
    Sinc,
}

/// Filter length (in samples at the lower of the two rates) the FFT engine aims for, and the
/// largest FFT block (at the lower rate) accepted before falling back to sinc.
fn fft_plan(preset: Preset) -> Option<(usize, usize)> {
    match preset {
        Preset::High => Some((256, 1024)),
        Preset::Balanced => Some((150, 600)),
        Preset::LowLatency => None,
    }
}

/// Sinc filter length in samples at the lower rate.
fn sinc_len_low(preset: Preset, low_rate: u32) -> usize {
    match preset {
        Preset::High => 256,
        Preset::Balanced => 150,
        // Half the filter (the delay) within 2.5 ms at the lower rate.
        Preset::LowLatency => ((f64::from(low_rate) * 0.005) as usize).clamp(16, 128),
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// A built resampler: the rubato object, which engine it is, and its delay in output frames.
pub(crate) struct Built {
    pub(crate) rs: Box<dyn rubato::Resampler<f32>>,
    pub(crate) engine: Engine,
    pub(crate) delay: usize,
}

/// Builds the resampler for `preset`; `fin != fout`.
pub(crate) fn build(preset: Preset, fin: u32, fout: u32, channels: usize) -> Result<Built, Error> {
    let (fi, fo) = (fin as usize, fout as usize);
    let g = gcd(fi, fo);
    let low_block = fi.min(fo) / g;
    if let Some((target, max_block)) = fft_plan(preset) {
        if low_block <= max_block {
            // High rounds the block count up (never shorter than the target), the others to
            // the nearest (44.1 <-> 48 kHz blocks come in steps of 147 samples).
            let k = match preset {
                Preset::High => target.div_ceil(low_block),
                _ => (target + low_block / 2) / low_block,
            }
            .max(1);
            let chunk_in = k * (fi / g);
            let rs = Fft::<f32>::new_custom(
                fi,
                fo,
                chunk_in,
                1,
                channels,
                WindowFunction::BlackmanHarris2,
                FixedSync::Both,
            )?;
            // The filter is centred on input sample floor(fft_size_in / 2); rubato reports
            // fft_size_out / 2, which is half a sample late when fft_size_in is odd.
            let centre = (rs.fft_size_in() / 2) as f64 * f64::from(fout) / f64::from(fin);
            let delay = centre.round() as usize;
            return Ok(Built {
                rs: Box::new(rs),
                engine: Engine::Fft,
                delay,
            });
        }
    }
    let ratio = f64::from(fout) / f64::from(fin);
    let n_low = sinc_len_low(preset, fin.min(fout));
    let stretch = (1.0 / ratio).max(1.0);
    let raw = (n_low as f64 * stretch) as usize;
    // rubato rounds sinc_len up to a multiple of 8; LowLatency rounds down to keep its delay.
    let sinc_len = match preset {
        Preset::LowLatency => (raw / 8 * 8).max(8),
        _ => raw.div_ceil(8) * 8,
    }
    .min(8192);
    let mut params = SincInterpolationParameters::new(sinc_len, WindowFunction::BlackmanHarris2)
        .interpolation(SincInterpolationType::Cubic)
        .oversampling_factor(128);
    if ratio < 1.0 {
        // rubato scales the cutoff by the ratio when downsampling; choose it for the filter's
        // length measured at the output rate so the stopband starts at the output Nyquist.
        let eff = ((sinc_len as f64 * ratio) as usize).max(8);
        params = params.f_cutoff(calculate_cutoff::<f32>(
            eff,
            WindowFunction::BlackmanHarris2,
        ));
    }
    let chunk_ms = match preset {
        Preset::LowLatency => 1.0,
        _ => 5.0,
    };
    let chunk = ((f64::from(fin) * chunk_ms / 1000.0).ceil() as usize)
        .max((16.0 / ratio).ceil() as usize)
        .max(8);
    let rs = Async::<f32>::new_sinc(ratio, 1.0, &params, chunk, channels, FixedAsync::Input)?;
    // rubato reports floor(sinc_len · ratio / 2); the impulse response actually peaks one output
    // sample earlier (its index steps before the first output is computed). Measured by the
    // click test, which checks the remaining error stays within half a sample.
    let delay = (sinc_len as f64 * ratio / 2.0 - 1.0).round().max(0.0) as usize;
    Ok(Built {
        rs: Box::new(rs),
        engine: Engine::Sinc,
        delay,
    })
}
