"""What the core calls an image: an (H, W, 3) uint8 RGB array. One check, one message, everywhere."""

from __future__ import annotations

import numpy as np

from .errors import InputError


def check_rgb(image: object, what: str = "image") -> np.ndarray:
    """`image` as an RGB uint8 array, or an InputError naming what it is instead."""
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise InputError(f"the {what} must be an RGB uint8 image (H, W, 3), got {array.dtype} {array.shape}")
    return array
