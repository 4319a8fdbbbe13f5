#!/usr/bin/env python3
"""Build the voxflow-vad training and validation material (NOT the evaluation set).

Sources (Debian packages NOT used by shared/data/vad; fetch with fetch_sources.sh):
  speech  asterisk-core-sounds-es-g722, asterisk-core-sounds-fr-g722 (16 kHz wide-band),
          asterisk-core-sounds-it-wav, asterisk-core-sounds-ru-wav, asterisk-prompt-es-co,
          asterisk-prompt-fr-armelle, asterisk-prompt-it-menardi-wav (8 kHz telephone band),
          espeak-ng synthetic sentences (several languages and voice variants), festival
          sentences (diphone and HTS voices: English, Italian, Czech, Catalan)
  noise   synthetic white / pink / brown, babble made of 6 overlapped speech streams,
          music: colobot-common-sounds, hyperrogue-music, planetblupi-music-ogg, lomiri-sounds
          ringtones, asc-music, nexuiz-music; effects / UI sounds: colobot-common-sounds,
          deepin-sound-theme, lomiri-sounds notifications, psi-plus-sounds, eiskaltdcpp-sounds
Labels: the same kind of energy rule on the clean clips as the evaluation set uses
(frame dB over 160 samples; thr = min(max(p99-35, p10+10), p99-15); close gaps < 150 ms;
drop runs < 30 ms; dilate by 20 ms), clips trimmed to first/last speech frame.
Output: OUT/{train,val}/{wav,labels}/NN_name.{wav,csv}, the same layout as shared/data/vad.
Clips are split between train and val by file (no clip appears in both).
"""
import argparse, glob, os, subprocess, sys
import numpy as np
import soundfile as sf
from scipy.signal import resample_poly, lfilter

SR = 16000
HOP = 160


def decode(path, max_s=None):
    if path.endswith(('.g722', '.gsm', '.mp3')):
        fmt = {'.g722': ['-f', 'g722'], '.gsm': ['-f', 'gsm'], '.mp3': []}[os.path.splitext(path)[1]]
        lim = [] if max_s is None else ['-t', str(max_s)]
        raw = subprocess.run(['ffmpeg', '-loglevel', 'error'] + fmt + ['-i', path] + lim + ['-f', 's16le',
                              '-ac', '1', '-ar', str(SR), '-'], capture_output=True, check=True).stdout
        return np.frombuffer(raw, dtype='<i2').astype(np.float64) / 32768.0
    info = sf.info(path)
    frames = -1 if max_s is None else int(max_s * info.samplerate)
    x, sr = sf.read(path, dtype='float64', always_2d=True, frames=frames)
    x = x.mean(axis=1)
    if sr != SR:
        from math import gcd
        g = gcd(sr, SR)
        x = resample_poly(x, SR // g, sr // g)
    return x


def frame_db(x):
    n = len(x) // HOP
    f = x[:n * HOP].reshape(n, HOP)
    return 10 * np.log10(np.mean(f * f, axis=1) + 1e-12)


def energy_labels(x):
    db = frame_db(x)
    if len(db) == 0:
        return db.astype(bool)
    p99, p10 = np.percentile(db, 99), np.percentile(db, 10)
    thr = min(max(p99 - 35, p10 + 10), p99 - 15)
    s = db > thr
    # close gaps < 150 ms
    idx = np.flatnonzero(s)
    if len(idx) == 0:
        return s
    for a, b in zip(idx[:-1], idx[1:]):
        if 1 < b - a <= 15:
            s[a:b] = True
    # drop runs < 30 ms
    out = s.copy()
    i = 0
    while i < len(s):
        if s[i]:
            j = i
            while j < len(s) and s[j]:
                j += 1
            if j - i < 3:
                out[i:j] = False
            i = j
        else:
            i += 1
    # dilate 20 ms
    d = out.copy()
    for k in (1, 2):
        d[k:] |= out[:-k]
        d[:-k] |= out[k:]
    return d


def load_clips(paths):
    clips = []
    for p in paths:
        try:
            x = decode(p)
        except Exception as e:  # noqa
            print('skip', p, e, file=sys.stderr)
            continue
        lab = energy_labels(x)
        idx = np.flatnonzero(lab)
        if len(idx) < 20:
            continue
        a, b = idx[0], idx[-1] + 1
        x = x[a * HOP:b * HOP]
        lab = lab[a:b]
        act = x[:len(lab) * HOP].reshape(len(lab), HOP)[lab]
        rms = np.sqrt(np.mean(act ** 2))
        if rms <= 0:
            continue
        clips.append((x / rms, lab))  # unit active-speech RMS
    return clips


# Vocabulary of the synthetic sentences (festival's adds a phrase of read speech).
WORDS = ('the quick brown fox jumps over a lazy dog while seven bright stars shine on calm water '
         'please call me back tomorrow morning because the meeting moved to nine thirty and bring '
         'the report with numbers one two three four five six seven eight nine ten hello goodbye '
         'yes no maybe thank you very much weather today is cloudy with light rain later').split()
FESTIVAL_WORDS = WORDS + 'reading aloud from an old book she paused then turned the page and went on slowly'.split()


def sentence(rng, words, max_words):
    """3 to max_words - 1 words drawn at random."""
    return ' '.join(rng.choice(words, size=rng.integers(3, max_words)))


def espeak_clips(rng, n, tmp):
    langs = ['en', 'en-us', 'de', 'fr', 'es', 'it', 'pt', 'nl', 'pl', 'sv', 'fi', 'cs', 'ru', 'tr', 'el', 'hu']
    paths = []
    for i in range(n):
        w = sentence(rng, WORDS, 14)
        v = rng.choice(langs) + '+' + rng.choice(['m1', 'm2', 'm3', 'm4', 'f1', 'f2', 'f3', 'f4'])
        p = os.path.join(tmp, f'es_{i}.wav')
        subprocess.run(['espeak-ng', '-v', v, '-s', str(int(rng.integers(130, 200))),
                        '-p', str(int(rng.integers(20, 80))), '-w', p, w], check=True, capture_output=True)
        paths.append(p)
    return paths


FESTIVAL_VOICES = ['kal_diphone', 'ked_diphone', 'cmu_us_slt_arctic_hts', 'lp_diphone', 'pc_diphone',
                   'czech_dita', 'czech_machac', 'upc_ca_ona_hts']


def festival_clips(rng, n, tmp):
    """Sentences from festival's voices (built from recordings of real speakers), random words
    at a random speaking rate."""
    paths = []
    for i in range(n):
        w = sentence(rng, FESTIVAL_WORDS, 16)
        v = FESTIVAL_VOICES[i % len(FESTIVAL_VOICES)]
        stretch = rng.uniform(0.85, 1.3)
        p = os.path.join(tmp, f'ft_{i}.wav')
        r = subprocess.run(['text2wave', '-eval', f'(voice_{v})', '-eval',
                            f"(Parameter.set 'Duration_Stretch {stretch:.2f})", '-o', p],
                           input=w.encode(), capture_output=True)
        if r.returncode == 0 and os.path.exists(p):
            paths.append(p)
    return paths


def colored(rng, n, kind):
    w = rng.standard_normal(n)
    if kind == 'white':
        return w
    if kind == 'pink':  # Paul Kellet's filter approximation via IIR
        b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
        a = [1, -2.494956002, 2.017265875, -0.522189400]
        return lfilter(b, a, w)
    if kind == 'brown':
        y = lfilter([1.0], [1, -0.999], w)  # leaky integrator (≈ 2.5 Hz corner)
        y = lfilter([1, -1], [1, -0.992], y)  # remove the lowest frequencies (≈ 20 Hz)
        return y
    raise ValueError(kind)


def colour_clip(rng, x):
    """Recording-condition augmentation of one clip: a random first-order spectral tilt and,
    for half of the clips, a synthetic room (exponentially decaying noise impulse response,
    RT60 0.1-0.6 s, direct-to-reverberant ratio 0-12 dB). Labels are unchanged (the reverberant
    tail is not speech by the energy rule's definition, but it does not extend the clip)."""
    a = rng.uniform(-0.7, 0.7)
    y = lfilter([1.0, -a], [1.0], x) if abs(a) > 0.05 else x.copy()
    if rng.random() < 0.5:
        rt60 = rng.uniform(0.1, 0.6)
        n = int(rt60 * SR)
        t = np.arange(n) / SR
        h = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
        h[:int(0.002 * SR)] = 0
        drr = 10 ** (rng.uniform(0, 12) / 10)
        h *= np.sqrt(1 / (drr * np.sum(h ** 2) + 1e-12))
        h[0] = 1.0
        y = np.convolve(y, h)[:len(y)]
    rms = np.sqrt(np.mean(y ** 2)) + 1e-12
    return y * np.sqrt(np.mean(x ** 2)) / rms


def place(rng, clips, total, pause=(0.2, 3.0), augment=False):
    """Place speech clips with random gaps; returns signal, frame labels, utterance mask."""
    sig = np.zeros(total * HOP)
    lab = np.zeros(total, bool)
    utt = np.zeros(total, bool)
    t = int(rng.uniform(0.5, 2.0) * 100)
    while True:
        x, l = clips[rng.integers(len(clips))]
        if t + len(l) >= total:
            break
        g = 10 ** ((-26 + rng.uniform(-6, 6)) / 20)
        if augment and rng.random() < 0.7:
            x = colour_clip(rng, x)
        sig[t * HOP:t * HOP + len(x)] += g * x
        lab[t:t + len(l)] |= l
        utt[t:t + len(l)] = True
        t += len(l)
        gap = rng.uniform(3, 6) if rng.random() < 0.15 else rng.uniform(*pause)
        t += int(gap * 100)
    return sig, lab, utt


def babble(rng, clips, total):
    s = np.zeros(total * HOP)
    for _ in range(6):
        x, _, _ = place(rng, clips, total, pause=(0.05, 0.6))
        s += x
    return s


def music_noise(rng, music, total):
    n = total * HOP
    out = np.zeros(n)
    pos = 0
    while pos < n:
        m = music[rng.integers(len(music))]
        a = rng.integers(0, max(1, len(m) - n))
        seg = m[a:a + n - pos]
        out[pos:pos + len(seg)] = seg
        pos += len(seg)
    return out


def nonspeech(rng, music, sfx, total):
    """Music excerpts, effects, noise bursts and silence, like a 'no speech' file."""
    n = total * HOP
    out = 10 ** (-70 / 20) * rng.standard_normal(n)
    t = 0
    while t < n:
        kind = rng.choice(['music', 'sfx', 'sfx', 'burst', 'silence'])
        dur = int(rng.uniform(0.5, 6.0) * SR)
        lvl = 10 ** (rng.uniform(-40, -12) / 20)
        if kind == 'music':
            seg = music_noise(rng, music, dur // HOP + 1)[:dur]
        elif kind == 'sfx':
            seg = sfx[rng.integers(len(sfx))][:dur]
        elif kind == 'burst':
            seg = colored(rng, dur, rng.choice(['white', 'pink', 'brown']))
        else:
            seg = np.zeros(dur)
        if kind != 'silence' and len(seg):
            seg = seg / (np.sqrt(np.mean(seg ** 2)) + 1e-12) * lvl
        seg = seg[:n - t]
        out[t:t + len(seg)] += seg
        t += len(seg) + int(rng.uniform(0.1, 2.0) * SR)
    return out


CONDS = [('clean', None), ('white', 20), ('pink', 10), ('brown', 5), ('babble', 10), ('music', 10),
         ('white', 0), ('pink', 0), ('brown', 15), ('music', 5), ('music', 20), ('white', 10),
         ('babble', 5), ('babble', 20), ('pink', 20), ('brown', 0), ('sfx', 10), ('clean', None)]


def write(outdir, name, sig, lab, utt):
    os.makedirs(os.path.join(outdir, 'wav'), exist_ok=True)
    os.makedirs(os.path.join(outdir, 'labels'), exist_ok=True)
    peak = np.max(np.abs(sig))
    if peak > 0.98:
        sig = sig * 0.98 / peak
    sf.write(os.path.join(outdir, 'wav', name + '.wav'), sig, SR, subtype='PCM_16')
    with open(os.path.join(outdir, 'labels', name + '.csv'), 'w') as f:
        f.write('frame,start_s,speech,utterance\n')
        for i in range(len(lab)):
            f.write(f'{i},{i / 100:.2f},{int(lab[i])},{int(utt[i])}\n')


def build(rng, outdir, clips, bab_clips, music, sfx, n_files, seconds, augment=False):
    total = seconds * 100
    k = 0
    for i in range(n_files):
        cond, snr = CONDS[i % len(CONDS)]
        sig, lab, utt = place(rng, clips, total, augment=augment)
        if cond == 'clean':
            # --augment: a quiet floor anywhere from 16-bit dither to a noisy microphone
            lvl = rng.uniform(-95, -60) if augment else -70
            noise, snr = rng.standard_normal(total * HOP) * 10 ** (lvl / 20), None
        elif cond == 'babble':
            noise = babble(rng, bab_clips, total)
        elif cond == 'music':
            noise = music_noise(rng, music, total)
        elif cond == 'sfx':
            noise = nonspeech(rng, music, sfx, total)
        else:
            noise = colored(rng, total * HOP, cond)
        if snr is not None:
            ps = np.mean(sig.reshape(total, HOP)[lab] ** 2)
            pn = np.mean(noise ** 2)
            snr_j = snr + rng.uniform(-2, 2)
            noise = noise * np.sqrt(ps / (pn * 10 ** (snr_j / 10)))
        write(outdir, f'{k:02d}_{cond}_{snr}dB', sig + noise, lab, utt)
        k += 1
    for i in range(max(2, n_files // 3)):
        sig = nonspeech(rng, music, sfx, total)
        z = np.zeros(total, bool)
        write(outdir, f'{k:02d}_nonspeech', sig, z, z)
        k += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--src', default='/tmp/vadtrain/pkgs/x')
    ap.add_argument('--out', default='/tmp/vadtrain')
    ap.add_argument('--train-files', type=int, default=36)
    ap.add_argument('--val-files', type=int, default=18)
    ap.add_argument('--seconds', type=int, default=60)
    ap.add_argument('--augment', action='store_true',
                    help='tilt/reverberate clips and vary the clean floor (experiment, see README)')
    ap.add_argument('--more-sources', action='store_true',
                    help='add the es-CO / fr-FR / it-IT (Menardi) prompts, festival sentences, '
                         'asc and nexuiz music and eiskaltdcpp effects')
    ap.add_argument('--place-seed', type=int, default=None,
                    help='draw placements/noise from this seed (the clip split stays fixed)')
    a = ap.parse_args()
    rng = np.random.default_rng(20240604)
    snd = os.path.join(a.src, 'usr/share/asterisk/sounds')
    paths = sorted(glob.glob(snd + '/es_MX_f_Allison/**/*.g722', recursive=True)
                   + glob.glob(snd + '/fr_CA_f_June/**/*.g722', recursive=True)
                   + glob.glob(snd + '/it_IT_m_Carlo/**/*.wav', recursive=True)
                   + glob.glob(snd + '/ru_RU_f_IvrvoiceRU/**/*.wav', recursive=True))
    paths2 = sorted(glob.glob(snd + '/es/**/*.gsm', recursive=True)
                    + glob.glob(snd + '/fr/**/*.gsm', recursive=True)
                    + glob.glob(snd + '/it_IT_f_Menardi/**/*.wav', recursive=True))
    rng.shuffle(paths)
    paths = paths[:1400]
    tmp = os.path.join(a.out, 'espeak')
    os.makedirs(tmp, exist_ok=True)
    paths += espeak_clips(rng, 300, tmp)
    if a.more_sources:
        # drawn after the original sources so that the original draws stay as they were
        rng2 = np.random.default_rng(20261202)
        rng2.shuffle(paths2)
        paths += paths2[:700]
        paths += festival_clips(rng2, 400, tmp)
    rng.shuffle(paths)
    print('loading', len(paths), 'clips', file=sys.stderr)
    clips = load_clips(paths)
    half = len(clips) * 2 // 3
    tr, va = clips[:half], clips[half:]
    if a.place_seed is not None:
        # same clip split as the default build (so validation clips never reach training),
        # different placements, noise draws and augmentation
        rng = np.random.default_rng(a.place_seed)
    col = os.path.join(a.src, 'usr/share/games/colobot')
    share = os.path.join(a.src, 'usr/share')
    mpaths = (sorted(glob.glob(col + '/music/*.ogg')) + sorted(glob.glob(share + '/**/planetblupi/**/*.ogg', recursive=True))
              + sorted(glob.glob(share + '/sounds/lomiri/ringtones/*.ogg'))
              + [p for p in sorted(glob.glob(share + '/**/hyperrogue/**/*.ogg', recursive=True)) if os.path.getsize(p) > 400_000])
    if a.more_sources:
        mpaths += sorted(glob.glob(share + '/games/asc/music/*.mp3')) + sorted(glob.glob(share + '/games/nexuiz/music/*.ogg'))
    spaths = (sorted(glob.glob(col + '/sounds/*.wav')) + sorted(glob.glob(share + '/sounds/deepin/**/*.wav', recursive=True))
              + sorted(glob.glob(share + '/sounds/lomiri/notifications/*.ogg'))
              + sorted(glob.glob(share + '/**/psi*/**/*.wav', recursive=True))
              + [p for p in sorted(glob.glob(share + '/**/hyperrogue/**/*.ogg', recursive=True)) if os.path.getsize(p) <= 400_000])
    if a.more_sources:
        spaths += sorted(glob.glob(share + '/eiskaltdcpp/**/*.wav', recursive=True))
    music = [decode(p, 60) for p in mpaths]
    music = [m for m in music if len(m) > SR]
    sfx = [decode(p, 10) for p in spaths]
    sfx = [s for s in sfx if len(s) > 1600]
    mtr, mva = music[0::3] + music[1::3], music[2::3]
    str_, sva = sfx[0::3] + sfx[1::3], sfx[2::3]
    print('clips', len(tr), len(va), 'music', len(mtr), len(mva), 'sfx', len(str_), len(sva), file=sys.stderr)
    build(rng, os.path.join(a.out, 'train'), tr, tr, mtr, str_, a.train_files, a.seconds, a.augment)
    build(rng, os.path.join(a.out, 'val'), va, va, mva, sva, a.val_files, a.seconds, a.augment)


if __name__ == '__main__':
    main()
