"""FeatherGlue: the whole tile glued onto the canvas at the frontier, and its seam report
(glue.glue: the same numbers a CLI/MCP session step records)."""

from __future__ import annotations

import json

from ..shared_core.errors import InputError
from ..shared_core.geometry import Contract, frontier_right_shape, parse_direction
from ..shared_core.glue import BLENDS, MASK_BLENDS, glue
from .tensors import images_to_uint8, masks_to_float, paired_batch, uint8_to_images
from .widgets import CATEGORY, band_px_input, direction_input, overlap_px_input


class FeatherGlue:
    DESCRIPTION = (
        "Glues the WHOLE tile onto the canvas with its conditioning half exactly on the band, blends "
        "the overlap, and returns the canvas grown by tile - band px. The tile must be exactly as "
        "large as the canvas is across the growth axis: a tile of another size (e.g. a few px off "
        "after a VAE rounded to a multiple of 8) is REFUSED, not resized, because resizing would "
        "shift its conditioning half off the band. Blends: hard, linear / smooth (a fade of "
        "feather_px from the overlap's inner edge), mask (the tile's own freedom mask: a pixel is as "
        "new as it was free to be; best for models that repaint kept pixels), and the other mask-family "
        "blends (multiband, seam, seam_multiband: the mask's ramp is the zone they may work in; "
        "multiband needs opencv). colour_match first removes the tile's colour cast measured on the "
        "overlap, so colours do not drift over many steps (the CLI does the same by default). "
        "Batches: canvases and "
        "tiles pair item by item; a single canvas is grown by each tile of a batch (a batch of "
        "alternatives), a single tile is glued onto each canvas. "
        "seam_report (JSON text; one object, or a list in batch order for a batch) measures the glue "
        "in CIE Lab ΔE, as the CLI's step.json does: seam_step (the largest colour step across the "
        "seam that neither the canvas nor the tile had; seam_at_px is where in the overlap), drift "
        "(the colour cast the new region still carries; drift_raw before colour_match), and "
        "gradient_discontinuity (edges the compositing made). About 1 is just noticeable, 10 is "
        "obvious: a large value says to try another seed or blend."
    )
    CATEGORY = CATEGORY
    FUNCTION = "glue"
    RETURN_TYPES = ("IMAGE", "STRING")
    RETURN_NAMES = ("canvas", "seam_report")
    OUTPUT_TOOLTIPS = (
        "The grown canvas; feed it to the next step's BandExtract or to SaveImage.",
        "The seam report as JSON (a list for a batch): seam_step, seam_at_px, drift, drift_lab, "
        "drift_raw, gradient_discontinuity, in Lab ΔE. Show it with a text display node or save it.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "canvas": ("IMAGE", {"tooltip": "The canvas the band was cut from (before this step)."}),
                "tile": ("IMAGE", {"tooltip": "The generated tile (GenerateTile, or VAEDecode of a sampler)."}),
                "direction": direction_input(),
                "band_px": band_px_input("the tile's conditioning half lies on"),
                "overlap_px": overlap_px_input("is blended; the rest of the band stays untouched"),
                "blend": (list(BLENDS), {
                    "default": "linear",
                    "tooltip": "hard: the tile as is; linear / smooth: fade over feather_px; mask: fade "
                               "by the mask input (or the default ramp when none is connected); "
                               "multiband / seam / seam_multiband: work inside the mask's ramp.",
                }),
                "feather_px": ("INT", {
                    "default": -1, "min": -1, "max": 16384, "step": 1,
                    "tooltip": "Fade width in px for linear / smooth, from the overlap's inner edge. -1 = "
                               "the whole overlap. Must be -1 or 0 for hard and the mask-family blends.",
                }),
                "colour_match": ("BOOLEAN", {
                    "default": True,
                    "tooltip": "Remove the tile's colour cast (measured where tile and canvas overlap) "
                               "before gluing, so colours do not drift from step to step.",
                }),
            },
            "optional": {
                "mask": ("MASK", {
                    "tooltip": "For the mask-family blends: the tile's mask from ReferenceMask (1 = tile, "
                               "0 = canvas). Ignored by hard, linear and smooth.",
                }),
            },
        }

    def glue(self, canvas, tile, direction, band_px, overlap_px, blend, feather_px, colour_match=True,
             mask=None):
        direction = parse_direction(direction)
        if (blend == "hard" or blend in MASK_BLENDS) and feather_px not in (-1, 0):
            raise InputError(f"the {blend} blend has no feather: set feather_px to -1, or use blend "
                             f"linear or smooth to fade over {feather_px} px")
        canvases = images_to_uint8(canvas, "canvas")
        tiles = images_to_uint8(tile, "tile")
        masks = masks_to_float(mask) if (mask is not None and blend in MASK_BLENDS) else None
        sizes = {"canvas": len(canvases), "tile": len(tiles)}
        if masks is not None:
            sizes["mask"] = len(masks)
        batch = paired_batch(sizes)
        contract = _contract_for(canvases.shape[1:3], tiles.shape[1:3], direction, band_px, overlap_px)
        feather = None if feather_px < 0 else int(feather_px)
        glued = [
            glue(canvases[i % len(canvases)], tiles[i % len(tiles)], direction, contract, blend,
                             feather, None if masks is None else masks[i % len(masks)],
                             colour_match=bool(colour_match), report=True)
            for i in range(batch)
        ]
        reports = [report.to_dict() for _, report in glued]
        report_json = json.dumps(reports[0] if batch == 1 else reports, indent=2)
        return uint8_to_images([grown for grown, _ in glued]), report_json


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
