"""The registered, censoring-aware colour fit (colour.fit_colour_map's default for RGB).

Moments (colour.robust_fit) compare block statistics, so they survive a shift of a few pixels, but
they cannot tell a clipped value from a true one, and a clip at 0 or 255 (a tenth to a third of an
overlap on photos with dark or bright regions under a gain of 1.1) bends the measured gain. Pixel
pairs can tell, once they correspond. So (docs/seams.md, bench/seams/colour_fit.py):

* register: the integer shift (within +-SEARCH_PX) of the tile's overlap against the canvas's, by
  phase correlation of their grey levels (whitened, so fine detail decides, not a bright disc's edge);
* regress the tile on the canvas (tile ~ g * canvas + b per channel) over the aligned pairs whose
  canvas value and predicted tile value both lie MARGIN inside 0..255: the pairs are chosen by the
  regressor, which does not bias least squares, where choosing by the tile's own value would; a
  clipped tile value never enters. Iterated from the moments fit;
* trim blocks whose mean residual against the (clipped) prediction is large: content the tile
  changed (a repainted patch), dilated by one block because a patch's edge blocks are only partly off;
* the censored ends: tile values 0 and 255 say only "at most" / "at least"; each maps to the canvas's
  mean under them in the overlap when that lies beyond the line (a clipped highlight stays white),
  learned per depth inside the clipped region (clipped_fill.py: a rim is not a heart);
* the offset is then set so the mapped overlap keeps the canvas's mean colour (what drift measures).

The map is inverted to canvas ~ gain * tile + offset. Pure numpy; the same pixels give the same map.
"""

from __future__ import annotations

import numpy as np

from .clipped_fill import BINS, depth_points, depth_radius, depth_share
from .registration import SEARCH_PX, register

MARGIN = 5.0
"""Grey levels a canvas value and a predicted tile value must keep from 0 and 255 to enter the fit."""
TRIM = 2.0
"""A block is dropped when its mean residual exceeds TRIM x the median block's ..."""
TRIM_FLOOR = 8.0
"""... and TRIM_FLOOR (grey levels summed over the channels): noise alone is never trimmed."""
ROUNDS = 4
MIN_PAIRS = 64
"""Fewer aligned pairs than this in a channel (or a censored end): that channel keeps the moments fit."""
MIN_CORRELATION = 0.5
"""A channel whose pairs correlate less (a flat overlap: noise only) keeps the moments fit."""
MAX_PAIRS = 100_000
"""Pairs are taken on every k-th row and column so that at most this many enter (CPU time)."""


def aligned_pairs(target: np.ndarray, source: np.ndarray, search: int):
    """(canvas, tile) float32 values of the registered pairs, inside a margin of `search` px (no
    edge is compared with what a shift brought in), on every k-th row and column (MAX_PAIRS); and
    `pick`, which takes the same pairs' values from any array of the source's shape."""
    rows, cols = target.shape[:2]
    dy, dx = register(target, source, search) if search else (0, 0)
    inner = (slice(search, rows - search), slice(search, cols - search))
    moved = (slice(search + dy, rows - search + dy), slice(search + dx, cols - search + dx))
    step = max(1, int(np.ceil(np.sqrt((rows - 2 * search) * (cols - 2 * search) / MAX_PAIRS))))

    def pick(values: np.ndarray) -> np.ndarray:
        return values[moved][::step, ::step]

    return target[inner][::step, ::step].astype(np.float32), pick(source).astype(np.float32), pick


def _regress(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per channel least squares y ~ g x + b over the pairs with w; also the count and correlation."""
    n = w.sum(axis=(0, 1), dtype=np.float64)
    safe = np.maximum(n, 1.0)
    mx = (w * x).sum(axis=(0, 1), dtype=np.float64) / safe
    my = (w * y).sum(axis=(0, 1), dtype=np.float64) / safe
    dx, dy = x - mx.astype(np.float32), y - my.astype(np.float32)
    sxx = (w * dx * dx).sum(axis=(0, 1), dtype=np.float64)
    syy = (w * dy * dy).sum(axis=(0, 1), dtype=np.float64)
    sxy = (w * dx * dy).sum(axis=(0, 1), dtype=np.float64)
    g = np.where(sxx > 1e-6, sxy / np.maximum(sxx, 1e-6), 1.0)
    r = np.where((sxx > 1e-6) & (syy > 1e-6), sxy / np.sqrt(np.maximum(sxx * syy, 1e-12)), 0.0)
    return g, my - g * mx, n, r


def _kept_blocks(x: np.ndarray, y: np.ndarray, g, b, block: int) -> np.ndarray:
    """(R, C, 1) float32, 1 where a block agrees in content: its mean |tile - clip(g canvas + b)|
    (summed over channels) is within TRIM x the median block's, or TRIM_FLOOR."""
    residual = np.abs(y - np.clip(g.astype(np.float32) * x + b.astype(np.float32), 0.0, 255.0)).sum(axis=-1)
    rows, cols = np.arange(0, x.shape[0], block), np.arange(0, x.shape[1], block)
    sums = np.add.reduceat(np.add.reduceat(residual, rows, axis=0), cols, axis=1)
    counts = np.outer(np.diff(np.append(rows, x.shape[0])), np.diff(np.append(cols, x.shape[1])))
    mean = sums / counts
    bad = mean > max(TRIM * float(np.median(mean)), TRIM_FLOOR)
    grown = bad.copy()  # a patch's edge blocks are only partly off: drop the neighbours too
    grown[1:] |= bad[:-1]
    grown[:-1] |= bad[1:]
    grown[:, 1:] |= bad[:, :-1]
    grown[:, :-1] |= bad[:, 1:]
    keep = np.repeat(np.repeat(~grown, block, axis=0), block, axis=1)[: x.shape[0], : x.shape[1]]
    return keep[..., None].astype(np.float32)


def _censored_ends(x, y, keep, gain, offset, source, pick) -> tuple[np.ndarray, np.ndarray]:
    """What tile values 0 and 255 map to per channel: (2, 3) over all their pixels (NaN: the line's
    own value) and (2, 3, BINS, 2) by depth in their clipped region (clipped_fill.depth_points)."""
    ends = np.full((2, 3), np.nan)
    by_depth = np.full((2, 3, BINS, 2), np.nan)
    kept = keep[..., 0] > 0
    radius = depth_radius(source.shape[0])
    for ch in range(3):
        for row, (value, sign) in enumerate(((0, -1.0), (255, 1.0))):
            at = kept & (y[..., ch] == value)
            if int(at.sum()) < MIN_PAIRS:
                continue
            under = x[..., ch][at]
            line, mean = gain[ch] * value + offset[ch], float(under.mean(dtype=np.float64))
            if sign * (mean - line) > 0:  # beyond the line: censored
                ends[row, ch] = float(np.rint(mean))
                points = depth_points(under, pick(depth_share(source[..., ch] == value, radius))[at])
                clamp = np.maximum if sign > 0 else np.minimum  # a bin on the line's side keeps the line
                points[:, 1] = clamp(points[:, 1], line)
                by_depth[row, ch] = points
    return ends, by_depth


def mapped_values(gain: float, offset: float, ends) -> np.ndarray:
    """(256,) float: what each tile value of one channel maps to, before rounding."""
    values = np.clip(gain * np.arange(256, dtype=np.float64) + offset, 0.0, 255.0)
    if not np.isnan(ends[0]):
        values[0] = ends[0]
    if not np.isnan(ends[1]):
        values[255] = ends[1]
    return values


def _mean_keeping_offset(gain: float, ends, hist: np.ndarray, target_mean: float) -> float:
    """The offset for which the tile's kept values, mapped, have the canvas's mean (bisection over
    every offset that maps some value inside 0..255: the mapped mean grows with the offset)."""
    weights = hist / max(float(hist.sum()), 1.0)
    lo, hi = -255.0 * abs(gain) - 1.0, 256.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if float((weights * mapped_values(gain, mid, ends)).sum()) < target_mean:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def registered_fit(target, source, initial, max_gain: float, robust: bool = True, block: int = 16):
    """(gain, offset, ends) per channel, target ~ gain * source + offset on two uint8 RGB regions that
    show the same place up to a small shift (see the module doc); `initial` = (gain, offset) of the
    moments fit, which a channel keeps when its pairs cannot say more. ends, by_depth: _censored_ends."""
    rows, cols = target.shape[:2]
    search = SEARCH_PX if min(rows, cols) >= 4 * SEARCH_PX + 16 else 0
    x, y, pick = aligned_pairs(target, source, search)
    block = max(2, block * x.shape[0] // max(rows, 1))
    init_gain, init_offset = np.asarray(initial[0], np.float64), np.asarray(initial[1], np.float64)
    g, b = 1.0 / init_gain, -init_offset / init_gain  # tile ~ g canvas + b
    inside = (x >= MARGIN) & (x <= 255.0 - MARGIN)
    keep = np.ones(x.shape[:2] + (1,), np.float32)
    n, r = np.zeros(3), np.zeros(3)
    for _ in range(ROUNDS):
        if robust:
            keep = _kept_blocks(x, y, g, b, block)
        predicted = g.astype(np.float32) * x + b.astype(np.float32)
        w = (inside & (predicted >= MARGIN) & (predicted <= 255.0 - MARGIN)).astype(np.float32) * keep
        new_g, new_b, n, r = _regress(x, y, w)
        usable = (n >= MIN_PAIRS) & (r >= MIN_CORRELATION) & (new_g > 0)
        g, b = np.where(usable, new_g, g), np.where(usable, new_b, b)
    usable = (n >= MIN_PAIRS) & (r >= MIN_CORRELATION)
    gain = np.where(usable, np.clip(1.0 / g, 1.0 / max_gain, max_gain), init_gain)
    offset = np.where(usable, -b / g, init_offset)
    kept = keep[..., 0] > 0
    if kept.any():  # a clamped gain moves the line: its offset through the kept pairs' means
        means = x[kept].mean(axis=0, dtype=np.float64) - gain * y[kept].mean(axis=0, dtype=np.float64)
        offset = np.where(usable & (gain != 1.0 / g), means, offset)
    ends, by_depth = _censored_ends(x, y, keep, gain, offset, source, pick)
    for ch in range(3):
        if usable[ch] and kept.any():
            hist = np.bincount(y[..., ch][kept].astype(np.int64), minlength=256).astype(np.float64)
            target_mean = float(x[..., ch][kept].mean(dtype=np.float64))
            offset[ch] = _mean_keeping_offset(gain[ch], ends[:, ch], hist, target_mean)
    return gain, offset, ends, by_depth
