"""CPU per step of a strip and of a 3-tile frontier, short run against long run, side by side.

Issue 10 item 5 asks for flat cost per step: CPU (user + sys of the whole process, the background
canvas writer included, mock generation) averaged over a long run within 1.15x of the average over
a short one. This bench prints that ratio for a strip (one tile across) and for a frontier of three
tiles, so the cost of several tiles and the growth of per-step cost with the canvas's length are
measured in one run, on one machine.

The contract is scaled with --tile (default 256: T=256, B=O=A=128, cross overlap 64) so that a
200-step run takes seconds; --tile 1024 measures the default contract (minutes, and a canvas of
~100 Mpx for the strip at 200 steps).

Run: python bench/bench_frontier.py [--tile 256] [--short 16] [--long 200]
"""

from __future__ import annotations

import argparse
import resource
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


def run(contract: Contract, cross: int, steps: int) -> float:
    """Average CPU seconds per step of `steps` mock steps on a canvas `cross` px across."""
    rng = np.random.default_rng(0)
    start = rng.integers(0, 255, (cross, contract.tile, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        session = Session.create(Path(tmp) / "s", start, contract)
        t0 = cpu_seconds()
        results = session.extend(StepSettings(blend="linear"), MockGenerator(), steps=steps)
        session.flush()  # every step's files written: the writer's work is counted
        spent = cpu_seconds() - t0
        session.close()
    assert all(r.committed for r in results), [r.reason for r in results if not r.committed]
    return spent / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--short", type=int, default=16)
    parser.add_argument("--long", type=int, default=200)
    args = parser.parse_args(argv)
    half = args.tile // 2
    contract = Contract(tile=args.tile, band=half, overlap=half, advance=half)
    three = 3 * args.tile - 2 * contract.cross_overlap
    print(f"contract T={contract.tile} B={contract.band} O={contract.overlap} A={contract.advance} "
          f"X={contract.cross_overlap}; CPU = user + sys of the process, writer thread included")
    for label, cross in (("strip (1 tile)", args.tile), ("frontier (3 tiles)", three)):
        assert len(frontier_tiles(cross, contract)) == (1 if cross == args.tile else 3)
        short = run(contract, cross, args.short)
        long = run(contract, cross, args.long)
        print(f"{label:20s} {cross:5d} px across: {short * 1e3:7.1f} ms/step over {args.short} steps, "
              f"{long * 1e3:7.1f} ms/step over {args.long} steps: ratio {long / short:4.2f}x "
              f"(goal <= 1.15x)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
