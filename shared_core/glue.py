"""Glue: composite the whole generated tile onto the canvas at the frontier.

The tile's conditioning half lies exactly on the band (see geometry); a tile whose picture came back
a few px off its band is first moved back onto it (registration.py, on by default). Only the tile's region is
touched: columns [L - O, L) are blended (old canvas fading into the tile), [L, L + A) are the tile's
new half, and everything before L - O stays bit-identical.

Blends (all give an alpha over the tile: 0 = old canvas, 1 = tile):
* hard   - no pixel mixed: canvas or tile, cut along the minimum-error path across the overlap
           (blend_seam.hard_overlap; its alpha is 1 over the whole patch, the old fixed cut);
* linear - a ramp of `feather_px` from the overlap's inner edge, then the tile; feather = overlap
           dissolves across the whole overlap, feather 0 is hard;
* smooth - the same with a smoothstep ramp (no kink where the fade begins and ends);
* mask   - the generation mask itself: a pixel is exactly as new as it was free to be. This also
           keeps a model that repainted fixed pixels (GPT image models treat the mask as a hint)
           from changing them.

Blends that are not one alpha (they take the compositing mask's ramp as the zone they may work in):
* multiband      - Laplacian multi-band blend with the seam line where the ramp crosses 1/2 (the
                   ramp's fade on rows where that line crosses a disagreement);
* seam           - a minimum-error path through the overlap with a short feather along it;
* seam_multiband - the same path, multi-band blended across it.
Every blend is an `OverlapBlend(old, new, alpha) -> uint8` chosen by `overlap_blend(mode)`; the
alpha ones are `mix`. Whatever the blend, only the overlap and the new half are written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .canvas import GrowingCanvas
from .colour import match_colour
from .errors import ContractError, InputError
from .geometry import (
    Contract,
    check_canvas,
    extract_band,
    parse_direction,
    to_frontier_right,
)
from .mask import check_mask, generation_mask, ramp
from .registration import register_tile, restore_uncovered
from .rgb import check_rgb
from .seam_report import report_grown, tail_before

BLENDS = ("hard", "linear", "smooth", "mask", "multiband", "seam", "seam_multiband")
MASK_BLENDS = ("mask", "multiband", "seam", "seam_multiband")
"""Blends that take their zone from a mask (the compositing mask; the generation mask by default)."""

OverlapBlend = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""(old overlap, tile's overlap, alpha over the overlap) -> the glued overlap, uint8."""


def blend_alpha(
    contract: Contract,
    blend: str = "linear",
    feather_px: int | None = None,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """The (T, T) float32 alpha of the tile in the frontier-right frame (1 over the new half).

    feather_px defaults to the overlap for linear/smooth; `mask` (frontier-right frame) defaults to
    the contract's default generation mask for the mask blend.
    """
    tile = contract.tile
    if blend not in BLENDS:
        raise ContractError(f"unknown blend {blend!r}: use one of {', '.join(BLENDS)}")
    if blend in MASK_BLENDS:
        if feather_px not in (None, 0):
            raise InputError(f"the {blend} blend takes its fade from the mask; leave feather unset")
        alpha = generation_mask(contract) if mask is None else check_mask(mask, (tile, tile)).copy()
    else:
        if blend == "hard":
            if feather_px not in (None, 0):
                raise InputError("the hard blend has no feather; use blend linear or smooth to fade")
            feather = 0
        else:
            feather = contract.overlap if feather_px is None else int(feather_px)
        if not 0 <= feather <= contract.overlap:
            raise InputError(f"feather_px must be between 0 and the overlap ({contract.overlap}), got {feather_px}")
        start = contract.patch_start
        columns = ramp(tile, start, start + feather, "smooth" if blend == "smooth" else "linear")
        alpha = np.ascontiguousarray(np.broadcast_to(columns, (tile, tile)))
    alpha[:, contract.band :] = 1.0  # nothing old lies under the new half
    return alpha


def mix(old: np.ndarray, new: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """old + (new - old) * alpha, rounded to uint8; alpha 0 gives old and alpha 1 new, exactly."""
    a = alpha[..., None] if alpha.ndim == old.ndim - 1 else alpha
    out = old.astype(np.float32)
    out += (new.astype(np.float32) - out) * a
    return np.rint(out, out=out).astype(np.uint8)


def overlap_blend(blend: str, steered: bool = True) -> OverlapBlend:
    """The function that blends the overlap in mode `blend` (refuses a mode whose extra is missing).
    `steered` (the default): hard cuts along the minimum-error path and multiband fades where its
    line crosses a disagreement (blend_seam); off, both cut at a fixed line, as steps recorded
    before replay."""
    if blend not in BLENDS:
        raise ContractError(f"unknown blend {blend!r}: use one of {', '.join(BLENDS)}")
    if blend in ("multiband", "seam_multiband"):
        from .blend_multiband import multiband_overlap, require_opencv
        from .blend_seam import multiband_faded_overlap, seam_multiband_overlap

        require_opencv()
        if blend == "seam_multiband":
            return seam_multiband_overlap
        return multiband_faded_overlap if steered else multiband_overlap
    if blend == "seam" or (blend == "hard" and steered):
        from .blend_seam import hard_overlap, seam_overlap

        return seam_overlap if blend == "seam" else hard_overlap
    return mix


def joint_alpha(joint: int, blend: str, ramp_shape: str = "linear") -> np.ndarray:
    """The (joint,) alpha of a later tile of a frontier over its joint rows (0 = the tiles before
    it, 1 = this tile), the same family as the blend: hard cuts in the middle of the joint (rows
    from joint // 2 on are the new tile's), smooth fades with smoothstep, mask with the generation
    mask's own ramp across (mask.frontier_mask), and linear and the seam/multiband blends fade (or
    find their path) across the whole joint."""
    if blend not in BLENDS:
        raise ContractError(f"unknown blend {blend!r}: use one of {', '.join(BLENDS)}")
    if blend == "hard":
        return ramp(joint, joint / 2, joint / 2)
    shape = "smooth" if blend == "smooth" else ramp_shape if blend == "mask" else "linear"
    return ramp(joint, 0, joint, shape)


def blend_joint(old: np.ndarray, new: np.ndarray, alpha: np.ndarray, blend: OverlapBlend) -> np.ndarray:
    """Blend the joint rows of a later tile over its neighbours' with an overlap blend laid across:
    the rows are turned into columns (a transpose), where every OverlapBlend finds its transition."""
    weights = np.ascontiguousarray(np.broadcast_to(alpha[:, None], old.shape[:2]).T)
    turned = blend(np.ascontiguousarray(old.transpose(1, 0, 2)), np.ascontiguousarray(new.transpose(1, 0, 2)), weights)
    return np.ascontiguousarray(turned.transpose(1, 0, 2))


def _paste(
    turned_canvas: np.ndarray,
    length: int,
    turned_tile: np.ndarray,
    contract: Contract,
    alpha: np.ndarray,
    blend: OverlapBlend,
    cross_start: int = 0,
) -> int:
    """Blend the overlap and paste the new half into a frontier-right buffer whose first `length`
    columns are the canvas (it must have room for one advance); returns the new length."""
    tile = contract.tile
    if turned_tile.shape[:2] != (tile, tile):
        raise InputError(
            f"the tile is {turned_tile.shape[1]}x{turned_tile.shape[0]} but the contract needs {tile}x{tile}"
        )
    if turned_canvas.shape[1] < contract.next_length(length):
        raise ContractError("internal: the canvas buffer has no room for the next advance")
    check_canvas((turned_canvas.shape[0], length), contract)
    rows = slice(cross_start, cross_start + tile)
    origin = contract.paste_origin(length)
    overlap = slice(contract.patch_start, contract.band)
    turned_canvas[rows, origin:length] = blend(
        turned_canvas[rows, origin:length], turned_tile[:, overlap], alpha[:, overlap]
    )
    turned_canvas[rows, length : contract.next_length(length)] = turned_tile[:, contract.band :]
    return contract.next_length(length)


def check_one_tile(cross: int, contract: Contract) -> None:
    """Refuse to glue one tile onto an edge that is not exactly one tile across."""
    if cross != contract.tile:
        raise ContractError(
            f"one tile glues onto an edge exactly {contract.tile} px across, but this canvas is {cross} px "
            f"across the growth axis: an edge of any other length is a frontier of several tiles (a session "
            f"step, frontier.apply_step), or fit the canvas to {contract.tile} px first"
        )


def glue_step(
    canvas: GrowingCanvas,
    turned_tile: np.ndarray,
    contract: Contract,
    alpha: np.ndarray,
    blend: str = "linear",
    colour_match: bool = False,
    colour_space: str = "rgb",
    register: bool = True,
) -> tuple[np.ndarray, tuple[int, int]]:
    """Glue one tile in place onto a canvas turned to the step's direction (frontier-right frame):
    move it onto the band it was shown (registration.register_tile) unless `register` is off,
    colour-match it on the overlap if asked, blend the overlap, paste the new half, grow the canvas.
    Returns the tile as glued and the shift registration moved it by. `glue` comes through here; sessions glue frontiers of any length
    through frontier.apply_step, which gives the same pixels for an edge exactly one tile across."""
    check_one_tile(canvas.frontier_right.shape[0], contract)
    band = extract_band(canvas.frontier_right, contract)
    shift = (0, 0)
    if register:
        turned_tile, shift = register_tile(band, turned_tile, contract)
    if colour_match:
        turned_tile = match_colour(band, turned_tile, contract, colour_space)
        restore_uncovered(turned_tile, band, shift)  # the band's own pixels, not mapped (GLUE_REVISION 1)
    canvas.length = _paste(
        canvas.buffer_for_step(contract), canvas.length, turned_tile, contract, alpha, overlap_blend(blend)
    )
    return turned_tile, shift


def glue(
    canvas: np.ndarray,
    tile: np.ndarray,
    direction: str,
    contract: Contract = Contract(),
    blend: str = "linear",
    feather_px: int | None = None,
    mask: np.ndarray | None = None,
    colour_match: bool = False,
    colour_space: str = "rgb",
    report: bool = False,
    register: bool = True,
):
    """Pure glue in the user's frame: a new (grown) canvas; the inputs are not modified.

    `mask`, for the mask-family blends, is the generation (or compositing) mask in the user's frame
    (as the generator saw it). `colour_match` first maps the tile's colours onto the canvas's
    (see colour.match_colour), after `register` has moved the tile onto the band it was shown
    (registration.register_tile; on by default, as in a session step). With `report`, returns (canvas, SeamReport): the numbers a session
    step records in step.json for the same pixels and settings.
    """
    direction = parse_direction(direction)
    canvas = check_rgb(canvas, "canvas")
    turned_tile = to_frontier_right(check_rgb(tile, "tile"), direction)
    turned_mask = None if mask is None else to_frontier_right(np.asarray(mask), direction)
    alpha = blend_alpha(contract, blend, feather_px, turned_mask)
    grown = GrowingCanvas.from_image(canvas, direction, room=contract.advance)
    check_canvas(grown.frontier_right.shape, contract)
    check_one_tile(grown.frontier_right.shape[0], contract)
    before_tail = tail_before(grown.frontier_right, contract) if report else None
    glued, shift = glue_step(grown, turned_tile, contract, alpha, blend, colour_match, colour_space, register)
    out = np.ascontiguousarray(grown.user())
    if not report:
        return out
    assert before_tail is not None
    return out, replace(report_grown(before_tail, grown.frontier_right, glued, contract, turned_tile), shift_px=shift)
