"""Every blend, with and without colour matching, on ground truth: which combination is best.

Each run starts a session from the first `start` columns of a photo panorama (oracle.py) and
extends it by `steps` steps through the real Session path with the photo oracle as generator.
Columns of the table (means over photos and seeds):

  seam     the seam report's seam_step (ΔE, mean over steps)
  grad     the seam report's gradient_discontinuity (ΔE/px, mean over steps)
  drift1   ΔE76 between the mean Lab of step 1's new region and the truth's there
  drift8   the same for the last step's new region (colour drift after `steps` steps)
  psnr     PSNR (dB) of everything the steps added (canvas columns from the overlap of step 1 on)
           against the truth
  ms/step  colour matching + blend + seam report per step (mean), milliseconds

Run: python bench/seams/run.py [--tile 256] [--steps 8] [--seeds 2] [--photos astronaut,coffee]
The default tile is 256 (band 128, overlap 128, advance 128): the photos are native resolution
there; --tile 1024 measures the real contract (photos upscaled) and the time per step that matters.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from oracle import PHOTOS, Disturbance, PhotoOracle, panorama  # noqa: E402

from exquisite.shared_core.colour import rgb_to_lab  # noqa: E402
from exquisite.shared_core.geometry import Contract  # noqa: E402
from exquisite.shared_core.glue import BLENDS  # noqa: E402
from exquisite.shared_core import frontier as frontier_module  # noqa: E402
from exquisite.shared_core.session import Session, StepSettings  # noqa: E402

SPENT: list[float] = []


def _timed(fn):
    """The session's own glue (frontier.FrontierStep) and report_grown, timed."""
    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT.append(time.perf_counter() - t0)
    return timed


frontier_module.FrontierStep.matched = _timed(frontier_module.FrontierStep.matched)  # colour matching
frontier_module.FrontierStep.add = _timed(frontier_module.FrontierStep.add)  # the blend of each tile
frontier_module.report_grown = _timed(frontier_module.report_grown)


def mean_lab_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(rgb_to_lab(a).reshape(-1, 3).mean(0) - rgb_to_lab(b).reshape(-1, 3).mean(0)))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def run_one(truth, contract, start, steps, blend, colour, seed, disturbance, workdir) -> dict:
    oracle = PhotoOracle(truth, start, contract, seed, disturbance)
    settings = StepSettings(blend=blend, colour_match=colour != "off", seed=seed,
                            colour_space="rgb" if colour == "off" else colour)
    root = Path(tempfile.mkdtemp(dir=workdir))
    SPENT.clear()
    with Session.create(root / "s", np.ascontiguousarray(truth[:, :start]), contract) as session:
        results = session.extend(settings, oracle, steps=steps)
        canvas = session.canvas()
    assert all(r.committed for r in results), [r.reason for r in results]
    a = contract.advance

    def new_region(n):  # 1-based step
        cols = slice(start + (n - 1) * a, start + n * a)
        return canvas[:, cols], truth[:, cols]

    grown = slice(start - contract.overlap, start + steps * a)
    return {
        "seam": statistics.mean(r.seam["seam_step"] for r in results),
        "grad": statistics.mean(r.seam["gradient_discontinuity"] for r in results),
        "drift1": mean_lab_distance(*new_region(1)),
        "drift8": mean_lab_distance(*new_region(steps)),
        "psnr": psnr(canvas[:, grown], truth[:, grown]),
        "ms": 1000 * sum(SPENT) / steps,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--photos", default=",".join(PHOTOS))
    parser.add_argument("--blends", default=",".join(BLENDS))
    parser.add_argument("--colour", default="off,lab,rgb", help="colour matching: off, or the space matched in")
    parser.add_argument("--clean", action="store_true", help="no disturbance: every mode must give the truth")
    args = parser.parse_args(argv)
    half = args.tile // 2
    contract = Contract(tile=args.tile, band=half, overlap=half, advance=half)
    start = 2 * half
    width = start + args.steps * half + 4 * args.tile
    disturbance = Disturbance.none() if args.clean else Disturbance()
    photos = args.photos.split(",")
    truths = {name: panorama(name, args.tile, width) for name in photos}
    print(f"contract {contract.to_dict()}, start canvas {start} px, {args.steps} steps, photos {photos}, "
          f"seeds {args.seeds}, disturbance {disturbance}")
    header = f"{'blend':<15}{'colour':>7}{'seam':>7}{'grad':>7}{'drift1':>8}{'drift8':>8}{'psnr':>7}{'ms/step':>9}"
    print(header)
    print("-" * len(header))
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for blend in args.blends.split(","):
            for colour in args.colour.split(","):
                runs = [run_one(truths[p], contract, start, args.steps, blend, colour, 1000 * s + 1,
                                disturbance, workdir) for p in photos for s in range(args.seeds)]
                row = {k: statistics.mean(r[k] for r in runs) for k in runs[0]}
                rows.append((blend, colour, row))
                print(f"{blend:<15}{colour:>7}{row['seam']:>7.2f}{row['grad']:>7.2f}"
                      f"{row['drift1']:>8.2f}{row['drift8']:>8.2f}{row['psnr']:>7.2f}{row['ms']:>9.1f}", flush=True)
    best = max(rows, key=lambda r: r[2]["psnr"])
    print(f"highest PSNR: blend {best[0]}, colour matching {best[1]}")
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    code = main()
    print(f"({time.perf_counter() - t0:.0f} s)")
    sys.exit(code)
