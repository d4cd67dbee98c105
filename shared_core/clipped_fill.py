"""What a clipped tile value stands for, by how deep inside its clipped region it lies.

A tile value of 0 or 255 says only "at most" / "at least": the canvas value under it is unknown
pixel by pixel. The colour fit (colour_fit.py) learns it where the tile and the canvas show the same
place (the overlap) and the map then writes it into the new half, where the canvas has nothing.
One value per clipped end is not enough: the overlap's clipped pixels and the new half's are
different populations. A thin clipped rim along a dark edge lies just beyond the line (a true 5 under
a line of 8), the heart of a large black background at 0; an overlap that holds mostly rims and a new
half that holds mostly background then leave a cast of several grey levels over a third of the new
half, and the next step, conditioned on it, carries it on (docs/seams.md: 1.03 ΔE after 8 steps on
astronaut, 0.50 with depth).

So a clipped pixel's value is learned per *depth*: the share of clipped values (of its channel and
end) in the (2R+1)^2 window around it, R = the region's height / RADIUS_DIVISOR. The fit learns
the mean canvas value per DEPTH_EDGES bin; apply interpolates between the bins by the share, so a
clipped region shades smoothly from its rim to its heart (a deeper pixel than the overlap showed
takes the deepest value it did show). The same pixels give the same shares in the fit and in
apply. The price: a region clipped in the photo itself (a white sky) whose edge meets dark content
sharply gets a rim a little below white, as rims are on average. Pure numpy.
"""

from __future__ import annotations

import numpy as np

RADIUS_DIVISOR = 64
"""R = rows // RADIUS_DIVISOR (16 px at tile 1024, 4 at 256), at least MIN_RADIUS."""
MIN_RADIUS = 2
DEPTH_EDGES = (0.5, 0.75, 0.9, 0.99)
"""Share of clipped values in the window that starts each deeper bin: rim (< 0.5) ... heart (>= 0.99)."""
BINS = len(DEPTH_EDGES) + 1
MIN_PIXELS = 64
"""A bin with fewer clipped pairs than this in the overlap is left out (its neighbours decide)."""


def depth_radius(rows: int) -> int:
    return max(MIN_RADIUS, rows // RADIUS_DIVISOR)


def depth_share(clipped: np.ndarray, radius: int) -> np.ndarray:
    """(H, W) float64: the share of `clipped` in each pixel's (2 radius + 1)^2 window (edges padded,
    so a region that runs off the image counts as running on). Integer sums: exact, the same in the
    fit and in apply."""
    k = 2 * radius + 1
    padded = np.pad(clipped.astype(np.int32), radius, mode="edge")
    summed = np.zeros((padded.shape[0] + 1, padded.shape[1] + 1), np.int32)
    np.cumsum(np.cumsum(padded, axis=0), axis=1, out=summed[1:, 1:])
    count = summed[k:, k:] - summed[:-k, k:] - summed[k:, :-k] + summed[:-k, :-k]
    return count / float(k * k)


def depth_points(under: np.ndarray, share: np.ndarray) -> np.ndarray:
    """(BINS, 2) float: per depth bin with at least MIN_PIXELS clipped pixels, the mean share and the
    mean canvas value `under` them (NaN rows: too few pixels)."""
    bins = np.searchsorted(np.asarray(DEPTH_EDGES), share, side="right")
    counts = np.bincount(bins, minlength=BINS)[:BINS]
    points = np.full((BINS, 2), np.nan)
    seen = counts >= MIN_PIXELS
    for column, values in enumerate((share, under)):
        sums = np.bincount(bins, weights=values.astype(np.float64), minlength=BINS)[:BINS]
        points[seen, column] = sums[seen] / counts[seen]
    return points


def fill_clipped(mapped: np.ndarray, image: np.ndarray, end: int, points: np.ndarray, radius: int) -> None:
    """Write into `mapped` (one channel, in place), where `image` (the same channel, before mapping)
    holds the clipped value `end`, the value at each pixel's depth: interpolated between the learned
    `points` (depth_points), so a clipped region shades smoothly from rim to heart, without terraces;
    beyond the first and last point, their values."""
    clipped = image == end
    seen = ~np.isnan(points[:, 0])
    if clipped.any() and seen.any():
        share = depth_share(clipped, radius)[clipped]
        filled = np.interp(share, points[seen, 0], points[seen, 1])
        mapped[clipped] = np.rint(np.clip(filled, 0.0, 255.0)).astype(mapped.dtype)
