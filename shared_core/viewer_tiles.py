"""Deep-zoom tiles of a canvas PNG, made on demand, so a 1024 x 65,536 panorama pans smoothly.

Why a pyramid and not the PNG: a browser asked to scale a 65,536 px image decodes all of it (200 MB)
on every zoom. Here the canvas is decoded once by the streaming reader into a memory-mapped file in
a temporary folder (never in the session), halved level by level, and served as 256 px JPEG tiles
in the numbering OpenSeadragon uses (level `max_level` is full size, each level below is half the
one above, level 0 is one pixel). A file's pyramid is keyed by its inode, size and mtime (a file
replaced gets a new one); a canvas the viewer rendered from the steps (viewer_canvas.py) is kept
under its own key; the few most recently used are kept.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import InputError
from .pngio import png_bytes, png_size, read_png_into

TILE_SIZE = 256
_BLOCK_BYTES = 32 << 20  # working memory of one block of rows while halving
MAX_CROP_PIXELS = 16 << 20


def max_level(width: int, height: int) -> int:
    return max(0, math.ceil(math.log2(max(width, height, 1))))


def _halve(src: np.ndarray, dst: np.ndarray) -> None:
    """dst = src halved (2x2 means; an odd last row/column is repeated), a block of rows at a time."""
    h, w = src.shape[:2]
    block = max(1, _BLOCK_BYTES // (2 * w * 3 * 2 * 2))  # destination rows per block (uint16 copies)
    for top in range(0, dst.shape[0], block):
        rows = src[2 * top : min(h, 2 * (top + block))].astype(np.uint16)
        if rows.shape[0] % 2:
            rows = np.concatenate([rows, rows[-1:]], axis=0)
        if w % 2:
            rows = np.concatenate([rows, rows[:, -1:]], axis=1)
        summed = rows[0::2, 0::2] + rows[1::2, 0::2] + rows[0::2, 1::2] + rows[1::2, 1::2]
        dst[top : top + summed.shape[0]] = ((summed + 2) // 4).astype(np.uint8)


class Pyramid:
    """Every level of one canvas, in memory-mapped files under `folder`."""

    def __init__(self, path: Path, folder: Path) -> None:
        full = self._begin(folder, *(int(v) for v in png_size(path)))
        try:
            read_png_into(path, full)  # straight into the mapped file: no second copy in memory
        except InputError:  # a grey PNG (not a canvas the session writes, but readable)
            full[:] = read_png_into(path)[..., None]

    @classmethod
    def of_image(cls, image: np.ndarray, folder: Path) -> Pyramid:
        """The pyramid of a canvas already in memory (one the viewer rendered from the steps)."""
        pyramid = cls.__new__(cls)
        pyramid._begin(folder, image.shape[1], image.shape[0])[:] = image
        return pyramid

    def _begin(self, folder: Path, width: int, height: int) -> np.ndarray:
        """The full-size level: a mapped file in `folder` (never the session's) to fill."""
        self.width, self.height = width, height
        self.max_level = max_level(width, height)
        self.folder = folder
        full = np.lib.format.open_memmap(folder / "0.npy", mode="w+", dtype=np.uint8, shape=(height, width, 3))
        self.levels = [full]  # levels[d]: scale 1 / 2**d, halved on first use (a crop needs none)
        self._lock = threading.Lock()
        return full

    def level(self, depth: int) -> np.ndarray:
        with self._lock:
            while len(self.levels) <= depth:
                h, w = self.levels[-1].shape[:2]
                nxt = np.lib.format.open_memmap(
                    self.folder / f"{len(self.levels)}.npy",
                    mode="w+",
                    dtype=np.uint8,
                    shape=((h + 1) // 2, (w + 1) // 2, 3),
                )
                _halve(self.levels[-1], nxt)
                self.levels.append(nxt)
            return self.levels[depth]

    def info(self) -> dict:
        return {"width": self.width, "height": self.height, "tile_size": TILE_SIZE, "max_level": self.max_level}

    def tile(self, level: int, col: int, row: int) -> bytes:
        """The JPEG of tile (col, row) at `level`; InputError when it does not exist."""
        depth = self.max_level - level
        if not 0 <= depth <= self.max_level:
            raise InputError(f"no level {level}: levels run from 0 to {self.max_level}")
        image = self.level(depth)
        h, w = image.shape[:2]
        x, y = col * TILE_SIZE, row * TILE_SIZE
        if col < 0 or row < 0 or x >= w or y >= h:
            raise InputError(f"no tile {col},{row} at level {level}")
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(image[y : y + TILE_SIZE, x : x + TILE_SIZE])).save(
            buffer, "JPEG", quality=88
        )
        return buffer.getvalue()

    def crop(self, box: tuple[int, int, int, int]) -> bytes:
        """A full-resolution PNG of [x, y, w, h] clipped to the canvas (the step view's window)."""
        x, y, w, h = box
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.width, x + w), min(self.height, y + h)
        if x1 <= x0 or y1 <= y0:
            raise InputError(f"the box {list(box)} is outside the {self.width}x{self.height} canvas")
        if (x1 - x0) * (y1 - y0) > MAX_CROP_PIXELS:
            raise InputError(f"the box {list(box)} is larger than {MAX_CROP_PIXELS} pixels: ask for less")
        return png_bytes(np.ascontiguousarray(self.levels[0][y0:y1, x0:x1]), level=1)

    def close(self) -> None:
        """Remove the files; a tile being cut from them right now still reads its mapping."""
        shutil.rmtree(self.folder, ignore_errors=True)


class PyramidCache:
    """The most recently used pyramids, built once each even when many tiles are asked at once."""

    def __init__(self, keep: int = 3) -> None:
        self.keep = keep
        self._items: OrderedDict[tuple, Pyramid] = OrderedDict()
        self._building: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()
        self._root: Path | None = None  # made on first use; removed by close() or at exit

    def _folder(self) -> Path:
        with self._lock:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="exquisite-viewer-"))
                self._cleanup = weakref.finalize(self, shutil.rmtree, self._root, ignore_errors=True)
            return Path(tempfile.mkdtemp(dir=self._root))

    def get(self, path: Path) -> Pyramid:
        """The pyramid of a PNG file, keyed by what changes when the file is replaced."""
        st = os.stat(path)
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        return self.get_built(key, lambda folder: Pyramid(path, folder))

    def get_built(self, key: tuple, build: Callable[[Path], Pyramid]) -> Pyramid:
        """The pyramid under `key`, made by `build(empty temporary folder)` if it is not kept."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            folder = self._folder()
            try:
                pyramid = build(folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            with self._lock:
                self._items[key] = pyramid
                self._building.pop(key, None)
                while len(self._items) > self.keep:
                    _, old = self._items.popitem(last=False)
                    old.close()
        return pyramid

    def close(self) -> None:
        with self._lock:
            for pyramid in self._items.values():
                pyramid.close()
            self._items.clear()
            if self._root is not None:
                self._cleanup()
                self._root = None
