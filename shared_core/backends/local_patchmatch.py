"""The layout: a coarse-to-fine patch completion of the tile at about 128 px high.

Wexler, Shechtman and Irani (2007), with PatchMatch (Barnes et al. 2009) where an exact search would
be too slow: every free pixel becomes the weighted mean of the band patches that best fit around it,
refined from the coarsest level whose band is still a dozen pixels wide up to the layout's height.
Patches are compared blurred, with a cost for moving them far across the band (horizons stay at
their height) and for using one source patch many times (variety). The result decides where sky,
ground and large things go; it averages patches, so the quilting uses it only as a guide and never
copies it into the picture.

Works in the frontier-right frame: the band is the first `wb` columns, the free part lies right of it.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .local_pixels import block_mean, enlarge, soften

_R = 3  # patch radius, 7x7 patches at every level
_K = 2 * _R + 1
# costs are in squared grey levels per patch value (a patch has 3*7*7 values)
_ROW_WEIGHT = 1600.0  # cost of moving a patch across the whole band (scaled by distance squared)
_USE_WEIGHT = 16.0  # cost of each further use of one source patch
_VOTE_SIGMA = 1.5  # px: spread of the centre weighting of votes
_LAYOUT_HEIGHT = 128  # the layout is worked out up to this height
_COARSEST_BAND = 12  # the coarsest level is the smallest whose band is still this wide
_BRUTE_PAIRS = 8_000_000  # exact search below this many (target, source) pairs, PatchMatch above


def _patch_rows(img: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """(n, 3*K*K) float32 rows of the patches centred at y0..y1-1 x x0..x1-1, row-major."""
    v = sliding_window_view(img, (_K, _K), axis=(0, 1))[y0 - _R : y1 - _R, x0 - _R : x1 - _R]
    return np.ascontiguousarray(v, dtype=np.float32).reshape(-1, 3 * _K * _K)


def _vote_weights(sigma: float) -> np.ndarray:
    """Votes count more near a patch's centre, so averaging blurs less and small things survive."""
    k = np.arange(-_R, _R + 1)
    return np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * sigma**2)).astype(np.float32)


_VOTE_WEIGHTS = _vote_weights(_VOTE_SIGMA)


class _Level:
    """The tile at one scale: `img` (h, w, 3) whose first `wb` columns are the known band."""

    def __init__(self, img: np.ndarray, wb: int) -> None:
        self.img = img
        self.h, self.w = img.shape[:2]
        self.wb = wb
        h, w = self.h, self.w
        # targets: every patch centre whose patch reaches into the free columns
        self.tx0 = max(_R, wb - _R)
        self.nty, self.ntx = h - 2 * _R, w - _R - self.tx0
        self.cy = np.broadcast_to((np.arange(self.nty) + _R)[:, None], (self.nty, self.ntx))
        self.cx = np.broadcast_to((np.arange(self.ntx) + self.tx0)[None, :], (self.nty, self.ntx))
        # sources: every patch centre whose patch lies inside the band
        self.nsy, self.nsx = h - 2 * _R, wb - 2 * _R
        band = img[:, :wb]
        self.sharp = _patch_rows(band, _R, h - _R, _R, wb - _R)
        self.soft = _patch_rows(soften(band), _R, h - _R, _R, wb - _R)
        self.row_cost = np.float32(_ROW_WEIGHT * 3 * _K * _K / h**2)
        self.use_cost = np.float32(_USE_WEIGHT * 3 * _K * _K)

    # -- correspondence fields are kept as source centres (sy, sx), one per target centre --------

    def clamp(self, sy: np.ndarray, sx: np.ndarray):
        return np.clip(sy, _R, self.h - _R - 1), np.clip(sx, _R, self.wb - _R - 1)

    def _index(self, sy: np.ndarray, sx: np.ndarray) -> np.ndarray:
        return ((sy - _R) * self.nsx + (sx - _R)).ravel()

    def _targets(self) -> np.ndarray:
        return _patch_rows(soften(self.img), _R, self.h - _R, self.tx0, self.w - _R)

    def random_field(self, rng: np.random.Generator):
        reach = max(1, self.h // 6)
        sy = self.cy + rng.integers(-reach, reach + 1, size=self.cy.shape)
        sx = rng.integers(_R, self.wb - _R, size=self.cy.shape)
        return self.clamp(sy, sx)

    def _usage(self, sy, sx) -> np.ndarray:
        """How many targets each source serves now, times the cost of one more use."""
        counts = np.bincount(self._index(sy, sx), minlength=self.nsy * self.nsx)
        return counts.astype(np.float32) * self.use_cost

    def exact_search(self, sy=None, sx=None):
        """The best source for every target (blurred patches, offset and reuse costs), exactly."""
        lam = np.sqrt(self.row_cost)
        s_cy = np.repeat(np.arange(self.nsy) + _R, self.nsx).astype(np.float32)
        src = np.concatenate([self.soft, (s_cy * lam)[:, None]], axis=1)
        tgt = np.concatenate([self._targets(), (self.cy.ravel().astype(np.float32) * lam)[:, None]], axis=1)
        norms = np.einsum("ij,ij->i", src, src)
        if sy is not None:
            norms = norms + self._usage(sy, sx)
        best = np.empty(len(tgt), np.intp)
        for i in range(0, len(tgt), 1024):
            d = norms[None, :] - 2.0 * (tgt[i : i + 1024] @ src.T)
            best[i : i + 1024] = d.argmin(axis=1)
        sy = (best // self.nsx + _R).reshape(self.nty, self.ntx)
        sx = (best % self.nsx + _R).reshape(self.nty, self.ntx)
        return sy, sx

    def _cost(self, tgt: np.ndarray, sy: np.ndarray, sx: np.ndarray, usage) -> np.ndarray:
        index = self._index(sy, sx)
        diff = tgt - self.soft[index]
        d = np.einsum("ij,ij->i", diff, diff) + usage[index]
        return d.reshape(sy.shape) + self.row_cost * (sy - self.cy).astype(np.float32) ** 2

    def patchmatch(self, sy, sx, rng: np.random.Generator, radius: int):
        """One round of PatchMatch: neighbours' offsets and two random trials, all in parallel."""
        tgt = self._targets()
        usage = self._usage(sy, sx)
        best = self._cost(tgt, sy, sx, usage)
        oy, ox = sy - self.cy, sx - self.cx
        trials = [(np.roll(oy, shift, axis), np.roll(ox, shift, axis)) for axis in (0, 1) for shift in (1, -1)]
        for r in (radius, max(1, radius // 2)):
            jitter = rng.integers(-r, r + 1, size=(2, *oy.shape))
            trials.append((oy + jitter[0], ox + jitter[1]))
        for toy, tox in trials:
            ty, tx = self.clamp(self.cy + toy, self.cx + tox)
            cost = self._cost(tgt, ty, tx, usage)
            better = cost < best
            best = np.where(better, cost, best)
            sy = np.where(better, ty, sy)
            sx = np.where(better, tx, sx)
        return sy, sx

    def vote(self, sy: np.ndarray, sx: np.ndarray) -> None:
        """Every free pixel becomes the mean of the sharp source pixels its patches propose."""
        h, w, tx0 = self.h, self.w, self.tx0
        got = self.sharp[self._index(sy, sx)].reshape(self.nty, self.ntx, 3, _K, _K)
        acc = np.zeros((h, w, 3), np.float32)
        count = np.zeros((h, w, 1), np.float32)
        for du in range(_K):
            for dv in range(_K):
                wgt = _VOTE_WEIGHTS[du, dv]
                rows = slice(du, du + self.nty)
                cols = slice(tx0 - _R + dv, tx0 - _R + dv + self.ntx)
                acc[rows, cols] += wgt * got[..., du, dv]
                count[rows, cols] += wgt
        img = self.img.copy()
        img[:, self.wb :] = acc[:, self.wb :] / np.maximum(count[:, self.wb :], 1e-6)
        self.img = img


def _plan(h: int, wb: int) -> tuple[int, list[int]]:
    """The finest factor and the list of factors, coarse to fine."""
    limit = max(1, min(h, wb) // _COARSEST_BAND)
    finest = max(1, min(max(2, round(h / _LAYOUT_HEIGHT)), limit))
    steps = 0
    while min(h, wb) / (finest * 2 ** (steps + 1)) >= _COARSEST_BAND:
        steps += 1
    return finest, [finest * 2**k for k in range(steps, -1, -1)]


_Coarser = tuple[np.ndarray, int, np.ndarray, np.ndarray, int]
"""The previous (coarser) level: its picture, its factor, its offsets (y, x) and first target column."""


def layout(band: np.ndarray, width: int, rng: np.random.Generator, report=None):
    """A coarse picture of the whole tile (at about _LAYOUT_HEIGHT px high): where sky, ground and
    large things go. Returns it and its scale factor."""
    h, wb = band.shape[:2]
    full = np.empty((h, wb + width, 3), np.float32)
    full[:, :wb] = band
    full[:, wb:] = band[:, -1:].astype(np.float32)  # only fills partial blocks at the frontier
    finest, factors = _plan(h, wb)
    coarser: _Coarser | None = None
    for n, f in enumerate(factors):
        small = block_mean(full, f)
        wbl = wb // f
        if coarser is not None:
            small[:, wbl:] = enlarge(coarser[0], coarser[1] // f, small.shape[:2])[:, wbl:]
        level = _Level(small, wbl)
        exact = level.nty * level.ntx * level.nsy * level.nsx <= _BRUTE_PAIRS
        sy, sx = _start_field(level, coarser, f, rng)
        for _ in range(max(2, 5 - n)):
            if exact:
                sy, sx = level.exact_search(sy, sx)
            else:
                sy, sx = level.patchmatch(sy, sx, rng, radius=6)
            level.vote(sy, sx)
        coarser = (level.img, f, sy - level.cy, sx - level.cx, level.tx0)
        if report is not None:
            report(0.05 + 0.15 * (n + 1) / len(factors), f"local: level {n + 1}/{len(factors)} done")
    return level.img, finest


def _start_field(level: _Level, coarser: _Coarser | None, f: int, rng: np.random.Generator):
    """Where a level's search starts: at the coarsest level random sources (voted once, so the free
    part holds a first guess); further up, the coarser level's offsets enlarged."""
    if coarser is None:
        sy, sx = level.random_field(rng)
        level.vote(sy, sx)
        return sy, sx
    _, previous, old_oy, old_ox, old_tx0 = coarser
    k = previous // f
    qy = np.clip(level.cy // k - _R, 0, old_oy.shape[0] - 1)
    qx = np.clip(level.cx // k - old_tx0, 0, old_oy.shape[1] - 1)
    return level.clamp(level.cy + k * old_oy[qy, qx], level.cx + k * old_ox[qy, qx])
