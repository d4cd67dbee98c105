"""The growth contract: where the band is cut, where the tile goes, how much the canvas grows.

This module is the single source of truth for geometry. Everything in it works in ONE frame, the
*frontier-right frame*: the canvas is turned (never mirrored) so that it grows to the right, with
shape (cross, length, channels). `to_frontier_right` and `from_frontier_right` are the only place the
four directions differ; they return numpy views, so writing through a turned view writes the canvas.

Names: an array in the frontier-right frame is called `turned_*` (turned_canvas, turned_band,
turned_tile, turned_mask, turned_shape, turned_box) and a GrowingCanvas shows it as
`canvas.frontier_right`; an array without the prefix is in the user's orientation, as the user and
every generator see it.

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

Across the growth axis (the frontier-right frame's rows) the edge of C rows is covered by k tiles,
each keeping the contract above along the growth axis. With a cross overlap X (`cross_overlap`,
default T / 4 = 256 at T = 1024; 0 <= X < T):

    k                 = 1 if C <= T, else the fewest with k*T - (k-1)*X >= C: ceil((C - X) / (T - X))
    origin s_i        = floor(i * (C - T) / (k - 1)), i = 0 .. k-1   (s_0 = 0, s_{k-1} = C - T)
    tile i's rows     = canvas rows [s_i, s_i + T)          (neighbours overlap by T - (s_i - s_{i-1}) >= X)
    joint rows        = tile i's first X_i = s_{i-1} + T - s_i rows (X_0 = 0): rows already generated
                        by the tiles before it, which its reference carries and its mask marks
                        fixed-to-free (see mask.frontier_mask); the glue blends tile i over them
    C == T            one tile at 0, X_0 = 0: exactly the single-tile contract above
    C <  T            one tile at 0; the band's C rows are padded across to T rows with the fill,
                      the tile's first C rows are glued, the rest cropped: the canvas keeps C rows

Tiles are generated in order i = 0 .. k-1 (top to bottom in this frame); `frontier_tiles` is the
only place these rules are computed.
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


def user_box(turned_box: tuple[int, int, int, int], turned_shape: tuple[int, int], direction: str):
    """Map a box (row0, row1, col0, col1) of the frontier-right frame to the user's frame.

    Turning maps rectangles to rectangles; the corners are carried through the same quarter turns
    numpy applies, so this stays correct for every direction without a case per direction.
    """
    r0, r1, c0, c1 = turned_box
    rows, cols = turned_shape
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
    cross_overlap: int = None  # type: ignore[assignment]  # None = tile // 4, set in __post_init__
    """Rows neighbouring tiles of one frontier share at least; None means tile // 4 (256 at 1024)."""

    def __post_init__(self) -> None:
        if self.cross_overlap is None and isinstance(self.tile, (int, np.integer)):
            object.__setattr__(self, "cross_overlap", int(self.tile) // 4)
        for name in ("tile", "band", "overlap", "advance", "cross_overlap"):
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
        if not 0 <= self.cross_overlap < self.tile:
            raise ContractError(
                f"cross_overlap must be between 0 and tile - 1 ({self.tile - 1}) so that neighbouring "
                f"tiles of a frontier move on (got cross_overlap={self.cross_overlap})"
            )

    @classmethod
    def legacy(cls) -> Contract:
        """Contract 1: the 768 px patch pasted at frontier - 256."""
        return cls(overlap=256)

    @classmethod
    def from_dict(cls, data: dict) -> Contract:
        """A contract from `to_dict`; a dict without cross_overlap (sessions made before multi-tile
        frontiers, whose canvases were one tile across) gets the default."""
        unknown = set(data) - {"tile", "band", "overlap", "advance", "cross_overlap"}
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


@dataclass(frozen=True)
class FrontierTile:
    """One tile of a frontier: its place across the edge (frontier-right rows)."""

    index: int  # 0-based, the order of generation
    count: int  # k, tiles in this frontier
    cross_start: int  # s_i: canvas row of tile row 0
    rows: int  # canvas rows the tile covers: min(T, C)
    joint: int  # X_i: its first rows that lie on tiles before it (0 for the first)

    def to_dict(self) -> dict:
        return asdict(self)


def frontier_cross_starts(cross: int, contract: Contract) -> list[int]:
    """Tile origins s_i across an edge of `cross` rows (see the module docstring's table)."""
    if isinstance(cross, bool) or not isinstance(cross, (int, np.integer)) or cross < 1:
        raise ContractError(f"the edge to grow must be at least 1 px long, got {cross!r}")
    tile, step = contract.tile, contract.tile - contract.cross_overlap
    if cross <= tile:
        return [0]
    count = -(-(cross - contract.cross_overlap) // step)
    return [i * (cross - tile) // (count - 1) for i in range(count)]


def frontier_tiles(cross: int, contract: Contract) -> list[FrontierTile]:
    """The k tiles covering an edge of `cross` rows, in generation order."""
    starts = frontier_cross_starts(cross, contract)
    rows = min(contract.tile, int(cross))
    return [
        FrontierTile(i, len(starts), int(s), rows, 0 if i == 0 else int(starts[i - 1] + rows - s))
        for i, s in enumerate(starts)
    ]


def check_canvas(turned_shape: tuple[int, ...], contract: Contract) -> None:
    """Refuse a canvas (given by its frontier-right shape) that this contract cannot extend."""
    cross, length = turned_shape[0], turned_shape[1]
    frontier_cross_starts(cross, contract)
    if length < contract.band:
        raise ContractError(
            f"the canvas is {length} px along the growth axis, shorter than the {contract.band} px "
            f"band: give a larger image or fit it"
        )


def extract_band(turned_canvas: np.ndarray, contract: Contract, cross_start: int = 0) -> np.ndarray:
    """The last B columns of the canvas at the frontier (a view), rows of one tile (fewer when the
    edge is shorter than a tile)."""
    check_canvas(turned_canvas.shape, contract)
    length = turned_canvas.shape[1]
    return turned_canvas[cross_start : cross_start + contract.tile, length - contract.band : length]


def _filled(shape: tuple[int, ...], source: np.ndarray, fill: str, axis: int) -> np.ndarray:
    """`shape` pixels continuing `source` past its end along `axis` with a named fill."""
    if fill in ("gray", "black", "white"):
        return np.full(shape, {"gray": 128, "black": 0, "white": 255}[fill], dtype=np.uint8)
    size = shape[axis]
    if fill == "edge":
        last = np.take(source, [-1], axis=axis)
        return np.repeat(last, size, axis=axis)
    # mirror: reflect at the end, repeating the reflection if more is needed
    reflected = np.flip(source, axis=axis)
    reps = -(-size // source.shape[axis])
    return np.take(np.concatenate([reflected, source] * reps, axis=axis), np.arange(size), axis=axis)


def pad_across(turned_band: np.ndarray, contract: Contract, fill: str = "gray") -> np.ndarray:
    """A band of C < T rows padded to T rows with `fill` (edge: the last row repeated; mirror: the
    rows reflected), so that an edge shorter than a tile still gets a whole reference tile."""
    if fill not in FILLS:
        raise ContractError(f"unknown fill {fill!r}: use one of {', '.join(FILLS)}")
    missing = contract.tile - turned_band.shape[0]
    if missing <= 0:
        return turned_band
    pad = _filled((missing,) + turned_band.shape[1:], turned_band, fill, axis=0)
    return np.concatenate([turned_band, pad], axis=0)


def pack_reference(turned_band: np.ndarray, contract: Contract, fill: str = "gray") -> np.ndarray:
    """The reference tile: the band in the conditioning half, the new half filled by `fill`.

    Fills: gray (128, as ComfyUI pads), edge (the frontier column repeated), mirror (the band
    reflected at the frontier), black, white. A band of fewer than T rows (an edge shorter than a
    tile) is first padded across with the same fill (`pad_across`).
    """
    if fill not in FILLS:
        raise ContractError(f"unknown fill {fill!r}: use one of {', '.join(FILLS)}")
    if not 1 <= turned_band.shape[0] <= contract.tile or turned_band.shape[1] != contract.band:
        raise ContractError(
            f"the band is {turned_band.shape[1]}x{turned_band.shape[0]} (length x cross) but the contract "
            f"needs {contract.band}x{contract.tile} (or fewer rows across)"
        )
    turned_band = pad_across(turned_band, contract, fill)
    tile = np.empty((contract.tile, contract.tile) + turned_band.shape[2:], dtype=np.uint8)
    tile[:, : contract.band] = turned_band
    tile[:, contract.band :] = _filled(
        (contract.tile, contract.advance) + turned_band.shape[2:], turned_band, fill, axis=1
    )
    return tile


def fit_canvas(image: np.ndarray, direction: str, contract: Contract, max_pixels: int | None = None) -> np.ndarray:
    """Scale `image` (user frame) so its cross dimension equals the tile, keeping the aspect ratio.

    Optional since frontiers of several tiles: a canvas of any size can grow. `max_pixels` refuses,
    before anything is resized, a fit that would make a canvas larger than that (a 2000x4 strip
    fitted to 1024 px across would be 512,000 px long).
    """
    turned_shape = frontier_right_shape(image.shape, direction)
    cross, length = turned_shape[0], turned_shape[1]
    new_length = max(1, round(length * contract.tile / cross))
    if new_length < contract.band:
        raise ContractError(
            f"fitted to {contract.tile} px across, the image would be {new_length} px along the growth "
            f"axis, shorter than the {contract.band} px band: crop it less or pick another direction"
        )
    if max_pixels is not None and new_length * contract.tile > max_pixels:
        raise ContractError(
            f"fitted to {contract.tile} px across, this {image.shape[1]}x{image.shape[0]} image would be "
            f"{new_length * contract.tile / 1e6:,.0f} Mpx, over the {max_pixels / 1e6:,.0f} Mpx canvas limit: "
            f"open it without fit (full resolution) or crop it"
        )
    if (cross, length) == (contract.tile, new_length):
        return image
    width, height = (
        (new_length, contract.tile) if parse_direction(direction).startswith("x") else (contract.tile, new_length)
    )
    resample = Image.Resampling.LANCZOS if cross > contract.tile else Image.Resampling.BICUBIC
    return np.asarray(Image.fromarray(image).resize((width, height), resample))
