//! Channel remix: the documented gain matrices and the (allocation-free) code that applies them.

use crate::Error;

/// −3 dB (1/√2): the ITU-R BS.775 gain for centre and surround channels in a stereo downmix.
pub const MINUS_3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// How input channels become output channels.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Remix {
    /// The output channel count decides; the matrix is [`remix_gains`]`(from, to)`.
    #[default]
    Auto,
    /// Your own gains, row-major: `to` rows of `from` gains, so output channel `o` is
    /// `Σ_i gains[o * from + i] · input[i]`. Must hold exactly `to * from` finite values.
    Matrix(Vec<f32>),
}

/// The matrix [`Remix::Auto`] uses for `from` input channels and `to` output channels, row-major
/// (`to` rows of `from` gains: `out[o] = Σ_i g[o * from + i] · in[i]`).
///
/// Every matrix here has non-negative gains and rows that sum to at most 1, so the output can
/// never exceed the input's peak (no clipping). Channel orders follow WAV/SMPTE:
/// 5.1 is `L R C LFE Ls Rs`, 7.1 is `L R C LFE Lb Rb Ls Rs`.
///
/// | from → to | rule |
/// |---|---|
/// | n → n | identity |
/// | 1 → m | copy to every output channel (mono → stereo: `L = R = M`) |
/// | 2 → 1 | `M = 0.5·(L + R)` |
/// | 6 → 2 (5.1) | ITU-R BS.775 with −3 dB centre and surrounds, LFE dropped, scaled by `g = 1/(1 + 2·0.7071) ≈ 0.4142`: `L' = g·(L + 0.7071·C + 0.7071·Ls)`, `R' = g·(R + 0.7071·C + 0.7071·Rs)` |
/// | 6 → 1 | `M = 0.5·(L' + R')` of the 5.1 → stereo mix above |
/// | 8 → 2 (7.1) | as 5.1 with both surround pairs at −3 dB, `g = 1/(1 + 3·0.7071)` |
/// | 8 → 1 | `M = 0.5·(L' + R')` of the 7.1 → stereo mix |
/// | n → 1 (other n) | average of all channels (`1/n` each) |
/// | n → m, n > m ≥ 2 (other) | output `o` = average of the inputs `i` with `i mod m = o` |
/// | n → m, 2 ≤ n < m | input `i` → output `i`; the extra outputs are silent |
///
/// ```
/// use voxflow_resample::remix_gains;
/// assert_eq!(remix_gains(2, 1), vec![0.5, 0.5]);
/// assert_eq!(remix_gains(1, 2), vec![1.0, 1.0]);
/// ```
pub fn remix_gains(from: u16, to: u16) -> Vec<f32> {
    let (n, m) = (usize::from(from), usize::from(to));
    let mut g = vec![0.0f32; n * m];
    if n == 0 || m == 0 {
        return g;
    }
    let a = MINUS_3DB;
    match (n, m) {
        _ if n == m => (0..n).for_each(|i| g[i * n + i] = 1.0),
        (1, _) => g.iter_mut().for_each(|v| *v = 1.0),
        (6, 2) | (6, 1) | (8, 2) | (8, 1) => {
            // Stereo rows first.
            let surrounds: &[(usize, usize)] = if n == 6 { &[(4, 5)] } else { &[(4, 5), (6, 7)] };
            let norm = 1.0 / (1.0 + a + a * surrounds.len() as f32);
            let mut l = vec![0.0f32; n];
            let mut r = vec![0.0f32; n];
            l[0] = norm;
            r[1] = norm;
            l[2] = a * norm;
            r[2] = a * norm;
            for &(sl, sr) in surrounds {
                l[sl] = a * norm;
                r[sr] = a * norm;
            }
            if m == 2 {
                g[..n].copy_from_slice(&l);
                g[n..].copy_from_slice(&r);
            } else {
                for i in 0..n {
                    g[i] = 0.5 * (l[i] + r[i]);
                }
            }
        }
        (_, 1) => g.iter_mut().for_each(|v| *v = 1.0 / n as f32),
        _ if n > m => {
            for o in 0..m {
                let count = (o..n).step_by(m).count() as f32;
                for i in (o..n).step_by(m) {
                    g[o * n + i] = 1.0 / count;
                }
            }
        }
        _ => (0..n).for_each(|i| g[i * n + i] = 1.0),
    }
    g
}

/// A remix ready to run: the matrix plus a fast path for the common shapes.
#[derive(Clone, Debug)]
pub(crate) struct Mixer {
    from: usize,
    to: usize,
    kind: Kind,
    gains: Vec<f32>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Identity,
    StereoToMono,
    MonoToAll,
    General,
}

impl Mixer {
    pub(crate) fn new(from: u16, to: u16, remix: &Remix) -> Result<Self, Error> {
        let (n, m) = (usize::from(from), usize::from(to));
        let gains = match remix {
            Remix::Auto => remix_gains(from, to),
            Remix::Matrix(g) => {
                if g.len() != n * m {
                    return Err(Error::InvalidConfig {
                        what: "remix matrix",
                        reason: format!(
                            "{} gains for {from} -> {to} channels (allowed: exactly {})",
                            g.len(),
                            n * m
                        ),
                    });
                }
                if let Some(bad) = g.iter().position(|v| !v.is_finite()) {
                    return Err(Error::InvalidConfig {
                        what: "remix matrix",
                        reason: format!("gain {bad} is not finite (allowed: finite gains)"),
                    });
                }
                g.clone()
            }
        };
        let identity = n == m
            && (0..m).all(|o| (0..n).all(|i| gains[o * n + i] == if o == i { 1.0 } else { 0.0 }));
        let kind = if identity {
            Kind::Identity
        } else if n == 2 && m == 1 && gains == [0.5, 0.5] {
            Kind::StereoToMono
        } else if n == 1 && gains.iter().all(|&v| v == 1.0) {
            Kind::MonoToAll
        } else {
            Kind::General
        };
        Ok(Mixer {
            from: n,
            to: m,
            kind,
            gains,
        })
    }

    pub(crate) fn is_identity(&self) -> bool {
        self.kind == Kind::Identity
    }

    /// Mixes whole frames of `input` (`from` channels) into `output` (`to` channels). The number
    /// of frames is `input.len() / from`; `output` must hold that many. Never allocates.
    pub(crate) fn apply(&self, input: &[f32], output: &mut [f32]) {
        let frames = input.len() / self.from;
        let output = &mut output[..frames * self.to];
        match self.kind {
            Kind::Identity => output.copy_from_slice(&input[..frames * self.from]),
            Kind::StereoToMono => {
                for (o, i) in output.iter_mut().zip(input.chunks_exact(2)) {
                    *o = 0.5 * (i[0] + i[1]);
                }
            }
            Kind::MonoToAll => {
                for (o, &i) in output.chunks_exact_mut(self.to).zip(input) {
                    o.fill(i);
                }
            }
            Kind::General => {
                for (o, i) in output
                    .chunks_exact_mut(self.to)
                    .zip(input.chunks_exact(self.from))
                {
                    for (oc, row) in o.iter_mut().zip(self.gains.chunks_exact(self.from)) {
                        *oc = row.iter().zip(i).map(|(g, x)| g * x).sum();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_matrices_never_clip() {
        for n in 1..=10u16 {
            for m in 1..=10u16 {
                let g = remix_gains(n, m);
                assert_eq!(g.len(), usize::from(n) * usize::from(m));
                for row in g.chunks(usize::from(n)) {
                    let s: f32 = row.iter().sum();
                    assert!(row.iter().all(|&v| v >= 0.0), "{n}->{m}");
                    assert!(s <= 1.0 + 1e-6, "{n}->{m}: row sums to {s}");
                }
            }
        }
    }

    #[test]
    fn five_one_to_stereo_is_itu_with_normalisation() {
        let g = remix_gains(6, 2);
        let norm = 1.0 / (1.0 + 2.0 * MINUS_3DB);
        let l = [norm, 0.0, MINUS_3DB * norm, 0.0, MINUS_3DB * norm, 0.0];
        let r = [0.0, norm, MINUS_3DB * norm, 0.0, 0.0, MINUS_3DB * norm];
        for i in 0..6 {
            assert!((g[i] - l[i]).abs() < 1e-7);
            assert!((g[6 + i] - r[i]).abs() < 1e-7);
        }
        // Full-scale in every channel (LFE included) gives full scale out, not more.
        let m = Mixer::new(6, 2, &Remix::Auto).unwrap();
        let mut out = [0.0; 2];
        m.apply(&[1.0; 6], &mut out);
        assert!((out[0] - 1.0).abs() < 1e-6 && (out[1] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn fast_paths_match_the_matrix() {
        let input: Vec<f32> = (0..24).map(|i| (i as f32 * 0.37).sin()).collect();
        for (n, m) in [(2u16, 1u16), (1, 2), (1, 3), (3, 3), (6, 2), (3, 2), (2, 5)] {
            let fast = Mixer::new(n, m, &Remix::Auto).unwrap();
            let slow = Mixer {
                kind: Kind::General,
                ..fast.clone()
            };
            let frames = input.len() / usize::from(n);
            let mut a = vec![0.0; frames * usize::from(m)];
            let mut b = a.clone();
            fast.apply(&input[..frames * usize::from(n)], &mut a);
            slow.apply(&input[..frames * usize::from(n)], &mut b);
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-6, "{n}->{m}");
            }
        }
    }

    #[test]
    fn rejects_bad_matrices() {
        assert!(matches!(
            Mixer::new(2, 1, &Remix::Matrix(vec![1.0])),
            Err(Error::InvalidConfig {
                what: "remix matrix",
                ..
            })
        ));
        let e = Mixer::new(2, 1, &Remix::Matrix(vec![1.0])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid remix matrix: 1 gains for 2 -> 1 channels (allowed: exactly 2)"
        );
        assert!(Mixer::new(2, 1, &Remix::Matrix(vec![1.0, f32::NAN])).is_err());
        let m = Mixer::new(2, 2, &Remix::Matrix(vec![0.0, 1.0, 1.0, 0.0])).unwrap();
        let mut out = [0.0; 2];
        m.apply(&[0.25, 0.75], &mut out);
        assert_eq!(out, [0.75, 0.25]);
    }
}
