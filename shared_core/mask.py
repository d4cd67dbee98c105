"""The freedom ramp: how free a pixel is to change, and so how new it is once glued.

One float map in 0..1 over the whole tile, 1 = free (generate here), 0 = fixed (keep). Across the
conditioning half it ramps from fixed at the inner edge to free at the frontier; the new half is fully
free. The same `ramp` makes the linear/smooth glue blends, so "free during generation" and "new
during glue" are one idea, not two.

The map is ours; each consumer's convention is a converter at the edge:
ComfyUI MASK (1 = inpaint), OpenAI's edit mask (RGBA, alpha 0 = edit), SD-style black/white
(white = inpaint). Values between 0 and 1 are meaningful and are never rounded inside the core.
"""

from __future__ import annotations

import numpy as np

from .errors import ContractError, InputError
from .geometry import Contract, from_frontier_right, parse_direction

SHAPES = ("linear", "smooth")


def ramp(length: int, start: float, end: float, shape: str = "linear") -> np.ndarray:
    """A 1-D ramp over pixel columns 0..length-1: 0 before `start`, 1 from `end` on.

    Pixel i is sampled at its centre, t = (i + 0.5 - start) / (end - start), so a ramp over n pixels
    never holds an exact 0 or 1 inside it and is symmetric. `smooth` is smoothstep (3t^2 - 2t^3): zero
    slope at both ends, so no visible kink where the blend begins or ends. end == start is a step.
    """
    if shape not in SHAPES:
        raise ContractError(f"unknown ramp shape {shape!r}: use one of {', '.join(SHAPES)}")
    if end < start:
        raise ContractError(f"a ramp must not end ({end}) before it starts ({start})")
    centres = np.arange(length, dtype=np.float64) + 0.5
    if end == start:
        return (centres >= start).astype(np.float32)
    t = np.clip((centres - start) / (end - start), 0.0, 1.0)
    if shape == "smooth":
        t = t * t * (3.0 - 2.0 * t)
    return t.astype(np.float32)


def default_ramp_span(contract: Contract) -> tuple[int, int]:
    """The ramp runs across the overlap: from its inner edge (B - O) to the frontier (B)."""
    return contract.patch_start, contract.band


def generation_mask(
    contract: Contract,
    ramp_start: float | None = None,
    ramp_end: float | None = None,
    shape: str = "linear",
) -> np.ndarray:
    """The (T, T) freedom map in the frontier-right frame.

    ramp_start / ramp_end are tile columns measured from the conditioning half's inner edge (0) to the
    frontier (B); by default the ramp spans the overlap, so pixels the glue never pastes stay fixed.
    """
    default_start, default_end = default_ramp_span(contract)
    start = default_start if ramp_start is None else float(ramp_start)
    end = default_end if ramp_end is None else float(ramp_end)
    if not 0 <= start <= end <= contract.band:
        raise ContractError(
            f"the ramp must lie in the conditioning half: 0 <= ramp_start <= ramp_end <= {contract.band} "
            f"(got {start}..{end})"
        )
    columns = ramp(contract.tile, start, end, shape)
    columns[contract.band :] = 1.0  # the new half is fully free
    return np.ascontiguousarray(np.broadcast_to(columns, (contract.tile, contract.tile)))


def frontier_mask(
    contract: Contract,
    joint: int = 0,
    rows: int | None = None,
    ramp_start: float | None = None,
    ramp_end: float | None = None,
    shape: str = "linear",
) -> np.ndarray:
    """The (T, T) freedom map of one tile of a frontier (see geometry.frontier_tiles), 1 = free.

    The band's ramp along the growth axis (`generation_mask`) times a ramp across: the tile's first
    `joint` rows carry the tiles generated before it, so they run from fixed (row 0) to free (row
    `joint`) like the band does towards the frontier. Rows from `rows` on are padding (an edge
    shorter than a tile): nothing is known there, so they are free. joint 0 and rows T give exactly
    `generation_mask`.
    """
    mask = generation_mask(contract, ramp_start, ramp_end, shape)
    rows = contract.tile if rows is None else int(rows)
    if not 0 <= joint < contract.tile or not 1 <= rows <= contract.tile:
        raise ContractError(
            f"a frontier tile's joint must be 0..{contract.tile - 1} rows and it must cover "
            f"1..{contract.tile} rows (got joint={joint}, rows={rows})"
        )
    if joint == 0 and rows == contract.tile:
        return mask
    mask = mask * ramp(contract.tile, 0, joint, shape)[:, None]
    mask[rows:] = 1.0
    return np.ascontiguousarray(mask, dtype=np.float32)


def generation_mask_for(direction: str, contract: Contract, **ramp_settings) -> np.ndarray:
    """The freedom map in the user's orientation, as a generator receives it."""
    return np.ascontiguousarray(
        from_frontier_right(generation_mask(contract, **ramp_settings), parse_direction(direction))
    )


def check_mask(mask: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """Validate a freedom map: 2-D, float, values in 0..1, the expected size if given."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise InputError(f"a mask must be 2-D (height, width), got shape {mask.shape}")
    if size is not None and mask.shape != tuple(size):
        raise InputError(f"the mask is {mask.shape[1]}x{mask.shape[0]} but the tile is {size[1]}x{size[0]}")
    mask = mask.astype(np.float32, copy=False)
    if mask.size and (float(mask.min()) < 0.0 or float(mask.max()) > 1.0 or not np.isfinite(mask).all()):
        raise InputError("mask values must lie in 0..1 (1 = generate, 0 = keep)")
    return mask


# ---- converters to each consumer's convention -------------------------------------------------


def to_comfy_mask(mask: np.ndarray) -> np.ndarray:
    """ComfyUI MASK convention: float 0..1, 1 = inpaint here. Ours already; soft values kept."""
    return check_mask(mask).copy()


def from_comfy_mask(mask: np.ndarray) -> np.ndarray:
    """A ComfyUI MASK (1 = inpaint) as our freedom map."""
    return check_mask(mask).copy()


def keep_alpha_rgba(mask: np.ndarray, reference: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """RGBA: the reference's colours with alpha = how fixed a pixel is (255 keep, 0 edit).

    threshold=None keeps the soft ramp as alpha = round(255 * (1 - m)); a threshold makes a pixel
    editable (alpha 0) when its freedom is at least the threshold, and kept (255) otherwise.
    """
    mask = check_mask(mask, reference.shape[:2])
    if threshold is None:
        alpha = np.rint(255.0 * (1.0 - mask)).astype(np.uint8)
    else:
        if not 0.0 < threshold <= 1.0:
            raise InputError(f"the mask threshold must be in (0, 1], got {threshold}")
        alpha = np.where(mask >= threshold, 0, 255).astype(np.uint8)
    return np.dstack([np.asarray(reference, dtype=np.uint8)[:, :, :3], alpha])


def to_openai_mask(mask: np.ndarray, reference: np.ndarray, threshold: float | None = 0.5) -> np.ndarray:
    """OpenAI edit mask: RGBA, alpha 0 = edit here. OpenAI treats partial alpha loosely (guidance
    only), so by default the ramp is cut at `threshold`; None sends the soft ramp as alpha."""
    return keep_alpha_rgba(mask, reference, threshold)


def to_comfy_load_image_rgba(mask: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """One RGBA image whose alpha ComfyUI's LoadImage turns back into this mask (mask = 1 - alpha/255),
    the soft ramp kept to 1/255 precision."""
    return keep_alpha_rgba(mask, reference, None)


def to_sd_mask(mask: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Black/white SD-style mask, uint8 (H, W): white (255) = inpaint. Soft grey unless thresholded."""
    mask = check_mask(mask)
    if threshold is None:
        return np.rint(255.0 * mask).astype(np.uint8)
    return np.where(mask >= threshold, 255, 0).astype(np.uint8)
