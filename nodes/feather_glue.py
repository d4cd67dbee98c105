"""FeatherGlue: the whole tile glued onto the canvas at the frontier, and its seam report
(glue.glue, the same numbers a CLI/MCP session step records).

Only the canvas's frontier is converted and glued (shared_core.frontier_regions): the rest of the
canvas is copied once, as ComfyUI's float tensor, into the grown canvas.
"""

from __future__ import annotations

import json

from ..shared_core.errors import InputError
from ..shared_core.frontier_regions import frontier_regions
from ..shared_core.geometry import Contract, frontier_right_shape, parse_direction
from ..shared_core.glue import BLENDS, MASK_BLENDS, glue
from .spec import NodeSpec, Out, Param
from .tensors import (
    empty_images,
    image_batch,
    images_to_uint8,
    masks_to_float,
    paired_batch,
    paste_uint8,
)
from .widgets import DIRECTION, band_px, image, overlap_px

FEATHER_MODES = ("overlap", "custom")
"""overlap: linear/smooth fade across the whole overlap (automatic); custom: over feather_px."""


def feather_glue(canvas, tile, direction, band_px, overlap_px, blend, feather, feather_px, colour_match=True,
                 mask=None):
    """The grown canvas (one per pair of the batch) and the seam report as JSON text."""
    direction = parse_direction(direction)
    width = _feather_width(blend, feather, feather_px)
    canvases = image_batch(canvas, "canvas")
    tiles = images_to_uint8(tile, "tile")
    masks = masks_to_float(mask) if (mask is not None and blend in MASK_BLENDS) else None
    sizes = {"canvas": len(canvases), "tile": len(tiles)} | ({"mask": len(masks)} if masks is not None else {})
    batch = paired_batch(sizes)
    canvas_hw = tuple(canvases.shape[1:3])
    contract = _contract_for(canvas_hw, tiles.shape[1:3], direction, band_px, overlap_px)
    regions = frontier_regions(canvas_hw, direction, contract)
    grown = empty_images(batch, regions.grown_hw)
    reports = []
    for i in range(batch):
        source = canvases[i % len(canvases)]
        grown[i][regions.kept_in_grown] = source[regions.kept]
        glued, report = glue(images_to_uint8(source[regions.tail], "canvas")[0], tiles[i % len(tiles)],
                             direction, contract, blend, width, None if masks is None else masks[i % len(masks)],
                             colour_match=bool(colour_match), report=True)
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
        Param("blend", "COMBO", "How the overlap is blended: hard, a fade (linear, smooth), or by the mask "
                                "(mask, multiband, seam, seam_multiband).", default="linear", options=BLENDS),
        Param("feather", "COMBO", "linear/smooth: fade across the whole overlap (automatic), or over feather_px "
                                  "(custom).", default="overlap", options=FEATHER_MODES),
        Param("feather_px", "INT", "custom feather: fade width in px from the overlap's inner edge.",
              default=256, min=0, max=16384, step=1),
        Param("colour_match", "BOOLEAN", "Remove the tile's colour cast measured on the overlap, so colours do "
                                         "not drift from step to step.", default=True),
        Param("mask", "MASK", "For the mask blends: Reference Mask's mask (1 = tile, 0 = canvas).", optional=True),
    ),
    outputs=(
        Out("IMAGE", "canvas", "The grown canvas: feed it to the next step or to Save Image."),
        Out("STRING", "seam_report", "How well the tile fits, as JSON in CIE Lab ΔE (about 1 is just "
                                     "noticeable, 10 obvious)."),
    ),
)


def _feather_width(blend: str, feather: str, feather_px: int) -> int | None:
    """The core's feather: None = the whole overlap."""
    if feather not in FEATHER_MODES:
        raise InputError(f"feather must be one of {', '.join(FEATHER_MODES)}, got {feather!r}")
    if feather == "overlap":
        return None
    if blend == "hard" or blend in MASK_BLENDS:
        raise InputError(f"the {blend} blend has no feather: set feather to overlap, or use blend linear or "
                         f"smooth to fade over {feather_px} px")
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
        raise InputError(f"band_px ({band_px}) must be between 1 and the tile size ({cross}) minus 1: "
                         f"use the band_px of BandExtract")
    return Contract(tile=cross, band=int(band_px), overlap=int(overlap_px), advance=cross - int(band_px))
