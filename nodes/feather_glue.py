"""FeatherGlue: the whole tile glued onto the canvas at the frontier, and its seam report
(glue.glue, the same numbers a CLI/MCP session step records).

Only the canvas's frontier is converted and glued (shared_core.frontier_regions): the rest of the
canvas is copied once, as ComfyUI's float tensor, into the grown canvas.

With Band Extract's positions, the tile batch is the k tiles of one frontier (a canvas of any size):
they are composed as a session step composes its tiles (shared_core.given_tiles, frontier.apply_step:
joints between neighbours blended across). With a session name, the glue is journaled as a step of
`<ComfyUI output>/exquisite-sessions/<name>` (external_steps: which session follows from the canvas's
pixels), and the canvas and seam report are the step's.
"""

from __future__ import annotations

import json

from dataclasses import replace

import numpy as np

from ..shared_core.errors import ContractError, InputError
from ..shared_core.frontier_positions import read_positions
from ..shared_core.frontier_regions import frontier_regions
from ..shared_core.geometry import Contract, frontier_right_shape, parse_direction, to_frontier_right
from ..shared_core.given_tiles import glue_given_tiles, journal_frontier_glue
from ..shared_core.glue import BLENDS, MASK_BLENDS, glue
from ..shared_core.mask import SHAPES, generation_mask
from ..shared_core.step_settings import StepSettings
from .spec import NodeSpec, Out, Param
from .tensors import (
    empty_images,
    image_batch,
    images_to_uint8,
    masks_to_float,
    paired_batch,
    paste_uint8,
    uint8_to_images,
)
from .widgets import DIRECTION, band_px, image, overlap_px, positions

FEATHER_MODES = ("overlap", "custom")
"""overlap: linear/smooth fade across the whole overlap (automatic); custom: over feather_px."""


def feather_glue(
    canvas,
    tile,
    direction,
    band_px,
    overlap_px,
    blend,
    feather,
    feather_px,
    colour_match=True,
    mask=None,
    positions=None,
    session="",
):
    """The grown canvas (one per pair of the batch, or one for a frontier's tiles) and the seam
    report as JSON text; journaled as a session step when `session` names one."""
    direction = parse_direction(direction)
    width = _feather_width(blend, feather, feather_px)
    canvases = image_batch(canvas, "canvas")
    tiles = images_to_uint8(tile, "tile")
    masks = masks_to_float(mask) if (mask is not None and blend in MASK_BLENDS) else None
    canvas_hw = tuple(canvases.shape[1:3])
    name = str(session or "").strip()
    if positions is None:
        contract = _contract_for(canvas_hw, tiles.shape[1:3], direction, band_px, overlap_px)
    else:
        contract = _positions_contract(positions, canvas_hw, direction, band_px, overlap_px)
    if frontier_right_shape(canvas_hw, direction)[0] == contract.tile and not name:
        contract = _contract_for(canvas_hw, tiles.shape[1:3], direction, band_px, overlap_px)
        return _glue_pairs(canvases, tiles, masks, direction, contract, blend, width, colour_match)
    if len(canvases) != 1:
        raise InputError(
            f"a batch of {len(canvases)} canvases: with a session name, or a canvas that is not "
            f"{contract.tile} px across, Feather Glue takes one canvas (and its frontier's tiles)"
        )
    settings = _settings(direction, blend, width, bool(colour_match), masks, contract)
    source = images_to_uint8(canvases, "canvas")[0]
    if name:
        _, result, grown = journal_frontier_glue(_sessions_dir(), name, source, list(tiles), settings, contract)
        seam = result.seam
    else:
        grown, seam = glue_given_tiles(source, list(tiles), settings, contract)
    return uint8_to_images([grown]), json.dumps(seam, indent=2)


def _glue_pairs(canvases, tiles, masks, direction, contract, blend, width, colour_match):
    """One tile per canvas (a canvas one tile across): each pair of the batch glued at its frontier."""
    sizes = {"canvas": len(canvases), "tile": len(tiles)} | ({"mask": len(masks)} if masks is not None else {})
    batch = paired_batch(sizes)
    regions = frontier_regions(tuple(canvases.shape[1:3]), direction, contract)
    grown = empty_images(batch, regions.grown_hw)
    reports = []
    for i in range(batch):
        source = canvases[i % len(canvases)]
        grown[i][regions.kept_in_grown] = source[regions.kept]
        glued, report = glue(
            images_to_uint8(source[regions.tail], "canvas")[0],
            tiles[i % len(tiles)],
            direction,
            contract,
            blend,
            width,
            None if masks is None else masks[i % len(masks)],
            colour_match=bool(colour_match),
            report=True,
        )
        paste_uint8(grown[i][regions.grown_tail], glued)
        reports.append(report.to_dict())
    return grown, json.dumps(reports[0] if batch == 1 else reports, indent=2)


SPEC = NodeSpec(
    node_id="ExquisiteFeatherGlue",
    display_name="Feather Glue (exquisite)",
    description="Glues the whole tile onto the canvas with its band exactly on the canvas's band, blends "
    "the overlap and returns the grown canvas and a seam report.",
    run=feather_glue,
    inputs=(
        image("canvas", "The canvas the band was cut from (before this step)."),
        image("tile", "The generated tile (Generate Tile, or VAE Decode of a sampler)."),
        DIRECTION,
        band_px("The band_px of Band Extract: where the tile's band lies on the canvas."),
        overlap_px("Overlap in px that is blended; the rest of the band stays as it was."),
        Param(
            "blend",
            "COMBO",
            "Overlap blend: hard (cut where tile and canvas agree), a fade (linear, smooth), or by the "
            "mask (mask, multiband, seam...).",
            default="linear",
            options=BLENDS,
        ),
        Param(
            "feather",
            "COMBO",
            "linear/smooth: fade across the whole overlap (automatic), or over feather_px (custom).",
            default="overlap",
            options=FEATHER_MODES,
        ),
        Param(
            "feather_px",
            "INT",
            "custom feather: fade width in px from the overlap's inner edge.",
            default=256,
            min=0,
            max=16384,
            step=1,
        ),
        Param(
            "colour_match",
            "BOOLEAN",
            "Remove the tile's colour cast measured on the overlap, so colours do not drift from step to step.",
            default=True,
        ),
        Param("mask", "MASK", "For the mask blends: Reference Mask's mask (1 = tile, 0 = canvas).", optional=True),
        positions("Band Extract's positions: the tile batch is the tiles of one frontier (any canvas size)."),
        Param(
            "session",
            "STRING",
            "Session name: each glue is journaled as a step of output/exquisite-sessions/"
            "<name> (see the exquisite sidebar tab). Empty: off.",
            default="",
            optional=True,
        ),
    ),
    outputs=(
        Out("IMAGE", "canvas", "The grown canvas: feed it to the next step or to Save Image."),
        Out(
            "STRING",
            "seam_report",
            "How well the tile fits, as JSON in CIE Lab ΔE (about 1 is just noticeable, 10 obvious).",
        ),
    ),
)


def _feather_width(blend: str, feather: str, feather_px: int) -> int | None:
    """The core's feather: None = the whole overlap."""
    if feather not in FEATHER_MODES:
        raise InputError(f"feather must be one of {', '.join(FEATHER_MODES)}, got {feather!r}")
    if feather == "overlap":
        return None
    if blend == "hard" or blend in MASK_BLENDS:
        raise InputError(
            f"the {blend} blend has no feather: set feather to overlap, or use blend linear or "
            f"smooth to fade over {feather_px} px"
        )
    return int(feather_px)


def _contract_for(canvas_hw, tile_hw, direction: str, band_px: int, overlap_px: int) -> Contract:
    """The contract of this glue: the tile is as large as the canvas is across the growth axis."""
    cross = frontier_right_shape(tuple(canvas_hw), direction)[0]
    tile_h, tile_w = (int(v) for v in tile_hw)
    if (tile_h, tile_w) != (cross, cross):
        side = "high" if direction.startswith("x") else "wide"
        raise InputError(
            f"the tile is {tile_w}x{tile_h} but the canvas is {cross} px {side}, so the tile must be "
            f"{cross}x{cross}. FeatherGlue refuses it rather than resizing it (resizing would shift "
            f"its conditioning half off the band). A VAE rounds sizes down to a multiple of 8: use a "
            f"tile_px that is a multiple of 8 (e.g. 1024), and glue the tile of the same step"
        )
    if not 0 < band_px < cross:
        raise InputError(
            f"band_px ({band_px}) must be between 1 and the tile size ({cross}) minus 1: use the band_px of BandExtract"
        )
    return Contract(tile=cross, band=int(band_px), overlap=int(overlap_px), advance=cross - int(band_px))


def _positions_contract(positions, canvas_hw, direction: str, band_px: int, overlap_px: int) -> Contract:
    """The contract the bands were cut with (Band Extract's positions), with this glue's overlap."""
    cut, _ = read_positions(positions, canvas_hw, direction)
    if int(band_px) != cut.band:
        raise InputError(f"band_px is {band_px} but Band Extract cut {cut.band} px bands: use the same band_px")
    try:
        return replace(cut, overlap=int(overlap_px))
    except ContractError as bad:
        raise InputError(f"overlap_px: {bad}") from None


def _settings(direction: str, blend: str, width, colour_match: bool, masks, contract: Contract) -> StepSettings:
    """The step settings of this glue. A session step and a frontier's composition build the mask
    blends' alpha from the ramp's settings, not from a mask: so the mask must be Reference Mask's
    automatic ramp (linear or smooth), and its shape is read from it."""
    ramp_shape = "linear"
    if blend in MASK_BLENDS:
        if masks is None:
            raise InputError(f"the {blend} blend needs Reference Mask's mask: connect it")
        ramp_shape = _automatic_ramp_shape(masks, direction, contract)
    return StepSettings(
        direction=direction, blend=blend, feather_px=width, ramp_shape=ramp_shape, colour_match=colour_match
    ).checked(contract)


def _automatic_ramp_shape(masks, direction: str, contract: Contract) -> str:
    first_rows = [to_frontier_right(m, direction)[0] for m in masks]
    for shape in SHAPES:
        expected = generation_mask(contract, None, None, shape)[0]
        if all(row.shape == expected.shape and np.allclose(row, expected, atol=1e-6) for row in first_rows):
            return shape
    raise InputError(
        "with a session name or several tiles, the mask blends use Reference Mask's automatic ramp: "
        "set its ramp to overlap, or use blend linear or smooth"
    )


def _sessions_dir():
    """<ComfyUI output>/exquisite-sessions, the folder the sidebar tab lists (viewer_routes)."""
    from .viewer_routes import sessions_root

    try:
        return sessions_root()
    except ImportError:
        raise InputError(
            "a session name needs ComfyUI's output folder: run the node inside ComfyUI, or leave session empty"
        ) from None
