"""The generator protocol: one reference tile and one mask in, one tile out.

A step asks exactly one generator for exactly one tile (no best-of-N). Everything a generator sees is
in the user's orientation (the band lies where it lies on the canvas), so a model is never shown a
turned or mirrored picture. A generator signals failure by raising `GenerationError` with a reason a
user can act on; the session turns that into a rejected step. Backends register a factory under a
name so that every face (CLI, ComfyUI node, MCP tool) can pick any of them by that name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol
from collections.abc import Callable

import numpy as np

from .errors import GenerationError, InputError

ProgressCallback = Callable[[float, str], None]
"""progress(fraction 0..1, message): a generator may call it while it works; callers may ignore it."""


@dataclass(frozen=True)
class TileRequest:
    """What a generator is asked to do, in the user's orientation.

    reference: (T, T, 3) uint8, the band in its conditioning half and a named fill in the new half.
    mask: (T, T) float32 in 0..1, 1 = free (generate here), 0 = fixed (keep), soft values meaningful.
    """

    reference: np.ndarray
    mask: np.ndarray
    prompt: str = ""
    seed: int = 0
    direction: str = "x_ltr"
    progress: ProgressCallback | None = field(default=None, compare=False)

    def report(self, fraction: float, message: str) -> None:
        if self.progress is not None:
            self.progress(float(fraction), message)


class Generator(Protocol):
    """Anything with a name, the traits below, and `generate(request) -> (T, T, 3) uint8 tile`.

    The traits are what the faces need to know before they call: `default_blend` is the blend a
    step uses unless the user chose one (None: the session's own; openai says "mask" because GPT
    image models repaint pixels the mask keeps), `paid` says a call may cost money, `remote` that it
    leaves this machine (both: log every call, never repeat one silently).
    """

    name: str

    @property
    def default_blend(self) -> str | None: ...

    @property
    def paid(self) -> bool: ...

    @property
    def remote(self) -> bool: ...

    def generate(self, request: TileRequest) -> np.ndarray: ...


UNDECLARED_TRAITS = {"default_blend": None, "paid": True, "remote": True}
"""What a registered backend that does not declare its traits is taken to be: the cautious choice."""

GeneratorFactory = Callable[..., Generator]
_REGISTRY: dict[str, GeneratorFactory] = {}


def register(name: str, factory: GeneratorFactory) -> None:
    """Make a backend available by name to every face of the project."""
    _REGISTRY[name] = factory


def backend_names() -> list[str]:
    _load_builtin_backends()
    return sorted(_REGISTRY)


def make_generator(name: str, **settings) -> Generator:
    """Build the backend called `name` with its settings, or say which names exist."""
    _load_builtin_backends()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown backend {name!r}: choose one of {', '.join(sorted(_REGISTRY))}") from None
    generator = factory(**settings)
    for trait, default in UNDECLARED_TRAITS.items():  # a plug-in backend that predates the traits
        if not hasattr(generator, trait):
            setattr(generator, trait, default)
    return generator


def _load_builtin_backends() -> None:
    """Import the optional backends lazily: their dependencies are extras, not core requirements."""
    from . import backends  # noqa: F401  (registers what it can import)


def check_tile(tile: object, size: int) -> np.ndarray:
    """Turn a generator's answer into a (size, size, 3) uint8 array, or reject it with the reason."""
    if not isinstance(tile, np.ndarray):
        raise GenerationError(f"the backend returned {type(tile).__name__}, not an image array")
    if tile.ndim == 3 and tile.shape[2] == 4:
        tile = tile[:, :, :3]
    if tile.ndim != 3 or tile.shape[2] != 3:
        raise GenerationError(f"the backend returned an array of shape {tile.shape}, not an RGB image")
    if tile.shape[:2] != (size, size):
        raise GenerationError(
            f"the backend returned a {tile.shape[1]}x{tile.shape[0]} tile; the contract needs {size}x{size}"
        )
    if tile.dtype != np.uint8:
        raise GenerationError(f"the backend returned {tile.dtype} pixels, not uint8")
    return np.ascontiguousarray(tile)


def seeded_rng(seed: int, *salt: str) -> np.random.Generator:
    """A random generator that depends only on the seed and the salt, never on the process."""
    digest = hashlib.sha256(repr((int(seed),) + salt).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


class MockGenerator:
    """Deterministic, seeded, instant: for tests and demos, never for pictures.

    It behaves like a well-mannered inpainting model: the result is `reference * (1 - mask) +
    pattern * mask`, so fixed pixels stay, free pixels become a seeded pattern (a colour wash with
    diagonal stripes) that is visibly different from any band.
    """

    name = "mock"
    default_blend = None
    paid = False
    remote = False

    def __init__(self, **settings) -> None:
        if settings:
            raise InputError(f"the mock backend takes no settings, got {sorted(settings)}")

    def generate(self, request: TileRequest) -> np.ndarray:
        reference = np.asarray(request.reference)
        mask = np.asarray(request.mask, dtype=np.float32)
        height, width = mask.shape
        rng = seeded_rng(request.seed, "mock", request.prompt)
        colour_a, colour_b = rng.uniform(30, 225, size=(2, 3)).astype(np.float32)
        period = float(rng.uniform(24, 64))
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        wash = (xx + yy)[..., None] / float(height + width)
        stripes = ((xx + yy) // period % 2)[..., None] * 40.0
        pattern = colour_a * (1 - wash) + colour_b * wash + stripes
        request.report(1.0, "mock tile ready")
        out = reference.astype(np.float32) * (1 - mask[..., None]) + pattern * mask[..., None]
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)


register("mock", MockGenerator)
