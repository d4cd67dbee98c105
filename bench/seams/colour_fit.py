"""Which colour fit: candidate fits side by side on the drift chain alone, fast.

With the bench's contract (band = overlap = advance = tile / 2) the next step's band is exactly the
colour-matched tile's new half, whatever the blend: the drift after n steps depends on the colour
fit only. This script replays that chain without a session, a blend or PNG files (about 20x faster
than run.py), so several fits can be compared on the same photos, seeds and disturbances; its
default-fit rows equal run.py's drift columns (the same oracle, seeds and band).

Candidates (colour.fit_colour_map options):
  registered        the default: pixel pairs after registering the shift, chosen by the canvas's
                    value away from the clip, blocks that disagree trimmed, clipped ends mapped to
                    what they cover, mean-keeping offset (colour_fit.py)
  moments           per-channel mean/std over blocks, those that disagree in content trimmed (the
                    default until the registered fit)
  moments+clipping  ... and the gain measured on the blocks no clip has touched, the offset keeping
                    the overlap's mean (opt-in)
  plain             mean/std over the whole overlap, every value
  lab               the moments fit in CIE Lab (no clipping rule: Lab mixes the channels)

Printed per candidate: median and worst (max over photos x seeds x patches) of the drift after step
1 and after the last step, ΔE76 of mean Lab against the truth, the fit's time per tile, and
colour8: the drift after the last step with the pixels the oracle repainted left out (its patch,
widened by registration.SEARCH_PX): where a patch reaches the new half, drift8 also counts the
patch's other content, which no colour fit can or should undo; colour8 is the colour cast alone.

Every tile is first moved onto its band (registration.register_tile), as a session step does;
--no-register glues it where the oracle shifted it (the chain before registration).

--kept-patches keeps each repainted patch in the tile's conditioning half, as issue 12's own
measurement did; by default a patch may reach into the new half by half its side.

Run: python bench/seams/colour_fit.py [--tile 1024] [--steps 8] [--seeds 3] [--photos ...]
     [--patches none,repaint] [--jobs 2] [--no-register] [--kept-patches]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from exquisite.shared_core.colour import fit_colour_map, reference_columns, rgb_to_lab
from exquisite.shared_core.generators import TileRequest
from exquisite.shared_core.geometry import Contract
from exquisite.shared_core.registration import register_tile
from oracle import BENCH_PHOTOS, PHOTOS, Disturbance, PhotoOracle, panorama

CANDIDATES = {
    "registered": {"method": "registered"},
    "moments": {"method": "moments"},
    "moments+clipping": {"method": "moments", "clipping": True},
    "plain": {"method": "moments", "robust": False},
    "lab": {"space": "lab"},
}


def mean_lab_distance(a: np.ndarray, b: np.ndarray, keep: np.ndarray | None = None) -> float:
    """ΔE76 between the mean Lab of a and of b, over the pixels `keep` marks (all by default)."""
    keep = np.ones(a.shape[:2], bool) if keep is None or not keep.any() else keep
    return float(np.linalg.norm(rgb_to_lab(a)[keep].mean(0) - rgb_to_lab(b)[keep].mean(0)))


def chain(truth, contract, steps, first_seed, disturbance, options, register=True):
    """Drift after each step of a session grown from truth[:, :tile] with this fit (each tile first
    moved onto its band, as a session step does, unless `register` is off), the same with the
    repainted patch's pixels left out (colour alone), and the seconds per fit."""
    b, a, t = contract.band, contract.advance, contract.tile
    start = t
    oracle = PhotoOracle(truth, start, contract, first_seed, disturbance)
    band = truth[:, start - b : start]
    mask = np.ones((t, t), np.float32)
    ref_start, ref_stop = reference_columns(contract)
    drifts, colours, spent = [], [], 0.0
    for step in range(steps):
        reference = np.zeros((t, t, 3), np.uint8)
        reference[:, :b] = band
        tile = oracle.generate(TileRequest(reference, mask, "", first_seed + step, "x_ltr"))
        if register:
            tile, _ = register_tile(band, tile, contract)
        t0 = time.perf_counter()
        matched = fit_colour_map(band[:, ref_start:ref_stop], tile[:, ref_start:ref_stop], **options).apply(tile)
        spent += time.perf_counter() - t0
        band = matched[:, b:]
        cols = slice(start + step * a, start + (step + 1) * a)
        drifts.append(mean_lab_distance(band, truth[:, cols]))
        colours.append(mean_lab_distance(band, truth[:, cols], ~oracle.repainted_pixels(truth.shape[:2])[:, cols]))
    return drifts, colours, spent / steps


def one_case(args) -> dict:
    name, seed, patch, tile, steps, candidates, register, kept = args
    half = tile // 2
    contract = Contract(tile=tile, band=half, overlap=half, advance=half)
    truth = panorama(name, tile, tile + steps * half + 4 * tile)
    out = {}
    for candidate in candidates:
        drifts, colours, seconds = chain(
            truth, contract, steps, seed, Disturbance(patch=patch, patch_kept=kept), CANDIDATES[candidate], register
        )
        out[candidate] = (drifts[0], drifts[-1], seconds, colours[-1])
    return {"case": (name, seed, patch), "results": out}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--photos", default=",".join(BENCH_PHOTOS), help=f"any of {', '.join(PHOTOS)}")
    parser.add_argument("--patches", default="none,repaint")
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--no-register", action="store_true", help="glue each tile where it lies (before registration, the default)"
    )
    parser.add_argument("--cases", action="store_true", help="also print every case's drift after the last step")
    parser.add_argument(
        "--kept-patches",
        action="store_true",
        help="repainted patches stay in the conditioning half (issue 12's setting): drift is then colour alone",
    )
    args = parser.parse_args(argv)
    candidates = args.candidates.split(",")
    cases = [
        (p, 1000 * s + 1, patch, args.tile, args.steps, candidates, not args.no_register, args.kept_patches)
        for p, s, patch in itertools.product(args.photos.split(","), range(args.seeds), args.patches.split(","))
    ]
    print(
        f"tile {args.tile}, {args.steps} steps, photos {args.photos}, {args.seeds} seeds, patches {args.patches}, "
        f"disturbance {Disturbance(patch_kept=args.kept_patches)} (patch per case), tiles registered: {not args.no_register}"
    )
    with Pool(args.jobs) as pool:
        done = pool.map(one_case, cases)
    if args.cases:
        for d in done:
            print(d["case"], " ".join(f"{c}={d['results'][c][1]:.2f}/{d['results'][c][3]:.2f}" for c in candidates))
    header = (
        f"{'fit':<20}{'drift1 med':>11}{'worst':>7}{'drift8 med':>11}{'worst':>7}  worst case{'':<28}{'ms/fit':>7}"
        f"{'colour8 med':>12}{'worst':>7}  worst case"
    )
    print(header)
    print("-" * len(header))
    for c in candidates:
        rows = [(d["results"][c], d["case"]) for d in done]
        first = [r[0][0] for r in rows]
        last = [r[0][1] for r in rows]
        colour = [r[0][3] for r in rows]
        worst = max(rows, key=lambda r: r[0][1])[1]
        worst_colour = max(rows, key=lambda r: r[0][3])[1]
        ms = 1000 * statistics.mean(r[0][2] for r in rows)
        print(
            f"{c:<20}{statistics.median(first):>11.2f}{max(first):>7.2f}{statistics.median(last):>11.2f}"
            f"{max(last):>7.2f}  {worst!s:<38}{ms:>7.1f}{statistics.median(colour):>12.2f}{max(colour):>7.2f}"
            f"  {worst_colour}"
        )
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    code = main()
    print(f"({time.perf_counter() - t0:.0f} s)")
    sys.exit(code)
