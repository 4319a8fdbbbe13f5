#!/usr/bin/env python3
"""Tests of table.py's verdicts on hand-written jitter-sim JSON (standard library only).

Run: python3 -m unittest discover -s crates/voxflow-jitter-sim/tools -p 'test_*.py'
"""
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import table  # noqa: E402


def row(trace, buffer, **kw):
    """A jitter-sim JSON row with the issue's fields; voxflow defaults meet every target."""
    r = {'trace': trace, 'buffer': buffer, 'mean_delay_ms': 50.0, 'p95_delay_ms': 80.0,
         'mean_delay_after_5s_ms': 50.0, 'concealed_pct': 1.0, 'late_dropped': 0,
         'out_of_order_played': 0, 'duplicates_played': 0, 'first_audio_ms': 5.0,
         'accelerate_ms': 0.0, 'decelerate_ms': 0.0, 'stats': {}, 'drift_growth_ms': 0.0,
         'spikes': []}
    if buffer == 'neteq':
        r.update(mean_delay_after_5s_ms=100.0, concealed_pct=2.0, first_audio_ms=520.0)
    if trace == 'spike':
        r['spikes'] = [{'at_ms': 18000.0, 'jump_ms': 400.0, 'pre_delay_ms': 40.0,
                        'recovery_ms': 1500.0}]
    r.update(kw)
    return r


class TableTest(unittest.TestCase):
    def run_table(self, sets):
        """sets: {set name: {file name: JSON object or str}} → (exit status, printed text)."""
        with tempfile.TemporaryDirectory() as d:
            for name, files in sets.items():
                os.makedirs(os.path.join(d, name))
                for fname, content in files.items():
                    with open(os.path.join(d, name, fname), 'w') as f:
                        f.write(content if isinstance(content, str) else json.dumps(content))
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
                rc = table.main([d])
            return rc, buf.getvalue()

    def verdict_of(self, text, trace):
        for line in text.splitlines():
            if line.startswith(f'| {trace} |'):
                return line.rstrip(' |').rsplit('| ', 1)[-1]
        self.fail(f'no row for {trace} in:\n{text}')

    def all_traces(self, buffer, **overrides):
        return {'traces': [row(t, buffer, **overrides.get(t, {})) for t in table.TRACES]}

    def test_all_targets_met_pass(self):
        rc, text = self.run_table({'main': {
            'v.json': self.all_traces('voxflow'), 'n.json': self.all_traces('neteq'),
            'pesq-voxflow.json': {'pesq_wb': 2.0}, 'pesq-neteq.json': {'pesq_wb': 1.5}}})
        self.assertEqual(rc, 0)
        for t in table.TRACES:
            self.assertEqual(self.verdict_of(text, t), 'PASS')
        self.assertIn('| 0.50 |', text)  # 50 / 100 ms

    def test_each_target_can_fail(self):
        v = self.all_traces('voxflow', lan={'mean_delay_after_5s_ms': 91.0},
                            wifi={'concealed_pct': 2.1}, mobile={'out_of_order_played': 1},
                            drift={'drift_growth_ms': 40.5, 'duplicates_played': 2},
                            harsh={'first_audio_ms': 41.0},
                            spike={'spikes': [{'recovery_ms': 1000.0},
                                              {'recovery_ms': None}]})
        rc, text = self.run_table({'main': {
            'v.json': v, 'n.json': self.all_traces('neteq'),
            'pesq-voxflow.json': {'pesq_wb': 1.4}, 'pesq-neteq.json': {'pesq_wb': 1.5}}})
        self.assertEqual(rc, 0)
        self.assertEqual(self.verdict_of(text, 'lan'), 'FAIL delay')
        self.assertEqual(self.verdict_of(text, 'wifi'), 'FAIL concealed')
        self.assertEqual(self.verdict_of(text, 'mobile'), 'FAIL order')
        self.assertEqual(self.verdict_of(text, 'drift'), 'FAIL dups, drift')
        self.assertEqual(self.verdict_of(text, 'harsh'), 'FAIL first, pesq')
        self.assertEqual(self.verdict_of(text, 'spike'), 'FAIL spike')
        self.assertIn('| never |', text)

    def test_missing_inputs_are_not_a_pass(self):
        rc, text = self.run_table({'main': {
            'n.json': self.all_traces('neteq'),
            'failed-voxflow.txt': "thread 'main' panicked at buffer.rs:1: not yet implemented\n",
            'pesq-neteq.json': {'error': 'NoUtterancesError: no utterance'}}})
        self.assertEqual(rc, 0)
        for t in table.TRACES:
            self.assertTrue(self.verdict_of(text, t).startswith('n/a: delay, concealed'), t)
        self.assertIn('voxflow: no result (thread', text)

    def test_pesq_without_score_is_na(self):
        rc, text = self.run_table({'main': {
            'v.json': self.all_traces('voxflow'), 'n.json': self.all_traces('neteq'),
            'pesq-voxflow.json': {'pesq_wb': 2.0},
            'pesq-neteq.json': {'error': 'NoUtterancesError'}}})
        self.assertEqual(self.verdict_of(text, 'harsh'), 'n/a: pesq')

    def test_draws_summary_counts(self):
        good = {'v.json': self.all_traces('voxflow'), 'n.json': self.all_traces('neteq')}
        bad = {'v.json': self.all_traces('voxflow', lan={'mean_delay_after_5s_ms': 95.0}),
               'n.json': self.all_traces('neteq')}
        rc, text = self.run_table({'draw-1': good, 'draw-2': bad})
        self.assertEqual(rc, 0)
        self.assertIn('| draw-2 | FAIL delay | PASS |', text)
        self.assertIn('| 0.50 | – / – |', text)
        # harsh has no PESQ in these draws: n/a, so 5 passes per good draw, 4 in the bad one
        self.assertIn('held-out: 9 of 12 trace runs pass every target', text)

    def test_empty_dir_is_an_error(self):
        rc, _ = self.run_table({})
        self.assertEqual(rc, 1)


if __name__ == '__main__':
    unittest.main()
