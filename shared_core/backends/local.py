"""The offline backend "local": continue the band into the free half by copying blocks of it.

No key, no GPU, no model download: this backend only rearranges pixels that are already in the band,
the way a "content-aware fill" does.

1. The tile is turned in memory so the band lies on the left and the free part on the right; the
   answer is turned back, so every copied block keeps the user's orientation.
2. Layout: a coarse-to-fine patch completion (Wexler, Shechtman and Irani 2007, with PatchMatch,
   Barnes et al. 2009) up to about 128 px high decides where sky, ground and large things go. It
   averages patches, so it is used only as a guide, never copied into the picture.
3. Picture: image quilting (Efros and Freeman 2001) at full resolution. Blocks of about 1/16 of the
   tile's height are placed column by column from the frontier outward; each is drawn (seeded) from
   the near-best band blocks at fitting its overlap with what is already there and the layout
   (compared by quarter-block mean colours with bright things flattened and the layout's mean
   brought to the band's: the layout is a calm average, so a finer comparison would favour the
   emptiest blocks and the new part would come out darker and sparser than the band), taken
   from rows whose mean colours look like those of the rows it goes to (a ground strip stays
   a ground strip, a uniform texture may move up or down). Blocks are compared with small bright
   points (stars, lamps) flattened, so the emptiest parts of the band do not fit best; each further
   use of the same band pixels costs a little (variety), except going on down the same source as
   the block above (tall things stay whole). Neighbouring blocks meet along minimum-error cuts.
   Every pixel is an exact copy of a band pixel: small bright things keep their number and
   sharpness, also when a later step copies this one.
4. Seams: a screened Poisson equation, solved with FFTs at about 256 px high, removes small colour
   steps between copied blocks (large steps are edges and are kept, so nothing bleeds), and the
   slow part of the step at the frontier is taken out and faded across the new part.

It continues skies, star fields, gradients and textures (fur, wood, tissue) with the band's density
of detail, keeps horizons and ground strips at their height, and keeps that over chained steps. It
cannot invent: objects cut by the frontier are not completed, and large objects in the band
(towers, buildings) are repeated, often in pieces.

OpenCV (cv2) is optional and used only by the "smooth" method (Telea inpainting; a plainer numpy
stand-in without it). The "patch" method is numpy only, so its picture does not depend on cv2.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import GenerationError, InputError
from ..generators import TileRequest, register, seeded_rng

try:  # optional extra, used only by the "smooth" method
    import cv2
except ImportError:  # pragma: no cover - the tests monkeypatch this handle to None instead
    cv2 = None

DIRECTIONS = ("x_ltr", "x_rtl", "y_ttb", "y_btt")
METHODS = ("patch", "smooth")

_FREE = 0.99  # a pixel whose mask is at least this is free (to be generated)
_FIXED = 0.5  # a pixel whose mask is below this counts as known
_MIN_BAND = 16  # px: the least band (and tile height) there is to copy from
_R = 3  # layout: patch radius, 7x7 patches at every level
_K = 2 * _R + 1
# layout costs are in squared grey levels per patch value (a patch has 3*7*7 values)
_ROW_WEIGHT = 1600.0  # cost of moving a patch across the whole band (scaled by distance squared)
_USE_WEIGHT = 16.0  # cost of each further use of one source patch
_VOTE_SIGMA = 1.5  # px: spread of the centre weighting of votes
_LAYOUT_HEIGHT = 128  # the layout is worked out up to this height
_COARSEST_BAND = 12  # the coarsest level is the smallest whose band is still this wide
_BRUTE_PAIRS = 8_000_000  # exact search below this many (target, source) pairs, PatchMatch above
_BLOCKS_PER_HEIGHT = 16  # a block is about 1/16 of the tile's height (64 px at 1024)...
_BLOCK_MIN, _BLOCK_MAX = 8, 64  # ...within these bounds
_ROW_REACH = 2.0  # blocks: a block comes from at most this many block heights higher or lower
_ROW_COST = 30.0  # squared grey levels per value: the cost of coming from the furthest row allowed
_USE_COST = 20.0  # squared grey levels per value, per earlier copy of the same band pixels
_GUIDE = 0.3  # weight of the layout against the overlaps when blocks are chosen
_TOLERANCE = 0.15  # any block within this fraction of the best fit may be chosen (seeded)
_TOLERANCE_ABS = 4.0  # ... or within this many squared grey levels of it
_BRIGHT_CLIP = 24.0  # grey levels: brighter points than this above their surroundings are flattened
_SEAM_HEIGHT = 256  # the seam correction runs at about this height
_SEAM_SCALE = 48.0  # px: beyond this scale the seamless blend keeps the copied colours
_STRIP = 32  # px of band included in the seamless blend
_SEAM_STEP = 12.0  # grey levels: steps between copied regions up to this are smoothed away


# ---------------------------------------------------------------------------------------------
# orientation: the band on the left, the free region on the right


def _to_canonical(a: np.ndarray, direction: str) -> np.ndarray:
    if direction == "x_ltr":
        return a
    if direction == "x_rtl":
        return a[:, ::-1]
    if direction == "y_ttb":
        return a.swapaxes(0, 1)
    return a[::-1].swapaxes(0, 1)  # y_btt: band at the bottom


def _from_canonical(a: np.ndarray, direction: str) -> np.ndarray:
    if direction == "x_ltr":
        return a
    if direction == "x_rtl":
        return a[:, ::-1]
    if direction == "y_ttb":
        return a.swapaxes(0, 1)
    return a.swapaxes(0, 1)[::-1]


# ---------------------------------------------------------------------------------------------
# small image helpers (numpy only)


def _down(img: np.ndarray, f: int) -> np.ndarray:
    """Block mean by an integer factor (edges replicated up to a multiple of f)."""
    img = img.astype(np.float32, copy=False)
    if f == 1:
        return img.copy()
    h, w = img.shape[:2]
    hh, ww = -(-h // f) * f, -(-w // f) * f
    a = np.pad(img, ((0, hh - h), (0, ww - w), (0, 0)), mode="edge")
    return a.reshape(hh // f, f, ww // f, f, a.shape[2]).mean(axis=(1, 3))


def _up(img: np.ndarray, f: int, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear enlargement by an integer factor, pixel centres aligned, cut to `shape`."""
    if f == 1:
        return img[: shape[0], : shape[1]].astype(np.float32)

    def axis(n: int, m: int):
        c = np.clip((np.arange(n) + 0.5) / f - 0.5, 0, m - 1)
        i0 = np.floor(c).astype(np.intp)
        return i0, np.minimum(i0 + 1, m - 1), (c - i0).astype(np.float32)

    y0, y1, ty = axis(shape[0], img.shape[0])
    x0, x1, tx = axis(shape[1], img.shape[1])
    rows = img[y0] * (1 - ty)[:, None, None] + img[y1] * ty[:, None, None]
    return rows[:, x0] * (1 - tx)[None, :, None] + rows[:, x1] * tx[None, :, None]


def _soften(a: np.ndarray, passes: int = 2) -> np.ndarray:
    """A few passes of a [1 2 1]/4 binomial blur (the matching features)."""
    for _ in range(passes):
        p = np.pad(a, ((1, 1), (1, 1), (0, 0)), mode="edge")
        a = (p[:-2] + 2 * p[1:-1] + p[2:]) * 0.25
        a = (a[:, :-2] + 2 * a[:, 1:-1] + a[:, 2:]) * 0.25
    return a.astype(np.float32, copy=False)


def _patch_rows(img: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """(n, 3*K*K) float32 rows of the patches centred at y0..y1-1 x x0..x1-1, row-major."""
    v = sliding_window_view(img, (_K, _K), axis=(0, 1))[y0 - _R : y1 - _R, x0 - _R : x1 - _R]
    return np.ascontiguousarray(v, dtype=np.float32).reshape(-1, 3 * _K * _K)


# ---------------------------------------------------------------------------------------------
# the layout: a coarse-to-fine patch completion at low resolution

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
        self.soft = _patch_rows(_soften(band), _R, h - _R, _R, wb - _R)
        self.row_cost = np.float32(_ROW_WEIGHT * 3 * _K * _K / h**2)
        self.use_cost = np.float32(_USE_WEIGHT * 3 * _K * _K)

    # -- correspondence fields are kept as source centres (sy, sx), one per target centre --------

    def clamp(self, sy: np.ndarray, sx: np.ndarray):
        return np.clip(sy, _R, self.h - _R - 1), np.clip(sx, _R, self.wb - _R - 1)

    def _index(self, sy: np.ndarray, sx: np.ndarray) -> np.ndarray:
        return ((sy - _R) * self.nsx + (sx - _R)).ravel()

    def _targets(self) -> np.ndarray:
        return _patch_rows(_soften(self.img), _R, self.h - _R, self.tx0, self.w - _R)

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
        tgt = np.concatenate(
            [self._targets(), (self.cy.ravel().astype(np.float32) * lam)[:, None]], axis=1
        )
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
        trials = [
            (np.roll(oy, shift, axis), np.roll(ox, shift, axis))
            for axis in (0, 1)
            for shift in (1, -1)
        ]
        for r in (radius, max(1, radius // 2)):
            jitter = rng.integers(-r, r + 1, size=(2,) + oy.shape)
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
    finest = max(1, min(max(2, int(round(h / _LAYOUT_HEIGHT))), limit))
    steps = 0
    while min(h, wb) / (finest * 2 ** (steps + 1)) >= _COARSEST_BAND:
        steps += 1
    return finest, [finest * 2**k for k in range(steps, -1, -1)]


def _layout(band: np.ndarray, width: int, rng: np.random.Generator, report=None):
    """A coarse picture of the whole tile (at about _LAYOUT_HEIGHT px high): where sky, ground and
    large things go. Returns it and its scale factor."""
    h, wb = band.shape[:2]
    full = np.empty((h, wb + width, 3), np.float32)
    full[:, :wb] = band
    full[:, wb:] = band[:, -1:].astype(np.float32)  # only fills partial blocks at the frontier
    finest, factors = _plan(h, wb)
    current = previous = offsets = None
    for n, f in enumerate(factors):
        small = _down(full, f)
        wbl = wb // f
        if current is not None:
            small[:, wbl:] = _up(current, previous // f, small.shape[:2])[:, wbl:]
        level = _Level(small, wbl)
        exact = level.nty * level.ntx * level.nsy * level.nsx <= _BRUTE_PAIRS
        rounds = max(2, 5 - n)
        if current is None:
            sy, sx = level.random_field(rng)
            level.vote(sy, sx)
        else:
            k = previous // f  # enlarge the coarser field's offsets
            old_oy, old_ox, old_tx0 = offsets
            qy = np.clip(level.cy // k - _R, 0, old_oy.shape[0] - 1)
            qx = np.clip(level.cx // k - old_tx0, 0, old_oy.shape[1] - 1)
            sy, sx = level.clamp(level.cy + k * old_oy[qy, qx], level.cx + k * old_ox[qy, qx])
        for _ in range(rounds):
            if exact:
                sy, sx = level.exact_search(sy, sx)
            else:
                sy, sx = level.patchmatch(sy, sx, rng, radius=6)
            level.vote(sy, sx)
        current, previous = level.img, f
        offsets = (sy - level.cy, sx - level.cx, level.tx0)
        if report is not None:
            report(0.05 + 0.15 * (n + 1) / len(factors), f"local: level {n + 1}/{len(factors)} done")

    return current, finest


# ---------------------------------------------------------------------------------------------
# image quilting: whole blocks of the band, placed one by one, joined along minimum-error cuts


class _Quilt:
    """The geometry of one continuation: block size, overlap, where blocks go, where they may
    come from."""

    def __init__(self, h: int, wb: int, width: int) -> None:
        self.h, self.wb, self.width = h, wb, width
        size = min(_BLOCK_MAX, max(_BLOCK_MIN, h // _BLOCKS_PER_HEIGHT), wb // 2, h)
        self.block = max(4, size - size % 4)
        self.overlap = max(2, self.block // 4)
        step = self.block - self.overlap
        # matching runs on 2x2 block means for large blocks: same choices, a quarter of the work
        self.scale = 2 if self.block >= 32 else 1
        self.reach = int(round(_ROW_REACH * self.block))  # a block moves at most this far up/down
        total = wb + width
        self.rows = _positions(0, h - self.block, step)
        self.cols = _positions(max(0, wb - self.overlap), total - self.block, step)


def _positions(first: int, last: int, step: int) -> list[int]:
    """first, first+step, ... and `last` itself, so the blocks cover [first, last + block)."""
    if last <= first:
        return [first]
    out = list(range(first, last, step))
    return out + [last] if out[-1] != last else out


def _match_image(img: np.ndarray, f: int, known: np.ndarray | None = None) -> np.ndarray:
    """What blocks are compared on: block means by `f`, with small bright points (stars, lamps)
    flattened, so a block's fit does not depend on how many of them it happens to hold - otherwise
    the emptiest parts of the band fit best and every step comes out sparser than its band.
    `known` (at scale f) limits the local background to the pixels that are there."""
    img = _down(img, f)
    if known is None:
        base = _soften(img, 3)
    else:
        m = known.astype(np.float32)[..., None]
        base = _soften(img * m, 3) / np.maximum(_soften(m, 3), 1e-3)
    return np.minimum(img, base + _BRIGHT_CLIP).astype(np.float32)


class _Window:
    """The band rows one block row may copy from, with their spectra (computed once per row)."""

    def __init__(self, feat: np.ndarray, calm: np.ndarray, y0: int, y1: int, bm: int) -> None:
        self.y0 = y0
        img = feat[y0:y1]
        self.shape = img.shape[:2]
        self.spec = np.fft.rfft2(img, axes=(0, 1))  # (H, W//2+1, 3)
        self.spec_sq = np.fft.rfft2((img * img).sum(axis=2))
        # the mean colour of every quarter-block box: what the layout is compared with
        self.half = max(1, bm // 2)
        self.quarters = np.stack(
            [_box_sums(calm[y0:y1, :, c], self.half) for c in range(3)], axis=-1
        ).astype(np.float32) / float(self.half * self.half)
        self.quarters_sq = np.einsum("ijc,ijc->ij", self.quarters, self.quarters)


def _block_errors(win: _Window, target: np.ndarray, known: np.ndarray, guide: np.ndarray):
    """For every block position of the window: the mean squared difference to `target` over its
    known pixels plus _GUIDE times that of the mean colours of the block's four quarters to those
    of `guide` (the layout). The layout is an average of many patches, calm where the band has
    scattered objects: compared pixel by pixel it would favour the emptiest blocks (a darker,
    sparser continuation); compared by quarter means it only says where light and dark, sky and
    ground go. Sums of squares and correlations, the correlations by FFT."""
    bh, bw = known.shape
    m = known.astype(np.float32)
    n_known = max(1.0, 3.0 * m.sum())
    tm = target * m[..., None]
    spec_t = np.fft.rfft2(tm, s=win.shape, axes=(0, 1))
    spec_m = np.fft.rfft2(m, s=win.shape)
    cross = (win.spec * np.conj(spec_t)).sum(axis=2)
    spec = (win.spec_sq * np.conj(spec_m) - 2.0 * cross) / n_known
    ny, nx = win.shape[0] - bh + 1, win.shape[1] - bw + 1
    err = np.fft.irfft2(spec, s=win.shape)[:ny, :nx]
    err += float((tm * target).sum()) / n_known
    q = win.half
    for dy in (0, q):
        for dx in (0, q):
            g = guide[dy : dy + q, dx : dx + q].reshape(-1, 3).mean(axis=0).astype(np.float32)
            sq = win.quarters_sq[dy : dy + ny, dx : dx + nx] + float(g @ g)
            sq -= 2.0 * (win.quarters[dy : dy + ny, dx : dx + nx] @ g)
            err += (_GUIDE / 12.0) * sq
    return err


def _box_sums(a: np.ndarray, k: int) -> np.ndarray:
    """Sums of every k x k box of `a` (a summed-area table)."""
    sat = np.zeros((a.shape[0] + 1, a.shape[1] + 1), np.float64)
    sat[1:, 1:] = a.cumsum(0).cumsum(1)
    return sat[k:, k:] - sat[:-k, k:] - sat[k:, :-k] + sat[:-k, :-k]


def _cut(err: np.ndarray) -> np.ndarray:
    """The cheapest top-to-bottom path through `err` (rows, cols), moving at most one column per
    row: True for the pixels left of it (they keep what was there)."""
    rows, cols = err.shape
    acc = err.astype(np.float64).copy()
    for i in range(1, rows):
        prev = acc[i - 1]
        best = prev.copy()
        best[1:] = np.minimum(best[1:], prev[:-1])
        best[:-1] = np.minimum(best[:-1], prev[1:])
        acc[i] += best
    path = np.empty(rows, np.intp)
    path[-1] = int(np.argmin(acc[-1]))
    for i in range(rows - 2, -1, -1):
        c = path[i + 1]
        lo, hi = max(0, c - 1), min(cols, c + 2)
        path[i] = lo + int(np.argmin(acc[i, lo:hi]))
    return np.arange(cols)[None, :] < path[:, None]


def _quilt(band: np.ndarray, width: int, rng: np.random.Generator, report=None):
    """Fill `width` columns right of `band` with blocks of the band: every block is one of the
    near-best at fitting both its overlap with what is already there and the coarse layout, taken
    from rows that look like the rows it goes to. Returns the new columns and, per pixel, the band pixel it was copied from."""
    h, wb = band.shape[:2]
    q = _Quilt(h, wb, width)
    b, f = q.block, q.scale
    total = wb + width
    out = np.zeros((h, total, 3), np.float32)
    out[:, :wb] = band
    src_y = np.broadcast_to(np.arange(h)[:, None], (h, total)).copy()
    src_x = np.broadcast_to(np.arange(total)[None, :], (h, total)).copy()
    hm, wm = h // f, wb // f
    feat = _match_image(band[: hm * f, : wm * f].astype(np.float32), f)
    bm = b // f
    # the layout knows no single galaxies or lamps: the band's quarter-block colours it is compared
    # with have bright things as large as a quarter block flattened too (see _block_errors)
    quarter = max(1, bm // 2)
    calm = _down(feat, quarter)
    calm = np.minimum(feat, _up(_soften(calm, 1), quarter, feat.shape[:2]) + _BRIGHT_CLIP)
    # the layout at matching scale
    coarse, k = _layout(band, width, rng, report)
    k = max(1, k // f)
    layout = _up(coarse, k, (-(-h // f) + bm, -(-total // f) + bm))
    # the completion settles on the commonest patches (the dark sky between galaxies, the empty
    # sky between towers), so its new part comes out darker or lighter than the band on average;
    # it is a guide to where things go, not to how bright they are: its new part gets the mean
    # colour of what it is compared with
    new_part = layout[: h // f, wm : total // f].reshape(-1, 3)
    layout[:, wm:] += calm.reshape(-1, 3).mean(axis=0) - new_part.mean(axis=0)
    uses = np.zeros((hm, wm), np.float32)  # how often each band pixel was copied so far
    rows = _soften(feat.mean(axis=1, keepdims=True), 4)[:, 0]  # (hm, 3) the band's row colours
    row_windows = sliding_window_view(rows, bm, axis=0).transpose(0, 2, 1)  # (hm-bm+1, bm, 3)
    windows: dict[tuple[int, int], _Window] = {}
    n_blocks = len(q.rows) * len(q.cols)
    done = 0
    for j, tx in enumerate(q.cols):
        left = (q.cols[j - 1] + b - tx) if j else wb - tx  # columns already there
        for i, ty in enumerate(q.rows):
            top = (q.rows[i - 1] + b - ty) if i else 0  # rows already there
            y0 = max(0, (ty - q.reach) // f)
            y1 = min(hm, -(-(ty + b + q.reach) // f))
            if (y0, y1) not in windows:
                windows[y0, y1] = _Window(feat, calm, y0, y1, bm)
            win = windows[y0, y1]
            region = out[ty : ty + b, tx : tx + b]
            known = np.zeros((bm, bm), bool)
            known[:, : left // f] = True
            known[: top // f] = True
            target = _match_image(region, f, known)
            guide = layout[ty // f : ty // f + bm, tx // f : tx // f + bm]
            err = _block_errors(win, target, known, guide)
            ny, nx = err.shape
            cand_y = (np.arange(ny) + win.y0) * f
            # rows: a block should come from rows that look like the rows it goes to (their mean
            # colours), so a ground strip stays a ground strip while a uniform texture may move
            err += _ROW_COST * ((cand_y - ty) / max(q.reach, 1))[:, None] ** 2
            here = rows[min(ty // f, hm - bm) : min(ty // f, hm - bm) + bm]
            err += (((row_windows[win.y0 : win.y0 + ny] - here) ** 2).mean(axis=(1, 2)))[:, None]
            # each further use of the same band pixels costs a little: variety, not emptiness
            area = _box_sums(uses[win.y0 : win.y0 + ny + bm - 1], bm)
            if i:  # ...except going on down the same source as the block above: tall things
                # (towers, trees, poles) stay whole instead of being cut off where reuse is dear
                cy_, cx_ = (above[0] + ty - q.rows[i - 1]) / f - win.y0, above[1] / f
                if cy_ == int(cy_) and 0 <= cy_ < ny and cx_ < nx:
                    area[int(cy_), int(cx_)] = 0.0
            err += _USE_COST * area / (bm * bm)
            best = float(err.min())
            near = np.flatnonzero(err.ravel() <= best * (1 + _TOLERANCE) + _TOLERANCE_ABS)
            pick = int(near[rng.integers(len(near))])
            sy, sx = (pick // nx + win.y0) * f, (pick % nx) * f
            patch = band[sy : sy + b, sx : sx + b].astype(np.float32)
            # the seams: minimum-error cuts through the overlaps, old pixels kept on the far side
            diff = ((patch - region) ** 2).sum(axis=2)
            keep = np.zeros((b, b), bool)
            if left > 0:
                keep[:, :left] |= _cut(diff[:, :left])
            if top > 0:
                keep[:top] |= _cut(diff[:top].T).T
            keep[:, : max(0, wb - tx)] = True  # the band itself never changes
            new = ~keep
            region[new] = patch[new]
            yy, xx = np.nonzero(new)
            src_y[ty + yy, tx + xx] = sy + yy
            src_x[ty + yy, tx + xx] = sx + xx
            uses[sy // f : sy // f + bm, sx // f : sx // f + bm] += 1.0
            above = (sy, sx)
            done += 1
        if report is not None:
            report(0.2 + 0.65 * done / n_blocks, f"local: {done}/{n_blocks} blocks placed")
    return out[:, wb:], src_y, src_x



def continue_band(band: np.ndarray, width: int, seed: int, report=None) -> np.ndarray:
    """Continue `band` (H, wb, 3) uint8 to the right by `width` columns: (H, width, 3) uint8."""
    h, wb = band.shape[:2]
    rng = seeded_rng(seed, "local", "quilt")
    new, src_y, src_x = _quilt(band, width, rng, report)
    if report is not None:
        report(0.9, "local: smoothing the seams")
    # the seam correction works on a coarser copy (it is smooth); the offsets of each coarse pixel
    # are those of the full-size pixel at its centre
    f = max(1, min(h, wb) // _SEAM_HEIGHT)
    full = np.concatenate([band.astype(np.float32), new], axis=1)
    level = _down(full, f)
    lh, lw = level.shape[:2]
    cy = np.minimum(np.arange(lh) * f + f // 2, h - 1)
    cx = np.minimum(np.arange(lw) * f + f // 2, wb + width - 1)
    oy = src_y[cy][:, cx] // f - np.arange(lh)[:, None]
    ox = src_x[cy][:, cx] // f - np.arange(lw)[None, :]
    new += _seam_correction(level, oy, ox, wb // f, f, (h, wb, width))
    return np.clip(np.rint(new), 0, 255).astype(np.uint8)


def _seam_correction(img, oy, ox, wbl: int, f: int, size: tuple[int, int, int]) -> np.ndarray:
    """A smooth correction that removes the colour steps between copied regions (and between the
    band and the new part), computed at the finest level and enlarged to full size.

    At that level every free pixel q is the band pixel q + offset(q). A screened Poisson equation
    finds the picture whose gradients are the sources' own gradients (so there are no steps where
    the offset changes) and which stays near the copy at scales beyond _SEAM_SCALE. It is solved
    exactly with FFTs on the mirrored domain (Neumann edges) over a strip of band plus the free
    part."""
    h, wb, width = size
    lh, lw = img.shape[:2]
    band = img[:, :wbl].astype(np.float32)
    strip = min(_STRIP // f + 1, wbl)
    ys = np.arange(lh)[:, None]
    xs = np.arange(wbl, lw)[None, :]
    sy = np.clip(ys + oy[:, wbl:], 0, lh - 1)
    sx = np.clip(xs + ox[:, wbl:], 0, wbl - 1)
    grad_x = np.zeros_like(band)
    grad_x[:, :-1] = band[:, 1:] - band[:, :-1]
    grad_y = np.zeros_like(band)
    grad_y[:-1] = band[1:] - band[:-1]
    copy = band[sy, sx]
    c = np.concatenate([band[:, wbl - strip :], copy], axis=1)
    gx = np.concatenate([grad_x[:, wbl - strip :], grad_x[sy, sx]], axis=1)
    gy = np.concatenate([grad_y[:, wbl - strip :], grad_y[sy, sx]], axis=1)
    # across the frontier the step is kept here (it is dealt with below, over a longer distance)
    gx[:, strip - 1] = c[:, strip] - c[:, strip - 1]
    # between copied regions only small steps are smoothed away; a large one is an edge (an object
    # cut at a seam) and is kept as it is, otherwise its colour would bleed into the new part
    for g, actual in (
        (gx[:, strip:-1], c[:, strip + 1 :] - c[:, strip:-1]),
        (gy[:-1, strip:], copy[1:] - copy[:-1]),
    ):
        edge = np.abs(actual - g).max(axis=-1, keepdims=True) > _SEAM_STEP
        np.copyto(g, actual, where=np.broadcast_to(edge, g.shape))
    gx[:, -1] = 0
    gy[-1] = 0
    div = gx.copy()
    div[:, 1:] -= gx[:, :-1]
    div += gy
    div[1:] -= gy[:-1]
    eps = (f / _SEAM_SCALE) ** 2
    rhs = eps * c - div
    hh, ww = rhs.shape[:2]
    ext = np.concatenate([rhs, rhs[:, ::-1]], axis=1)
    ext = np.concatenate([ext, ext[::-1]], axis=0).transpose(2, 0, 1)
    ext = np.ascontiguousarray(ext, dtype=np.float64)
    ky = 2.0 - 2.0 * np.cos(np.pi * np.arange(2 * hh) / hh)
    kx = 2.0 - 2.0 * np.cos(np.pi * np.arange(ww + 1) / ww)
    spectrum = np.fft.rfft2(ext) / (eps + ky[:, None] + kx[None, :])
    u = np.fft.irfft2(spectrum, s=(2 * hh, 2 * ww))[:, :hh, :ww].transpose(1, 2, 0)
    # the frontier: the slow part of the step between the band and the new part (a running median
    # along the frontier, so texture and small objects cut by the frontier keep their edges) is
    # taken out when it is small (a colour drift rather than a large object cut by the frontier),
    # and the correction fades away smoothly across the whole new part
    step = band[:, -1] - u[:, strip]
    step = _running_median(step, int(2 * _SEAM_SCALE / f) | 1)
    size_of_step = np.abs(step).max(axis=1, keepdims=True) / (2 * _SEAM_STEP)
    step = step * np.exp(-(size_of_step**2))
    t = np.clip((np.arange(ww - strip) + 0.5) * f / max(width, 1), 0, 1)
    fade = 1.0 - t * t * (3 - 2 * t)
    delta = (u[:, strip:] - copy + step[:, None, :] * fade[None, :, None]).astype(np.float32)
    # enlarge the free part's correction; full-size column wbl*f lines up with its first column
    skip = wb - wbl * f
    return _up(delta, f, (h, skip + width))[:, skip:]


def _running_median(a: np.ndarray, window: int) -> np.ndarray:
    """Median over `window` neighbours along the first axis (edges replicated)."""
    r = min(window // 2, a.shape[0] - 1)
    if r < 1:
        return a.copy()
    padded = np.pad(a, ((r, r),) + ((0, 0),) * (a.ndim - 1), mode="edge")
    return np.median(sliding_window_view(padded, 2 * r + 1, axis=0), axis=-1).astype(np.float32)


def smooth_band(band: np.ndarray, width: int) -> np.ndarray:
    """A calm, featureless continuation: the frontier's colours stretched outward and softened.

    With cv2 this is OpenCV's Telea inpainting; without it, a numpy stand-in (the frontier's colours
    drifting toward each line's mean colour, then blurred)."""
    h, wb = band.shape[:2]
    if cv2 is not None:  # Telea at about 256 px high (it is smooth anyway), then enlarged
        f = max(1, h // 256)
        small = _down(band, f)
        sw = -(-width // f)
        img = np.concatenate([small, np.zeros((small.shape[0], sw, 3), np.float32)], axis=1)
        hole = np.zeros(img.shape[:2], np.uint8)
        hole[:, small.shape[1] :] = 255
        img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        filled = cv2.inpaint(img, hole, 3, cv2.INPAINT_TELEA)
        big = _up(filled[:, small.shape[1] :].astype(np.float32), f, (h, width))
        # small was cut at a block boundary: shift so the first new column meets the band
        big += (band[:, -1:].astype(np.float32) - big[:, :1]) * np.clip(
            1.0 - np.arange(width, dtype=np.float32) / (4 * f), 0, 1
        )[None, :, None]
        return np.clip(np.rint(big), 0, 255).astype(np.uint8)
    b = band.astype(np.float32)
    k = max(2, wb // 32)
    frontier = _soften(b[:, -k:].mean(axis=1, keepdims=True), 4)[:, 0]
    line_mean = _soften(b.mean(axis=1, keepdims=True), 8)[:, 0]
    t = ((np.arange(width) + 0.5) / max(width, 1) * 0.6).astype(np.float32)[None, :, None]
    out = frontier[:, None] * (1 - t) + line_mean[:, None] * t
    return np.clip(np.rint(_soften(out, 3)), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# the backend


class LocalGenerator:
    """Offline, weight-free continuation of the band (see the module docstring)."""

    name = "local"
    default_blend = None
    paid = False
    remote = False

    def __init__(self, **settings) -> None:
        unknown = sorted(set(settings) - {"method"})
        if unknown:
            raise InputError(
                f"the local backend does not take the setting(s) {', '.join(unknown)}; "
                f"it takes only 'method' ({' or '.join(METHODS)})"
            )
        method = settings.get("method", "patch")
        if method not in METHODS:
            raise InputError(
                f"the local backend has no method {method!r}: choose {' or '.join(METHODS)}"
            )
        self.method = method

    def generate(self, request: TileRequest) -> np.ndarray:
        reference, mask, direction = _check(request)
        ref = _to_canonical(reference, direction)
        m = _to_canonical(mask, direction)
        # rows with a known pixel decide the free columns: padding rows (an edge shorter than a tile)
        # are free everywhere, and a frontier's later tile has its neighbour's rows fixed-to-free
        # across the new half (this backend continues the band there; the glue blends the joint)
        known_rows = (m < _FIXED).any(axis=1)
        free_cols = (m[known_rows] if known_rows.any() else m).max(axis=0) >= _FREE
        width = int(np.argmin(free_cols[::-1])) if not free_cols.all() else free_cols.size
        if width == 0:
            if (m >= _FREE).any():
                raise GenerationError(
                    f"the mask's free pixels are not on the side that {direction} grows towards; "
                    "the local backend only continues a band across a straight frontier"
                )
            request.report(1.0, "local: nothing to generate")
            return reference.copy()
        wb = ref.shape[1] - width
        if wb < _MIN_BAND or ref.shape[0] < _MIN_BAND:
            raise GenerationError(
                f"the band is only {wb} pixels deep; the local backend needs at least {_MIN_BAND} "
                "known pixels to copy from"
            )
        band = np.ascontiguousarray(ref[:, :wb])
        request.report(0.05, f"local: continuing the band ({self.method})")
        if self.method == "smooth":
            new = smooth_band(band, width)
        else:
            new = continue_band(band, width, request.seed, report=request.report)
        tile = np.concatenate([band, new], axis=1)
        request.report(1.0, "local: tile ready")
        return np.ascontiguousarray(_from_canonical(tile, direction))


def _check(request: TileRequest) -> tuple[np.ndarray, np.ndarray, str]:
    reference = np.asarray(request.reference)
    mask = np.asarray(request.mask, dtype=np.float32)
    direction = request.direction
    if direction not in DIRECTIONS:
        raise GenerationError(
            f"the local backend cannot grow towards {direction!r}: "
            f"use one of {', '.join(DIRECTIONS)}"
        )
    if reference.ndim == 3 and reference.shape[2] == 4:
        reference = reference[:, :, :3]
    if reference.ndim != 3 or reference.shape[2] != 3:
        raise GenerationError(f"the reference has shape {reference.shape}, not an RGB image")
    if reference.dtype != np.uint8:
        raise GenerationError(f"the reference has {reference.dtype} pixels, not uint8")
    if mask.shape != reference.shape[:2]:
        raise GenerationError(
            f"the mask is {mask.shape[1]}x{mask.shape[0]} but the reference is "
            f"{reference.shape[1]}x{reference.shape[0]}"
        )
    if not np.isfinite(mask).all():
        raise GenerationError("the mask holds NaN or infinite values")
    if not (mask < _FIXED).any():
        raise GenerationError(
            "the mask marks every pixel free; the local backend continues a band and needs "
            "fixed pixels (mask 0) to copy from"
        )
    return reference, mask, direction


register("local", LocalGenerator)
