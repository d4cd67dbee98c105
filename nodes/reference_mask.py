"""ReferenceMask: the reference tiles and their soft freedom masks (geometry.pack_reference +
mask.generation_mask / frontier_mask), in the user's orientation.

With Band Extract's positions, the bands are the k tiles of one frontier: each reference is padded
across when the edge is shorter than a tile, and each mask marks those padding rows free. The
references go to a sampler as one batch, so tile i cannot carry what tile i-1 will generate (the
core's sequential path does): its joint rows are the fill like the rest of its new half, and its
mask is the band's ramp alone (`frontier_mask` with joint 0), never "keep" over rows that hold only fill.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..shared_core.errors import ContractError, InputError
from ..shared_core.geometry import (
    FILLS,
    Contract,
    from_frontier_right,
    frontier_right_shape,
    pack_reference,
    parse_direction,
    to_frontier_right,
)
from ..shared_core.frontier_positions import read_positions
from ..shared_core.mask import SHAPES, frontier_mask, generation_mask
from .spec import NodeSpec, Out, Param
from .tensors import float_to_masks, images_to_uint8, uint8_to_images
from .widgets import DIRECTION, image, overlap_px, positions

RAMP_MODES = ("overlap", "custom")
"""overlap: the ramp spans the overlap (automatic); custom: from ramp_start to ramp_end."""


def reference_mask(band, direction, overlap_px, ramp, ramp_start, ramp_end, ramp_shape, fill, positions=None):
    """One reference per band of the batch; the same mask for each, or with positions each tile's."""
    direction = parse_direction(direction)
    if ramp not in RAMP_MODES:
        raise InputError(f"ramp must be one of {', '.join(RAMP_MODES)}, got {ramp!r}")
    bands = images_to_uint8(band, "band")
    start, end = (None, None) if ramp == "overlap" else (float(ramp_start), float(ramp_end))
    if positions is not None:
        return _frontier_references(bands, direction, overlap_px, start, end, ramp_shape, fill, positions)
    contract = contract_from_band(bands.shape[1:3], direction, overlap_px)
    references = [
        np.ascontiguousarray(
            from_frontier_right(pack_reference(to_frontier_right(b, direction), contract, fill), direction)
        )
        for b in bands
    ]
    mask = np.ascontiguousarray(from_frontier_right(generation_mask(contract, start, end, ramp_shape), direction))
    return (uint8_to_images(references), float_to_masks([mask] * len(references)))


def _frontier_references(bands, direction, overlap_px, start, end, ramp_shape, fill, positions):
    """The k references and masks of one frontier (see the module docstring)."""
    cut, tiles = read_positions(positions, None, direction)
    contract = replace(cut, overlap=int(overlap_px))
    if not 0 <= contract.overlap <= contract.band:
        raise InputError(f"overlap_px ({overlap_px}) must be from 0 to the band ({contract.band} px)")
    if len(bands) != len(tiles):
        raise InputError(
            f"the positions list {len(tiles)} tiles but {len(bands)} bands came: connect the band "
            f"and positions outputs of the same Band Extract"
        )
    references, masks = [], []
    for b, tile in zip(bands, tiles):
        turned = to_frontier_right(b, direction)
        if turned.shape[:2] != (tile.rows, contract.band):
            raise InputError(
                f"a band is {b.shape[1]}x{b.shape[0]} but the positions expect bands of "
                f"{contract.band} px by {tile.rows} px across: connect the same Band Extract's "
                f"outputs"
            )
        references.append(from_frontier_right(pack_reference(turned, contract, fill), direction))
        masks.append(from_frontier_right(frontier_mask(contract, 0, tile.rows, start, end, ramp_shape), direction))
    return (
        uint8_to_images([np.ascontiguousarray(r) for r in references]),
        float_to_masks([np.ascontiguousarray(m) for m in masks]),
    )


SPEC = NodeSpec(
    node_id="ExquisiteReferenceMask",
    display_name="Reference Mask (exquisite)",
    description="Packs the band into a square reference tile and makes its soft mask "
    "(1 = generate, 0 = keep, a ramp across the overlap).",
    run=reference_mask,
    inputs=(
        image("band", "The band from Band Extract (same direction)."),
        DIRECTION,
        overlap_px("Overlap in px at the frontier that Feather Glue blends (at most the band)."),
        Param(
            "ramp",
            "COMBO",
            "overlap: the mask ramps across the overlap (automatic). custom: from ramp_start to ramp_end.",
            default="overlap",
            options=RAMP_MODES,
        ),
        Param(
            "ramp_start",
            "FLOAT",
            "custom ramp: where the mask leaves 0, in px from the band's inner edge.",
            default=0.0,
            min=0.0,
            max=16384.0,
            step=1.0,
        ),
        Param(
            "ramp_end",
            "FLOAT",
            "custom ramp: where the mask reaches 1, in px from the band's inner edge.",
            default=512.0,
            min=0.0,
            max=16384.0,
            step=1.0,
        ),
        Param(
            "ramp_shape",
            "COMBO",
            "linear, or smooth (no kink where the ramp begins and ends).",
            default="linear",
            options=tuple(SHAPES),
        ),
        Param(
            "fill",
            "COMBO",
            "What fills the new half before generation (gray is what ComfyUI pads with).",
            default="gray",
            options=tuple(FILLS),
        ),
        positions("Band Extract's positions: the bands are the tiles of one frontier (any canvas size)."),
    ),
    outputs=(
        Out("IMAGE", "reference", "The square reference tiles (one per band), in the canvas's orientation."),
        Out("MASK", "mask", "The freedom masks: 1 = generate, 0 = keep, soft in between."),
    ),
)


def contract_from_band(band_hw: tuple[int, int], direction: str, overlap_px: int) -> Contract:
    """The contract a band implies: the tile is the band's cross size, the band its length."""
    cross, length = frontier_right_shape(tuple(band_hw), direction)
    if length >= cross:
        height, width = band_hw
        raise ContractError(
            f"the band is {width}x{height}: growing {direction} its length along the growth axis "
            f"({length} px) must be less than its size across it ({cross} px, the tile). Give "
            f"ReferenceMask the same direction as BandExtract"
        )
    return Contract(tile=int(cross), band=int(length), overlap=int(overlap_px), advance=int(cross - length))
