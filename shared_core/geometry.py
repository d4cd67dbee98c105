"""The growth contract: where the band is cut, where the tile goes, how much the canvas grows.

This module is the single source of truth for geometry. Everything in it works in ONE frame, the
*frontier-right frame*: the canvas is turned (never mirrored) so that it grows to the right, with
shape (cross, length, channels). `to_frontier_right` and `from_frontier_right` are the only place the
four directions differ; they return numpy views, so writing through a turned view writes the canvas.

In that frame, with a contract (tile T, band B, overlap O, advance A):

    canvas columns  [0 ............ L-B ..... L-O ........ L) [L ........ L+A)
                                     |<-- band B -->|           |<- new A ->|
    tile columns                     0 ...... B-O ....... B ............ T
                                     |<- conditioning half ->|<- new half ->|

* the band is the last B columns of the canvas; it is packed into the tile's first B columns
  (the conditioning half), the new half (A columns) is filled with a named fill;
* tile column c lies on canvas column L - B + c, always: the tile is glued so that its conditioning
  half lies exactly on the band;
* the tile's columns [B - O, T) are pasted (blended over the canvas on the first O of them), at
  canvas column L - O; the canvas grows from L to L + A.

Contract 2 (the default) is T=1024, B=512, O=512, A=512: the whole tile is pasted, no trimming.
Contract 1 (legacy) is the same with O=256: the 768 px patch tile[256:] is pasted at L - 256.

Across the growth axis a tile covers canvas rows [cross_start, cross_start + T). Today a canvas's
cross dimension must equal T (`frontier_cross_starts` says so); a wider frontier covered by several
overlapping tiles only needs that function to return more starts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from .errors import ContractError

DIRECTIONS = ("x_ltr", "x_rtl", "y_ttb", "y_btt")
DIRECTION_ALIASES = {"right": "x_ltr", "left": "x_rtl", "down": "y_ttb", "up": "y_btt"}
DIRECTION_WORDS = {"x_ltr": "right", "x_rtl": "left", "y_ttb": "down", "y_btt": "up"}

# Quarter turns (numpy rot90, counter-clockwise) that bring each direction's frontier to the right.
_TURNS = {"x_ltr": 0, "y_ttb": 1, "x_rtl": 2, "y_btt": 3}

FILLS = ("gray", "edge", "mirror", "black", "white")


def parse_direction(direction: str) -> str:
    """Return the canonical name of a direction; accept right/left/down/up as aliases."""
    key = str(direction).strip().lower()
    key = DIRECTION_ALIASES.get(key, key)
    if key not in _TURNS:
        choices = ", ".join(f"{d} ({DIRECTION_WORDS[d]})" for d in DIRECTIONS)
        raise ContractError(f"unknown direction {direction!r}: use one of {choices}")
    return key


def to_frontier_right(image: np.ndarray, direction: str) -> np.ndarray:
    """A view of `image` turned so that its growth frontier is its right edge."""
    return np.rot90(image, _TURNS[parse_direction(direction)])


def from_frontier_right(image: np.ndarray, direction: str) -> np.ndarray:
    """The inverse turn of `to_frontier_right`: back to the user's orientation (a view)."""
    return np.rot90(image, -_TURNS[parse_direction(direction)])


def frontier_right_shape(shape: tuple[int, ...], direction: str) -> tuple[int, ...]:
    """The (cross, length, ...) shape an image of user shape `shape` has in the frontier-right frame."""
    if _TURNS[parse_direction(direction)] % 2:
        return (shape[1], shape[0]) + tuple(shape[2:])
    return tuple(shape)


def user_shape(norm_shape: tuple[int, ...], direction: str) -> tuple[int, ...]:
    """The user-orientation shape of an image whose frontier-right shape is `norm_shape`."""
    return frontier_right_shape(norm_shape, direction)  # a quarter turn is its own shape inverse


def user_box(norm_box: tuple[int, int, int, int], norm_shape: tuple[int, int], direction: str):
    """Map a box (row0, row1, col0, col1) of the frontier-right frame to the user's frame.

    Turning maps rectangles to rectangles; the corners are carried through the same quarter turns
    numpy applies, so this stays correct for every direction without a case per direction.
    """
    r0, r1, c0, c1 = norm_box
    rows, cols = norm_shape
    turns = (-_TURNS[parse_direction(direction)]) % 4
    for _ in range(turns):  # one counter-clockwise turn: (r, c) in (rows, cols) -> (cols-1-c, r)
        r0, r1, c0, c1 = cols - c1, cols - c0, r0, r1
        rows, cols = cols, rows
    return r0, r1, c0, c1


@dataclass(frozen=True)
class Contract:
    """Tile, band, overlap and advance in pixels; see the module docstring for what each means."""

    tile: int = 1024
    band: int = 512
    overlap: int = 512
    advance: int = 512

    def __post_init__(self) -> None:
        for name in ("tile", "band", "overlap", "advance"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ContractError(f"contract {name} must be a whole number of pixels, got {value!r}")
        if self.tile <= 0 or self.band <= 0 or self.advance <= 0:
            raise ContractError(
                f"tile, band and advance must be positive (got tile={self.tile}, band={self.band}, "
                f"advance={self.advance})"
            )
        if self.band + self.advance != self.tile:
            raise ContractError(
                f"the band fills the tile's conditioning half, so band + advance must equal tile "
                f"(got {self.band} + {self.advance} != {self.tile})"
            )
        if not 0 <= self.overlap <= self.band:
            raise ContractError(
                f"overlap must be between 0 and the band ({self.band}) because only the band lies "
                f"under the tile (got overlap={self.overlap})"
            )

    @classmethod
    def legacy(cls) -> "Contract":
        """Contract 1: the 768 px patch pasted at frontier - 256."""
        return cls(overlap=256)

    @classmethod
    def from_dict(cls, data: dict) -> "Contract":
        unknown = set(data) - {"tile", "band", "overlap", "advance"}
        if unknown:
            raise ContractError(f"unknown contract fields {sorted(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict:
        return {k: int(v) for k, v in asdict(self).items()}

    @property
    def patch_start(self) -> int:
        """First tile column that is pasted: B - O (0 under Contract 2, nothing trimmed)."""
        return self.band - self.overlap

    def paste_origin(self, length: int) -> int:
        """Canvas column (frontier-right frame) where the pasted patch starts: L - O."""
        return length - self.overlap

    def tile_origin(self, length: int) -> int:
        """Canvas column that tile column 0 lies on: L - B."""
        return length - self.band

    def next_length(self, length: int) -> int:
        """Length of the canvas along the growth axis after one step."""
        return length + self.advance

    def next_user_size(self, width: int, height: int, direction: str) -> tuple[int, int]:
        """(width, height) of the next canvas in the user's frame."""
        if parse_direction(direction).startswith("x"):
            return width + self.advance, height
        return width, height + self.advance


def frontier_cross_starts(cross: int, contract: Contract) -> list[int]:
    """Where tiles start across the growth axis; today exactly one tile must cover the frontier."""
    if cross != contract.tile:
        raise ContractError(
            f"the canvas is {cross} px across the growth axis but a tile is {contract.tile} px: "
            f"fit the canvas first (the `fit` option scales it to {contract.tile} px, aspect kept)"
        )
    return [0]


def check_canvas(norm_shape: tuple[int, ...], contract: Contract) -> None:
    """Refuse a canvas (given by its frontier-right shape) that this contract cannot extend."""
    cross, length = norm_shape[0], norm_shape[1]
    frontier_cross_starts(cross, contract)
    if length < contract.band:
        raise ContractError(
            f"the canvas is {length} px along the growth axis, shorter than the {contract.band} px "
            f"band: give a larger image or fit it"
        )


def extract_band(norm_canvas: np.ndarray, contract: Contract, cross_start: int = 0) -> np.ndarray:
    """The last B columns of the canvas at the frontier (a view), rows of one tile."""
    check_canvas(norm_canvas.shape, contract)
    length = norm_canvas.shape[1]
    return norm_canvas[cross_start:cross_start + contract.tile, length - contract.band:length]


def pack_reference(norm_band: np.ndarray, contract: Contract, fill: str = "gray") -> np.ndarray:
    """The reference tile: the band in the conditioning half, the new half filled by `fill`.

    Fills: gray (128, as ComfyUI pads), edge (the frontier column repeated), mirror (the band
    reflected at the frontier), black, white.
    """
    if fill not in FILLS:
        raise ContractError(f"unknown fill {fill!r}: use one of {', '.join(FILLS)}")
    if norm_band.shape[:2] != (contract.tile, contract.band):
        raise ContractError(
            f"the band is {norm_band.shape[1]}x{norm_band.shape[0]} (length x cross) but the contract "
            f"needs {contract.band}x{contract.tile}"
        )
    tile = np.empty((contract.tile, contract.tile) + norm_band.shape[2:], dtype=np.uint8)
    tile[:, :contract.band] = norm_band
    new = tile[:, contract.band:]
    if fill == "gray":
        new[...] = 128
    elif fill == "black":
        new[...] = 0
    elif fill == "white":
        new[...] = 255
    elif fill == "edge":
        new[...] = norm_band[:, -1:]
    else:  # mirror: reflect the band at the frontier, repeating the reflection if the new half is wider
        reflected = norm_band[:, ::-1]
        reps = -(-contract.advance // contract.band)
        new[...] = np.concatenate([reflected, norm_band] * reps, axis=1)[:, :contract.advance]
    return tile


def fit_canvas(image: np.ndarray, direction: str, contract: Contract) -> np.ndarray:
    """Scale `image` (user frame) so its cross dimension equals the tile, keeping the aspect ratio."""
    norm_shape = frontier_right_shape(image.shape, direction)
    cross, length = norm_shape[0], norm_shape[1]
    new_length = max(1, round(length * contract.tile / cross))
    if new_length < contract.band:
        raise ContractError(
            f"fitted to {contract.tile} px across, the image would be {new_length} px along the growth "
            f"axis, shorter than the {contract.band} px band: crop it less or pick another direction"
        )
    if (cross, length) == (contract.tile, new_length):
        return image
    width, height = (new_length, contract.tile) if parse_direction(direction).startswith("x") else (
        contract.tile, new_length)
    resample = Image.Resampling.LANCZOS if cross > contract.tile else Image.Resampling.BICUBIC
    return np.asarray(Image.fromarray(image).resize((width, height), resample))
