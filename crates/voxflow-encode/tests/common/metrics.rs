//! Quality metrics shared by the tests and the backend evaluation tool (test support code).
//!
//! * **LSD** — log-spectral distance in dB between reference and decoded signal: 1024-sample
//!   Hann frames (hop 512) at 48 kHz, power spectra over 50 Hz–8 kHz (bins 1..=170), per-frame
//!   `sqrt(mean_k (10 log10 (P_ref(k)+e) / (P_dec(k)+e))^2)`, averaged over *active* frames
//!   (reference frame RMS above -45 dBFS). `e` = 1e-7 × frame length (a -70 dB floor so that
//!   near-empty bins do not dominate). Lower is better; identical signals give 0.
//! * **segSNR** — segmental SNR over 20 ms segments of active speech, each clamped to
//!   [-10, 35] dB. Waveform-matching; Opus is a perceptual codec so this is low, but it
//!   separates concealment from FEC recovery well.
//! * **align** — the lag (in samples) of the decoded signal that maximises normalised
//!   cross-correlation with the reference, searched in a window.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

/// In-place radix-2 complex FFT (len power of two).
fn fft(re: &mut [f64], im: &mut [f64]) {
    let n = re.len();
    let mut j = 0usize;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let ang = -2.0 * std::f64::consts::PI / len as f64;
        for start in (0..n).step_by(len) {
            for k in 0..len / 2 {
                let (s, c) = (ang * k as f64).sin_cos();
                let a = start + k;
                let b = a + len / 2;
                let tr = re[b] * c - im[b] * s;
                let ti = re[b] * s + im[b] * c;
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
        len <<= 1;
    }
}

const N: usize = 1024;
const HOP: usize = 512;

fn power_spectrum(x: &[f32], win: &[f64], re: &mut [f64], im: &mut [f64], out: &mut [f64]) {
    for i in 0..N {
        re[i] = f64::from(x[i]) * win[i];
        im[i] = 0.0;
    }
    fft(re, im);
    for k in 0..out.len() {
        out[k] = re[k] * re[k] + im[k] * im[k];
    }
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// Log-spectral distance (dB) between `reference` and `decoded` (same rate 48 kHz, aligned).
pub fn lsd(reference: &[f32], decoded: &[f32]) -> f64 {
    let n = reference.len().min(decoded.len());
    let win: Vec<f64> = (0..N)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N as f64).cos())
        .collect();
    let (mut re, mut im) = (vec![0.0; N], vec![0.0; N]);
    let (mut pa, mut pb) = (vec![0.0; 171], vec![0.0; 171]);
    let eps = 1e-7 * N as f64;
    let thr = 10f64.powf(-45.0 / 20.0);
    let (mut sum, mut frames) = (0.0, 0usize);
    let mut pos = 0;
    while pos + N <= n {
        let a = &reference[pos..pos + N];
        if rms(a) > thr {
            power_spectrum(a, &win, &mut re, &mut im, &mut pa);
            power_spectrum(&decoded[pos..pos + N], &win, &mut re, &mut im, &mut pb);
            let mut d = 0.0;
            for k in 1..=170 {
                let v = 10.0 * ((pa[k] + eps) / (pb[k] + eps)).log10();
                d += v * v;
            }
            sum += (d / 170.0).sqrt();
            frames += 1;
        }
        pos += HOP;
    }
    if frames == 0 {
        0.0
    } else {
        sum / frames as f64
    }
}

/// Segmental SNR (dB) over 20 ms (960-sample) segments of active reference.
pub fn seg_snr(reference: &[f32], decoded: &[f32]) -> f64 {
    let n = reference.len().min(decoded.len());
    let thr = 10f64.powf(-45.0 / 20.0);
    let (mut sum, mut segs) = (0.0, 0usize);
    for s in (0..n.saturating_sub(959)).step_by(960) {
        let a = &reference[s..s + 960];
        if rms(a) <= thr {
            continue;
        }
        let b = &decoded[s..s + 960];
        let sig: f64 = a.iter().map(|&v| f64::from(v).powi(2)).sum();
        let err: f64 = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum();
        let snr = 10.0 * (sig / err.max(1e-20)).log10();
        sum += snr.clamp(-10.0, 35.0);
        segs += 1;
    }
    if segs == 0 { 0.0 } else { sum / segs as f64 }
}

/// The lag in `lo..=hi` at which `decoded[lag..]` best matches `reference` (normalised
/// cross-correlation over `reference[from..from + len]`).
pub fn align(
    reference: &[f32],
    decoded: &[f32],
    lo: usize,
    hi: usize,
    from: usize,
    len: usize,
) -> usize {
    let a = &reference[from..(from + len).min(reference.len())];
    let mut best = (f64::MIN, lo);
    for lag in lo..=hi {
        let Some(b) = decoded.get(from + lag..from + lag + a.len()) else {
            break;
        };
        let (mut xy, mut yy) = (0.0f64, 0.0f64);
        for (&x, &y) in a.iter().zip(b) {
            xy += f64::from(x) * f64::from(y);
            yy += f64::from(y) * f64::from(y);
        }
        let c = xy / yy.sqrt().max(1e-12);
        if c > best.0 {
            best = (c, lag);
        }
    }
    best.1
}

/// Reads raw little-endian f32 samples.
pub fn read_f32le(path: &std::path::Path) -> std::io::Result<Vec<f32>> {
    let b = std::fs::read(path)?;
    Ok(b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// LSD (as [`lsd`]) over only the 1024-sample windows centred on the given 960-sample frames
/// (e.g. the frames of lost packets): how well concealment / FEC rebuilt them. Inactive frames
/// are skipped as in [`lsd`].
pub fn lsd_frames(reference: &[f32], decoded: &[f32], frames: &[usize]) -> f64 {
    let mut r = Vec::with_capacity(frames.len() * N);
    let mut d = Vec::with_capacity(frames.len() * N);
    for &f in frames {
        let start = (f * 960 + 480).saturating_sub(N / 2);
        if let (Some(a), Some(b)) = (
            reference.get(start..start + N),
            decoded.get(start..start + N),
        ) {
            r.extend_from_slice(a);
            d.extend_from_slice(b);
            r.extend(std::iter::repeat_n(0.0, HOP)); // keep windows from straddling two frames
            d.extend(std::iter::repeat_n(0.0, HOP));
        }
    }
    lsd(&r, &d)
}
