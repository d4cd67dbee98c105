"""ReferenceMask: the reference tile and its soft freedom mask (geometry.pack_reference +
mask.generation_mask), in the user's orientation."""

from __future__ import annotations

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
from ..shared_core.mask import SHAPES, generation_mask
from .spec import NodeSpec, Out, Param
from .tensors import float_to_masks, images_to_uint8, uint8_to_images
from .widgets import DIRECTION, image, overlap_px

RAMP_MODES = ("overlap", "custom")
"""overlap: the ramp spans the overlap (automatic); custom: from ramp_start to ramp_end."""


def reference_mask(band, direction, overlap_px, ramp, ramp_start, ramp_end, ramp_shape, fill):
    """One reference per band of the batch, and the same mask for each."""
    direction = parse_direction(direction)
    if ramp not in RAMP_MODES:
        raise InputError(f"ramp must be one of {', '.join(RAMP_MODES)}, got {ramp!r}")
    bands = images_to_uint8(band, "band")
    contract = contract_from_band(bands.shape[1:3], direction, overlap_px)
    references = [np.ascontiguousarray(from_frontier_right(
        pack_reference(to_frontier_right(b, direction), contract, fill), direction)) for b in bands]
    start, end = (None, None) if ramp == "overlap" else (float(ramp_start), float(ramp_end))
    mask = np.ascontiguousarray(from_frontier_right(generation_mask(contract, start, end, ramp_shape), direction))
    return (uint8_to_images(references), float_to_masks([mask] * len(references)))


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
        Param("ramp", "COMBO", "overlap: the mask ramps across the overlap (automatic). "
                               "custom: from ramp_start to ramp_end.", default="overlap", options=RAMP_MODES),
        Param("ramp_start", "FLOAT", "custom ramp: where the mask leaves 0, in px from the band's inner edge.",
              default=0.0, min=0.0, max=16384.0, step=1.0),
        Param("ramp_end", "FLOAT", "custom ramp: where the mask reaches 1, in px from the band's inner edge.",
              default=512.0, min=0.0, max=16384.0, step=1.0),
        Param("ramp_shape", "COMBO", "linear, or smooth (no kink where the ramp begins and ends).",
              default="linear", options=tuple(SHAPES)),
        Param("fill", "COMBO", "What fills the new half before generation (gray is what ComfyUI pads with).",
              default="gray", options=tuple(FILLS)),
    ),
    outputs=(
        Out("IMAGE", "reference", "The square reference tile, in the canvas's orientation."),
        Out("MASK", "mask", "The freedom mask: 1 = generate, 0 = keep, soft in between."),
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
