"""Seam correction: take out the small colour steps between copied blocks and at the frontier.

Every free pixel of the quilt is a copy of a band pixel, so where the source changes from one pixel
to the next there may be a small colour step. A screened Poisson equation, solved with FFTs at about
256 px high, finds the picture whose gradients are the sources' own gradients (no steps where the
source changes) and which stays near the copy at scales beyond _SEAM_SCALE. Large steps are edges
(an object cut at a seam) and are kept, so nothing bleeds. At the frontier the slow part of the step
between band and new part is taken out and faded across the new part. The correction is smooth, so
it is computed coarse and enlarged. Works in the frontier-right frame (band left, new part right).
"""

from __future__ import annotations

import numpy as np

from .local_pixels import block_mean, enlarge, running_median

_SEAM_HEIGHT = 256  # the seam correction runs at about this height
_SEAM_SCALE = 48.0  # px: beyond this scale the seamless blend keeps the copied colours
_STRIP = 32  # px of band included in the seamless blend
_SEAM_STEP = 12.0  # grey levels: steps between copied regions up to this are smoothed away


def seam_correction(band: np.ndarray, new: np.ndarray, src_y: np.ndarray, src_x: np.ndarray):
    """What to add to `new` (H, width, 3) float32, the quilt right of `band`, to remove its seams.
    `src_y`, `src_x` say for every pixel of band + new which band pixel it is a copy of."""
    h, wb = band.shape[:2]
    width = new.shape[1]
    # a coarser copy (the correction is smooth); the offsets of each coarse pixel are those of the
    # full-size pixel at its centre
    f = max(1, min(h, wb) // _SEAM_HEIGHT)
    level = block_mean(np.concatenate([band.astype(np.float32), new], axis=1), f)
    lh, lw = level.shape[:2]
    cy = np.minimum(np.arange(lh) * f + f // 2, h - 1)
    cx = np.minimum(np.arange(lw) * f + f // 2, wb + width - 1)
    oy = src_y[cy][:, cx] // f - np.arange(lh)[:, None]
    ox = src_x[cy][:, cx] // f - np.arange(lw)[None, :]
    return _correction(level, oy, ox, wb // f, f, (h, wb, width))


def _correction(img, oy, ox, wbl: int, f: int, size: tuple[int, int, int]) -> np.ndarray:
    """The correction at level `img` (factor f, band = its first `wbl` columns, free pixel q a
    copy of q + (oy, ox)[q]), over a strip of band plus the free part, enlarged to full size."""
    h, wb, width = size
    band = img[:, :wbl].astype(np.float32)
    strip = min(_STRIP // f + 1, wbl)
    c, gx, gy, copy = _guidance(band, oy, ox, strip)
    u = _screened_poisson(c, gx, gy, (f / _SEAM_SCALE) ** 2)
    # the frontier: the slow part of the step between the band and the new part (a running median
    # along the frontier, so texture and small objects cut by the frontier keep their edges) is
    # taken out when it is small (a colour drift rather than a large object cut by the frontier),
    # and the correction fades away smoothly across the whole new part
    step = band[:, -1] - u[:, strip]
    step = running_median(step, int(2 * _SEAM_SCALE / f) | 1)
    size_of_step = np.abs(step).max(axis=1, keepdims=True) / (2 * _SEAM_STEP)
    step = step * np.exp(-(size_of_step**2))
    t = np.clip((np.arange(u.shape[1] - strip) + 0.5) * f / max(width, 1), 0, 1)
    fade = 1.0 - t * t * (3 - 2 * t)
    delta = (u[:, strip:] - copy + step[:, None, :] * fade[None, :, None]).astype(np.float32)
    # enlarge the free part's correction; full-size column wbl*f lines up with its first column
    skip = wb - wbl * f
    return enlarge(delta, f, (h, skip + width))[:, skip:]


def _guidance(band: np.ndarray, oy: np.ndarray, ox: np.ndarray, strip: int):
    """The picture to stay near (`c`: the band's last `strip` columns, then the copies) and the
    gradients to keep (gx, gy: each copied pixel's own source gradients, except where the actual
    step is large), plus the copies alone."""
    lh, wbl = band.shape[:2]
    ys = np.arange(lh)[:, None]
    xs = np.arange(wbl, oy.shape[1])[None, :]
    sy = np.clip(ys + oy[:, wbl:], 0, lh - 1)
    sx = np.clip(xs + ox[:, wbl:], 0, wbl - 1)
    grad_x = np.zeros_like(band)
    grad_x[:, :-1] = band[:, 1:] - band[:, :-1]
    grad_y = np.zeros_like(band)
    grad_y[:-1] = band[1:] - band[:-1]
    copy = band[sy, sx]
    c = np.concatenate([band[:, wbl - strip :], copy], axis=1)
    gx = np.concatenate([grad_x[:, wbl - strip :], grad_x[sy, sx]], axis=1)
    gy = np.concatenate([grad_y[:, wbl - strip :], grad_y[sy, sx]], axis=1)
    # across the frontier the step is kept here (it is dealt with later, over a longer distance)
    gx[:, strip - 1] = c[:, strip] - c[:, strip - 1]
    # between copied regions only small steps are smoothed away; a large one is an edge (an object
    # cut at a seam) and is kept as it is, otherwise its colour would bleed into the new part
    for g, actual in (
        (gx[:, strip:-1], c[:, strip + 1 :] - c[:, strip:-1]),
        (gy[:-1, strip:], copy[1:] - copy[:-1]),
    ):
        edge = np.abs(actual - g).max(axis=-1, keepdims=True) > _SEAM_STEP
        np.copyto(g, actual, where=np.broadcast_to(edge, g.shape))
    gx[:, -1] = 0
    gy[-1] = 0
    return c, gx, gy, copy


def _screened_poisson(c: np.ndarray, gx: np.ndarray, gy: np.ndarray, eps: float) -> np.ndarray:
    """The u minimising |grad u - (gx, gy)|^2 + eps |u - c|^2, solved exactly with FFTs on the
    mirrored domain (Neumann edges)."""
    div = gx.copy()
    div[:, 1:] -= gx[:, :-1]
    div += gy
    div[1:] -= gy[:-1]
    rhs = eps * c - div
    hh, ww = rhs.shape[:2]
    ext = np.concatenate([rhs, rhs[:, ::-1]], axis=1)
    ext = np.concatenate([ext, ext[::-1]], axis=0).transpose(2, 0, 1)
    ext = np.ascontiguousarray(ext, dtype=np.float64)
    ky = 2.0 - 2.0 * np.cos(np.pi * np.arange(2 * hh) / hh)
    kx = 2.0 - 2.0 * np.cos(np.pi * np.arange(ww + 1) / ww)
    spectrum = np.fft.rfft2(ext) / (eps + ky[:, None] + kx[None, :])
    return np.fft.irfft2(spectrum, s=(2 * hh, 2 * ww))[:, :hh, :ww].transpose(1, 2, 0)
