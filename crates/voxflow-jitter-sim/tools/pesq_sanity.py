#!/usr/bin/env python3
"""Sanity check of pesq_wb.py on degradations whose effect is known.

Usage: pesq_sanity.py OUT_DIR [SPEECH.wav]

Builds a 60 s 48 kHz mono reference from SPEECH (default ../shared/data/media/turns_48k_mono.wav,
repeated), then two degraded copies:
  warped:  100 ms of leading silence and five 5 ms cuts inside pauses (what a jitter buffer's
           start-up delay and accelerate do to the timing, without damaging speech);
  shifted: warped, plus 250 ms of silence inserted in the middle pause (a buffer that grows
           after a delay spike), so the delay changes from 100 to 350 ms mid-file;
  damaged: 10 % of the 20 ms chunks zeroed at random (seed 1), as unconcealed packet loss.
Scores each with pesq_wb.py, whole-file and in 10 s segments, and prints one JSON line per case.
Expected: warped and shifted > 4.0 in both modes, damaged clearly lower.
"""
import json
import os
import subprocess
import sys
import wave

import numpy as np

RATE = 48000
HERE = os.path.dirname(os.path.abspath(__file__))


def read(path):
    with wave.open(path, 'rb') as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), dtype='<i2').copy()


def write(path, x):
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(x.astype('<i2').tobytes())


def pause_centres(x, n):
    """Centres of the n longest runs of 10 ms frames at least 40 dB under the loudest frame."""
    hop = RATE // 100
    f = len(x) // hop
    e = 10 * np.log10((x[: f * hop].astype(float).reshape(f, hop) ** 2).mean(axis=1) + 1)
    quiet = e < e.max() - 40
    runs, start = [], None
    for i, q in enumerate(np.append(quiet, False)):
        if q and start is None:
            start = i
        elif not q and start is not None:
            runs.append((i - start, start))
            start = None
    runs.sort(reverse=True)
    return sorted((s + length // 2) * hop for length, s in runs[:n])


def main():
    out = sys.argv[1]
    speech = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        HERE, '../../../../shared/data/media/turns_48k_mono.wav')
    os.makedirs(out, exist_ok=True)
    s = read(speech)
    ref = np.tile(s, 60 * RATE // len(s) + 1)[: 60 * RATE]
    cut = RATE // 200  # 5 ms
    warped = ref.copy()
    for c in reversed(pause_centres(ref, 5)):
        warped = np.concatenate([warped[:c], warped[c + cut:]])
    warped = np.concatenate([np.zeros(RATE // 10, ref.dtype), warped])
    pauses = pause_centres(warped, 7)
    mid = pauses[len(pauses) // 2]
    shifted = np.concatenate([warped[:mid], np.zeros(RATE // 4, ref.dtype), warped[mid:]])
    rng = np.random.default_rng(1)
    damaged = ref.copy()
    chunk = RATE // 50
    for k in np.flatnonzero(rng.random(len(ref) // chunk) < 0.10):
        damaged[k * chunk:(k + 1) * chunk] = 0
    paths = {name: os.path.join(out, f'{name}.wav') for name in ('ref', 'warped', 'shifted', 'damaged')}
    for name, x in (('ref', ref), ('warped', warped), ('shifted', shifted), ('damaged', damaged)):
        write(paths[name], x)
    for name in ('warped', 'shifted', 'damaged'):
        for extra in ([], ['--segments', '10']):
            r = subprocess.run([sys.executable, os.path.join(HERE, 'pesq_wb.py'), paths['ref'],
                                paths[name]] + extra, capture_output=True, text=True)
            res = json.loads(r.stdout)
            res.pop('segments', None)
            print(json.dumps({'case': name, **res}))


if __name__ == '__main__':
    main()
