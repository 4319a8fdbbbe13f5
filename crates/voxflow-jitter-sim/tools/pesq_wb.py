#!/usr/bin/env python3
"""Wideband PESQ (ITU-T P.862.2) of a degraded WAV against its reference.

Usage: pesq_wb.py REF.wav DEG.wav [--segments SECONDS]

Both files are 16-bit PCM WAV, mono (a multi-channel file is averaged to mono), any sample rate
that is a whole multiple of 16 kHz or 16 kHz itself (jitter-sim writes 48 kHz). They are
resampled to 16 kHz with scipy's polyphase resampler (`resample_poly`, Kaiser-windowed FIR
anti-alias filter), which is deterministic and pinned with the rest of the venv, so no extra
system package (sox) is needed and the figure does not depend on a sox version.

The score comes from the `pesq` package (the ITU-T P.862 reference C code, wideband mode), which
finds utterances in the reference and aligns each one in the degraded file on its own, so a
degraded file that is delayed, stretched or shortened by a jitter buffer is compared utterance by
utterance rather than sample by sample.

Default: the whole files in one PESQ call. `--segments S` instead cuts the reference into
consecutive S-second pieces, finds each piece's delay in the degraded file (cross-correlation of
10 ms energy envelopes, searched up to 2 s either side of the previous piece's delay), scores
each piece and reports their mean (duration-weighted). Pieces with no speech are skipped.

Prints one line of JSON: {"pesq_wb": MOS-LQO, "mode": "whole"|"segments", ...}. Exit status 1
with {"error": ...} on unreadable input or when PESQ finds no utterance.
"""
import json
import sys
import wave

import numpy as np
from scipy.signal import resample_poly

FS = 16000


def read_wav(path):
    """Returns (samples as float64 in [-1, 1), sample rate)."""
    with wave.open(path, 'rb') as w:
        if w.getsampwidth() != 2:
            raise ValueError(f'{path}: {8 * w.getsampwidth()}-bit samples, want 16-bit PCM')
        rate = w.getframerate()
        ch = w.getnchannels()
        raw = w.readframes(w.getnframes())
    x = np.frombuffer(raw, dtype='<i2').astype(np.float64) / 32768.0
    if ch > 1:
        x = x[: len(x) // ch * ch].reshape(-1, ch).mean(axis=1)
    return x, rate


def to_16k(x, rate):
    if rate == FS:
        return x
    g = np.gcd(rate, FS)
    return resample_poly(x, FS // g, rate // g)


def envelope(x, hop=160):
    """Log energy per 10 ms frame at 16 kHz."""
    n = len(x) // hop
    e = (x[: n * hop].reshape(n, hop) ** 2).mean(axis=1)
    return np.log10(e + 1e-7)


def best_lag(env_ref, env_deg, start, guess, search):
    """Frame lag d (deg frame = ref frame + d) maximizing the correlation of one reference piece
    env_ref (beginning at frame `start`) with the degraded envelope, within guess ± search."""
    r = env_ref - env_ref.mean()
    best, best_d = -np.inf, guess
    for d in range(guess - search, guess + search + 1):
        a = start + d
        if a < 0 or a + len(r) > len(env_deg):
            continue
        s = env_deg[a: a + len(r)]
        c = float(np.dot(r, s - s.mean()))
        if c > best:
            best, best_d = c, d
    return best_d


def score(ref, deg):
    from pesq import pesq
    return float(pesq(FS, ref, deg, 'wb'))


def whole(ref, deg):
    return {'pesq_wb': round(score(ref, deg), 4), 'mode': 'whole'}


def segments(ref, deg, seconds):
    from pesq import NoUtterancesError
    seg = int(seconds * FS)
    hop = 160
    env_r, env_d = envelope(ref, hop), envelope(deg, hop)
    lag = best_lag(env_r, env_d, 0, 0, 200)  # first piece: up to 2 s of start-up delay
    out, total, weight = [], 0.0, 0.0
    for a in range(0, len(ref), seg):
        b = min(a + seg, len(ref))
        if b - a < FS:  # a tail under 1 s is too short for PESQ
            break
        fa, fb = a // hop, b // hop
        lag = best_lag(env_r[fa:fb], env_d, fa, lag, 200)
        da, db = max(a + lag * hop, 0), min(b + lag * hop, len(deg))
        if db - da < FS:
            out.append({'start_s': a / FS, 'skipped': 'degraded file too short here'})
            continue
        try:
            s = score(ref[a:b], deg[da:db])
        except NoUtterancesError:
            out.append({'start_s': a / FS, 'skipped': 'no utterance'})
            continue
        out.append({'start_s': a / FS, 'lag_ms': lag * hop * 1000 // FS, 'pesq_wb': round(s, 4)})
        total += s * (b - a)
        weight += b - a
    if weight == 0:
        raise ValueError('no segment with speech')
    return {'pesq_wb': round(total / weight, 4), 'mode': 'segments', 'segment_s': seconds,
            'segments': out}


def main(argv):
    args = [a for a in argv if not a.startswith('--')]
    seg = None
    if '--segments' in argv:
        i = argv.index('--segments')
        if i + 1 >= len(argv):
            raise ValueError('--segments needs a number of seconds')
        seg = float(argv[i + 1])
        args.remove(argv[i + 1])
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    (ref, r_rate), (deg, d_rate) = read_wav(args[0]), read_wav(args[1])
    ref, deg = to_16k(ref, r_rate), to_16k(deg, d_rate)
    res = segments(ref, deg, seg) if seg else whole(ref, deg)
    res.update({'ref': args[0], 'deg': args[1], 'ref_s': round(len(ref) / FS, 3),
                'deg_s': round(len(deg) / FS, 3), 'resampler': 'scipy.signal.resample_poly',
                'standard': 'ITU-T P.862.2 (pesq 0.0.4, wb)'})
    print(json.dumps(res))
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as e:  # report any failure as JSON so callers can parse it
        print(json.dumps({'error': f'{type(e).__name__}: {e}'}))
        sys.exit(1)
