"""One case of the drift chain, step by step: where a fit's drift comes from.

Per step: the drift after it (ΔE76 of mean Lab against the truth), the drift the oracle's own exact
inverse of its gain and offset would have left from the same band ("ideal"), the fit's gain error
(fitted gain x the oracle's gain - 1, per channel, %), its error at the new half's mean level
(grey levels, affine part only), the share of the overlap clipped per channel (%), and the cast the
oracle followed (its per-channel gain on the truth; 1 = the band's contrast is the truth's).

Run: python bench/seams/diagnose.py astronaut 2001 none [--tile 1024] [--method registered|moments]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import oracle as oracle_module
from exquisite.shared_core.colour import ColourMap, fit_colour_map, reference_columns
from exquisite.shared_core.generators import TileRequest, seeded_rng
from exquisite.shared_core.geometry import Contract
from exquisite.shared_core.registration import register_tile
from colour_fit import mean_lab_distance
from oracle import Disturbance, PhotoOracle, panorama

FOLLOWED: list = []
_follow = oracle_module.follow_band


def _recorded_follow(*args, **kwargs):
    FOLLOWED[:] = _follow(*args, **kwargs)
    return FOLLOWED[:]


oracle_module.follow_band = _recorded_follow


def known_error(seed: int, d: Disturbance):
    """The oracle's own gain and offset at this seed (its first draws, in its order)."""
    rng = seeded_rng(seed, "photo-oracle")
    rng.integers(-d.shift_px, d.shift_px + 1, size=2)
    return rng.uniform(*d.gain, size=3), rng.uniform(*d.offset, size=3)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photo")
    parser.add_argument("seed", type=int)
    parser.add_argument("patch")
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--method", default="registered")
    args = parser.parse_args(argv)
    t, half = args.tile, args.tile // 2
    contract = Contract(tile=t, band=half, overlap=half, advance=half)
    truth = panorama(args.photo, t, t + args.steps * half + 4 * t)
    d = Disturbance(patch=args.patch)
    oracle = PhotoOracle(truth, t, contract, args.seed, d)
    band, mask = truth[:, t - half : t], np.ones((t, t), np.float32)
    start, stop = reference_columns(contract)
    for step in range(args.steps):
        reference = np.zeros((t, t, 3), np.uint8)
        reference[:, :half] = band
        tile = oracle.generate(TileRequest(reference, mask, "", args.seed + step, "x_ltr"))
        tile, _ = register_tile(band, tile, contract)  # as a session step does
        gain, offset = known_error(args.seed + step, d)
        fit = fit_colour_map(band[:, start:stop], tile[:, start:stop], method=args.method)
        level = tile[:, half:].reshape(-1, 3).mean(axis=0)
        level_error = fit.gain * level + fit.offset - (level - offset) / gain
        ideal = ColourMap("rgb", 1 / gain, -offset / gain).apply(tile)[:, half:]
        clipped = ((tile[:, start:stop] == 0) | (tile[:, start:stop] == 255)).mean(axis=(0, 1))
        band = fit.apply(tile)[:, half:]
        true_half = truth[:, t + step * half : t + (step + 1) * half]
        print(
            f"step {step + 1}: drift {mean_lab_distance(band, true_half):.2f} "
            f"ideal {mean_lab_distance(ideal, true_half):.2f} "
            f"gain error % {np.round(100 * (fit.gain * gain - 1), 2)} level error {np.round(level_error, 2)} "
            f"clipped % {np.round(100 * clipped, 1)} followed gain {np.round([a for a, _ in FOLLOWED], 3)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
