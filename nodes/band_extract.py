"""BandExtract: the conditioning bands at a canvas's frontier, one per tile of the frontier
(geometry.frontier_tiles + extract_band), and their positions for Reference Mask and Feather Glue."""

from __future__ import annotations

import json

import numpy as np

from ..shared_core.errors import ContractError, InputError
from ..shared_core.frontier_positions import frontier_positions
from ..shared_core.geometry import (
    Contract,
    extract_band,
    frontier_tiles,
    from_frontier_right,
    parse_direction,
    to_frontier_right,
)
from .spec import NodeSpec, Out, Param
from .tensors import images_to_uint8, uint8_to_images
from .widgets import DIRECTION, POSITIONS_TYPE, band_px, image


CROSS_OVERLAP_MODES = ("quarter tile", "custom")
"""quarter tile: neighbours share tile_px // 4 (the core's default, 256 at 1024); custom: cross_overlap_px."""


def band_extract(canvas, direction, band_px, tile_px, cross_overlap="quarter tile", cross_overlap_px=256):
    """The bands (one per canvas of a batch when the canvas is one tile across; else one per tile of
    the frontier, in order), the canvas's width and height, and the positions as JSON."""
    direction = parse_direction(direction)
    contract = _extraction_contract(tile_px, band_px, cross_overlap, cross_overlap_px)
    canvases = images_to_uint8(canvas, "canvas")
    height, width = canvases.shape[1:3]
    positions = frontier_positions((height, width), direction, contract)
    norms = [to_frontier_right(c, direction) for c in canvases]
    tiles = frontier_tiles(norms[0].shape[0], contract)
    if norms[0].shape[0] == contract.tile:  # one tile across: one band per canvas, exactly as before
        bands = [extract_band(n, contract) for n in norms]
    elif len(norms) > 1:
        raise InputError(
            f"a batch of {len(norms)} canvases that are not {contract.tile} px across the growth axis: their "
            f"frontiers are several tiles (or shorter than one), so give one canvas at a time"
        )
    else:
        bands = [extract_band(norms[0], contract, t.cross_start) for t in tiles]
    bands = [np.ascontiguousarray(from_frontier_right(b, direction)) for b in bands]
    return (uint8_to_images(bands), int(width), int(height), json.dumps(positions))


SPEC = NodeSpec(
    node_id="ExquisiteBandExtract",
    display_name="Band Extract (exquisite)",
    description="Cuts the bands at the canvas's frontier that the next tiles continue: one per tile of "
    "the edge (any canvas size), with their positions for Reference Mask and Feather Glue.",
    run=band_extract,
    inputs=(
        image("canvas", "The canvas to grow, any size (a batch of canvases tile_px across gives a batch of bands)."),
        DIRECTION,
        band_px("Band in px cut at the frontier; the canvas grows by tile_px - band_px per step."),
        Param(
            "tile_px",
            "INT",
            "Tile size in px; an edge longer than this is covered by several tiles, a "
            "shorter one by one tile cropped to it.",
            default=1024,
            min=2,
            max=16384,
            step=1,
        ),
        Param(
            "cross_overlap",
            "COMBO",
            "How much neighbouring tiles of a long edge share at least (their joint "
            "is blended): a quarter tile, or cross_overlap_px.",
            default="quarter tile",
            options=CROSS_OVERLAP_MODES,
        ),
        Param(
            "cross_overlap_px",
            "INT",
            "custom cross overlap: px neighbouring tiles share at least.",
            default=256,
            min=0,
            max=16383,
            step=1,
        ),
    ),
    outputs=(
        Out(
            "IMAGE",
            "band",
            "The bands, one per tile of the frontier in order, in the canvas's orientation "
            "(512x1024 each growing right).",
        ),
        Out("INT", "width", "Width of the input canvas in px."),
        Out("INT", "height", "Height of the input canvas in px."),
        Out(
            POSITIONS_TYPE,
            "positions",
            "Where each tile of the frontier lies (JSON): connect it to Reference Mask, "
            "Generate Tile and Feather Glue.",
        ),
    ),
)


def _extraction_contract(tile_px: int, band_px: int, cross_overlap: str, cross_overlap_px: int) -> Contract:
    if not 0 < band_px < tile_px:
        raise ContractError(
            f"band_px ({band_px}) must be smaller than tile_px ({tile_px}): the rest of the tile is the "
            f"new half the canvas grows by"
        )
    if cross_overlap not in CROSS_OVERLAP_MODES:
        raise InputError(f"cross_overlap must be one of {', '.join(CROSS_OVERLAP_MODES)}, got {cross_overlap!r}")
    if cross_overlap == "quarter tile":
        cross_overlap_px = int(tile_px) // 4
    if not 0 <= cross_overlap_px < tile_px:
        raise ContractError(
            f"cross_overlap_px ({cross_overlap_px}) must be from 0 to tile_px - 1 "
            f"({tile_px - 1}) so that neighbouring tiles move on"
        )
    return Contract(
        tile=int(tile_px),
        band=int(band_px),
        overlap=int(band_px),
        advance=int(tile_px) - int(band_px),
        cross_overlap=int(cross_overlap_px),
    )
