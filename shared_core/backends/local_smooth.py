"""The local backend's "smooth" method: a calm, featureless continuation of the band.

For previews and plain backgrounds where copied texture would distract. OpenCV (cv2) is optional and
used only here (Telea inpainting); without it a plainer numpy stand-in is used. Works in the
frontier-right frame: the band is on the left, the new columns go on its right.
"""

from __future__ import annotations

import numpy as np

from .local_pixels import block_mean, enlarge, soften

try:  # optional extra, used only by the "smooth" method
    import cv2
except ImportError:  # pragma: no cover - the tests monkeypatch this handle to None instead
    cv2 = None  # type: ignore[assignment]


def smooth_band(band: np.ndarray, width: int) -> np.ndarray:
    """The frontier's colours stretched outward and softened: (H, width, 3) uint8.

    With cv2 this is OpenCV's Telea inpainting; without it, a numpy stand-in (the frontier's colours
    drifting toward each line's mean colour, then blurred)."""
    h, wb = band.shape[:2]
    if cv2 is not None:  # Telea at about 256 px high (it is smooth anyway), then enlarged
        f = max(1, h // 256)
        small = block_mean(band, f)
        sw = -(-width // f)
        img = np.concatenate([small, np.zeros((small.shape[0], sw, 3), np.float32)], axis=1)
        hole = np.zeros(img.shape[:2], np.uint8)
        hole[:, small.shape[1] :] = 255
        img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        filled = cv2.inpaint(img, hole, 3, cv2.INPAINT_TELEA)
        big = enlarge(filled[:, small.shape[1] :].astype(np.float32), f, (h, width))
        # small was cut at a block boundary: shift so the first new column meets the band
        big += (band[:, -1:].astype(np.float32) - big[:, :1]) * np.clip(
            1.0 - np.arange(width, dtype=np.float32) / (4 * f), 0, 1
        )[None, :, None]
        return np.clip(np.rint(big), 0, 255).astype(np.uint8)
    b = band.astype(np.float32)
    k = max(2, wb // 32)
    frontier = soften(b[:, -k:].mean(axis=1, keepdims=True), 4)[:, 0]
    line_mean = soften(b.mean(axis=1, keepdims=True), 8)[:, 0]
    t = ((np.arange(width) + 0.5) / max(width, 1) * 0.6).astype(np.float32)[None, :, None]
    out = frontier[:, None] * (1 - t) + line_mean[:, None] * t
    return np.clip(np.rint(soften(out, 3)), 0, 255).astype(np.uint8)
