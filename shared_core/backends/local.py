"""The offline backend "local": continue the band into the free half by copying blocks of it.

No key, no GPU, no model download: this backend only rearranges pixels that are already in the band,
the way a "content-aware fill" does. This module is the generator (settings, checks, orientation);
the work happens in rooms of its own:

1. Orientation: the tile is turned into geometry.py's frontier-right frame (`to_frontier_right`,
   quarter turns, never mirrored) so the band lies on the left and the free part on the right; the
   answer is turned back, so every copied block keeps the user's orientation.
2. Layout (local_patchmatch): a coarse-to-fine patch completion up to about 128 px high decides
   where sky, ground and large things go; a guide only, never copied into the picture.
3. Picture (local_quilt): image quilting at full resolution: band blocks placed from the frontier
   outward, joined along minimum-error cuts (blend_seam.min_error_path). Every pixel is an exact
   copy of a band pixel: small bright things keep their number and sharpness over chained steps.
4. Seams (local_seams): a screened Poisson correction removes small colour steps between copied
   blocks and fades the slow part of the step at the frontier across the new part.

It continues skies, star fields, gradients and textures (fur, wood, tissue) with the band's density
of detail, keeps horizons and ground strips at their height, and keeps that over chained steps. It
cannot invent: objects cut by the frontier are not completed, and large objects in the band
(towers, buildings) are repeated, often in pieces.

The "smooth" method (local_smooth) is a calm, featureless continuation; it uses OpenCV when present.
The "patch" method is numpy only, so its picture does not depend on cv2.
"""

from __future__ import annotations

import numpy as np

from ..errors import GenerationError, InputError
from ..generators import TileRequest, register, seeded_rng
from ..geometry import DIRECTIONS, from_frontier_right, to_frontier_right
from .local_quilt import quilt
from .local_seams import seam_correction
from .local_smooth import smooth_band

METHODS = ("patch", "smooth")

_FREE = 0.99  # a pixel whose mask is at least this is free (to be generated)
_FIXED = 0.5  # a pixel whose mask is below this counts as known
_MIN_BAND = 16  # px: the least band (and tile height) there is to copy from


def continue_band(band: np.ndarray, width: int, seed: int, report=None) -> np.ndarray:
    """Continue `band` (H, wb, 3) uint8 to the right by `width` columns: (H, width, 3) uint8."""
    rng = seeded_rng(seed, "local", "quilt")
    new, src_y, src_x = quilt(band, width, rng, report)
    if report is not None:
        report(0.9, "local: smoothing the seams")
    new += seam_correction(band, new, src_y, src_x)
    return np.clip(np.rint(new), 0, 255).astype(np.uint8)


class LocalGenerator:
    """Offline, weight-free continuation of the band (see the module docstring)."""

    name = "local"
    default_blend = None
    paid = False
    remote = False

    def __init__(self, **settings) -> None:
        unknown = sorted(set(settings) - {"method"})
        if unknown:
            raise InputError(
                f"the local backend does not take the setting(s) {', '.join(unknown)}; "
                f"it takes only 'method' ({' or '.join(METHODS)})"
            )
        method = settings.get("method", "patch")
        if method not in METHODS:
            raise InputError(f"the local backend has no method {method!r}: choose {' or '.join(METHODS)}")
        self.method = method

    def generate(self, request: TileRequest) -> np.ndarray:
        reference, mask, direction = _check(request)
        ref = to_frontier_right(reference, direction)
        m = to_frontier_right(mask, direction)
        # rows with a known pixel decide the free columns: padding rows (an edge shorter than a tile)
        # are free everywhere, and a frontier's later tile has its neighbour's rows fixed-to-free
        # across the new half (this backend continues the band there; the glue blends the joint)
        known_rows = (m < _FIXED).any(axis=1)
        free_cols = (m[known_rows] if known_rows.any() else m).max(axis=0) >= _FREE
        width = int(np.argmin(free_cols[::-1])) if not free_cols.all() else free_cols.size
        if width == 0:
            if (m >= _FREE).any():
                raise GenerationError(
                    f"the mask's free pixels are not on the side that {direction} grows towards; "
                    "the local backend only continues a band across a straight frontier"
                )
            request.report(1.0, "local: nothing to generate")
            return reference.copy()
        wb = ref.shape[1] - width
        if wb < _MIN_BAND or ref.shape[0] < _MIN_BAND:
            raise GenerationError(
                f"the band is only {wb} pixels deep; the local backend needs at least {_MIN_BAND} "
                "known pixels to copy from"
            )
        band = np.ascontiguousarray(ref[:, :wb])
        request.report(0.05, f"local: continuing the band ({self.method})")
        if self.method == "smooth":
            new = smooth_band(band, width)
        else:
            new = continue_band(band, width, request.seed, report=request.report)
        tile = np.concatenate([band, new], axis=1)
        request.report(1.0, "local: tile ready")
        return np.ascontiguousarray(from_frontier_right(tile, direction))


def _check(request: TileRequest) -> tuple[np.ndarray, np.ndarray, str]:
    """The request's reference (RGB uint8), mask (float32) and direction, or a GenerationError
    that says what is wrong with them."""
    reference = np.asarray(request.reference)
    mask = np.asarray(request.mask, dtype=np.float32)
    direction = request.direction
    if direction not in DIRECTIONS:
        raise GenerationError(
            f"the local backend cannot grow towards {direction!r}: use one of {', '.join(DIRECTIONS)}"
        )
    if reference.ndim == 3 and reference.shape[2] == 4:
        reference = reference[:, :, :3]
    if reference.ndim != 3 or reference.shape[2] != 3:
        raise GenerationError(f"the reference has shape {reference.shape}, not an RGB image")
    if reference.dtype != np.uint8:
        raise GenerationError(f"the reference has {reference.dtype} pixels, not uint8")
    if mask.shape != reference.shape[:2]:
        raise GenerationError(
            f"the mask is {mask.shape[1]}x{mask.shape[0]} but the reference is "
            f"{reference.shape[1]}x{reference.shape[0]}"
        )
    if not np.isfinite(mask).all():
        raise GenerationError("the mask holds NaN or infinite values")
    if not (mask < _FIXED).any():
        raise GenerationError(
            "the mask marks every pixel free; the local backend continues a band and needs "
            "fixed pixels (mask 0) to copy from"
        )
    return reference, mask, direction


register("local", LocalGenerator)
