"""One step of a frontier of k tiles: compose the tiles in order, then change the canvas once.

The edge being grown is covered by the tiles `geometry.frontier_tiles` places. They are generated
in order; each later tile's reference carries, in its first `joint` rows, what the tiles before it
made there (after colour matching and blending), and its mask marks those rows fixed-to-free, so a
model continues its neighbour instead of inventing a second picture.

Composition never writes the canvas until every tile is in (`FrontierStep.commit`): the step's
patch (canvas columns [L - O, L + A) of every row) is built aside, so a rejected tile leaves the
canvas exactly as it was. Per tile i, on its rows:

    wanted_i = the single-tile glue of tile i over the canvas as it was before the step
               (the growth blend over the overlap, the tile's new half after it)
    patch    = wanted_i on rows past the joint; on the joint rows, the same blend family laid
               across (`glue.joint_alpha`): the tiles before it fade into tile i

`apply_step` is the one function that applies a step to a canvas; a step passes a source that
generates tiles, a replay one that reads the committed tiles, so both produce the same pixels.
With one tile whose rows are the whole edge this is exactly the single-tile glue (`glue.glue_step`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from collections.abc import Callable

import numpy as np

from .canvas import GrowingCanvas
from .colour import match_colour
from .geometry import Contract, FrontierTile, check_canvas, frontier_tiles, pack_reference
from .glue import blend_joint, joint_alpha, overlap_blend
from .mask import frontier_mask
from .registration import register_tile, restore_uncovered
from .seam_report import SEAM_WINDOW, joint_report, report_grown, tail_before
from .step_settings import StepSettings, alpha_for

TileSource = Callable[[FrontierTile, np.ndarray, np.ndarray], np.ndarray]
"""(tile, reference, mask) -> the generated tile, all frontier-right; raises to reject the step."""


class FrontierStep:
    """The patch of one step being composed tile by tile (see the module docstring)."""

    def __init__(self, canvas: GrowingCanvas, contract: Contract, settings: StepSettings, report: bool = False) -> None:
        turned = canvas.frontier_right
        self.report = report
        check_canvas(turned.shape, contract)
        self.canvas, self.contract, self.settings = canvas, contract, settings
        self.length = length = canvas.length
        self.tiles = frontier_tiles(turned.shape[0], contract)
        self.band = np.array(turned[:, length - contract.band : length])  # as before the step, every row
        self.patch = np.zeros((turned.shape[0], contract.overlap + contract.advance, 3), np.uint8)
        self.patch[:, : contract.overlap] = turned[:, length - contract.overlap : length]
        self.alpha = alpha_for(settings, contract)
        self.blend = overlap_blend(settings.blend, steered=settings.glue_revision >= 1)
        self.joints: list[dict] = []
        self.shifts: list[tuple[int, int]] = []  # per tile, the (dy, dx) registration moved it back by

    def rows(self, tile: FrontierTile) -> slice:
        return slice(tile.cross_start, tile.cross_start + tile.rows)

    def inputs(self, tile: FrontierTile) -> tuple[np.ndarray, np.ndarray]:
        """The reference and mask tile `tile` is generated from (frontier-right)."""
        c, s = self.contract, self.settings
        reference = pack_reference(self.band[self.rows(tile)], c, s.fill)
        if tile.joint:
            start = tile.cross_start
            reference[: tile.joint, c.band :] = self.patch[start : start + tile.joint, c.overlap :]
        mask = frontier_mask(c, tile.joint, tile.rows, s.ramp_start, s.ramp_end, s.ramp_shape)
        return reference, mask

    def matched(self, tile: FrontierTile, raw: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """The tile as glued: moved so its conditioning half lies on the band it was shown
        (registration.register_tile), then its colours mapped onto the canvas's on the band overlap
        (as a single tile is) and, for a later tile, onto its neighbours' on the joint rows
        (colour.match_colour on the pair turned so that the joint is its band)."""
        c, s = self.contract, self.settings
        band = self.band[self.rows(tile)]
        repeat = np.arange(c.tile) % tile.rows  # an edge shorter than a tile: its real rows repeated
        shown = band[repeat] if tile.rows < c.tile else band  # the band as the reference showed it
        shift = (0, 0)
        if s.register:
            raw, shift = register_tile(shown, raw, c)
            self.shifts.append(shift)
        if not s.colour_match:
            return raw
        glued = self._colour_matched(tile, raw, shown, reference)
        if s.glue_revision >= 1:  # what the move uncovered: the band's own pixels, not mapped
            restore_uncovered(glued, shown, shift)
        return glued

    def _colour_matched(self, tile: FrontierTile, raw: np.ndarray, shown: np.ndarray, reference) -> np.ndarray:
        """The tile's colours mapped onto the band it was shown, then onto its neighbours' joint rows."""
        c, s = self.contract, self.settings
        if tile.rows < c.tile:  # only the real rows count
            repeat = np.arange(c.tile) % tile.rows
            glued = np.array(raw)
            glued[: tile.rows] = match_colour(shown, raw[repeat], c, s.colour_space, by_depth=s.glue_revision >= 1)[
                : tile.rows
            ]
            return glued
        glued = match_colour(shown, raw, c, s.colour_space, by_depth=s.glue_revision >= 1)
        if tile.joint:
            j = tile.joint
            across = Contract(tile=c.tile, band=j, overlap=j, advance=c.tile - j, cross_overlap=0)
            turned = match_colour(
                reference[:j].transpose(1, 0, 2),
                glued.transpose(1, 0, 2),
                across,
                s.colour_space,
                by_depth=s.glue_revision >= 1,
            )
            glued = np.ascontiguousarray(turned.transpose(1, 0, 2))
        return glued

    def add(self, tile: FrontierTile, glued: np.ndarray) -> None:
        """Compose one (colour-matched) tile into the patch."""
        c, n = self.contract, tile.rows
        rows = self.rows(tile)
        first = c.patch_start
        wanted = np.empty((n, c.overlap + c.advance, 3), np.uint8)
        wanted[:, : c.overlap] = self.blend(
            self.band[rows, c.band - c.overlap :], glued[:n, first : c.band], self.alpha[:n, first : c.band]
        )
        wanted[:, c.overlap :] = glued[:n, c.band :]
        if not tile.joint:
            self.patch[rows] = wanted
            return
        j, start = tile.joint, tile.cross_start
        alpha = joint_alpha(j, self.settings.blend, self.settings.ramp_shape)
        blended = blend_joint(self.patch[start : start + j], wanted[:j], alpha, self.blend)
        if self.report:
            self._report_joint(tile, wanted, blended)
        wanted[:j] = blended
        self.patch[rows] = wanted

    def _report_joint(self, tile: FrontierTile, wanted: np.ndarray, blended: np.ndarray) -> None:
        """The joint's seam numbers (seam_report.joint_report), from the patch before tile `tile`
        went in, the tile's own patch and the joint as blended."""
        j, start, k2 = tile.joint, tile.cross_start, 2 * SEAM_WINDOW
        margin = min(k2, start)
        before = self.patch[start - margin : start + j]
        after = np.concatenate([self.patch[start - margin : start], blended, wanted[j : j + k2]])
        numbers = joint_report(before, after, wanted[: j + k2], margin, j, self.contract)
        self.joints.append({"between": [tile.index, tile.index + 1], "at_row": start, "rows": j, **numbers})

    def commit(self) -> None:
        """Write the composed patch into the canvas and grow it by one advance."""
        c = self.contract
        buffer = self.canvas.buffer_for_step(c)
        buffer[:, self.length - c.overlap : self.length + c.advance] = self.patch
        self.canvas.length = self.length + c.advance


@dataclass
class AppliedStep:
    """What applying a step did: its tiles, each as generated (raw) and as glued, and the seam report."""

    tiles: list[FrontierTile]
    raw: list[np.ndarray] = field(default_factory=list)
    glued: list[np.ndarray] = field(default_factory=list)
    seam: dict | None = None


def apply_step(
    canvas: GrowingCanvas,
    settings: StepSettings,
    contract: Contract,
    tile_for: TileSource,
    report: bool = False,
    timings: dict | None = None,
) -> AppliedStep:
    """Apply one step to a canvas turned to its direction: every tile from `tile_for`, in order, then
    one change of the canvas. If `tile_for` raises, the canvas is untouched. With `report`, the
    seam report (the single-tile report for one tile; else the worst tile's numbers at the top, every
    tile's under "tiles" and every joint's under "joints"). `timings` gets glue_s (colour matching,
    blending, the canvas change) and seam_s."""
    timings = {} if timings is None else timings
    frontier = FrontierStep(canvas, contract, settings, report)
    applied = AppliedStep(frontier.tiles)
    glue_s = 0.0
    for tile in frontier.tiles:
        reference, mask = frontier.inputs(tile)
        raw = tile_for(tile, reference, mask)
        t0 = time.perf_counter()
        glued = frontier.matched(tile, raw, reference)
        frontier.add(tile, glued)
        glue_s += time.perf_counter() - t0
        applied.raw.append(raw)
        applied.glued.append(glued)
    t0 = time.perf_counter()
    before_tail = tail_before(canvas.frontier_right, contract) if report else None
    frontier.commit()
    timings["glue_s"] = glue_s + time.perf_counter() - t0
    if before_tail is not None:
        t0 = time.perf_counter()
        applied.seam = _seam(frontier, applied, before_tail)
        timings["seam_s"] = time.perf_counter() - t0
    return applied


def _seam(frontier: FrontierStep, applied: AppliedStep, before_tail: np.ndarray) -> dict:
    contract, turned = frontier.contract, frontier.canvas.frontier_right
    reports = []
    for i, (tile, glued, raw) in enumerate(zip(applied.tiles, applied.glued, applied.raw)):
        rows, n = frontier.rows(tile), tile.rows
        report = report_grown(before_tail[rows], turned[rows], glued[:n], contract, raw[:n])
        reports.append(replace(report, shift_px=frontier.shifts[i] if frontier.shifts else (0, 0)).to_dict())
    if len(reports) == 1:
        return reports[0]
    worst = dict(max(reports, key=lambda r: r["seam_step"]))
    for key in ("drift", "gradient_discontinuity"):
        worst[key] = max(r[key] for r in reports)
    raws = [r["drift_raw"] for r in reports if r["drift_raw"] is not None]
    worst["drift_raw"] = max(raws) if raws else None
    worst["tiles"] = reports
    worst["joints"] = frontier.joints
    return worst
