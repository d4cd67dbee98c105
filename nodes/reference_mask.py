"""ReferenceMask: the reference tile and its soft freedom mask (geometry.pack_reference +
mask.generation_mask), in the user's orientation."""

from __future__ import annotations

import numpy as np

from ..shared_core.errors import ContractError
from ..shared_core.geometry import (
    FILLS, Contract, frontier_right_shape, from_frontier_right, pack_reference, parse_direction,
    to_frontier_right,
)
from ..shared_core.mask import SHAPES, generation_mask
from .tensors import float_to_masks, images_to_uint8, uint8_to_images
from .widgets import CATEGORY, direction_input, overlap_px_input


class ReferenceMask:
    DESCRIPTION = (
        "Packs the band into a square reference tile (band in the conditioning half, the chosen fill "
        "in the new half) and makes its MASK (1 = generate, 0 = keep): 0 at the band's inner edge "
        "ramping to 1 at the frontier, 1 over the new half. The soft values are kept, so the mask is "
        "meaningful to DifferentialDiffusion with InpaintModelConditioning (noise_mask on) or "
        "SetLatentNoiseMask; VAEEncodeForInpaint would round it to 0/1. The tile is as large as the "
        "band is long across the growth axis. Batches: one reference per band, and the same mask "
        "repeated to the same batch size."
    )
    CATEGORY = CATEGORY
    FUNCTION = "pack"
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("reference", "mask")
    OUTPUT_TOOLTIPS = (
        "The reference tile (square), in the canvas's orientation.",
        "The freedom mask over the tile: 1 = generate, 0 = keep, soft in between.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "band": ("IMAGE", {"tooltip": "The band from BandExtract (same direction)."}),
            "direction": direction_input(),
            "overlap_px": overlap_px_input("FeatherGlue blends; by default the mask ramps across it"),
            "ramp_start": ("FLOAT", {
                "default": -1.0, "min": -1.0, "max": 16384.0, "step": 1.0,
                "tooltip": "Where the ramp leaves 0, in px from the band's inner edge (0) towards the "
                           "frontier (band_px). -1 = the overlap's inner edge (band - overlap).",
            }),
            "ramp_end": ("FLOAT", {
                "default": -1.0, "min": -1.0, "max": 16384.0, "step": 1.0,
                "tooltip": "Where the ramp reaches 1, in px from the band's inner edge. -1 = the frontier.",
            }),
            "ramp_shape": (list(SHAPES), {
                "default": "linear",
                "tooltip": "linear, or smooth (smoothstep: no kink where the ramp begins and ends).",
            }),
            "fill": (list(FILLS), {
                "default": "gray",
                "tooltip": "What fills the tile's new half before generation: gray (128, as ComfyUI "
                           "pads), edge (the frontier repeated), mirror (the band reflected), black, white.",
            }),
        }}

    def pack(self, band, direction, overlap_px, ramp_start, ramp_end, ramp_shape, fill):
        direction = parse_direction(direction)
        bands = images_to_uint8(band, "band")
        contract = contract_from_band(bands.shape[1:3], direction, overlap_px)
        references = [np.ascontiguousarray(from_frontier_right(
            pack_reference(to_frontier_right(b, direction), contract, fill), direction)) for b in bands]
        norm_mask = generation_mask(contract, _auto(ramp_start), _auto(ramp_end), ramp_shape)
        mask = np.ascontiguousarray(from_frontier_right(norm_mask, direction))
        return (uint8_to_images(references), float_to_masks([mask] * len(references)))


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


def _auto(value: float) -> float | None:
    """-1 (the widget's 'automatic') as the core's None."""
    return None if value < 0 else float(value)
