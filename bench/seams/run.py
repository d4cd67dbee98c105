"""Every blend, with and without colour matching, on ground truth: median and worst case.

Each run starts a session from the first tile's width of a photo panorama (oracle.py) and extends
it by `steps` steps through the real Session path with the photo oracle as generator: every photo x
seed x patch variant ("none": no patch; "repaint": one repainted patch across the overlap), with the
oracle's disturbance (gain 0.9-1.1 and offset +-12 per channel, shift up to 2 px, noise sigma 2).
Per run:

  seam     the seam report's seam_step (ΔE), mean over steps
  +lin     seam minus the seam of a plain linear feather without colour matching (and without
           registration) on the same photo, seed and patch (the baseline row "linear off" is always
           run). Every other row registers each tile onto its band first, as a session step does,
           unless --no-register
  drift1   ΔE76 between the mean Lab of step 1's new region and the truth's there
  drift8   the same for the last step's new region (colour drift after `steps` steps)
  colour8  drift8 with the pixels the oracle repainted left out (the cast alone, docs/seams.md)
  psnr     PSNR (dB) of everything the steps added against the truth
  ms/step  colour matching + blend + seam report per step (mean), milliseconds

Printed per blend and colour matching: the median and the worst (max; min for PSNR) over the runs.

Run: python bench/seams/run.py [--tile 1024] [--steps 8] [--seeds 3] [--photos astronaut,coffee]
     [--patches none,repaint] [--blends linear,seam] [--colour rgb] [--jobs 2] [--no-register] [--edges]
     [--cases]
Defaults: tile 1024 (band = overlap = advance = 512), 6 photos x 3 seeds x 2 patch variants, every
blend with rgb matching plus the linear-off baseline: 288 sessions, about an hour on 2 cores.
Measured on a shared 2-core machine (load 8-12): --tile 1024 --seeds 1 --photos retina,astronaut
--patches repaint (16 sessions) 220 s; --tile 256 (288 sessions) 1294 s. The drift alone over the
full set at tile 1024 is faster with colour_fit.py (the same drift, no blending or PNGs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from exquisite.shared_core import frontier as frontier_module
from exquisite.shared_core.geometry import Contract
from exquisite.shared_core.glue import BLENDS
from exquisite.shared_core.registration import SEARCH_PX
from exquisite.shared_core.session import Session, StepSettings
from colour_fit import mean_lab_distance
from oracle import BENCH_PHOTOS, PHOTOS, Disturbance, PhotoOracle, panorama

SPENT: list[float] = []
EDGE = SEARCH_PX
"""Rows at the top and bottom that --edges measures: the most a tile can be moved by."""


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


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def run_one(case) -> dict:
    """One session grown on ground truth; the per-run figures (see the module doc)."""
    name, seed, patch, blend, colour, tile, steps, clean, register = case
    half = tile // 2
    contract = Contract(tile=tile, band=half, overlap=half, advance=half)
    start = tile
    truth = panorama(name, tile, start + steps * half + 4 * tile)
    disturbance = Disturbance.none() if clean else Disturbance(patch=patch)
    oracle = PhotoOracle(truth, start, contract, seed, disturbance)
    plain = (blend, colour) == ("linear", "off")  # the baseline: no registration either
    settings = StepSettings(
        blend=blend,
        colour_match=colour != "off",
        seed=seed,
        colour_space="rgb" if colour == "off" else colour,
        register=register and not plain,
    )
    SPENT.clear()
    with (
        tempfile.TemporaryDirectory() as workdir,
        Session.create(Path(workdir) / "s", np.ascontiguousarray(truth[:, :start]), contract) as session,
    ):
        results = session.extend(settings, oracle, steps=steps)
        canvas = session.canvas()
    assert all(r.committed for r in results), [r.reason for r in results]
    a = contract.advance

    repainted = oracle.repainted_pixels(truth.shape[:2])

    def new_region(n, colour_only=False):  # 1-based step
        cols = slice(start + (n - 1) * a, start + n * a)
        return (canvas[:, cols], truth[:, cols]) + ((~repainted[:, cols],) if colour_only else ())

    grown = slice(start - contract.overlap, start + steps * a)
    return {
        "case": (name, seed, patch),
        "blend": blend,
        "colour": colour,
        "seam": statistics.mean(r.seam["seam_step"] for r in results),
        "drift1": mean_lab_distance(*new_region(1)),
        "drift8": mean_lab_distance(*new_region(steps)),
        "colour8": mean_lab_distance(*new_region(steps, colour_only=True)),
        "psnr": psnr(canvas[:, grown], truth[:, grown]),
        "edge_psnr": psnr(*(np.concatenate([x[:EDGE], x[-EDGE:]]) for x in (canvas[:, grown], truth[:, grown]))),
        "ms": 1000 * sum(SPENT) / steps,
    }


def edges(runs: list[dict], configs) -> list[str]:
    """--edges: PSNR of the EDGE outer rows of what the steps added (where a tile moved back onto
    its band shows its own edge reflected, registration.py) beside the PSNR of all it added."""
    lines = [
        "| blend | colour | PSNR med | PSNR min | outer rows' PSNR med | outer rows' PSNR min |",
        "|---|---|" + "---:|" * 4,
    ]
    for blend, colour in configs:
        mine = [r for r in runs if (r["blend"], r["colour"]) == (blend, colour)]
        whole, edge = [r["psnr"] for r in mine], [r["edge_psnr"] for r in mine]
        lines.append(
            f"| {blend} | {colour} | {statistics.median(whole):.2f} | {min(whole):.2f} | "
            f"{statistics.median(edge):.2f} | {min(edge):.2f} |"
        )
    return lines


def summarise(runs: list[dict], configs) -> list[str]:
    """One line per (blend, colour): median and worst of every figure over the runs."""
    base = {r["case"]: r["seam"] for r in runs if (r["blend"], r["colour"]) == ("linear", "off")}
    lines = []
    for blend, colour in configs:
        mine = [r for r in runs if (r["blend"], r["colour"]) == (blend, colour)]
        excess = [r["seam"] - base[r["case"]] for r in mine]
        worst_case = max(mine, key=lambda r: r["drift8"])["case"]

        def both(key, worst=max, mine=mine):
            values = [r[key] for r in mine]
            return statistics.median(values), worst(values)

        cols = [
            *both("seam"),
            statistics.median(excess),
            max(excess),
            *both("drift1"),
            *both("drift8"),
            *both("colour8"),
            *both("psnr", min),
            statistics.mean(r["ms"] for r in mine),
        ]
        lines.append(
            f"| {blend} | {colour} | "
            + " | ".join(f"{v:.2f}" for v in cols[:-1])
            + f" | {cols[-1]:.0f} | {worst_case[0]} {worst_case[1]} {worst_case[2]} |"
        )
    return lines


def worst_seams(runs: list[dict], configs, count: int = 5) -> list[str]:
    """--cases: per blend, the runs whose seam lies furthest above the linear-off baseline's."""
    base = {r["case"]: r["seam"] for r in runs if (r["blend"], r["colour"]) == ("linear", "off")}
    lines = []
    for blend, colour in configs[1:]:
        mine = sorted(
            (r for r in runs if (r["blend"], r["colour"]) == (blend, colour)),
            key=lambda r: base[r["case"]] - r["seam"],
        )
        worst = ", ".join(f"{' '.join(map(str, r['case']))} {r['seam'] - base[r['case']]:+.2f}" for r in mine[:count])
        lines.append(f"{blend} {colour}: {worst}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--photos", default=",".join(BENCH_PHOTOS), help=f"any of {', '.join(PHOTOS)}")
    parser.add_argument("--patches", default="none,repaint", help="none, repaint, blur, either")
    parser.add_argument("--blends", default=",".join(BLENDS))
    parser.add_argument(
        "--colour",
        default="rgb",
        help="colour matching for every blend: off, rgb, lab (comma-separated); linear off always runs as the baseline",
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes (the machine has 2 cores)")
    parser.add_argument("--clean", action="store_true", help="no disturbance: every mode must give the truth")
    parser.add_argument(
        "--no-register",
        action="store_true",
        help="glue every tile where it lies (no registration, the session's default, for any row)",
    )
    parser.add_argument("--edges", action="store_true", help="also the PSNR of the outer rows (registration's edges)")
    parser.add_argument("--cases", action="store_true", help="also each blend's runs furthest above the baseline")
    args = parser.parse_args(argv)
    configs = [("linear", "off")] + [
        (b, c) for b in args.blends.split(",") for c in args.colour.split(",") if (b, c) != ("linear", "off")
    ]
    cases = [
        (p, 1000 * s + 1, patch)
        for p in args.photos.split(",")
        for s in range(args.seeds)
        for patch in args.patches.split(",")
    ]
    print(
        f"tile {args.tile} (band = overlap = advance = {args.tile // 2}), {args.steps} steps, photos "
        f"{args.photos}, {args.seeds} seeds, patches {args.patches}: {len(cases)} runs per row; "
        f"disturbance {Disturbance()}; tiles registered: {not args.no_register} (never in the linear-off baseline)"
    )
    jobs = [
        (*case, blend, colour, args.tile, args.steps, args.clean, not args.no_register)
        for blend, colour in configs
        for case in cases
    ]
    with Pool(args.jobs) as pool:
        runs = pool.map(run_one, jobs, chunksize=1)
    print(
        "| blend | colour | seam med | seam max | +lin med | +lin max | drift1 med | drift1 max | drift8 med "
        "| drift8 max | colour8 med | colour8 max | PSNR med | PSNR min | ms/step | worst drift8 (photo seed patch) |"
    )
    print("|---|---|" + "---:|" * 13 + "---|")
    print("\n".join(summarise(runs, configs)))
    if args.cases:
        print("\nThe runs whose seam lies furthest above linear off's (+lin):")
        print("\n".join(worst_seams(runs, configs)))
    if args.edges:
        print(f"\nThe outer {EDGE} rows (top and bottom) of what the steps added:")
        print("\n".join(edges(runs, configs)))
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    code = main()
    print(f"({time.perf_counter() - t0:.0f} s)")
    sys.exit(code)
