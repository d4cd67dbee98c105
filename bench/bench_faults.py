"""Fault injection from outside: SIGKILL `exquisite` runs (session creation, extend, undo, export, repair) at
random moments, then check every session as a user's next command would find it.

Checked after every kill: the session opens (for writing, which repairs what the kill left); every
step that was committed before is still there (committed or undone: steps lost = 0); the current
canvas, on disk and in memory, equals a replay of the committed tiles from the source image; and
no temp file, half-created session or step folder without a record is left (leftovers = 0).

    python bench/bench_faults.py [--kills 150] [--seed 1] [--dir /dev/shm/...]

tests/test_faults.py runs the same harness with CI-sized numbers.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from exquisite.shared_core.step_canvas import damaged_crops
from exquisite.shared_core.canvas import GrowingCanvas
from exquisite.shared_core.geometry import Contract
from exquisite.shared_core.journal import (
    COMMITTED,
    SOURCE_FILE,
    UNDONE,
    apply_committed_step,
    read_steps,
    step_dir,
)
from exquisite.shared_core.pngio import read_png_into
from exquisite.shared_core.session import Session
from PIL import Image

CLI = [sys.executable, "-m", "exquisite.shared_core.cli"]
DIRECTIONS = ["right", "left", "down", "up"]
OVERLAPS = [512, 256]  # both contracts: the whole tile pasted, and the legacy half overlap


@dataclass
class Tally:
    kills: int = 0
    runs: int = 0
    checks: int = 0
    sessions: int = 0
    steps_committed: int = 0
    steps_lost: int = 0
    leftovers: int = 0
    mismatches: int = 0
    crops_damaged: int = 0
    repairs: int = 0
    problems: list[str] = field(default_factory=list)
    ops: dict = field(default_factory=dict)


def run_faults(kills: int, seed: int, work: Path, min_delay: float = 0.8, max_delay: float = 3.5) -> Tally:
    """Kill `kills` CLI runs at random moments in sessions under `work`, checking after each."""
    rng = random.Random(seed)
    sessions_dir = work / "sessions"
    sessions_dir.mkdir(parents=True, exist_ok=True)
    image = _photo(work / "photo.png")
    known: dict[Path, set[int]] = {}
    tally = Tally()
    for created in range(2):  # two sessions made without a kill, so the kills have something to hit
        _, args, root = _pick(rng, sessions_dir, image, work, {}, created)
        _run_and_maybe_kill(args, 600)
        known[root] = set()
        _check(root, known, tally)
    created = 2
    while tally.kills < kills:
        op, args, root = _pick(rng, sessions_dir, image, work, known, created)
        created += op == "create"
        killed = _run_and_maybe_kill(args, rng.uniform(min_delay, max_delay))
        tally.runs += 1
        tally.ops[op] = tally.ops.get(op, 0) + 1
        tally.kills += killed
        if root is not None and (root.exists() or root in known):
            known.setdefault(root, set())
            _check(root, known, tally)
        _count_creation_leftovers(sessions_dir, tally)
    tally.sessions = len(known)
    for root in known:  # a last look at every session
        _check(root, known, tally)
    tally.steps_committed = sum(len(steps) for steps in known.values())
    return tally


def run_parallel(kills: int, seed: int, work: Path, workers: int = 2) -> Tally:
    """`run_faults` in `workers` threads (each drives its own CLI processes and sessions), summed."""
    from concurrent.futures import ThreadPoolExecutor

    shares = [kills // workers + (i < kills % workers) for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        tallies = list(pool.map(lambda i: run_faults(shares[i], seed * 1000 + i, work / f"worker{i}"), range(workers)))
    total = Tally()
    for tally in tallies:
        for name in (
            "kills",
            "runs",
            "checks",
            "sessions",
            "steps_committed",
            "steps_lost",
            "leftovers",
            "mismatches",
            "crops_damaged",
            "repairs",
        ):
            setattr(total, name, getattr(total, name) + getattr(tally, name))
        total.problems += tally.problems
        for op, count in tally.ops.items():
            total.ops[op] = total.ops.get(op, 0) + count
    return total


def _pick(rng, sessions_dir: Path, image: Path, work: Path, known: dict, created: int):
    existing = [root for root in known if root.exists()]
    op = (
        "create"
        if not existing or (rng.random() < 0.2 and created < 8)
        else rng.choice(["extend", "extend", "extend", "undo", "export", "repair"])
    )
    out = ["--out", str(work / "out.png"), "--force"]
    if op == "create":
        root = sessions_dir / f"s{created:02d}"
        return (
            op,
            [
                "extend",
                str(image),
                "--fit",
                "-b",
                "mock",
                "-d",
                rng.choice(DIRECTIONS),
                "-n",
                "1",
                "--overlap",
                str(rng.choice(OVERLAPS)),
                "--session",
                str(root),
            ]
            + out,
            root,
        )
    root = rng.choice(existing)
    if op == "extend":  # no --backend: a mock session must stay mock
        return op, ["extend", str(root), "-n", str(rng.randint(1, 3))] + out, root
    if op in ("undo", "repair"):
        return op, [op, str(root)], root
    return op, ["export", str(root)] + out, root


def _run_and_maybe_kill(args: list[str], delay: float) -> bool:
    """Run the CLI; SIGKILL it after `delay` s if it is still running. True if it was killed."""
    proc = subprocess.Popen(CLI + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True
    err = proc.stderr.read().decode()
    if proc.returncode not in (0, 1, 2) or "Traceback" in err:
        raise AssertionError(f"exquisite {' '.join(args)} exited {proc.returncode}: {err}")
    if proc.returncode == 2 and "nothing to undo" not in err:
        raise AssertionError(f"exquisite {' '.join(args)} refused: {err}")
    return False


def _check(root: Path, known: dict[Path, set[int]], tally: Tally) -> None:
    """Open as the next command would; compare with what was committed before and with a replay."""
    tally.checks += 1
    if not root.exists():  # a creation killed before its rename: nothing was ever there
        return
    with Session.open(root) as session:
        tally.repairs += len(session.repairs)
        kept = {s["number"] for s in session.history() if s["status"] in (COMMITTED, UNDONE)}
        lost = known[root] - kept
        tally.steps_lost += len(lost)
        if lost:
            tally.problems.append(f"{root.name}: steps {sorted(lost)} lost")
        known[root] = kept
        on_disk = read_png_into(session.canvas_path())
        replayed = replay_from_source(root, session.contract)
        if not (np.array_equal(on_disk, replayed) and np.array_equal(session.canvas(), replayed)):
            tally.mismatches += 1
            tally.problems.append(f"{root.name}: canvas at step {session.head} differs from its replay")
        damaged = damaged_crops(root, session.history())  # what the open did not put right
        tally.crops_damaged += len(damaged)
        if damaged:
            tally.problems.append(f"{root.name}: steps {damaged} have missing or damaged crops after a writer's open")
    for path in root.rglob("*"):
        if path.name.endswith(".tmp") or (path.parent.name == "steps" and not (path / "step.json").exists()):
            tally.leftovers += 1
            tally.problems.append(f"leftover {path}")


def replay_from_source(root: Path, contract: Contract) -> np.ndarray:
    """The head canvas rebuilt from source.png and every committed tile, ignoring all canvas files."""
    records = read_steps(root).records
    by_number = {r["number"]: r for r in records}
    chain, number = [], max((r["number"] for r in records if r["status"] == COMMITTED), default=0)
    while number:
        chain.append(by_number[number])
        number = by_number[number]["parent"]
    source = read_png_into(root / SOURCE_FILE)
    canvas = GrowingCanvas.from_image(source, chain[-1]["direction"] if chain else "x_ltr")
    for record in reversed(chain):
        canvas = apply_committed_step(canvas, step_dir(root, record["number"]), record, contract)
    return np.array(canvas.user())


def _count_creation_leftovers(sessions_dir: Path, tally: Tally) -> None:
    """Half-built sessions of killed creations: the next creation or writer beside them removes them,
    so at most the one just killed may be there."""
    stale = [p for p in sessions_dir.glob(".*.creating")]
    if len(stale) > 1:
        tally.leftovers += len(stale) - 1
        tally.problems.append(f"{len(stale)} half-created sessions in {sessions_dir}")


def _photo(path: Path) -> Path:
    rows, cols = np.mgrid[0:200, 0:256]
    Image.fromarray(np.dstack([cols, rows, (rows + cols) // 2]).astype(np.uint8)).save(path)
    return path


def fast_folder() -> Path:
    """A folder on tmpfs when there is one (fsync costs nothing there), else the system temp folder."""
    shm = Path("/dev/shm")
    return Path(
        tempfile.mkdtemp(prefix="exquisite-faults-", dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="CLI runs killed side by side (default 2)")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a new one on /dev/shm)")
    args = parser.parse_args()
    work = args.dir or fast_folder()
    started = time.perf_counter()
    try:
        tally = run_parallel(args.kills, args.seed, work, args.workers)
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"kills {tally.kills} of {tally.runs} runs (create/extend/undo/export/repair, 4 directions, overlaps 512 and "
        f"256) in {time.perf_counter() - started:.0f} s"
    )
    print(f"runs by kind: {tally.ops}")
    print(
        f"sessions checked {tally.sessions} ({tally.checks} checks, {tally.repairs} repairs made on open), "
        f"committed steps kept {tally.steps_committed}"
    )
    print(
        f"steps lost {tally.steps_lost}, canvases differing from their replay {tally.mismatches}, "
        f"steps with crops missing or damaged after a writer's open {tally.crops_damaged}, leftovers {tally.leftovers}"
    )
    for problem in tally.problems:
        print(f"  {problem}")
    return 0 if not tally.problems else 1


if __name__ == "__main__":
    sys.exit(main())
