"""Where the tile lies on the band: register it, and move it so its conditioning half lies exactly there.

A model shown the band in the reference's conditioning half does not always paint it back where it
was: the tile can come back shifted by a pixel or two (resampling inside the model, or an image
model that re-frames). Glued as it is, every detail of the overlap shows twice under a fade and
jumps at a cut (hard, seam, multiband), and the colour fit compares pixels that do not correspond.

`register` measures the shift (phase correlation of the grey levels, whitened, so fine detail
decides; a peak that agrees no better than no shift is refused). `register_tile` moves the whole
tile back by it before anything else (colour matching, the blend): what the move uncovers inside the
conditioning half is the band's own pixels (what the tile should show there), and in the new half
the tile reflected at its edge (at most SEARCH_PX px at the tile's outer edges). Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Contract

SEARCH_PX = 4
"""Largest shift (px, each axis) registered: a tile shifted 2 px against a band shifted 2 px."""
REGISTER_SIDE = 512
"""The shift is measured on at most this many central rows and columns (CPU time; a shift is global)."""
MIN_SHARPNESS = 12.0
PEAK_OVER_ZERO = 2.0
"""A tile is moved only when its registration is `clear` (both thresholds, see Registration.clear)."""
MIN_SIDE = 4 * SEARCH_PX + 16
"""A band narrower or shorter than this is not registered (too few pixels to say where it lies)."""


def register_tile(band: np.ndarray, tile: np.ndarray, contract: Contract) -> tuple[np.ndarray, tuple[int, int]]:
    """(the tile moved, (dy, dx)) so that its conditioning half shows the band where the band is:
    the tile showed the band's pixel (y, x) at (y + dy, x + dx), so moved[y, x] = tile[y + dy, x + dx]
    (frontier-right frame; `band` is the (T, B) band the reference showed). A shift that is not
    `Registration.clear` is not made: (0, 0) returns the tile itself."""
    t, b = tile.shape[0], contract.band
    if min(band.shape[0], b) < MIN_SIDE or band.shape[:2] != (t, b):
        return tile, (0, 0)
    found = registration(band, tile[:, :b])
    if not found.clear:
        return tile, (0, 0)
    dy, dx = found.shift
    m = SEARCH_PX
    padded = np.pad(tile, ((m, m), (m, m), (0, 0)), mode="reflect")
    moved = np.array(padded[m + dy : m + dy + t, m + dx : m + dx + tile.shape[1]])
    restore_uncovered(moved, band, (dy, dx))
    return moved, (dy, dx)


def uncovered(shift: tuple[int, int], rows: int, band: int) -> np.ndarray:
    """(rows, band) bool: the conditioning-half pixels a move by `shift` (register_tile) uncovers."""
    dy, dx = shift
    across = np.zeros(rows, bool)  # at the bottom if moved up, at the top if moved down
    if dy > 0:
        across[rows - dy :] = True
    elif dy < 0:
        across[:-dy] = True
    along = np.zeros(band, bool)
    along[: max(0, -dx)] = True  # a tile moved right uncovers the band's first columns
    return across[:, None] | along[None, :]


def restore_uncovered(tile: np.ndarray, band: np.ndarray, shift: tuple[int, int]) -> None:
    """Put the band's own pixels (in place) where the move by `shift` uncovered the conditioning
    half. register_tile does it before colour matching; a session step does it again after, because
    the tile's colour map, applied to the whole tile, gave those canvas pixels the tile's cast
    inverted (a strip of up to SEARCH_PX rows at a tile's edge, 16 ΔE off under a strong cast)."""
    if shift != (0, 0):
        b = band.shape[1]
        hidden = uncovered(shift, tile.shape[0], b)
        tile[:, :b][hidden] = band[hidden]


@dataclass(frozen=True)
class Registration:
    """Where the phase correlation puts the source on the target, and how sure it is."""

    shift: tuple[int, int]
    """(dy, dx): source[y + dy, x + dx] shows what target[y, x] shows; (0, 0) if refused."""
    peak: float
    """The correlation surface at the shift (1 = the same picture moved)."""
    at_zero: float
    """The surface at no shift."""
    sharpness: float
    """(peak - mean) / std of the whole surface."""

    @property
    def clear(self) -> bool:
        """Sure enough to move a tile: a sharp peak that stands well above no shift. On a smooth ramp
        or a band the model half repainted, no shift agrees nearly as well as the peak (a ruler's
        peak stood at most 1.3x above it, at a sharpness under 12); a shift of real detail leaves no
        shift near 0 (photos: 2x to 200x, sharpness 14 to 230)."""
        return self.shift != (0, 0) and self.sharpness >= MIN_SHARPNESS and self.peak >= PEAK_OVER_ZERO * self.at_zero


def register(target: np.ndarray, source: np.ndarray, search: int = SEARCH_PX) -> tuple[int, int]:
    """(dy, dx) such that source[y + dy, x + dx] shows what target[y, x] shows (`registration`)."""
    return registration(target, source, search).shift


def registration(target: np.ndarray, source: np.ndarray, search: int = SEARCH_PX) -> Registration:
    """The peak of the phase correlation of the grey levels (Hann-windowed) within +-search px; a
    peak whose pixel pairs agree no better than no shift (`_agreement`) is refused."""
    rows, cols = target.shape[:2]
    top, left = max(0, (rows - REGISTER_SIDE) // 2), max(0, (cols - REGISTER_SIDE) // 2)
    crop = (slice(top, top + REGISTER_SIDE), slice(left, left + REGISTER_SIDE))
    grey = [np.asarray(image[crop], dtype=np.float32).mean(axis=-1, dtype=np.float64) for image in (target, source)]
    window = np.outer(np.hanning(grey[0].shape[0]), np.hanning(grey[0].shape[1]))
    spectra = [np.fft.rfft2((g - g.mean()) * window) for g in grey]
    cross = np.conj(spectra[0]) * spectra[1]
    magnitude = np.abs(cross)
    surface = np.fft.irfft2(cross / (magnitude + 1e-9 * max(float(magnitude.max()), 1e-30)), s=grey[0].shape)
    near = np.roll(surface, (search, search), axis=(0, 1))[: 2 * search + 1, : 2 * search + 1]
    dy, dx = (int(v) - search for v in np.unravel_index(int(np.argmax(near)), near.shape))
    peak, at_zero = float(near[dy + search, dx + search]), float(near[search, search])
    sharpness = (peak - float(surface.mean())) / (float(surface.std()) + 1e-12)
    if (dy, dx) != (0, 0):
        clipped = [((image[crop] == 0) | (image[crop] == 255)).any(axis=-1) for image in (target, source)]
        if _agreement(grey, clipped, 0, 0, search) >= _agreement(grey, clipped, dy, dx, search):
            dy, dx = 0, 0  # no better than no shift: a smooth or periodic overlap (a ruler) fooled the peak
    return Registration((dy, dx), peak, at_zero, sharpness)


def _agreement(grey: list[np.ndarray], clipped: list[np.ndarray], dy: int, dx: int, search: int) -> float:
    """Correlation of the two grey images' pixel pairs under the shift (dy, dx), inside a margin of
    `search`, over the pairs where neither pixel is clipped (a clip flattens the very differences a
    shift makes): a true shift makes the pairs correspond, so it agrees better than no shift."""
    rows, cols = grey[0].shape
    inner = (slice(search, rows - search), slice(search, cols - search))
    moved = (slice(search + dy, rows - search + dy), slice(search + dx, cols - search + dx))
    ok = ~(clipped[0][inner] | clipped[1][moved])
    if ok.sum() < 16:
        return 0.0
    a, b = grey[0][inner][ok], grey[1][moved][ok]
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (np.sqrt(float((a * a).sum()) * float((b * b).sum())) + 1e-12))
