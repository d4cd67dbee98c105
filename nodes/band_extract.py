"""BandExtract: the conditioning band at a canvas's frontier (geometry.extract_band)."""

from __future__ import annotations

import numpy as np

from ..shared_core.errors import ContractError
from ..shared_core.geometry import (
    Contract,
    extract_band,
    from_frontier_right,
    parse_direction,
    to_frontier_right,
)
from .spec import NodeSpec, Out, Param
from .tensors import images_to_uint8, uint8_to_images
from .widgets import DIRECTION, band_px, image


def band_extract(canvas, direction, band_px, tile_px):
    """One band per canvas of the batch, and the canvas's width and height."""
    direction = parse_direction(direction)
    contract = _extraction_contract(tile_px, band_px)
    canvases = images_to_uint8(canvas, "canvas")
    bands = [np.ascontiguousarray(from_frontier_right(
        extract_band(_require_fit(to_frontier_right(c, direction), contract, direction), contract),
        direction)) for c in canvases]
    height, width = canvases.shape[1:3]
    return (uint8_to_images(bands), int(width), int(height))


SPEC = NodeSpec(
    node_id="ExquisiteBandExtract",
    display_name="Band Extract (exquisite)",
    description="Cuts the band at the canvas's frontier that the next tile continues. The canvas must be "
                "tile_px across the growth axis (scale it first).",
    run=band_extract,
    inputs=(
        image("canvas", "The canvas to grow (a batch gives a batch of bands)."),
        DIRECTION,
        band_px("Band in px cut at the frontier; the canvas grows by tile_px - band_px per step."),
        Param("tile_px", "INT", "Tile size in px: the canvas must be this many px across the growth axis.",
              default=1024, min=2, max=16384, step=1),
    ),
    outputs=(
        Out("IMAGE", "band", "The band, in the canvas's orientation (512x1024 growing right)."),
        Out("INT", "width", "Width of the input canvas in px."),
        Out("INT", "height", "Height of the input canvas in px."),
    ),
)


def _extraction_contract(tile_px: int, band_px: int) -> Contract:
    if not 0 < band_px < tile_px:
        raise ContractError(
            f"band_px ({band_px}) must be smaller than tile_px ({tile_px}): the rest of the tile is the "
            f"new half the canvas grows by"
        )
    return Contract(tile=int(tile_px), band=int(band_px), overlap=int(band_px),
                    advance=int(tile_px) - int(band_px))


def _require_fit(norm_canvas: np.ndarray, contract: Contract, direction: str) -> np.ndarray:
    """The canvas itself; a canvas of the wrong size is refused with the ComfyUI way to fix it."""
    cross = norm_canvas.shape[0]
    if cross != contract.tile:
        side = "high" if direction.startswith("x") else "wide"
        raise ContractError(
            f"the canvas is {cross} px {side} but growing {direction} needs it {contract.tile} px {side} "
            f"(tile_px): scale it first, e.g. 'Upscale Image' with "
            f"{'height' if side == 'high' else 'width'} {contract.tile} and the other side 0 (aspect kept)"
        )
    return norm_canvas
