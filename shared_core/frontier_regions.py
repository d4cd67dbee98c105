"""Where a glue reads and writes, in the user's frame: so a face can glue only the frontier.

A glue step reads only the canvas's last `glue_reach(contract)` columns (frontier-right frame): the
band for colour matching, the overlap it blends and the seam report's window. Everything before
them is copied unchanged. So for any canvas of length L >= band,

    glue(canvas)[kept] == canvas[kept]            and
    glue(canvas)[grown_tail] == glue(canvas[tail])    (same tile, settings and seam report),

which lets a face that holds its canvas in another format (ComfyUI's float tensors) copy the kept
part once in its own format and convert and glue only the tail, instead of converting the whole
canvas there and back. `frontier_regions` gives the three regions as index tuples for the user's
orientation of the canvas (height, width, ...) and of the grown canvas.
"""

from __future__ import annotations

from dataclasses import dataclass

from .geometry import Contract, frontier_right_shape, parse_direction
from .seam_report import tail_columns


def glue_reach(contract: Contract) -> int:
    """How many columns at the frontier a glue reads (band + the seam report's window)."""
    return max(contract.band, tail_columns(contract))


@dataclass(frozen=True)
class FrontierRegions:
    """Index tuples (rows, columns) in the user's frame; see the module docstring."""

    kept: tuple[slice, slice]
    """In the canvas: the pixels a glue leaves as they are."""
    kept_in_grown: tuple[slice, slice]
    """In the grown canvas: where they are (moved by one advance when growing left or up)."""
    tail: tuple[slice, slice]
    """In the canvas: what to glue instead of the whole canvas."""
    grown_tail: tuple[slice, slice]
    """In the grown canvas: where the glued tail goes."""
    grown_hw: tuple[int, int]
    """The grown canvas's (height, width)."""


def frontier_regions(canvas_hw: tuple[int, int], direction: str, contract: Contract) -> FrontierRegions:
    """The regions of a canvas of `canvas_hw` (height, width) growing in `direction` by one advance."""
    direction = parse_direction(direction)
    height, width = (int(v) for v in canvas_hw)
    length = frontier_right_shape((height, width), direction)[1]
    reach, advance = min(length, glue_reach(contract)), contract.advance
    if direction in ("x_ltr", "y_ttb"):  # the frontier is the last column / row
        kept = kept_in_grown = slice(0, length - reach)
        tail, grown_tail = slice(length - reach, length), slice(length - reach, length + advance)
    else:  # the frontier is the first column / row: the kept part moves by one advance
        kept, kept_in_grown = slice(reach, length), slice(reach + advance, length + advance)
        tail, grown_tail = slice(0, reach), slice(0, reach + advance)
    if direction.startswith("x"):
        return FrontierRegions(
            (slice(None), kept),
            (slice(None), kept_in_grown),
            (slice(None), tail),
            (slice(None), grown_tail),
            (height, width + advance),
        )
    return FrontierRegions(
        (kept, slice(None)),
        (kept_in_grown, slice(None)),
        (tail, slice(None)),
        (grown_tail, slice(None)),
        (height + advance, width),
    )
