"""Laplacian multi-band blending over the overlap (Burt & Adelson 1983).

Each frequency band is blended over a width that suits it: coarse colour over a wide zone (so a
slow difference fades without a visible step), fine detail over a few pixels (so detail is not
doubled into ghosts the way a wide linear fade doubles it). The seam line is a hard 0/1 split of
the overlap; the pyramid turns it into the per-band transitions.

The pyramid is OpenCV's (cv2.pyrDown / cv2.pyrUp, float32): the `local` extra. The number of levels
is fitted to the room between the seam line and the ends of the compositing ramp, so no band reaches
past them; outside the ramp (alpha 0 or 1) the old canvas or the tile is kept exactly.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import InputError

LEAK_FACTOR = 0.25
"""A level whose footprint 2**n exceeds LEAK_FACTOR * (room to the ramp's end) is not used: then a
0-to-255 step across the seam line still leaves the ramp's ends within half a grey level (measured:
one level more leaks 4..10 grey levels at rooms of 16 and 64 px)."""


def require_opencv():
    """OpenCV, or an error that says which extra installs it."""
    try:
        import cv2
    except ImportError:
        raise InputError(
            "the multiband blends need OpenCV: install the local extra (pip install 'exquisite[local]', "
            "which brings opencv-python-headless), or use blend linear, smooth, mask or seam"
        ) from None
    return cv2


def levels_for(room: float) -> int:
    """Pyramid levels whose coarsest footprint fits in `room` pixels on each side of the seam."""
    if room < 2:
        return 0
    return max(0, int(math.floor(math.log2(LEAK_FACTOR * room))))


def multiband(old: np.ndarray, new: np.ndarray, weight: np.ndarray, levels: int) -> np.ndarray:
    """Blend two (H, W, 3) images with a (H, W) 0..1 weight of `new`, band by band; float32 out.

    With 0 levels this is a plain per-pixel mix by `weight`.
    """
    cv2 = require_opencv()
    a = old.astype(np.float32)
    b = new.astype(np.float32)
    w = np.ascontiguousarray(weight, dtype=np.float32)
    if levels <= 0:
        return a + (b - a) * w[..., None]
    bands = []
    for _ in range(levels):
        if min(w.shape) < 2:
            break
        a_down, b_down, w_down = cv2.pyrDown(a), cv2.pyrDown(b), cv2.pyrDown(w)
        size = (a.shape[1], a.shape[0])
        lap_a = a - cv2.pyrUp(a_down, dstsize=size)
        lap_b = b - cv2.pyrUp(b_down, dstsize=size)
        bands.append(lap_a + (lap_b - lap_a) * w[..., None])
        a, b, w = a_down, b_down, w_down
    out = a + (b - a) * w[..., None]
    for band in reversed(bands):
        out = cv2.pyrUp(out, dstsize=(band.shape[1], band.shape[0])) + band
    return out


def ramp_zone(alpha: np.ndarray) -> tuple[int, int]:
    """Columns [lo, hi) where the compositing ramp is strictly between 0 and 1 (its column profile)."""
    profile = alpha.mean(axis=0)
    inside = np.flatnonzero((profile > 0.0) & (profile < 1.0))
    if inside.size == 0:
        return 0, 0
    return int(inside[0]), int(inside[-1]) + 1


def keep_ends(old: np.ndarray, new: np.ndarray, alpha: np.ndarray, blended: np.ndarray) -> np.ndarray:
    """uint8 result: the old canvas where alpha is 0, the tile where it is 1, `blended` between."""
    out = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    out = np.where((alpha <= 0.0)[..., None], old, out)
    return np.where((alpha >= 1.0)[..., None], new, out)


def multiband_overlap(old: np.ndarray, new: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The `multiband` blend of the overlap: the seam line where the compositing ramp crosses 1/2."""
    lo, hi = ramp_zone(alpha)
    line = (lo + hi) / 2.0
    weight = (alpha >= 0.5).astype(np.float32)
    return keep_ends(old, new, alpha, multiband(old, new, weight, levels_for(min(line - lo, hi - line))))
