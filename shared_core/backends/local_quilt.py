"""The picture: image quilting (Efros and Freeman 2001) of whole band blocks at full resolution.

Blocks of about 1/16 of the tile's height are placed column by column from the frontier outward.
Each is drawn (seeded) from the near-best band blocks at fitting its overlap with what is already
there and the layout (see local_patchmatch), compared by quarter-block mean colours with bright
things flattened and the layout's mean brought to the band's: the layout is a calm average, so a
finer comparison would favour the emptiest blocks and the new part would come out darker and
sparser than the band. A block comes from rows whose mean colours look like those of the rows it
goes to (a ground strip stays a ground strip, a uniform texture may move up or down). Each further
use of the same band pixels costs a little (variety), except going on down the same source as the
block above (tall things stay whole). Neighbouring blocks meet along minimum-error cuts, the same
dynamic-programming path the `seam` blends cut along (blend_seam.min_error_path).

Every pixel is an exact copy of a band pixel, so small bright things keep their number and
sharpness, also when a later step copies this one. Works in the frontier-right frame: the band is
on the left, the free columns on its right.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..blend_seam import disagreement, min_error_path
from .local_patchmatch import layout
from .local_pixels import block_mean, box_sums, enlarge, soften

_BLOCKS_PER_HEIGHT = 16  # a block is about 1/16 of the tile's height (64 px at 1024)...
_BLOCK_MIN, _BLOCK_MAX = 8, 64  # ...within these bounds
_ROW_REACH = 2.0  # blocks: a block comes from at most this many block heights higher or lower
_ROW_COST = 30.0  # squared grey levels per value: the cost of coming from the furthest row allowed
_USE_COST = 20.0  # squared grey levels per value, per earlier copy of the same band pixels
_GUIDE = 0.3  # weight of the layout against the overlaps when blocks are chosen
_TOLERANCE = 0.15  # any block within this fraction of the best fit may be chosen (seeded)
_TOLERANCE_ABS = 4.0  # ... or within this many squared grey levels of it
_BRIGHT_CLIP = 24.0  # grey levels: brighter points than this above their surroundings are flattened


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
        self.reach = round(_ROW_REACH * self.block)  # a block moves at most this far up/down
        total = wb + width
        self.rows = _positions(0, h - self.block, step)
        self.cols = _positions(max(0, wb - self.overlap), total - self.block, step)


def _positions(first: int, last: int, step: int) -> list[int]:
    """first, first+step, ... and `last` itself, so the blocks cover [first, last + block)."""
    if last <= first:
        return [first]
    out = list(range(first, last, step))
    return [*out, last] if out[-1] != last else out


def _match_image(img: np.ndarray, f: int, known: np.ndarray | None = None) -> np.ndarray:
    """What blocks are compared on: block means by `f`, with small bright points (stars, lamps)
    flattened, so a block's fit does not depend on how many of them it happens to hold - otherwise
    the emptiest parts of the band fit best and every step comes out sparser than its band.
    `known` (at scale f) limits the local background to the pixels that are there."""
    img = block_mean(img, f)
    if known is None:
        base = soften(img, 3)
    else:
        m = known.astype(np.float32)[..., None]
        base = soften(img * m, 3) / np.maximum(soften(m, 3), 1e-3)
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
        self.quarters = np.stack([box_sums(calm[y0:y1, :, c], self.half) for c in range(3)], axis=-1).astype(
            np.float32
        ) / float(self.half * self.half)
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


class _Sources:
    """What every block is compared with, worked out once per continuation: the band's matching
    features (`feat`), their calm version for the layout (`calm`), the layout itself with its new
    part brought to the band's mean colour, the band's row colours, and how often each band pixel
    has been copied so far (`uses`). All at the matching scale q.scale."""

    def __init__(self, band: np.ndarray, width: int, q: _Quilt, rng, report=None) -> None:
        h, wb = band.shape[:2]
        f = q.scale
        total = wb + width
        self.q = q
        self.hm, wm = h // f, wb // f
        self.bm = bm = q.block // f
        self.feat = feat = _match_image(band[: self.hm * f, : wm * f].astype(np.float32), f)
        # the layout knows no single galaxies or lamps: the band's quarter-block colours it is
        # compared with have bright things as large as a quarter block flattened too
        quarter = max(1, bm // 2)
        calm = block_mean(feat, quarter)
        self.calm = np.minimum(feat, enlarge(soften(calm, 1), quarter, feat.shape[:2]) + _BRIGHT_CLIP)
        coarse, k = layout(band, width, rng, report)
        k = max(1, k // f)
        self.layout = enlarge(coarse, k, (-(-h // f) + bm, -(-total // f) + bm))
        # the completion settles on the commonest patches (the dark sky between galaxies, the empty
        # sky between towers), so its new part comes out darker or lighter than the band on
        # average; it is a guide to where things go, not to how bright they are: its new part gets
        # the mean colour of what it is compared with
        new_part = self.layout[: h // f, wm : total // f].reshape(-1, 3)
        self.layout[:, wm:] += self.calm.reshape(-1, 3).mean(axis=0) - new_part.mean(axis=0)
        self.uses = np.zeros((self.hm, wm), np.float32)
        self.row_colours = soften(feat.mean(axis=1, keepdims=True), 4)[:, 0]  # (hm, 3)
        self.row_windows = sliding_window_view(self.row_colours, bm, axis=0).transpose(0, 2, 1)
        self._windows: dict[tuple[int, int], _Window] = {}

    def window(self, ty: int) -> _Window:
        """The band rows a block at row `ty` may come from (at most q.reach higher or lower)."""
        q, f = self.q, self.q.scale
        y0 = max(0, (ty - q.reach) // f)
        y1 = min(self.hm, -(-(ty + q.block + q.reach) // f))
        if (y0, y1) not in self._windows:
            self._windows[y0, y1] = _Window(self.feat, self.calm, y0, y1, self.bm)
        return self._windows[y0, y1]

    def add_placement_costs(self, err: np.ndarray, win: _Window, ty: int, follow) -> None:
        """Add to `err` (one value per source position of `win`) what coming from there costs: the
        distance moved up or down, how unlike the rows there look to the rows at `ty`, and how
        often those band pixels were copied already - except for `follow`, the source offset
        (sy - ty, sx) of the block above, so tall things (towers, trees, poles) stay whole instead
        of being cut off where reuse is dear."""
        q, f, bm, hm = self.q, self.q.scale, self.bm, self.hm
        ny, nx = err.shape
        cand_y = (np.arange(ny) + win.y0) * f
        err += _ROW_COST * ((cand_y - ty) / max(q.reach, 1))[:, None] ** 2
        start = min(ty // f, hm - bm)
        here = self.row_colours[start : start + bm]
        err += (((self.row_windows[win.y0 : win.y0 + ny] - here) ** 2).mean(axis=(1, 2)))[:, None]
        area = box_sums(self.uses[win.y0 : win.y0 + ny + bm - 1], bm)
        if follow is not None:
            cy, cx = (follow[0] + ty) / f - win.y0, follow[1] / f
            if cy == int(cy) and 0 <= cy < ny and cx < nx:
                area[int(cy), int(cx)] = 0.0
        err += _USE_COST * area / (bm * bm)


class _Canvas:
    """The band and the columns being filled (`out`, float32), and for every pixel the band pixel
    it is a copy of (`src_y`, `src_x`; the band's own pixels point at themselves)."""

    def __init__(self, band: np.ndarray, width: int) -> None:
        h, wb = band.shape[:2]
        total = wb + width
        self.band, self.wb = band, wb
        self.out = np.zeros((h, total, 3), np.float32)
        self.out[:, :wb] = band
        self.src_y = np.broadcast_to(np.arange(h)[:, None], (h, total)).copy()
        self.src_x = np.broadcast_to(np.arange(total)[None, :], (h, total)).copy()

    def paste(self, ty: int, tx: int, sy: int, sx: int, b: int, left: int, top: int) -> None:
        """Copy the band block at (sy, sx) to (ty, tx), keeping what is there on the far side of
        minimum-error cuts through its `left` columns and `top` rows of overlap."""
        patch = self.band[sy : sy + b, sx : sx + b].astype(np.float32)
        region = self.out[ty : ty + b, tx : tx + b]
        cost = disagreement(region, patch, radius=0)
        keep = np.zeros((b, b), bool)
        if left > 0:
            path = min_error_path(cost[:, :left], 0, left)
            keep[:, :left] |= np.arange(left)[None, :] < path[:, None]
        if top > 0:
            path = min_error_path(cost[:top].T, 0, top)
            keep[:top] |= np.arange(top)[:, None] < path[None, :]
        keep[:, : max(0, self.wb - tx)] = True  # the band itself never changes
        new = ~keep
        region[new] = patch[new]
        yy, xx = np.nonzero(new)
        self.src_y[ty + yy, tx + xx] = sy + yy
        self.src_x[ty + yy, tx + xx] = sx + xx


def _choose(src: _Sources, region: np.ndarray, ty: int, tx: int, left: int, top: int, follow, rng):
    """The band position (sy, sx) of the block to place at (ty, tx): drawn (seeded) from all
    within the tolerance of the best at fitting the `left` columns and `top` rows already in
    `region`, the layout there, and the placement costs."""
    f, bm = src.q.scale, src.bm
    win = src.window(ty)
    known = np.zeros((bm, bm), bool)
    known[:, : left // f] = True
    known[: top // f] = True
    target = _match_image(region, f, known)
    guide = src.layout[ty // f : ty // f + bm, tx // f : tx // f + bm]
    err = _block_errors(win, target, known, guide)
    src.add_placement_costs(err, win, ty, follow)
    best = float(err.min())
    near = np.flatnonzero(err.ravel() <= best * (1 + _TOLERANCE) + _TOLERANCE_ABS)
    pick = int(near[rng.integers(len(near))])
    nx = err.shape[1]
    return (pick // nx + win.y0) * f, (pick % nx) * f


def quilt(band: np.ndarray, width: int, rng: np.random.Generator, report=None):
    """Fill `width` columns right of `band` (H, wb, 3) with blocks of the band. Returns the new
    columns (H, width, 3) float32 and, per pixel of band + new columns, the band pixel it was
    copied from (src_y, src_x)."""
    h, wb = band.shape[:2]
    q = _Quilt(h, wb, width)
    b, f = q.block, q.scale
    src = _Sources(band, width, q, rng, report)
    canvas = _Canvas(band, width)
    n_blocks = len(q.rows) * len(q.cols)
    done = 0
    for j, tx in enumerate(q.cols):
        left = (q.cols[j - 1] + b - tx) if j else wb - tx  # columns already there
        follow = None  # the source offset of the block above
        for i, ty in enumerate(q.rows):
            top = (q.rows[i - 1] + b - ty) if i else 0  # rows already there
            region = canvas.out[ty : ty + b, tx : tx + b]
            sy, sx = _choose(src, region, ty, tx, left, top, follow, rng)
            canvas.paste(ty, tx, sy, sx, b, left, top)
            src.uses[sy // f : sy // f + src.bm, sx // f : sx // f + src.bm] += 1.0
            follow = (sy - ty, sx)
            done += 1
        if report is not None:
            report(0.2 + 0.65 * done / n_blocks, f"local: {done}/{n_blocks} blocks placed")
    return canvas.out[:, wb:], canvas.src_y, canvas.src_x
