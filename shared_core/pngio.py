"""Image files: a streaming PNG codec for the session's own canvases, Pillow for everything else.

Why our own PNG writer and reader: a panorama canvas can be 1024 x 65,536 pixels and more. Pillow
holds a whole image in memory at 4 bytes per RGB pixel and refuses images past its
decompression-bomb limit (about 89 Mpx, reached near step 170). Our codec streams blocks of rows
from a numpy view (no full copy, no turned copy) and reads straight into a caller's buffer, so the
session's memory stays near one canvas. It writes 8-bit RGB or grey PNGs with the Up filter, which
numpy can apply and undo a block at a time; it reads what it writes (and any PNG that uses only the
None/Sub/Up filters). Files from users go through Pillow with its bomb protection left on.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .atomic import atomic_write
from .errors import InputError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {3: 2, 2: 0}  # channels/ndim -> PNG colour type (2 = RGB, 0 = grey)
_BLOCK_BYTES = 4 << 20


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(image: np.ndarray, level: int = 1):
    """Yield the bytes of a PNG of `image` ((H, W) grey or (H, W, 3) RGB uint8, any strides)."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise InputError(f"can only write 8-bit grey or RGB images, got {image.dtype} {image.shape}")
    height, width = image.shape[:2]
    colour = 2 if image.ndim == 3 else 0
    yield PNG_SIGNATURE
    yield _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
    compressor = zlib.compressobj(level)
    row_bytes = max(1, width * (3 if colour == 2 else 1))
    block = max(1, _BLOCK_BYTES // row_bytes)
    previous = np.zeros((1,) + image.shape[1:], dtype=np.uint8)
    for r0 in range(0, height, block):
        rows = np.array(image[r0 : r0 + block])  # a contiguous copy of one block of rows
        filtered = np.empty((len(rows), 1 + row_bytes), dtype=np.uint8)
        filtered[:, 0] = 2  # Up: each row minus the row above, mod 256
        body = filtered[:, 1:].reshape(rows.shape)
        np.subtract(rows[:1], previous, out=body[:1])
        np.subtract(rows[1:], rows[:-1], out=body[1:])
        previous = rows[-1:]
        data = compressor.compress(filtered.tobytes())
        if data:
            yield _chunk(b"IDAT", data)
    yield _chunk(b"IDAT", compressor.flush())
    yield _chunk(b"IEND", b"")


def write_png(path: str | os.PathLike, image: np.ndarray, level: int = 1) -> Path:
    """Write atomically: the file either does not exist or is complete (see atomic.py)."""
    return atomic_write(path, encode_png(image, level))


def png_bytes(image: np.ndarray, level: int = 6) -> bytes:
    return b"".join(encode_png(image, level))


def png_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) from a PNG header without reading the pixels."""
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise InputError(f"{path} is not a PNG file (or is cut short)")
    return struct.unpack(">II", head[16:24])


def read_png_into(path: str | os.PathLike, out: np.ndarray | None = None) -> np.ndarray:
    """Decode one of our PNGs (8-bit grey/RGB, filters None/Sub/Up) straight into `out`.

    `out` may be any writable view of the right shape (e.g. a turned view of a larger buffer);
    without it a new array is made. Other PNGs are refused, with a message that says so.
    """
    path = Path(path)
    try:
        return _read_png_into(path, out)
    except InputError:
        raise
    except (zlib.error, struct.error, ValueError) as bad:  # a damaged file, not a bug: say which
        raise InputError(f"{path} is damaged ({bad})") from None


def _read_png_into(path: Path, out: np.ndarray | None) -> np.ndarray:
    with open(path, "rb") as f:
        if f.read(8) != PNG_SIGNATURE:
            raise InputError(f"{path} is not a PNG file")
        width: int | None = None
        height = 0
        channels = 0
        decompressor = zlib.decompressobj()
        pending = b""
        row = 0
        previous = np.zeros(0, dtype=np.uint8)  # the row above the first: set from the header
        while True:
            header = f.read(8)
            if len(header) < 8:
                raise InputError(f"{path} is truncated (no IEND chunk)")
            length, kind = struct.unpack(">I4s", header)
            data = f.read(length)
            f.read(4)
            if kind == b"IHDR":
                width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data)
                if depth != 8 or colour not in (0, 2) or interlace:
                    raise InputError(f"{path} is not an 8-bit grey/RGB non-interlaced PNG written by exquisite")
                channels = 3 if colour == 2 else 1
                shape = (height, width, 3) if channels == 3 else (height, width)
                if out is None:
                    out = np.empty(shape, dtype=np.uint8)
                elif out.shape != shape:
                    raise InputError(f"{path} is {width}x{height}, expected {out.shape[1]}x{out.shape[0]}")
                row_bytes = width * channels
                previous = np.zeros(row_bytes, dtype=np.uint8)
            elif kind == b"IDAT":
                if width is None or out is None:
                    raise InputError(f"{path} has pixel data before its header")
                pending += decompressor.decompress(data)
                count = min(len(pending) // (row_bytes + 1), height - row)
                if count:
                    rows = np.frombuffer(pending, dtype=np.uint8, count=count * (row_bytes + 1))
                    rows = rows.reshape(count, row_bytes + 1)
                    recon = _unfilter(rows, previous, channels, path)
                    out[row : row + count] = recon.reshape((count,) + out.shape[1:])
                    previous = recon[-1]
                    row += count
                    pending = pending[count * (row_bytes + 1) :]
            elif kind == b"IEND":
                break
        if width is None or out is None or row != height:
            raise InputError(f"{path} is truncated: {row} of {height} rows")
    return out


def _unfilter(rows: np.ndarray, previous: np.ndarray, channels: int, path) -> np.ndarray:
    filters = rows[:, 0]
    body = rows[:, 1:]
    if (filters == 2).all():  # Up everywhere: a running sum down the rows, mod 256
        stacked = np.concatenate([previous[None], body])
        return np.cumsum(stacked, axis=0, dtype=np.uint8)[1:]
    out = np.empty_like(body)
    for i, kind in enumerate(filters):
        if kind == 0:
            out[i] = body[i]
        elif kind == 1:
            out[i] = np.cumsum(body[i].reshape(-1, channels), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:
            out[i] = body[i] + previous
        else:
            raise InputError(f"{path} uses a PNG filter exquisite does not write; it is not a session file")
        previous = out[i]
    return out


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A user's image file as RGB uint8, upright (EXIF orientation applied), alpha dropped.

    Pillow's decompression-bomb limit stays on: a file claiming more pixels than Pillow allows is
    refused with a clear message, whatever it is.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no image file at {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im = ImageOps.exif_transpose(im)
                array = _as_rgb8(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as bomb:
        raise InputError(f"{path} is too large to open safely ({bomb}); reduce it first") from None
    except (OSError, SyntaxError, ValueError) as bad:
        raise InputError(f"cannot read {path} as an image: {bad}") from None
    return array


_WIDE_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N")  # how Pillow opens 16-bit grey PNGs


def _as_rgb8(im: Image.Image) -> np.ndarray:
    """RGB uint8 from any Pillow image. Pillow's own convert("RGB") clips 16-bit grey at 255 (almost
    every pixel of a 16-bit greyscale PNG turns white), so wide grey is scaled to 8 bits here."""
    if im.mode == "RGB":
        return np.asarray(im)
    if im.mode in _WIDE_GREY_MODES:
        wide = np.clip(np.asarray(im, dtype=np.int64), 0, 65535)
        grey = ((wide * 255 + 32767) // 65535).astype(np.uint8)  # 0..65535 -> 0..255, rounded
        return np.repeat(grey[:, :, None], 3, axis=2)
    return np.asarray(im.convert("RGB"))


def decode_image_bytes(data: bytes, what: str = "image") -> np.ndarray:
    """Decode image bytes (e.g. a backend's answer) to RGB uint8, with Pillow's protections on."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                return _as_rgb8(im)
    except Image.UnidentifiedImageError:  # its message quotes a Python object, not the data
        raise InputError(
            f"the {what} is not a readable image (not a format Pillow knows): give PNG, JPEG or WebP bytes"
        ) from None
    except Exception as bad:  # Pillow raises many kinds for broken data
        raise InputError(f"the {what} is not a readable image ({type(bad).__name__}: {bad})") from None
