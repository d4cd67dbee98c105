"""The seam report: three numbers per step that say whether the glued tile fits the canvas.

An agent (or a person) reads them to decide whether to keep a step or undo it and retry. All are
in CIE Lab ΔE76 (Euclidean distance in Lab; about 1 is a just noticeable difference, 2-3 is visible
on flat areas, 10 is obvious). Everything is measured in the frontier-right frame, where the canvas
was L columns long before the step, the tile's column c lies on canvas column L - B + c, the
overlap is canvas columns [L - O, L) and the new half [L, L + A). "Before" is the canvas before
the step, "after" the canvas after it, "tile" the tile as glued (after colour matching).

seam_step (ΔE): the largest colour step across the seam that the canvas did not already have.
    Rows are grouped in blocks of `block_rows(T)` rows. For a block b and a candidate seam column c,
    step_X(b, c) = | mean Lab of X over the block's rows and columns [c, c + K) -
                     mean Lab of X over the block's rows and columns [c - K, c) |   (K = SEAM_WINDOW)
    for X = after, before and tile (the tile wherever it has both windows, the canvas before the
    step wherever it has them). A step either source has is the picture's own (an edge in the
    photo); a larger one was made by gluing:
    seam_step = max over b and c in [L - O, L] of
                max(0, step_after(b, c) - max(step_before(b, c), step_tile(b, c))).
    Every blend puts its old-to-new transition inside [L - O, L], so a hard cut or a cut along a
    seam path shows here in full; a fade spreads the same difference over many columns and shows a
    small step (but keeps the drift). `seam_at_px` is
    c - (L - O) at the maximum: how far into the overlap the worst step lies.

drift (ΔE): the colour cast the new region carries against the canvas.
    drift_lab = mean Lab(tile over the reference columns) - mean Lab(before over the same canvas
    columns), signed (dL, da, db), drift = |drift_lab|. The reference columns are the overlap
    (colour.reference_columns), the place where the tile and the canvas show the same thing, so a
    difference there is a cast, not content; the new half is the same tile, so it carries the same
    cast. `drift_raw` is the same for the tile as the generator returned it (before colour
    matching): the difference between the two is what colour matching removed.

gradient_discontinuity (ΔE per pixel): edges the compositing made that neither source has.
    g_X(r, c) = | Lab X(r, c) - Lab X(r, c - 1) |, the colour change between neighbouring pixels
    along the growth axis. For each row r and c in [L - O, L],
    excess(r, c) = max(0, g_after(r, c) - max(g_before(r, c), g_tile(r, c)))
    (a source that has no pixel pair there is left out of the max). The score is the mean over
    rows of the largest excess in the row. A blend of two agreeing images, or a fade, makes no
    gradient larger than both sources' (within rounding); a cut between disagreeing images, or
    misaligned detail meeting at a line, does.

A frontier of several tiles (see frontier.py) reports each tile's three numbers on its own rows
(step.json's seam: the worst tile's at the top level, every tile's under "tiles") and, for every
joint between neighbouring tiles, seam_step and gradient_discontinuity measured across it
(`joint_report`): the same definitions with the patch turned so that rows are columns, "before"
being what the tiles before it held there and "tile" the later tile's own glue; seam_at_px counts
rows from the joint's first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .colour import reference_columns, rgb_to_lab
from .errors import InputError
from .geometry import Contract

SEAM_WINDOW = 4
"""K: columns averaged on each side of a candidate seam column."""


def block_rows(tile: int) -> int:
    """Rows per block for seam_step: T / 64 (16 at T = 1024), at least 4, so texture averages out."""
    return max(4, tile // 64)


def tail_columns(contract: Contract) -> int:
    """How many of the canvas's last columns `seam_report` needs from before the step."""
    return contract.band + SEAM_WINDOW


def tail_before(turned_canvas: np.ndarray, contract: Contract) -> np.ndarray:
    """The canvas's last min(L, tail_columns) columns before a step, frontier-right. A copy: a step
    glues into the same buffer, and the report compares the canvas before the glue with after it."""
    length = turned_canvas.shape[1]
    return np.array(turned_canvas[:, length - min(length, tail_columns(contract)) :])


def report_grown(
    before_tail: np.ndarray,
    turned_grown: np.ndarray,
    tile: np.ndarray,
    contract: Contract,
    raw_tile: np.ndarray | None = None,
) -> SeamReport:
    """`seam_report` of a step from `tail_before` of the canvas before it and the whole canvas after
    it (frontier-right): the after tail is the same columns plus the A new ones, the grown canvas's
    last W + A. Every face that glues measures through this, so they report the same numbers."""
    width = before_tail.shape[1] + contract.advance
    if turned_grown.shape[1] < width:
        raise InputError(
            f"the seam report needs the canvas after the step to be at least {width} columns "
            f"long (the tail before it plus the {contract.advance} new ones); it has "
            f"{turned_grown.shape[1]}"
        )
    return seam_report(before_tail, turned_grown[:, turned_grown.shape[1] - width :], tile, contract, raw_tile)


@dataclass(frozen=True)
class SeamReport:
    seam_step: float
    seam_at_px: int
    drift: float
    drift_lab: tuple[float, float, float]
    drift_raw: float | None
    gradient_discontinuity: float
    shift_px: tuple[int, int] = (0, 0)
    """(dy, dx): how far the tile's picture lay off its band (it showed the band's pixel (y, x) at
    (y + dy, x + dx), frontier-right frame); registration moved it back (registration.py)."""

    def to_dict(self) -> dict:
        data = asdict(self)
        data["drift_lab"] = list(self.drift_lab)
        data["shift_px"] = list(self.shift_px)
        return data

    def brief(self) -> str:
        """One line for a terminal."""
        return brief(self.to_dict())


def brief(seam: dict) -> str:
    """A seam report (as recorded in step.json) on one line, ΔE in Lab."""
    raw = "" if seam.get("drift_raw") is None else f" (raw {seam['drift_raw']:.1f})"
    dy, dx = seam.get("shift_px") or (0, 0)
    moved = (
        f", tile was {dx:+d} px along the growth, {dy:+d} across off its band (moved back)"
        if (dy, dx) != (0, 0)
        else ""
    )
    return (
        f"seam step {seam['seam_step']:.1f} at +{seam['seam_at_px']}px, drift {seam['drift']:.1f}{raw}, "
        f"gradient discontinuity {seam['gradient_discontinuity']:.1f} (ΔE){moved}"
    )


def seam_report(
    before_tail: np.ndarray,
    after_tail: np.ndarray,
    tile: np.ndarray,
    contract: Contract,
    raw_tile: np.ndarray | None = None,
) -> SeamReport:
    """Measure one glued step (see the module docstring for the definitions).

    before_tail: the canvas's last W columns before the step, W = min(L, tail_columns(contract));
    after_tail: the same W columns plus the A new ones after it; tile, raw_tile: (T, T, 3); all
    frontier-right uint8. On an edge of R < T rows all four hold the R rows the tile covers.
    """
    t, o, b = contract.tile, contract.overlap, contract.band
    w = before_tail.shape[1]
    rows = before_tail.shape[0]  # t, or fewer on an edge shorter than a tile (the tile's first rows)
    if (
        not 1 <= rows <= t
        or after_tail.shape[:2] != (rows, w + contract.advance)
        or w < b
        or tile.shape[:2] != (rows, t)
    ):
        raise InputError(
            f"the seam report needs the canvas's last {b}..{tail_columns(contract)} columns before the step "
            f"and the same plus {contract.advance} after it, {t} rows; got {before_tail.shape[:2]} and "
            f"{after_tail.shape[:2]}"
        )
    k = SEAM_WINDOW
    first = w - o  # the overlap's inner edge, in tail columns
    # only the columns the measures read are converted to Lab
    lo = max(0, first - k)
    hi = min(w + contract.advance, w + k)
    before = rgb_to_lab(before_tail[:, lo:w])
    after = rgb_to_lab(after_tail[:, lo:hi])
    tile_lo = w - b  # tail column of tile column 0
    tile_lab = rgb_to_lab(tile[:, max(0, lo - tile_lo) : hi - tile_lo])
    tile_origin = max(lo, tile_lo) - lo  # tile_lab column 0 in the lo-based frame

    step, step_at = _seam_step(before, after, tile_lab, tile_origin, first - lo, w - lo, k, min(rows, block_rows(t)))
    gradient = _gradient_discontinuity(before, after, tile_lab, tile_origin, first - lo, w - lo)

    ref_start, ref_stop = reference_columns(contract)
    # The reference columns are usually among those converted above: reuse them (same pixels, same Lab).
    canvas_ref = _mean_lab(before_tail, before, tile_lo + ref_start - lo, tile_lo + ref_stop - lo, tile_lo + ref_start)
    tile_offset = max(0, lo - tile_lo)  # tile column of tile_lab's column 0
    drift_lab = _mean_lab(tile, tile_lab, ref_start - tile_offset, ref_stop - tile_offset, ref_start) - canvas_ref
    if raw_tile is None:
        drift_raw = None
    elif raw_tile is tile or np.array_equal(raw_tile[:, ref_start:ref_stop], tile[:, ref_start:ref_stop]):
        drift_raw = float(np.linalg.norm(drift_lab))
    else:
        raw_lab = _mean_lab(raw_tile, raw_tile[:, :0], 0, ref_stop - ref_start, ref_start)
        drift_raw = float(np.linalg.norm(raw_lab - canvas_ref))
    return SeamReport(
        seam_step=round(step, 3),
        seam_at_px=int(step_at),
        drift=round(float(np.linalg.norm(drift_lab)), 3),
        drift_lab=(round(float(drift_lab[0]), 3), round(float(drift_lab[1]), 3), round(float(drift_lab[2]), 3)),
        drift_raw=None if drift_raw is None else round(drift_raw, 3),
        gradient_discontinuity=round(gradient, 3),
    )


def joint_report(
    before: np.ndarray, after: np.ndarray, tile: np.ndarray, margin: int, joint: int, contract: Contract
) -> dict:
    """seam_step and gradient_discontinuity (module docstring) of a joint between neighbouring tiles
    of a frontier, measured across it: the patch rows are turned into columns, `before` is what the
    tiles before held from `margin` rows above the joint to its end, `after` the same rows and a
    few more once the tile is in, `tile` the tile's own patch from the joint's first row. seam_at_px
    counts rows from the joint's first."""
    k = SEAM_WINDOW
    turned = [rgb_to_lab(np.ascontiguousarray(x.transpose(1, 0, 2))) for x in (before, after, tile)]
    step, step_at = _seam_step(
        turned[0],
        turned[1],
        turned[2],
        margin,
        margin,
        margin + joint,
        k,
        min(before.shape[1], block_rows(contract.tile)),
    )
    gradient = _gradient_discontinuity(turned[0], turned[1], turned[2], margin, margin, margin + joint)
    return {"seam_step": round(step, 3), "seam_at_px": int(step_at), "gradient_discontinuity": round(gradient, 3)}


def _mean_lab(rgb: np.ndarray, lab: np.ndarray, start: int, stop: int, rgb_start: int) -> np.ndarray:
    """The mean Lab (float64 sums) of rgb[:, rgb_start:rgb_start + stop - start], read from
    lab[:, start:stop] when those columns were converted already, else converted now."""
    if not (0 <= start <= stop <= lab.shape[1] and lab.shape[1] > 0):
        lab, start, stop = rgb_to_lab(rgb[:, rgb_start : rgb_start + stop - start]), 0, stop - start
    columns = lab[:, start:stop]
    return columns.sum(axis=0, dtype=np.float64).sum(axis=0) / (columns.shape[0] * columns.shape[1])


def _window_means(lab: np.ndarray, rows: int, k: int) -> np.ndarray:
    """means[b, c] = mean over block b's rows and columns [c, c + k) (c from 0 to width - k)."""
    height, width = lab.shape[:2]
    blocks = lab[: height - height % rows].reshape(-1, rows, width, 3).mean(axis=1)
    summed = np.concatenate([np.zeros_like(blocks[:, :1]), blocks.cumsum(axis=1)], axis=1)
    return (summed[:, k:] - summed[:, :-k]) / k


def _seam_step(before, after, tile_lab, tile_origin, first, frontier, k, rows) -> tuple[float, int]:
    """All candidate columns at once (the same numbers as one column at a time)."""
    means_after = _window_means(after, rows, k)
    columns = np.arange(max(first, k), min(frontier, after.shape[1] - k) + 1)
    if columns.size == 0:
        return 0.0, 0
    step_after = np.linalg.norm(means_after[:, columns] - means_after[:, columns - k], axis=2)
    natural = np.zeros_like(step_after)
    for source, origin in ((_window_means(before, rows, k), 0), (_window_means(tile_lab, rows, k), tile_origin)):
        j = columns - origin  # window [j - k, j + k) of this source
        has = (j - k >= 0) & (j < source.shape[1])
        if has.any():
            jj = j[has]
            natural[:, has] = np.maximum(natural[:, has], np.linalg.norm(source[:, jj] - source[:, jj - k], axis=2))
    excess = (step_after - natural).max(axis=0)
    best = int(np.argmax(excess))  # the first column of the largest excess, as the column loop found it
    if excess[best] <= 0.0:
        return 0.0, 0
    return float(excess[best]), int(columns[best] - first)


def _gradient_discontinuity(before, after, tile_lab, tile_origin, first, frontier) -> float:
    start = max(first, 1)
    if frontier < start:
        return 0.0
    g_after = _steps(after, start, frontier + 1)
    baseline = np.zeros_like(g_after)
    stop = min(frontier + 1, before.shape[1])  # canvas columns the canvas had before the step
    if stop > start:
        baseline[:, : stop - start] = _steps(before, start, stop)
    lo = max(start, tile_origin + 1)  # canvas columns where the tile has a pixel pair
    hi = min(frontier + 1, tile_origin + tile_lab.shape[1])
    if hi > lo:
        g_tile = _steps(tile_lab, lo - tile_origin, hi - tile_origin)
        np.maximum(baseline[:, lo - start : hi - start], g_tile, out=baseline[:, lo - start : hi - start])
    excess = np.subtract(g_after, baseline, out=g_after)
    np.maximum(excess, 0.0, out=excess)
    return float(excess.max(axis=1).mean())


def _steps(lab: np.ndarray, start: int, stop: int) -> np.ndarray:
    """|lab[:, c] - lab[:, c - 1]| for c in [start, stop): the colour change to the previous column."""
    d = lab[:, start:stop] - lab[:, start - 1 : stop - 1]
    np.multiply(d, d, out=d)
    squared = d[..., 0] + d[..., 1]
    squared += d[..., 2]
    return np.sqrt(squared, out=squared)
