#!/usr/bin/env python3
"""Fit the voxflow default model (1-hidden-layer MLP) on features dumped by
`examples/dump_features.rs`, choose the decision rule on the validation set, and write
`src/models/weights.rs`. Only the training/validation material from make_data.py is used."""
import argparse, glob, os
import numpy as np

NF = 80


def load(feat_dir, set_dir):
    X, Y, names = [], [], []
    for f in sorted(glob.glob(os.path.join(feat_dir, '*.f32'))):
        stem = os.path.basename(f)[:-4]
        x = np.fromfile(f, dtype='<f4').reshape(-1, NF)
        lab = np.loadtxt(os.path.join(set_dir, 'labels', stem + '.csv'), delimiter=',', skiprows=1, usecols=2)
        n = min(len(x), len(lab))
        X.append(x[:n]); Y.append(lab[:n].astype(np.float32)); names.append(stem)
    return X, Y, names


def decide(p, on, off, hang):
    out = np.zeros(len(p), bool)
    active, h = False, 0
    for i, v in enumerate(p):
        if active:
            if v < off:
                active, h = False, hang
        elif v >= on:
            active = True
        if active:
            out[i] = True
        elif h > 0:
            h -= 1
            out[i] = True
    return out


def scores(P, Y, on, off, hang):
    tp = fp = fn = 0; nfp = ntot = 0
    for p, y in zip(P, Y):
        d = decide(p, on, off, hang)
        if y.sum() == 0:
            nfp += d.sum(); ntot += len(d)
        else:
            tp += (d & (y > 0)).sum(); fp += (d & (y == 0)).sum(); fn += (~d & (y > 0)).sum()
    pr = tp / max(tp + fp, 1); rc = tp / max(tp + fn, 1)
    return 2 * pr * rc / max(pr + rc, 1e-9), nfp / max(ntot, 1)


class MLP:
    def __init__(s, nin, nh, rng):
        s.W1 = rng.standard_normal((nh, nin)).astype(np.float32) * np.sqrt(2 / nin)
        s.b1 = np.zeros(nh, np.float32)
        s.W2 = rng.standard_normal(nh).astype(np.float32) * np.sqrt(1 / nh)
        s.b2 = np.float32(0)

    def forward(s, x):
        h = np.maximum(x @ s.W1.T + s.b1, 0)
        return h, h @ s.W2 + s.b2

    def params(s):
        return [s.W1, s.b1, s.W2, np.array([s.b2])]


def train(X, Y, W, nh, epochs, rng, lr=3e-3, l2=1e-4):
    m = MLP(X.shape[1], nh, rng)
    ps = [m.W1, m.b1, m.W2, np.zeros(1, np.float32)]
    ps[3][0] = 0
    mom = [np.zeros_like(p) for p in ps]; vel = [np.zeros_like(p) for p in ps]
    t = 0
    n = len(X); bs = 512
    for ep in range(epochs):
        idx = rng.permutation(n)
        tot = 0
        for k in range(0, n, bs):
            b = idx[k:k + bs]
            x, y, w = X[b], Y[b], W[b]
            h = np.maximum(x @ ps[0].T + ps[1], 0)
            z = h @ ps[2] + ps[3][0]
            p = 1 / (1 + np.exp(-np.clip(z, -30, 30)))
            g = (p - y) * w / len(b)
            tot += float(np.sum(w * (-(y * np.log(p + 1e-7) + (1 - y) * np.log(1 - p + 1e-7)))))
            gW2 = h.T @ g + l2 * ps[2]; gb2 = np.array([g.sum()], np.float32)
            gh = np.outer(g, ps[2]) * (h > 0)
            gW1 = gh.T @ x + l2 * ps[0]; gb1 = gh.sum(0)
            t += 1
            for i, gr in enumerate([gW1, gb1, gW2, gb2]):
                mom[i] = 0.9 * mom[i] + 0.1 * gr
                vel[i] = 0.999 * vel[i] + 0.001 * gr * gr
                mh = mom[i] / (1 - 0.9 ** t); vh = vel[i] / (1 - 0.999 ** t)
                ps[i] -= (lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)
        print(f'epoch {ep} loss {tot / n:.4f}', flush=True)
    m.W1, m.b1, m.W2, m.b2 = ps[0], ps[1], ps[2], float(ps[3][0])
    return m


def fmt(a):
    return '[' + ', '.join(f'{float(v):.7e}' for v in np.ravel(a)) + ']'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default='/tmp/vadtrain')
    ap.add_argument('--hidden', type=int, default=16)
    ap.add_argument('--epochs', type=int, default=12)
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'src', 'models', 'weights.rs'))
    a = ap.parse_args()
    rng = np.random.default_rng(7)
    Xtr, Ytr, _ = load(a.data + '/feat_train', a.data + '/train')
    Xva, Yva, nva = load(a.data + '/feat_val', a.data + '/val')
    X = np.concatenate(Xtr); Y = np.concatenate(Ytr)
    # weight non-speech files up (false alarms on music/effects matter most)
    W = np.concatenate([np.full(len(y), 2.0 if y.sum() == 0 else 1.0, np.float32) for y in Ytr])
    mean = X.mean(0); std = X.std(0) + 1e-3
    Xn = ((X - mean) / std).astype(np.float32)
    m = train(Xn, Y, W, a.hidden, a.epochs, rng)
    Pva = [1 / (1 + np.exp(-m.forward((x - mean) / std)[1])) for x in Xva]
    best = None
    for on in [0.4, 0.5, 0.6, 0.7, 0.8, 0.9]:
        for off in [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]:
            if off > on:
                continue
            for hang in [0, 3, 6, 10, 15]:
                f1, fpr = scores(Pva, Yva, on, off, hang)
                key = f1 if fpr <= 0.01 else f1 - 10 * fpr
                if best is None or key > best[0]:
                    best = (key, on, off, hang, f1, fpr)
    _, on, off, hang, f1, fpr = best
    print(f'validation: on {on} off {off} hangover {hang}: F1 {f1:.4f} FPR(non-speech) {fpr:.4f}')
    for p, y, nm in zip(Pva, Yva, nva):
        d = decide(p, on, off, hang)
        if y.sum() == 0:
            print(f'  {nm}: fpr {d.mean():.4f}')
        else:
            tp = (d & (y > 0)).sum(); pr = tp / max(d.sum(), 1); rc = tp / max((y > 0).sum(), 1)
            print(f'  {nm}: f1 {2 * pr * rc / max(pr + rc, 1e-9):.3f}')
    H = a.hidden
    s = ['//! Generated by `train/fit.py` from material built by `train/make_data.py` — do not edit.',
         f'//! Validation (held-out clips, music and effects): F1 {f1:.4f}, FPR on non-speech {fpr:.4f}.',
         '#![allow(clippy::excessive_precision, clippy::unreadable_literal)]',
         'use crate::features::N_FEATURES;',
         f'pub(crate) const HIDDEN: usize = {H};',
         f'pub(crate) const MEAN: [f32; N_FEATURES] = {fmt(mean)};',
         f'pub(crate) const INV_STD: [f32; N_FEATURES] = {fmt(1 / std)};',
         'pub(crate) const W1: [[f32; N_FEATURES]; HIDDEN] = [' + ', '.join(fmt(r) for r in m.W1) + '];',
         f'pub(crate) const B1: [f32; HIDDEN] = {fmt(m.b1)};',
         f'pub(crate) const W2: [f32; HIDDEN] = {fmt(m.W2)};',
         f'pub(crate) const B2: f32 = {m.b2:.7e};',
         f'pub(crate) const DECISION_ON: f32 = {on};',
         f'pub(crate) const DECISION_OFF: f32 = {off};',
         f'pub(crate) const DECISION_HANGOVER: u32 = {hang};', '']
    open(a.out, 'w').write('\n'.join(s))
    print('wrote', a.out)


if __name__ == '__main__':
    main()
