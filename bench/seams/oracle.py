"""Ground truth for seams: real photographs made into panoramas, and an oracle that continues them.

The photographs are scikit-image's bundled data images (no download). A photo is scaled so its
height is the tile size and extended to the needed width by reflection (photo, mirrored photo,
photo, ...), which keeps real photographic statistics and texture at every column; the truth of
every column is then known.

The oracle generator answers what a good but imperfect model would: the true continuation of the
photo, *following the colours of the band it was shown* (a per-channel affine fit of the true band
onto the given band, registered first because the band may be shifted, and robust to content the
band does not share with the truth (follow_band), so an earlier cast is carried forward exactly as a
model conditioned on the band carries it), then disturbed by a seeded error of its own:
  gain and offset per channel (a random cast, brighter or darker), a small shift of the whole tile,
  Gaussian noise, and (unless `patch` is "none") one patch across the overlap that is repainted with
  content from elsewhere in the photo (or blurred).
The tile is clipped to 0..255 like any real 8-bit answer: on photos with dark or bright regions a gain
above 1 or an offset pushes many values to 0 or 255, where they no longer say what the gain was.
So colour errors compound over steps the way they do with real models, and the truth of the new
region stays known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from exquisite.shared_core.generators import seeded_rng
from exquisite.shared_core.geometry import (
    Contract,
    from_frontier_right,
    to_frontier_right,
)
from exquisite.shared_core.registration import SEARCH_PX
from PIL import Image, ImageFilter

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "retina", "hubble_deep_field", "immunohistochemistry")
"""scikit-image's bundled colour photos (no download). retina (black surround, bright disc) and
hubble_deep_field (half its values under 13) have large saturated regions; immunohistochemistry is
high-key (a near-white background)."""
BENCH_PHOTOS = ("astronaut", "coffee", "chelsea", "retina", "hubble_deep_field", "immunohistochemistry")
"""The bench's default set: three ordinary photos, two with large saturated regions, one high-key."""
PATCHES = ("none", "repaint", "blur", "either")


def panorama(name: str, height: int, width: int) -> np.ndarray:
    """A (height, width, 3) uint8 frontier-right truth from a scikit-image photo (see module doc)."""
    from skimage import data

    photo = getattr(data, name)()[:, :, :3]
    scaled_width = max(1, round(photo.shape[1] * height / photo.shape[0]))
    resample = Image.Resampling.LANCZOS if height < photo.shape[0] else Image.Resampling.BICUBIC
    scaled = np.asarray(Image.fromarray(photo).resize((scaled_width, height), resample))
    pieces, total, flip = [], 0, False
    while total < width:
        pieces.append(scaled[:, ::-1] if flip else scaled)
        total += scaled.shape[1]
        flip = not flip
    return np.ascontiguousarray(np.concatenate(pieces, axis=1)[:, :width])


FOLLOW_LEVELS = (5, 250)
"""follow_band fits on the pixels whose TRUE value lies within these levels (and whose band value is
not clipped): pairs chosen by the truth's level (the regressor), so a band clipped to black over a
black surround neither biases the line nor leaves only a repainted remnant to fit it on."""
FOLLOW_ROUNDS = 3
FOLLOW_CUT = 3.0
FOLLOW_FLOOR = 8.0
"""follow_band drops the values whose residual exceeds FOLLOW_CUT robust sigmas and FOLLOW_FLOOR grey
levels (4 sigma of the oracle's noise: a band that is mostly flat black, where the residuals' spread
is tiny, must not leave only that black to fit the line on)."""


def follow_band(true_band: np.ndarray, band: np.ndarray, search: int, robust: bool = True) -> list[tuple[float, float]]:
    """Per channel (a, b) with band ~ a * true_band + b: the cast of the band the model was shown.

    The band may itself be shifted against the truth (the previous tile was), so the two are first
    registered (the integer shift within +-search px that best matches their grey levels), then
    fitted by least squares on the aligned values that neither image has clipped. Without the
    registration a 2 px shift of fine detail (a star field) decorrelates the pairs and the fit
    flattens the contrast by half: the oracle, not the colour fit, would then drift.
    `robust` (the default): values whose residual exceeds FOLLOW_CUT robust sigmas are dropped and
    the line refitted. The band may hold part of the previous tile's repainted patch, content with no
    relation to the truth; fitted as a cast, it made the oracle answer with up to 2.5x the contrast
    on `retina` (docs/seams.md), a drift of the oracle, not of the colour fit.
    """
    m = search
    rows, cols = true_band.shape[0] - 2 * m, true_band.shape[1] - 2 * m
    inner = band[m : m + rows, m : m + cols]
    grey = inner.mean(axis=-1)
    grey = grey - grey.mean()
    best, aligned = -np.inf, true_band[m : m + rows, m : m + cols]
    for dy in range(-m, m + 1):
        for dx in range(-m, m + 1):
            moved = true_band[m + dy : m + dy + rows, m + dx : m + dx + cols]
            g = moved.mean(axis=-1)
            score = float((grey * (g - g.mean())).sum() / (np.linalg.norm(g - g.mean()) + 1e-9))
            if score > best:
                best, aligned = score, moved
    fits = []
    for ch in range(3):
        x, y = aligned[..., ch].ravel(), inner[..., ch].ravel()
        ok = (x >= FOLLOW_LEVELS[0]) & (x <= FOLLOW_LEVELS[1]) & (y > 0) & (y < 255)
        if ok.sum() < 16:
            ok = np.ones_like(ok)
        a, b = np.polyfit(x[ok], y[ok], 1)
        for _ in range(FOLLOW_ROUNDS if robust else 0):  # the band's cast, not its repainted content
            residual = y - (a * x + b)
            cut = max(FOLLOW_CUT * 1.4826 * float(np.median(np.abs(residual[ok]))), FOLLOW_FLOOR)
            inlier = ok & (np.abs(residual) <= cut)
            if inlier.sum() < ok.sum() / 2:  # most of the band is the cast: never fit a remnant
                break
            a, b = np.polyfit(x[inlier], y[inlier], 1)
        fits.append((float(a), float(b)))
    return fits


@dataclass(frozen=True)
class Disturbance:
    gain: tuple[float, float] = (0.90, 1.10)  # per channel, uniform: a cast, brighter or darker
    offset: tuple[float, float] = (-12.0, 12.0)  # per channel, uniform, in grey levels
    shift_px: int = 2  # whole-tile shift, uniform in [-shift, shift] per axis
    noise: float = 2.0  # Gaussian sigma, grey levels
    patch: str = "repaint"  # none, repaint, blur, or either (a seeded coin)
    patch_fraction: float = 0.25  # patch side as a fraction of the tile
    patch_kept: bool = False  # the patch stays in the conditioning half (issue 12's own setting)

    def __post_init__(self) -> None:
        if self.patch not in PATCHES:
            raise ValueError(f"unknown patch {self.patch!r}: use one of {', '.join(PATCHES)}")

    @classmethod
    def none(cls) -> Disturbance:
        return cls(gain=(1.0, 1.0), offset=(0.0, 0.0), shift_px=0, noise=0.0, patch="none")


class PhotoOracle:
    """Step i of an extension (seed = first_seed + i) gets the truth's tile at that step, disturbed."""

    name = "photo-oracle"

    def __init__(
        self,
        truth: np.ndarray,
        start_length: int,
        contract: Contract,
        first_seed: int = 0,
        disturbance: Disturbance = Disturbance(),
    ) -> None:
        self.truth, self.start_length, self.contract = truth, start_length, contract
        self.first_seed, self.disturbance = first_seed, disturbance
        self.repainted: dict[int, tuple[slice, slice]] = {}  # step -> (rows, truth columns) of its patch
        margin = disturbance.shift_px
        self._padded = np.pad(truth, ((margin, margin), (margin, margin), (0, 0)), mode="reflect")

    def tile_origin(self, step: int) -> int:
        """Truth column of tile column 0 at step `step` (0-based)."""
        c = self.contract
        return self.start_length + step * c.advance - c.band

    def generate(self, request) -> np.ndarray:
        c, d = self.contract, self.disturbance
        step = request.seed - self.first_seed
        rng = seeded_rng(request.seed, "photo-oracle")
        dy, dx = rng.integers(-d.shift_px, d.shift_px + 1, size=2) if d.shift_px else (0, 0)
        x0 = self.tile_origin(step) + d.shift_px + int(dx)
        y0 = d.shift_px + int(dy)
        tile = self._padded[y0 : y0 + c.tile, x0 : x0 + c.tile].astype(np.float64)
        if x0 + c.tile > self._padded.shape[1]:
            raise ValueError("the panorama is too short for this many steps")

        band = to_frontier_right(np.asarray(request.reference), request.direction)[:, : c.band].astype(np.float64)
        true_band = self.truth[:, self.tile_origin(step) : self.tile_origin(step) + c.band].astype(np.float64)
        for ch, (a, b) in enumerate(follow_band(true_band, band, d.shift_px)):
            tile[..., ch] = a * tile[..., ch] + b

        tile = tile * rng.uniform(*d.gain, size=3) + rng.uniform(*d.offset, size=3)
        if d.noise:
            tile += rng.normal(0.0, d.noise, tile.shape)
        if d.patch != "none" and d.patch_fraction:
            rows, cols = self._patch(tile, rng)
            self.repainted[step] = (
                rows,
                slice(self.tile_origin(step) + cols.start, self.tile_origin(step) + cols.stop),
            )
        out = np.clip(np.rint(tile), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(from_frontier_right(out, request.direction))

    def _patch(self, tile: np.ndarray, rng: np.random.Generator) -> tuple[slice, slice]:
        """One patch across the overlap where the tile's content disagrees with the canvas; its box.
        It may reach into the new half by up to half its side (other content there, which drift then
        counts), unless `patch_kept` keeps it in the conditioning half."""
        c, d = self.contract, self.disturbance
        side = max(2, int(c.tile * d.patch_fraction))
        top = int(rng.integers(0, c.tile - side))
        left = int(rng.integers(max(0, c.patch_start - side // 2), c.band))
        box = (slice(top, top + side), slice(left, min(c.band if d.patch_kept else c.tile, left + side)))
        patch = tile[box]
        blur = rng.random() < 0.5 if d.patch == "either" else d.patch == "blur"
        if blur:
            tile[box] = np.asarray(
                Image.fromarray(np.clip(patch, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(side / 16)),
                dtype=np.float64,
            )
        else:  # repainted: the same place shows other content of the photo
            src = int(rng.integers(0, self.truth.shape[1] - patch.shape[1]))
            tile[box] = self.truth[top : top + side, src : src + patch.shape[1]]
        return box

    def repainted_pixels(self, shape: tuple[int, int]) -> np.ndarray:
        """(rows, truth columns) True where any step's patch lay, widened by the largest shift a tile
        can be moved by (registration.SEARCH_PX): content the oracle repainted, not a colour cast."""
        out = np.zeros(shape, bool)
        m = SEARCH_PX
        for rows, cols in self.repainted.values():
            out[max(0, rows.start - m) : rows.stop + m, max(0, cols.start - m) : cols.stop + m] = True
        return out
