"""How close colour matching gets to the true correction, step 1, against the oracle's known error.

run.py's drift compares the new region with the photo, so it also counts what the oracle's patch
changed there (a repainted patch may reach into the new half): a fit that is skewed by the patch in
the overlap can partly "correct" the patch's own colour and look better on drift 1 than a fit that
ignores the patch. Here the reference is instead the tile with the oracle's own gain and offset
undone (its seeded values are known): the error is the ΔE76 between the mean Lab of the new half as
colour-matched and as ideally corrected, i.e. the error of the colour fit alone.

Run: python bench/seams/colour_fit.py [--tile 256] [--seeds 6] [--photos astronaut,coffee]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from oracle import PHOTOS, Disturbance, PhotoOracle, panorama  # noqa: E402

from exquisite.shared_core.colour import SPACES, match_colour, rgb_to_lab  # noqa: E402
from exquisite.shared_core.generators import TileRequest, seeded_rng  # noqa: E402
from exquisite.shared_core.geometry import Contract  # noqa: E402


def mean_lab(rgb: np.ndarray) -> np.ndarray:
    return rgb_to_lab(rgb).reshape(-1, 3).mean(0)


def ideal_correction(tile: np.ndarray, seed: int, disturbance: Disturbance) -> np.ndarray:
    """The tile with the oracle's seeded gain and offset undone (replays the oracle's draws)."""
    rng = seeded_rng(seed, "photo-oracle")
    if disturbance.shift_px:
        rng.integers(-disturbance.shift_px, disturbance.shift_px + 1, size=2)
    gain = rng.uniform(*disturbance.gain, size=3)
    offset = rng.uniform(*disturbance.offset, size=3)
    return np.clip(np.rint((tile.astype(np.float64) - offset) / gain), 0, 255).astype(np.uint8)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--photos", default=",".join(PHOTOS))
    args = parser.parse_args(argv)
    half = args.tile // 2
    contract = Contract(tile=args.tile, band=half, overlap=half, advance=half)
    disturbance = Disturbance()
    errors: dict[tuple[str, bool], list[float]] = {(s, r): [] for s in SPACES for r in (False, True)}
    for name in args.photos.split(","):
        truth = panorama(name, args.tile, 4 * args.tile)
        band = truth[:, half:2 * half]
        reference = np.zeros((args.tile, args.tile, 3), np.uint8)
        reference[:, :half] = band
        mask = np.ones((args.tile, args.tile), np.float32)
        for s in range(args.seeds):
            seed = 1000 * s + 1
            oracle = PhotoOracle(truth, 2 * half, contract, seed, disturbance)
            tile = oracle.generate(TileRequest(reference, mask, "", seed, "x_ltr"))
            ideal = mean_lab(ideal_correction(tile, seed, disturbance)[:, half:])
            for space, robust in errors:
                matched = match_colour(band, tile, contract, space, robust=robust)
                errors[space, robust].append(float(np.linalg.norm(mean_lab(matched[:, half:]) - ideal)))
    print(f"tile {args.tile}, photos {args.photos}, {args.seeds} seeds: ΔE76 of the new half's mean "
          f"colour, colour-matched vs ideally corrected (mean / max)")
    for (space, robust), values in errors.items():
        print(f"{space:>4} {'robust' if robust else 'plain':>7} {statistics.mean(values):6.2f} {max(values):6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
