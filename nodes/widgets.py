"""Input definitions the four nodes share, so a direction or a pixel count reads the same on each."""

from __future__ import annotations

from ..shared_core.geometry import DIRECTIONS, DIRECTION_WORDS

CATEGORY = "exquisite"

DIRECTION_TOOLTIP = (
    "Where the canvas grows: "
    + ", ".join(f"{d} = {DIRECTION_WORDS[d]}" for d in DIRECTIONS)
    + ". Use the same direction on every node of one step."
)


def direction_input() -> tuple:
    return (list(DIRECTIONS), {"default": "x_ltr", "tooltip": DIRECTION_TOOLTIP})


def band_px_input(node_role: str) -> tuple:
    return ("INT", {
        "default": 512, "min": 1, "max": 16384, "step": 1,
        "tooltip": f"Conditioning band in px: the strip at the frontier that {node_role}. The tile is the "
                   "band plus the new half, so the canvas grows by tile - band px per step (512 of 1024 "
                   "by default). Use the same value on BandExtract and FeatherGlue.",
    })


def overlap_px_input(node_role: str) -> tuple:
    return ("INT", {
        "default": 512, "min": 0, "max": 16384, "step": 1,
        "tooltip": f"Overlap in px (at most the band): the part of the band next to the frontier that "
                   f"{node_role}. 512 = the whole tile is pasted; 256 = the legacy contract.",
    })
