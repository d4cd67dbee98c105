"""Previews: a picture of a canvas (or part of it) small enough to show an agent or a browser.

Why a cap in both bytes and pixels: clients refuse large inline images (Claude Desktop near 1 MiB,
Claude Code near 25k tokens) and a vision model sees no more than ~1568 px on a side anyway, while
a canvas can be 1024 x 65,536 px. A preview is scaled to fit the pixel cap first, then encoded as
PNG (exact when not scaled) and, if that is over the byte cap, as JPEG at falling qualities, then
smaller still until it fits. Large canvases are box-reduced a block of rows at a time, so a preview
never copies the whole canvas.

Also here: region boxes (x, y, width, height in canvas pixels) and the box that a run of steps
changed (`changed_box` from a size and a count, `steps_region` from the session's records, right
even when other clients acted in between), both in the user's orientation.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .errors import InputError, SessionError
from .geometry import Contract, frontier_right_shape, parse_direction, user_box

DEFAULT_MAX_SIDE = 1568
DEFAULT_MAX_BYTES = 700_000
FORMATS = ("auto", "png", "jpeg")
_JPEG_QUALITIES = (90, 80, 70, 55, 40)
_MIN_MAX_BYTES = 8_000
_BLOCK_PIXELS = 4 << 20


@dataclass(frozen=True)
class Box:
    """A rectangle of a canvas in the user's orientation, in pixels."""

    x: int
    y: int
    width: int
    height: int

    def to_dict(self) -> dict:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class Preview:
    data: bytes
    format: str  # "png" or "jpeg"
    width: int
    height: int
    box: Box  # the part of the canvas shown
    scale: float  # preview pixels per canvas pixel

    @property
    def mime_type(self) -> str:
        return f"image/{self.format}"


def check_box(box: Box, size: tuple[int, int]) -> Box:
    """Refuse a region that is empty or not inside a canvas of `size` (width, height)."""
    width, height = size
    values = (box.x, box.y, box.width, box.height)
    if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values):
        raise InputError(f"a region is four whole numbers of pixels (x, y, width, height), got {values}")
    if box.width < 1 or box.height < 1:
        raise InputError(f"a region needs a width and height of at least 1 px, got {box.width}x{box.height}")
    if box.x < 0 or box.y < 0 or box.x + box.width > width or box.y + box.height > height:
        raise InputError(
            f"the region x={box.x} y={box.y} width={box.width} height={box.height} is not inside the "
            f"{width}x{height} canvas: keep x+width <= {width} and y+height <= {height}"
        )
    return box


def crop(image: np.ndarray, box: Box) -> np.ndarray:
    """A view of `image` (H, W, ...) inside `box` (no copy)."""
    check_box(box, (image.shape[1], image.shape[0]))
    return image[box.y : box.y + box.height, box.x : box.x + box.width]


def changed_box(contract: Contract, direction: str, size_before: tuple[int, int], steps: int) -> Box:
    """The part of the canvas that `steps` committed steps in `direction` changed, in the user frame
    of the canvas after them: the first step's overlap plus every advance since."""
    if steps < 1:
        raise InputError(f"changed_box needs at least one step, got {steps}")
    width, height = size_before
    cross, length = frontier_right_shape((height, width), direction)[:2]
    after = length + steps * contract.advance
    r0, r1, c0, c1 = user_box((0, cross, max(0, length - contract.overlap), after), (cross, after), direction)
    return Box(int(c0), int(r0), int(c1 - c0), int(r1 - r0))


def steps_region(contract: Contract, records: list[dict], head: int, numbers) -> Box | None:
    """The box of the canvas at step `head` that the committed steps `numbers` changed, or None
    when none of them is in the canvas any more (undone since).

    Why from the records and not from a size before and a count: other clients may have grown or
    undone the session between (or during) a caller's steps. The canvas at `head` is the chain of
    committed steps from the source to it (each record's `parent`); walking it oldest first, each
    step moves what is already boxed (growth left or up shifts the old pixels) and adds its own
    patch (the overlap before its frontier and the new advance), from its recorded sizes."""
    by_number = {int(r["number"]): r for r in records}
    chain = []
    number = int(head)
    while number != 0:
        record = by_number.get(number)
        if record is None:
            raise SessionError(f"step {number} is not in the session's history: the history is damaged")
        chain.append(record)
        number = int(record["parent"])
    wanted = {int(n) for n in numbers}
    box: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 on the canvas after the step
    for record in reversed(chain):
        direction = parse_direction(record["direction"])
        (wb, hb), (wa, ha) = record["size_before"], record["size_after"]
        if box is not None:
            dx = wa - wb if direction == "x_rtl" else 0
            dy = ha - hb if direction == "y_btt" else 0
            box = (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)
        if int(record["number"]) in wanted:
            cross, before = frontier_right_shape((hb, wb), direction)[:2]
            after = frontier_right_shape((ha, wa), direction)[1]
            r0, r1, c0, c1 = user_box((0, cross, max(0, before - contract.overlap), after), (cross, after), direction)
            own = (int(c0), int(r0), int(c1), int(r1))
            box = (
                own
                if box is None
                else (min(box[0], own[0]), min(box[1], own[1]), max(box[2], own[2]), max(box[3], own[3]))
            )
    return None if box is None else Box(box[0], box[1], box[2] - box[0], box[3] - box[1])


def fit_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) scaled so the longer side is at most `max_side`, aspect kept, never enlarged."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def downscale(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """`image` resized to (width, height): a box reduce by a whole factor, a block of rows at a
    time, then one Lanczos resize for the rest. Never copies more than a block of the source."""
    src_h, src_w = image.shape[:2]
    if (src_w, src_h) == (width, height):
        return np.ascontiguousarray(image)
    factor = max(1, min(src_w // width, src_h // height))
    if factor > 1:
        rows_per_block = max(1, _BLOCK_PIXELS // (src_w * factor)) * factor
        parts = []
        for r0 in range(0, src_h, rows_per_block):
            block = np.ascontiguousarray(image[r0 : r0 + rows_per_block])
            parts.append(np.asarray(Image.fromarray(block).reduce(factor)))
        small = np.concatenate(parts, axis=0)
    else:
        small = np.ascontiguousarray(image)
    if small.shape[:2] == (height, width):
        return small
    return np.asarray(Image.fromarray(small).resize((width, height), Image.Resampling.LANCZOS))


def encode(image: np.ndarray, fmt: str, quality: int = 85) -> bytes:
    out = io.BytesIO()
    if fmt == "png":
        Image.fromarray(image).save(out, format="PNG", compress_level=6)
    else:
        Image.fromarray(image).save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _png_surely_too_big(image: np.ndarray, max_bytes: int) -> bool:
    """Estimate the PNG size from 4 strips holding an eighth of the rows, encoded fast; say so only
    when even a generous reading is well over the cap (so a PNG that would fit is always tried)."""
    height = image.shape[0]
    if image.size < 4 * max_bytes:  # small: just try it
        return False
    strip = max(1, height // 32)
    starts = [int(i * (height - strip) / 3) for i in range(4)]
    sample = np.concatenate([image[s : s + strip] for s in starts])
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(sample)).save(out, format="PNG", compress_level=1)
    return len(out.getvalue()) * height / len(sample) > 2 * max_bytes


def render_preview(
    image: np.ndarray,
    box: Box | None = None,
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    fmt: str = "auto",
) -> Preview:
    """A preview of `image` (or of `box` in it) with its longer side <= max_side and <= max_bytes.

    fmt: "png" (lossless, smaller in pixels if it must be), "jpeg", or "auto" (PNG if it fits, else
    JPEG). The result says which part of the canvas it shows and at what scale.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown preview format {fmt!r}: use one of {', '.join(FORMATS)}")
    if isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 16:
        raise InputError(f"the preview's longest side must be at least 16 px, got {max_side!r}")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < _MIN_MAX_BYTES:
        raise InputError(f"the preview byte cap must be at least {_MIN_MAX_BYTES}, got {max_bytes!r}")
    box = box or Box(0, 0, image.shape[1], image.shape[0])
    region = crop(image, box)
    width, height = fit_size(box.width, box.height, max_side)
    formats = ("png",) if fmt == "png" else ("jpeg",) if fmt == "jpeg" else ("png", "jpeg")
    while True:
        small = downscale(region, width, height)
        smallest = None
        for kind in formats:
            if kind == "png" and fmt == "auto" and _png_surely_too_big(small, max_bytes):
                continue  # a photograph's PNG is several times the cap: skip its slow encode
            for quality in _JPEG_QUALITIES if kind == "jpeg" else (0,):
                data = encode(small, kind, quality)
                if len(data) <= max_bytes:
                    return Preview(data, kind, width, height, box, width / box.width)
                smallest = len(data) if smallest is None else min(smallest, len(data))
        if width == 1 and height == 1:  # pragma: no cover - a 1 px image always fits the minimum cap
            raise InputError("cannot make a preview under the byte cap")
        smallest = smallest or max_bytes * 2
        shrink = max(0.5, min(0.9, math.sqrt(max_bytes / smallest) * 0.95))
        width, height = max(1, int(width * shrink)), max(1, int(height * shrink))
