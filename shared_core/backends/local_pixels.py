"""Small numpy image helpers the local backend's rooms share: scale, blur, box sums, medians.

They live apart so that the patch search, the quilting and the seam correction resample and blur
the same way (a coarse level made by one room lines up pixel for pixel with another's). Images are
(H, W, C) float32 unless said otherwise; nothing here needs OpenCV.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def block_mean(img: np.ndarray, f: int) -> np.ndarray:
    """Block mean by an integer factor (edges replicated up to a multiple of f)."""
    img = img.astype(np.float32, copy=False)
    if f == 1:
        return img.copy()
    h, w = img.shape[:2]
    hh, ww = -(-h // f) * f, -(-w // f) * f
    a = np.pad(img, ((0, hh - h), (0, ww - w), (0, 0)), mode="edge")
    return a.reshape(hh // f, f, ww // f, f, a.shape[2]).mean(axis=(1, 3))


def enlarge(img: np.ndarray, f: int, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear enlargement by an integer factor, pixel centres aligned, cut to `shape`."""
    if f == 1:
        return img[: shape[0], : shape[1]].astype(np.float32)

    def axis(n: int, m: int):
        c = np.clip((np.arange(n) + 0.5) / f - 0.5, 0, m - 1)
        i0 = np.floor(c).astype(np.intp)
        return i0, np.minimum(i0 + 1, m - 1), (c - i0).astype(np.float32)

    y0, y1, ty = axis(shape[0], img.shape[0])
    x0, x1, tx = axis(shape[1], img.shape[1])
    rows = img[y0] * (1 - ty)[:, None, None] + img[y1] * ty[:, None, None]
    return rows[:, x0] * (1 - tx)[None, :, None] + rows[:, x1] * tx[None, :, None]


def soften(a: np.ndarray, passes: int = 2) -> np.ndarray:
    """A few passes of a [1 2 1]/4 binomial blur (the features patches and blocks are matched on)."""
    for _ in range(passes):
        p = np.pad(a, ((1, 1), (1, 1), (0, 0)), mode="edge")
        a = (p[:-2] + 2 * p[1:-1] + p[2:]) * 0.25
        a = (a[:, :-2] + 2 * a[:, 1:-1] + a[:, 2:]) * 0.25
    return a.astype(np.float32, copy=False)


def box_sums(a: np.ndarray, k: int) -> np.ndarray:
    """Sums of every k x k box of the 2-D array `a` (a summed-area table), float64."""
    sat = np.zeros((a.shape[0] + 1, a.shape[1] + 1), np.float64)
    sat[1:, 1:] = a.cumsum(0).cumsum(1)
    return sat[k:, k:] - sat[:-k, k:] - sat[k:, :-k] + sat[:-k, :-k]


def running_median(a: np.ndarray, window: int) -> np.ndarray:
    """Median over `window` neighbours along the first axis (edges replicated)."""
    r = min(window // 2, a.shape[0] - 1)
    if r < 1:
        return a.copy()
    padded = np.pad(a, ((r, r),) + ((0, 0),) * (a.ndim - 1), mode="edge")
    return np.median(sliding_window_view(padded, 2 * r + 1, axis=0), axis=-1).astype(np.float32)
