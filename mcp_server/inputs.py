"""The two image sources only MCP has: image bytes inline as base64 and a blank canvas of a colour.
Both are refused before anything is created when they are too large or unreadable."""

from __future__ import annotations

import base64
import binascii

import numpy as np
from PIL import ImageColor

from ..shared_core.errors import InputError
from ..shared_core.pngio import decode_image_bytes

MAX_BLANK_SIDE = 16384


def decode_base64(text: str, max_bytes: int) -> np.ndarray:
    """Image bytes given inline, refused before decoding when they are larger than the cap."""
    text = text.strip()
    if text.startswith("data:"):
        header, sep, text = text.partition(",")
        if not sep or ";base64" not in header:
            raise InputError("a data: URL must be base64 (data:image/png;base64,...)")
    if len(text) * 3 // 4 > max_bytes:
        raise InputError(
            f"the base64 image is about {len(text) * 3 // 4} bytes, over the {max_bytes}-byte limit "
            f"for inline images: put the file in an input folder and pass image_path"
        )
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("image_base64 is not valid base64") from None
    return decode_image_bytes(data, "base64 image")


def blank(width: int, height: int, colour: str) -> np.ndarray:
    for name, value in (("blank_width", width), ("blank_height", height)):
        if not 1 <= value <= MAX_BLANK_SIDE:
            raise InputError(f"{name} must be from 1 to {MAX_BLANK_SIDE} px, got {value}")
    try:
        rgb = ImageColor.getrgb(colour)[:3]
    except ValueError:
        raise InputError(f"unknown colour {colour!r}: use a name (gray, white, ...) or #rrggbb") from None
    return np.full((height, width, 3), rgb, dtype=np.uint8)
