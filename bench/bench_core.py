"""Core speed and memory, measured side by side in one run (ratios, not absolute times).

1. The core step (band, reference, mask, glue) against a plain copy of the tile into the canvas.
2. Per-step session overhead (everything but generation) at steps 2, 16 and 64 of one panorama.
3. Peak memory of extending a 1024 x 65,536 canvas, as a multiple of the canvas's RGB bytes.

Run: python bench/bench_core.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import resource
import subprocess
from pathlib import Path

import numpy as np

from exquisite.shared_core.generators import MockGenerator
from exquisite.shared_core.geometry import Contract, extract_band, pack_reference
from exquisite.shared_core.canvas import GrowingCanvas
from exquisite.shared_core.glue import blend_alpha, glue_step
from exquisite.shared_core.mask import generation_mask
from exquisite.shared_core.session import Session, StepSettings


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def core_step_vs_copy(repeat: int) -> None:
    contract = Contract()
    rng = np.random.default_rng(0)
    buffer = rng.integers(0, 255, (1024, 4096, 3), dtype=np.uint8)
    tile = rng.integers(0, 255, (1024, 1024, 3), dtype=np.uint8)
    length = 2048
    canvas = GrowingCanvas.from_image(buffer[:, :length], "x_ltr", room=4096 - length)
    buffer = canvas.buffer_for_step(contract)  # the canvas's own buffer, room included (frontier-right frame)

    def plain_copy():
        buffer[:, length - 512 : length + 512] = tile

    def core_step():
        band = extract_band(buffer[:, :length], contract)
        pack_reference(band, contract, "gray")
        mask = generation_mask(contract)
        canvas.length = length
        glue_step(canvas, tile, contract, blend_alpha(contract, "mask", mask=mask), "mask")

    copy_s, core_s = _best(plain_copy, repeat), _best(core_step, repeat)
    print(
        f"core step (band+reference+mask+glue): {core_s * 1e3:7.2f} ms   plain tile copy: "
        f"{copy_s * 1e3:6.2f} ms   ratio {core_s / copy_s:5.1f}x"
    )


def session_overhead(steps: int) -> None:
    checkpoints = [n for n in (2, 16, 64) if n <= steps]
    with tempfile.TemporaryDirectory() as tmp:
        start = np.random.default_rng(1).integers(0, 255, (1024, 1024, 3), dtype=np.uint8)
        overhead = {}
        with Session.create(Path(tmp) / "s", start) as session:
            ended = []

            def on_step(result) -> None:
                overhead[result.number] = result.timings["overhead_s"]
                ended.append(time.perf_counter())

            session.extend(StepSettings(seed=1), MockGenerator(), steps=steps, on_step=on_step)
            end_s = time.perf_counter() - ended[-1]
        base = statistics.median([overhead[n] for n in range(2, 5)])
        cells = "   ".join(f"step {n}: {overhead[n] * 1e3:6.1f} ms ({overhead[n] / base:4.2f}x)" for n in checkpoints)
        print(f"per-step session overhead, generation excluded (vs median of steps 2-4): {cells}")
        print(
            f"  the end of the {steps}-step command (the last crops, session.json and the whole canvas, once): "
            f"{end_s:.1f} s"
        )


def memory_peak(length: int) -> None:
    """Peak RSS of the whole `exquisite extend SESSION` command (a child process: interpreter, imports,
    the canvas read, one step, the export), against the canvas's RGB bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        canvas = np.zeros((1024, length, 3), np.uint8)
        canvas[:, ::3] = 180
        Session.create(Path(tmp) / "s", canvas).close()
        canvas_bytes = canvas.nbytes
        del canvas
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        command = [
            sys.executable,
            "-m",
            "exquisite.shared_core.cli",
            "extend",
            str(Path(tmp) / "s"),
            "-b",
            "mock",
            "--out",
            str(Path(tmp) / "out.png"),
        ]
        subprocess.run(command, check=True, capture_output=True)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # kB on Linux
        if before * 1024 >= peak:
            print("extending: a child process measured earlier used more memory; run this part alone")
        print(
            f"`exquisite extend` on a 1024 x {length} canvas: peak RSS {peak / 2**20:6.0f} MiB = "
            f"{peak / canvas_bytes:4.2f}x the canvas's RGB bytes (goal: under 3x)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer steps and a shorter canvas")
    args = parser.parse_args()
    core_step_vs_copy(repeat=5 if args.quick else 20)
    session_overhead(16 if args.quick else 64)
    memory_peak(8192 if args.quick else 65536)
    return 0


if __name__ == "__main__":
    sys.exit(main())
