#!/usr/bin/env python3
"""Markdown tables of voxflow vs neteq from `voxflow jitter-sim --json` runs (issue 10 targets).

Usage: table.py RUN_DIR

RUN_DIR holds one folder per trace set: `main` (the shared traces) and `draw-K` (held-out
draws). Each folder has any number of `*.json` files written by `jitter-sim --json` (objects
`{"traces": [...]}`; rows are merged by trace and buffer), optional `pesq-<buffer>.json` files
written by pesq_wb.py for that set's harsh trace, and optional `failed-<buffer>.txt` files saying
why a buffer's run produced nothing (e.g. it panicked).

Prints, for `main`, one row per trace with neteq and voxflow side by side and a verdict, and for
the draws a summary: one row per draw with the verdict per trace. The targets, judged on voxflow:
  delay      mean delay after 5 s <= 0.9 x neteq's
  concealed  concealed % <= neteq's
  order      0 packets played out of order
  dups       0 packets played twice
  first      first audio <= 40 ms after the first packet
  drift      on `drift`: delay growth <= 40 ms over the run
  spike      on `spike`: back within 20 ms of the pre-spike delay in <= 2 s after every spike
  pesq       on `harsh`: wideband PESQ of the output >= neteq's
A target whose inputs are missing (no neteq run, no PESQ) is reported as `n/a`, never as a pass.
Exit status 0 when the tables were printed (whatever the verdicts), 1 when RUN_DIR has no data.
"""
import glob
import json
import os
import re
import sys

TRACES = ['lan', 'wifi', 'mobile', 'spike', 'drift', 'harsh']
FIXED = 'fixed:200'


def load_set(folder):
    """Returns ({(trace, buffer): row}, {buffer: pesq or error str}, {buffer: failure text})."""
    rows, pesq, failed = {}, {}, {}
    for path in sorted(glob.glob(os.path.join(folder, '*.json'))):
        name = os.path.basename(path)
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            failed[name] = f'unreadable: {e}'
            continue
        m = re.fullmatch(r'pesq-(.+)\.json', name)
        if m:
            pesq[m.group(1)] = doc.get('pesq_wb', doc.get('error', 'no score'))
            continue
        for r in doc.get('traces', []):
            rows[(r.get('trace'), r.get('buffer'))] = r
    for path in sorted(glob.glob(os.path.join(folder, 'failed-*.txt'))):
        buf = os.path.basename(path)[len('failed-'):-len('.txt')]
        with open(path) as f:
            lines = [l.strip() for l in f if l.strip()]
        failed[buf] = lines[-1] if lines else 'failed'
    return rows, pesq, failed


def num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def fmt(x, digits=1, unit=''):
    return f'{x:.{digits}f}{unit}' if num(x) else '–'


def checks(trace, v, n, pesq):
    """{target: True | False | None (n/a)} for voxflow row v against neteq row n."""
    c = {}
    vd, nd = (v or {}).get('mean_delay_after_5s_ms'), (n or {}).get('mean_delay_after_5s_ms')
    c['delay'] = (vd <= 0.9 * nd) if num(vd) and num(nd) and nd > 0 else None
    vc, nc = (v or {}).get('concealed_pct'), (n or {}).get('concealed_pct')
    c['concealed'] = (vc <= nc) if num(vc) and num(nc) else None
    if v is None:
        return {**c, 'order': None, 'dups': None, 'first': None}
    c['order'] = v.get('out_of_order_played') == 0
    c['dups'] = v.get('duplicates_played') == 0
    fa = v.get('first_audio_ms')
    c['first'] = num(fa) and fa <= 40
    if trace == 'drift':
        g = v.get('drift_growth_ms')
        c['drift'] = num(g) and g <= 40
    if trace == 'spike':
        sp = v.get('spikes') or []
        c['spike'] = bool(sp) and all(num(s.get('recovery_ms')) and s['recovery_ms'] <= 2000
                                      for s in sp)
    if trace == 'harsh':
        pv, pn = pesq.get('voxflow'), pesq.get('neteq')
        c['pesq'] = (pv >= pn) if num(pv) and num(pn) else None
    return c


def verdict(c):
    fails = [k for k, ok in c.items() if ok is False]
    na = [k for k, ok in c.items() if ok is None]
    if fails:
        return 'FAIL ' + ', '.join(fails) + (f' (n/a: {", ".join(na)})' if na else '')
    if na:
        return 'n/a: ' + ', '.join(na)
    return 'PASS'


def spike_text(r):
    sp = (r or {}).get('spikes') or []
    if not sp:
        return '–'
    worst = [s.get('recovery_ms') for s in sp]
    if any(not num(w) for w in worst):
        return 'never'
    return f'{max(worst) / 1000:.2f} s'


def main_table(rows, pesq, failed):
    out = ['| trace | neteq delay >5 s | voxflow delay >5 s | ratio | fixed:200 delay >5 s '
           '| concealed neteq / voxflow | out of order (voxflow) | duplicates (voxflow) '
           '| first audio neteq / voxflow | drift growth (voxflow) | worst spike recovery (voxflow) '
           '| PESQ-WB neteq / voxflow | verdict |',
           '|' + '---|' * 13]
    verdicts = {}
    for t in TRACES:
        v, n, fx = rows.get((t, 'voxflow')), rows.get((t, 'neteq')), rows.get((t, FIXED))
        if v is None and n is None and fx is None:
            continue
        vd, nd = (v or {}).get('mean_delay_after_5s_ms'), (n or {}).get('mean_delay_after_5s_ms')
        ratio = vd / nd if num(vd) and num(nd) and nd > 0 else None
        c = checks(t, v, n, pesq)
        verdicts[t] = verdict(c)
        p = '–'
        if t == 'harsh':
            p = ' / '.join(fmt(pesq.get(b), 2) if num(pesq.get(b)) else '–'
                           for b in ('neteq', 'voxflow'))
        out.append('| ' + ' | '.join([
            t, fmt(nd, 1, ' ms'), fmt(vd, 1, ' ms'), fmt(ratio, 2),
            fmt((fx or {}).get('mean_delay_after_5s_ms'), 1, ' ms'),
            f"{fmt((n or {}).get('concealed_pct'), 2, ' %')} / "
            f"{fmt((v or {}).get('concealed_pct'), 2, ' %')}",
            str((v or {}).get('out_of_order_played', '–')),
            str((v or {}).get('duplicates_played', '–')),
            f"{fmt((n or {}).get('first_audio_ms'), 0, ' ms')} / "
            f"{fmt((v or {}).get('first_audio_ms'), 0, ' ms')}",
            fmt((v or {}).get('drift_growth_ms'), 1, ' ms'),
            spike_text(v), p, verdicts[t]]) + ' |')
    for b, why in sorted(failed.items()):
        out.append(f'\n{b}: no result ({why})')
    return out, verdicts


def draws_table(sets):
    out = ['| draw | ' + ' | '.join(TRACES) + ' | mean delay ratio voxflow/neteq '
           '| harsh PESQ-WB neteq / voxflow |',
           '|' + '---|' * (len(TRACES) + 3)]
    passed = total = 0
    for name, (rows, pesq, failed) in sets:
        cells, ratios = [], []
        for t in TRACES:
            v, n = rows.get((t, 'voxflow')), rows.get((t, 'neteq'))
            if v is None and n is None:
                cells.append('–')
                continue
            vd = (v or {}).get('mean_delay_after_5s_ms')
            nd = (n or {}).get('mean_delay_after_5s_ms')
            if num(vd) and num(nd) and nd > 0:
                ratios.append(vd / nd)
            verd = verdict(checks(t, v, n, pesq))
            total += 1
            passed += verd == 'PASS'
            cells.append(verd)
        mean = sum(ratios) / len(ratios) if ratios else None
        p = ' / '.join(fmt(pesq.get(b), 2) for b in ('neteq', 'voxflow'))
        line = f'| {name} | ' + ' | '.join(cells) + f' | {fmt(mean, 2)} | {p} |'
        if failed:
            line += ' ' + '; '.join(f'{b}: {w}' for b, w in sorted(failed.items()))
        out.append(line)
    out.append(f'\nheld-out: {passed} of {total} trace runs pass every target')
    return out


def main(argv):
    if len(argv) != 1:
        print('usage: table.py RUN_DIR', file=sys.stderr)
        return 2
    run = argv[0]
    found = False
    main_dir = os.path.join(run, 'main')
    if os.path.isdir(main_dir):
        rows, pesq, failed = load_set(main_dir)
        if rows or failed:
            found = True
            lines, _ = main_table(rows, pesq, failed)
            print('### Shared traces (../shared/data/net)\n')
            print('\n'.join(lines))
    draws = sorted((d for d in glob.glob(os.path.join(run, 'draw-*')) if os.path.isdir(d)),
                   key=lambda d: int(re.sub(r'\D', '', os.path.basename(d)) or 0))
    if draws:
        sets = [(os.path.basename(d), load_set(d)) for d in draws]
        if any(s[1][0] or s[1][2] for s in sets):
            found = True
            print('\n### Held-out draws (make_traces.py seed offsets 1..N)\n')
            print('\n'.join(draws_table(sets)))
    if not found:
        print(f'table.py: no jitter-sim JSON under {run}/main or {run}/draw-*', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
