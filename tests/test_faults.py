"""SIGKILL `exquisite` runs at random moments (creation, extend, undo, export; 4 directions, both
contracts): every session still opens at its last committed step, no committed step is lost, every
canvas equals a replay of its committed tiles, and nothing half-written is left behind.

The harness is bench/bench_faults.py (which runs it at larger numbers and prints the figures)."""

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))

from bench_faults import fast_folder, run_parallel


def test_random_kills_lose_nothing_and_leave_nothing():
    work = fast_folder()
    try:
        tally = run_parallel(kills=12, seed=11, work=work, workers=2)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert tally.problems == []
    assert tally.kills == 12 and tally.checks >= tally.runs
    assert (tally.steps_lost, tally.mismatches, tally.crops_damaged, tally.leftovers) == (0, 0, 0, 0)
    assert tally.steps_committed > 0  # the kills met sessions with committed steps to lose
