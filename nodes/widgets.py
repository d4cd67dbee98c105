"""Input declarations the four nodes share, so a direction or a pixel count reads the same on each."""

from __future__ import annotations

from ..shared_core.geometry import DIRECTION_WORDS, DIRECTIONS
from .spec import Param

DIRECTION = Param(
    "direction",
    "COMBO",
    default="x_ltr",
    options=tuple(DIRECTIONS),
    tooltip="Where the canvas grows ("
    + ", ".join(f"{d} = {DIRECTION_WORDS[d]}" for d in DIRECTIONS)
    + "). The same on every node of a step.",
)


def band_px(tooltip: str) -> Param:
    return Param("band_px", "INT", tooltip, default=512, min=1, max=16384, step=1)


def overlap_px(tooltip: str) -> Param:
    return Param("overlap_px", "INT", tooltip, default=512, min=0, max=16384, step=1)


def image(name: str, tooltip: str) -> Param:
    return Param(name, "IMAGE", tooltip)


POSITIONS_TYPE = "EXQUISITE_POSITIONS"
"""The socket type of a frontier's positions (JSON text, shared_core.frontier_positions): a type of its
own, so only Band Extract's positions output can be linked where positions are expected."""


def positions(tooltip: str) -> Param:
    return Param("positions", POSITIONS_TYPE, tooltip, optional=True)
