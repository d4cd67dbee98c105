"""A minimum-error seam through the overlap (dynamic programming, as in image quilting): the seam
blends, and the cut of hard and the fade of multiband where their cut would show.

When the tile's overlap disagrees with the canvas (a model that moved or repainted something), any
fade shows both versions at once as a ghost. A seam instead cuts from the canvas to the tile along
the path where they agree best, top to bottom, moving at most one column per row; only a short
feather (or a multi-band transition) is laid along that path.

The path stays inside the compositing ramp with a margin so that its transition ends before the
ramp does; outside the ramp (alpha 0 or 1) the old canvas or the tile is kept exactly. Pure numpy,
ties broken by a fixed rule, so a replay draws the same seam.
"""

from __future__ import annotations

import numpy as np

from .blend_multiband import keep_ends, levels_for, multiband, multiband_overlap, ramp_zone

FEATHER_FRACTION = 1 / 16
"""The feather across the seam path is this fraction of the ramp's width (at least 2 px)."""

MULTIBAND_MARGIN = 1 / 4
"""For seam_multiband the path keeps this fraction of the ramp's width from each end, so the
pyramid has room for its coarse bands."""

SHOWN_AT = 24.0
SHOWN_OVER = 3.0
"""A cut shows where the path's RGB distance (3 x 3 mean) exceeds SHOWN_AT grey levels and SHOWN_OVER
times its median along the path (noise of sigma 2 on both sides is about 5)."""
SHARE_ROWS = 32
"""The fade's share is smoothed over height / SHARE_ROWS rows either side."""

SMOOTHING = 1
"""Radius of the box that averages the disagreement, so the path follows regions, not single pixels."""
HARD_STEERING = 1 / 20
"""hard's path is steered by the disagreement averaged over a box of this fraction of the overlap's
width in radius: with nothing mixed, what shows at its cut is the mean difference of the two sides
over a few pixels, not one pixel's (bench/seams/run.py --tile 256 --blends hard, before the end margin
and the uncovered-strip fix: worst +1.87 over the linear baseline at radius 3, +1.32 at 6, +1.43 at
10; with both, 1/20 leaves +0.10 at tile 256 and +0.29 at tile 1024: docs/seams.md)."""


def disagreement(old: np.ndarray, new: np.ndarray, radius: int = SMOOTHING) -> np.ndarray:
    """Per-pixel squared RGB difference, box-averaged over (2 radius + 1)^2 pixels; float64 (H, W)."""
    diff = old.astype(np.float64) - new.astype(np.float64)
    return box_mean((diff * diff).sum(axis=2), radius)


def box_mean(cost: np.ndarray, radius: int) -> np.ndarray:
    """The (2 radius + 1)^2 box mean of an (H, W) float64 array, edges padded (radius 0: itself)."""
    if radius <= 0:
        return cost
    padded = np.pad(cost, radius, mode="edge")
    summed = padded.cumsum(axis=0).cumsum(axis=1)
    summed = np.pad(summed, ((1, 0), (1, 0)))
    k = 2 * radius + 1
    h, w = cost.shape
    return (summed[k : k + h, k : k + w] - summed[:h, k : k + w] - summed[k : k + h, :w] + summed[:h, :w]) / (k * k)


def min_error_path(cost: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """For every row, the column where the cheapest top-to-bottom path crosses it, within [lo, hi).

    Neighbouring rows' columns differ by at most one. Ties go to the leftmost choice. The local
    backend cuts every block it places along this path, hundreds per tile, so the sums are updated
    in place rather than through stacked candidate arrays.
    """
    height, width = cost.shape
    if not 0 <= lo < hi <= width:
        raise ValueError(f"internal: seam columns [{lo}, {hi}) outside 0..{width}")
    total = np.array(cost[:, lo:hi])  # total[row, c]: the cheapest path from the top ending there
    for row in range(1, height):
        above = total[row - 1]
        best = above.copy()
        np.minimum(best[1:], above[:-1], out=best[1:])
        np.minimum(best[:-1], above[1:], out=best[:-1])
        total[row] += best
    path = np.empty(height, dtype=np.int64)
    path[-1] = int(total[-1].argmin())
    for row in range(height - 2, -1, -1):
        first = max(0, int(path[row + 1]) - 1)
        path[row] = first + int(total[row, first : path[row + 1] + 2].argmin())
    return path + lo


def path_weight(path: np.ndarray, width: int, feather: float) -> np.ndarray:
    """(H, W) weight of the tile: 0 left of the path, 1 right of it, a smoothstep `feather` wide
    centred on it (feather 0: a hard cut, the path's own column taken from the tile)."""
    centres = np.arange(width, dtype=np.float64)[None, :] + 0.5
    if feather <= 0:
        return (centres > path[:, None]).astype(np.float32)
    t = np.clip((centres - path[:, None]) / feather + 0.5, 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def _seam(
    old: np.ndarray, new: np.ndarray, alpha: np.ndarray, margin: float, across: int = 0
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The path, its per-pixel cost, and the ramp's zone. `across`: the path is steered by the
    disagreement averaged over that many columns either side as well, the width its feather mixes,
    so that a disagreement just beside the path (a repainted patch's edge) is not half-mixed in."""
    lo, hi = ramp_zone(alpha)
    keep = int(np.ceil(margin))
    first, last = lo + keep, hi - keep
    if last <= first:  # a ramp too narrow for the margin: cut through its middle
        first = (lo + hi) // 2
        last = first + 1
    cost = disagreement(old, new)
    steer = cost
    if across > 0:
        summed = np.pad(np.pad(cost, ((0, 0), (across, across)), mode="edge").cumsum(axis=1), ((0, 0), (1, 0)))
        steer = (summed[:, 2 * across + 1 :] - summed[:, : -2 * across - 1]) / (2 * across + 1)
    return min_error_path(steer, first, last), cost, lo, hi


def fade_where_the_cut_shows(weight: np.ndarray, alpha: np.ndarray, path: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """The seam's weight, turned into the ramp's own fade on the rows where even the cheapest path
    crosses a disagreement (content that differs on both sides of every possible cut: a patch the
    model repainted across the whole zone). A cut there shows the whole difference as a step; a
    fade spreads it. Rows where the path's RGB distance exceeds SHOWN_AT (and SHOWN_OVER x the
    path's median) fade in proportion, smoothed over neighbouring rows so that rows do not switch."""
    along = np.sqrt(cost[np.arange(len(path)), path])
    level = max(SHOWN_AT, SHOWN_OVER * float(np.median(along)))
    share = np.clip(along / level - 1.0, 0.0, 1.0)
    if not share.any():
        return weight
    radius = max(1, len(path) // SHARE_ROWS)
    padded = np.pad(share, radius, mode="edge")
    share = np.convolve(padded, np.ones(2 * radius + 1) / (2 * radius + 1), mode="valid")
    padded = np.pad(share, radius, mode="edge")  # widened to cover the rows at its edges (no wrap-around)
    share = np.maximum.reduce([padded[k : k + len(share)] for k in range(2 * radius + 1)])
    return ((1.0 - share)[:, None] * weight + share[:, None] * alpha).astype(np.float32)


def seam_overlap(old: np.ndarray, new: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The `seam` blend: the minimum-error path with a short smoothstep feather along it (the ramp's
    fade where the cheapest cut still crosses a disagreement: fade_where_the_cut_shows)."""
    lo, hi = ramp_zone(alpha)
    feather = max(2.0, (hi - lo) * FEATHER_FRACTION)
    path, cost, lo, hi = _seam(old, new, alpha, feather / 2 + 1, int(feather // 2))
    weight = fade_where_the_cut_shows(path_weight(path, old.shape[1], feather), alpha, path, cost)
    blended = old.astype(np.float32) + (new.astype(np.float32) - old.astype(np.float32)) * weight[..., None]
    return keep_ends(old, new, alpha, blended)


def seam_multiband_overlap(old: np.ndarray, new: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The `seam_multiband` blend: the minimum-error path, multi-band blended across it."""
    lo, hi = ramp_zone(alpha)
    margin = (hi - lo) * MULTIBAND_MARGIN
    path, cost, lo, hi = _seam(old, new, alpha, margin, int((hi - lo) * FEATHER_FRACTION / 2))
    weight = fade_where_the_cut_shows(path_weight(path, old.shape[1], 0), alpha, path, cost)
    room = float(min((path - lo).min(), (hi - path).min()))
    return keep_ends(old, new, alpha, multiband(old, new, weight, levels_for(room)))


def hard_overlap(old: np.ndarray, new: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The `hard` blend: no pixel is mixed, each comes from the canvas or the tile, cut along the
    minimum-error path anywhere across the overlap (a fixed cut at its inner edge shows whatever
    differs there in full: docs/seams.md), steered by the disagreement over HARD_STEERING of the
    overlap's width and kept that far from its ends. Where even that path crosses a disagreement,
    those rows fade across the overlap instead (fade_where_the_cut_shows). `alpha` is not used:
    hard has no ramp, the whole overlap is its zone."""
    height, width = old.shape[:2]
    if width < 2:
        return np.array(new)
    squared = disagreement(old, new, 0)  # once: the cut's cost and its wider steering box both sum it
    cost = box_mean(squared, SMOOTHING)
    radius = max(SMOOTHING, int(width * HARD_STEERING))
    keep = min(radius, (width - 1) // 2)  # off the ends, where the box sees only one side's padding
    path = min_error_path(box_mean(squared, radius), keep, width - keep)
    across = np.broadcast_to(((np.arange(width) + 0.5) / width).astype(np.float32), (height, width))
    weight = fade_where_the_cut_shows(path_weight(path, width, 0), across, path, cost)
    blended = old.astype(np.float32) + (new.astype(np.float32) - old.astype(np.float32)) * weight[..., None]
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def multiband_faded_overlap(old: np.ndarray, new: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The `multiband` blend: its seam line where the ramp crosses 1/2 (multiband_overlap), but the
    rows where that line crosses a disagreement (a patch the model repainted) take the ramp's fade
    (fade_where_the_cut_shows), so the pyramid's finest levels do not cut through it."""
    lo, hi = ramp_zone(alpha)
    if hi - lo < 2:
        return multiband_overlap(old, new, alpha)
    line = (lo + hi) / 2.0
    path = np.full(old.shape[0], min(int(line), hi - 1), dtype=np.int64)
    weight = fade_where_the_cut_shows((alpha >= 0.5).astype(np.float32), alpha, path, disagreement(old, new))
    return keep_ends(old, new, alpha, multiband(old, new, weight, levels_for(min(line - lo, hi - line))))
