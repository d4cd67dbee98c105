"""CPU per step of a strip and of a 3-tile frontier, short run against long run, side by side.

Issue 10 item 5 asks for flat cost per step: CPU (user + sys of the whole process, the background
canvas writer included, mock generation) averaged over a long run within 1.15x of the average over
a short one. This bench prints that ratio for a strip (one tile across) and for a frontier of three
tiles, so the cost of several tiles and the growth of per-step cost with the canvas's length are
measured in one run, on one machine.

The contract is scaled with --tile (default 256: T=256, B=O=A=128, cross overlap 64) so that a
200-step run takes seconds; --tile 1024 measures the default contract (minutes, and a canvas of
~100 Mpx for the strip at 200 steps).

Also printed: within the long run, the CPU of its last 16 steps against its steps 2-17 (a cost that
grows with the canvas shows there even when the end-of-command work is averaged away), and the long
run's peak RSS (the whole process) as a multiple of the final canvas's bytes.

Run: python bench/bench_frontier.py [--tile 256] [--short 16] [--long 200]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from exquisite.shared_core.generators import MockGenerator
from exquisite.shared_core.geometry import Contract, frontier_tiles
from exquisite.shared_core.session import Session, StepSettings


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(contract: Contract, cross: int, steps: int) -> dict:
    """CPU seconds per step of `steps` mock steps on a canvas `cross` px across, and the process's
    peak RSS against the final canvas's bytes (run in a fresh process: RSS peaks are per process)."""
    rng = np.random.default_rng(0)
    start = rng.integers(0, 255, (cross, contract.tile, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        session = Session.create(Path(tmp) / "s", start, contract)
        t0 = cpu_seconds()
        marks = [t0]
        results = session.extend(
            StepSettings(blend="linear"), MockGenerator(), steps=steps, on_step=lambda _: marks.append(cpu_seconds())
        )
        session.flush()  # every step's files written: the writer's work is counted
        spent = cpu_seconds() - t0
        width, height = session.size
        session.close()
        disk = sum(f.stat().st_size for f in (Path(tmp) / "s").rglob("*") if f.is_file())
    assert all(r.committed for r in results), [r.reason for r in results if not r.committed]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    per_step = np.diff(marks)
    window = min(16, steps // 2)
    return {
        "cpu_per_step": spent / steps,  # the whole command: the end's session.json and whole canvas included
        "early": float(per_step[1 : 1 + window].mean()),  # steps 2..17 (step 1 pays first-use costs)
        "late": float(per_step[-window:].mean()),  # the last 16 steps of the run
        "disk_per_step": disk / steps,  # the session folder's bytes (steps, whole canvas, index) per step
        "peak_rss": peak,
        "canvas_bytes": width * height * 3,
    }


def measure(tile: int, cross: int, steps: int) -> dict:
    code = (
        f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_frontier as b; "
        f"print(json.dumps(b.run(b.scaled({tile}), {cross}, {steps})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def scaled(tile: int) -> Contract:
    return Contract(tile=tile, band=tile // 2, overlap=tile // 2, advance=tile - tile // 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--short", type=int, default=16)
    parser.add_argument("--long", type=int, default=200)
    args = parser.parse_args(argv)
    contract = scaled(args.tile)
    three = 3 * args.tile - 2 * contract.cross_overlap
    print(
        f"contract T={contract.tile} B={contract.band} O={contract.overlap} A={contract.advance} "
        f"X={contract.cross_overlap}; CPU = user + sys of the process, writer thread included; "
        f"each run in its own process"
    )
    for label, cross in (("strip (1 tile)", args.tile), ("frontier (3 tiles)", three)):
        assert len(frontier_tiles(cross, contract)) == (1 if cross == args.tile else 3)
        short, long = measure(args.tile, cross, args.short), measure(args.tile, cross, args.long)
        ratio = long["cpu_per_step"] / short["cpu_per_step"]
        print(
            f"{label:20s} {cross:5d} px across: {short['cpu_per_step'] * 1e3:7.1f} ms/step over {args.short} "
            f"steps, {long['cpu_per_step'] * 1e3:7.1f} ms/step over {args.long}: ratio {ratio:4.2f}x "
            f"(goal <= 1.15x); within the {args.long}-step run, its last 16 steps against steps 2-17: "
            f"{long['late'] / long['early']:4.2f}x; disk per step {short['disk_per_step'] / 1e3:.0f} kB over "
            f"{args.short}, {long['disk_per_step'] / 1e3:.0f} kB over {args.long}; peak RSS {long['peak_rss'] / long['canvas_bytes']:5.1f}x "
            f"the final canvas's {long['canvas_bytes'] / 1e6:.0f} MB (the interpreter's own ~100 MB dominates "
            f"at this size: bench_core.py measures 1024 x 65,536)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
