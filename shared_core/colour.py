"""Colour matching: remove a tile's colour cast before it is glued, so colours do not drift.

A generator rarely returns the band's colours exactly: a VAE round trip, a model's taste or an API's
re-encoding shifts the whole tile a little darker, warmer or flatter. Blending hides the step at the
seam but keeps the cast, and because the next step is conditioned on this one, the casts compound
into bands across a panorama. The cure is to measure the cast where the tile and the canvas show the
same place (the overlap) and remove it from the whole tile.

Method (Reinhard et al. 2001): per channel, the tile's mean and standard deviation on the overlap
are mapped onto the canvas's on the same pixels, and that one affine map is applied to every pixel of
the tile. Robustly (robust_fit): parts of the overlap where the tile's content disagrees with the
canvas (a repainted or blurred patch) are left out of the statistics, because they would otherwise
skew the map for the whole tile and the skew would be carried on by the next step; on the bench this
took drift after 8 steps from 4.6 / 7.2 to 1.2 / 0.1 ΔE (tile 256 / 1024). The channels are sRGB's by default: the errors generators make (a VAE's or a model's gain
and offset per channel) are affine in RGB but not in Lab, and on the ground-truth bench RGB left less
drift than Lab in every row (docs/seams.md); `space="lab"` (Reinhard's own choice, perceptual and
nearly decorrelated) stays available. Mean/std rather than histogram matching or MKL because the two
regions are pixel-aligned views of the same place: what differs is a global gain and offset, which
two moments describe; a histogram or a full covariance map would also fit the tile's legitimately
different detail (and noise) and carry that fit into the new half.

Anchored to the canvas: the target statistics are always read from the canvas as it is now, never
from a chain of earlier corrections, so a residual error does not accumulate over steps. The std
ratio is clamped (`MAX_GAIN`) so that a flat overlap (a clear sky) cannot blow up the contrast of
a tile whose new half holds real detail.

Everything here is a pure function of (canvas band, tile): a replayed session gets the same pixels.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError
from .geometry import Contract

MAX_GAIN = 1.5
"""The std ratio per channel is kept within [1/MAX_GAIN, MAX_GAIN]."""

_MIN_STD = 1e-3

# sRGB (D65) <-> CIE XYZ <-> CIE Lab, the standard constants (IEC 61966-2-1, CIE 15).
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]], dtype=np.float64)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_WHITE = _RGB_TO_XYZ.sum(axis=1)  # D65 white of sRGB, so (255, 255, 255) is L=100, a=b=0 exactly
_EPS = (6.0 / 29.0) ** 3


_LUT_STEPS = 65535  # 16-bit tables for the two curves: under 0.03 grey levels / 0.01 ΔE of error


def _srgb_to_linear_table() -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _lab_f_table() -> np.ndarray:
    t = np.arange(_LUT_STEPS + 1, dtype=np.float64) / _LUT_STEPS
    return np.where(t > _EPS, np.cbrt(t), t / (3 * (6.0 / 29.0) ** 2) + 4.0 / 29.0).astype(np.float32)


def _linear_to_srgb8_table() -> np.ndarray:
    v = np.arange(_LUT_STEPS + 1, dtype=np.float64) / _LUT_STEPS
    v = np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)
    return np.rint(v * 255.0).astype(np.uint8)


# The curves are tables, the rest float32 arithmetic: a 1024 x 1024 tile converts in tens of
# milliseconds, and the same pixels always give the same numbers (replay needs that).
_LINEAR = _srgb_to_linear_table().astype(np.float32)
_LAB_F = _lab_f_table()
_SRGB8 = _linear_to_srgb8_table()
_TO_XYZ = np.ascontiguousarray((_RGB_TO_XYZ / _WHITE[:, None]).T.astype(np.float32))
_FROM_XYZ = np.ascontiguousarray((_XYZ_TO_RGB * _WHITE[None, :]).T.astype(np.float32))


def _table_index(values: np.ndarray) -> np.ndarray:
    scaled = np.clip(values, 0.0, 1.0, out=values)
    scaled *= _LUT_STEPS
    return np.rint(scaled, out=scaled).astype(np.int32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 sRGB (..., 3) -> float32 CIE Lab (..., 3), L in 0..100."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.shape[-1:] != (3,):
        raise InputError(f"colour conversion needs RGB uint8 pixels (..., 3), got {rgb.dtype} {rgb.shape}")
    f = _LAB_F[_table_index(_LINEAR[rgb] @ _TO_XYZ)]
    lab = np.empty_like(f)
    np.multiply(f[..., 1], 116.0, out=lab[..., 0])
    lab[..., 0] -= 16.0
    np.subtract(f[..., 0], f[..., 1], out=lab[..., 1])
    lab[..., 1] *= 500.0
    np.subtract(f[..., 1], f[..., 2], out=lab[..., 2])
    lab[..., 2] *= 200.0
    return lab


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """float CIE Lab (..., 3) -> uint8 sRGB (..., 3), out-of-gamut colours clipped."""
    lab = np.asarray(lab, dtype=np.float32)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    xyz = np.where(f > 6.0 / 29.0, f * f * f, 3 * (6.0 / 29.0) ** 2 * (f - 4.0 / 29.0))
    return _SRGB8[_table_index(xyz @ _FROM_XYZ)]


def reference_columns(contract: Contract) -> tuple[int, int]:
    """Tile columns [start, stop) whose pixels are compared with the canvas: the overlap, the only
    place the tile is glued over pixels the canvas already has (the whole band if overlap is 0,
    because the tile's conditioning half still shows the band there)."""
    if contract.overlap > 0:
        return contract.patch_start, contract.band
    return 0, contract.band


BLOCKS_ACROSS = 16
"""The overlap is cut into blocks about (overlap / BLOCKS_ACROSS) px square (at least MIN_BLOCK)."""
MIN_BLOCK = 4
TRIM_FACTOR = 3.0
"""A block is an outlier when its residual exceeds TRIM_FACTOR x the median block residual ..."""
TRIM_FLOOR = 3.0
"""... and TRIM_FLOOR (channel units summed over the channels): exact agreement is never trimmed."""
ROBUST_ROUNDS = 3


def _block_edges(length: int, block: int) -> np.ndarray:
    return np.arange(0, length, block)


def block_moments(values: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel count, sum and sum of squares per channel of every block x block block of (R, C, 3)."""
    values = np.asarray(values, dtype=np.float64)
    rows, cols = _block_edges(values.shape[0], block), _block_edges(values.shape[1], block)
    s1 = np.add.reduceat(np.add.reduceat(values, rows, axis=0), cols, axis=1)
    s2 = np.add.reduceat(np.add.reduceat(values * values, rows, axis=0), cols, axis=1)
    count = np.outer(np.diff(np.append(rows, values.shape[0])), np.diff(np.append(cols, values.shape[1])))
    return count.astype(np.float64), s1, s2


def _pooled(count, s1, s2, keep):
    n = count[keep].sum()
    mean = s1[keep].sum(axis=0) / n
    var = np.maximum(s2[keep].sum(axis=0) / n - mean * mean, 0.0)
    return mean, np.sqrt(var)


def _affine(target_mean, target_std, mean, std, max_gain):
    gain = np.where(std > _MIN_STD, target_std / np.maximum(std, _MIN_STD), 1.0)
    return np.clip(gain, 1.0 / max_gain, max_gain), mean, target_mean


def robust_fit(target: np.ndarray, source: np.ndarray, max_gain: float = MAX_GAIN, robust: bool = True):
    """Per-channel (gain, source mean, target mean) mapping source's mean/std onto target's.

    robust: the statistics are pooled only over blocks where the two agree in content. A first fit
    uses every pixel; each block's residual is the distance between the target's block mean and std
    and the mapped source's (summed over channels); blocks whose residual exceeds both TRIM_FACTOR x
    the median and TRIM_FLOOR (a repainted or blurred patch, content the tile changed) are dropped and
    the fit repeated, ROBUST_ROUNDS times. Block statistics, not pixels: noise averages out inside a
    block and a shift of a few pixels barely moves a block's mean or std, so only true disagreement is
    trimmed. At least half the blocks always stay (the median is below the threshold).
    """
    block = max(MIN_BLOCK, min(target.shape[0], target.shape[1]) // BLOCKS_ACROSS)
    t_count, t1, t2 = block_moments(target, block)
    _, s1, s2 = block_moments(source, block)
    keep = np.ones(t_count.shape, dtype=bool)
    fit = _affine(*_pooled(t_count, t1, t2, keep), *_pooled(t_count, s1, s2, keep), max_gain)
    if not robust:
        return fit
    count = t_count[..., None]
    t_mean, s_mean = t1 / count, s1 / count
    t_std = np.sqrt(np.maximum(t2 / count - t_mean * t_mean, 0.0))
    s_std = np.sqrt(np.maximum(s2 / count - s_mean * s_mean, 0.0))
    for _ in range(ROBUST_ROUNDS):
        gain, mean, target_mean = fit
        residual = (np.abs((s_mean - mean) * gain + target_mean - t_mean) +
                    np.abs(s_std * gain - t_std)).sum(axis=-1)
        threshold = max(TRIM_FACTOR * float(np.median(residual)), TRIM_FLOOR)
        new_keep = residual <= threshold
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
        fit = _affine(*_pooled(t_count, t1, t2, keep), *_pooled(t_count, s1, s2, keep), max_gain)
    return fit


def match_colour(norm_band: np.ndarray, norm_tile: np.ndarray, contract: Contract,
                 space: str = "rgb", max_gain: float = MAX_GAIN, robust: bool = True) -> np.ndarray:
    """The tile with its per-channel mean/std on the overlap mapped onto the canvas's (a new array).

    norm_band is the canvas's band (T, B, 3) and norm_tile the tile (T, T, 3), both frontier-right
    and uint8; the tile's conditioning half lies on the band, so their overlap columns show the same
    place. `space` is "rgb" (sRGB channels) or "lab" (CIE Lab channels). `robust` (default) leaves
    out of the statistics the blocks of the overlap where tile and canvas disagree in content (see
    robust_fit). A tile whose overlap already has the canvas's statistics comes back unchanged.
    """
    if space not in SPACES:
        raise InputError(f"unknown colour space {space!r}: use one of {', '.join(SPACES)}")
    if norm_band.shape[:2] != (contract.tile, contract.band) or norm_tile.shape[:2] != (contract.tile,) * 2:
        raise InputError(
            f"colour matching needs the {contract.band}x{contract.tile} band and the "
            f"{contract.tile}x{contract.tile} tile, got {norm_band.shape[:2]} and {norm_tile.shape[:2]}"
        )
    start, stop = reference_columns(contract)
    to_space, from_space = _SPACES[space]
    gain, mean, target_mean = robust_fit(to_space(norm_band[:, start:stop]), to_space(norm_tile[:, start:stop]),
                                         max_gain, robust)
    if np.allclose(gain, 1.0, rtol=0, atol=1e-9) and np.allclose(mean, target_mean, rtol=0, atol=1e-9):
        return np.array(norm_tile)
    if space == "rgb":  # a per-channel affine map of 256 values: a table per channel
        table = _rgb_uint8((np.arange(256)[:, None] - mean) * gain + target_mean)
        return table[norm_tile, np.arange(3)]
    return from_space((to_space(norm_tile) - mean) * gain + target_mean)


def _rgb_float(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb, dtype=np.float32)


def _rgb_uint8(values: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(values, 0.0, 255.0)).astype(np.uint8)


_SPACES = {"rgb": (_rgb_float, _rgb_uint8), "lab": (rgb_to_lab, lab_to_rgb)}
SPACES = tuple(_SPACES)
