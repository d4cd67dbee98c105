"""A frontier step's tiles on disk: generated (or reused) and saved, or read back for a replay.

A step of one tile keeps the single-tile files (reference.png, mask.png, tile_full.png, new_half.png
in the step folder). A step of k > 1 tiles adds one folder per tile,

    tiles/KK/  reference.png mask.png tile.png position.json seam.json      (KK = 01 .. k)

written as each tile is generated, so the tiles of a rejected step stay for inspection; the step
folder's reference.png, mask.png and tile_full.png are then tile 01's (hard links), new_half.png
is the whole new strip as glued and conditioning_band.png the whole edge's band.

No second payment: a tile's key is a hash of what decides it (reference, mask, prompt, seed,
direction, backend name and settings). Before a generator is called for a tile of a k > 1 step,
the tiles kept by the session's rejected and undone steps are looked up by key, and a match is
reused (linked, not generated; position.json says from where). A single-tile step keeps exactly
the single-tile files and has nothing to reuse: its one tile either committed or was never made.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .canvas import GrowingCanvas
from .errors import GenerationError, InputError, SessionError
from .frontier import AppliedStep, apply_step
from .generators import Generator, TileRequest, check_tile
from .geometry import Contract, FrontierTile, from_frontier_right, to_frontier_right, user_box
from .pngio import read_png_into, write_png
from .session_files import write_json
from .step_settings import StepSettings

REUSABLE = ("rejected", "undone")
"""Statuses of steps whose tiles a later step may reuse."""


class TileRejected(Exception):
    """A tile of a step could not be had; the step is rejected with this reason."""


def tile_dir(folder: Path, tile: FrontierTile) -> Path:
    return folder / "tiles" / f"{tile.index + 1:02d}"


def tile_seed(seed: int, index: int) -> int:
    """Tile 0 uses the step's seed (so one tile is exactly a single-tile step); later tiles get
    seeds derived from it, so a model does not start every tile of an edge from the same noise."""
    if index == 0:
        return int(seed)
    digest = hashlib.sha256(f"exquisite tile {int(seed)} {index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % 2**63


def backend_fingerprint(generator: Generator) -> dict:
    """The generator's name and the settings that choose its picture: its `settings` dict if it has
    one, else its public str/float/bool attributes (a model name, a quality, a mask threshold, a
    method). Whole numbers are left out: in the backends they are timeouts, retry counts and call
    counters, which do not change a tile. Nothing that looks like a credential is ever included."""
    declared = getattr(generator, "settings", None)
    items = declared.items() if isinstance(declared, dict) else vars(generator).items()
    plain = {
        k: v
        for k, v in sorted(items)
        if not k.startswith("_")
        and isinstance(v, (str, float, bool))
        and not any(word in k.lower() for word in ("key", "secret", "token", "password"))
    }
    return {"name": getattr(generator, "name", type(generator).__name__), "settings": plain}


def tile_key(
    reference: np.ndarray, mask: np.ndarray, prompt: str, seed: int, direction: str, generator: Generator
) -> str:
    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(reference, np.uint8), np.ascontiguousarray(mask, np.float32)):
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    digest.update(json.dumps([prompt, int(seed), direction, backend_fingerprint(generator)], sort_keys=True).encode())
    return digest.hexdigest()


def reusable_tiles(root: Path, records: list[dict]) -> dict[str, Path]:
    """key -> tile.png of every tile kept by the session's rejected and undone steps."""
    found: dict[str, Path] = {}
    for record in records:
        if record.get("status") not in REUSABLE:
            continue
        for position in sorted((root / "steps" / f"{record['number']:04d}" / "tiles").glob("*/position.json")):
            try:
                key = json.loads(position.read_text()).get("key")
            except (OSError, json.JSONDecodeError):
                continue
            if key and (position.parent / "tile.png").exists():
                found.setdefault(key, position.parent / "tile.png")
    return found


class GeneratedTiles:
    """The tile source of a step: one generator call per tile (or a reuse), every file saved."""

    def __init__(
        self,
        folder: Path,
        settings: StepSettings,
        generator: Generator,
        progress,
        reusable: dict[str, Path],
        timings: dict,
    ) -> None:
        self.folder, self.settings, self.generator = folder, settings, generator
        self.progress, self.reusable, self.timings = progress, reusable, timings
        self.calls = 0
        timings.setdefault("generate_s", 0.0)

    def __call__(self, tile: FrontierTile, turned_reference: np.ndarray, turned_mask: np.ndarray) -> np.ndarray:
        direction = self.settings.direction
        reference = np.ascontiguousarray(from_frontier_right(turned_reference, direction))
        mask = np.ascontiguousarray(from_frontier_right(turned_mask, direction))
        place = self.folder if tile.count == 1 else tile_dir(self.folder, tile)
        place.mkdir(parents=True, exist_ok=True)
        write_png(place / "reference.png", reference)
        write_png(place / "mask.png", np.rint(mask * 255).astype(np.uint8))
        seed = tile_seed(self.settings.seed, tile.index)
        key = tile_key(reference, mask, self.settings.prompt, seed, direction, self.generator)
        reused = self.reusable.get(key) if tile.count > 1 else None
        started = time.perf_counter()
        if reused is not None:
            result = read_png_into(reused)
        else:
            result = self._generate(
                tile, TileRequest(reference, mask, self.settings.prompt, seed, direction, self._progress(tile))
            )
        self.timings["generate_s"] += time.perf_counter() - started
        if tile.count == 1:
            write_png(place / "tile_full.png", result)
        else:
            self._keep(place, tile, result, seed, key, reused)
        return to_frontier_right(result, direction)

    def _generate(self, tile: FrontierTile, request: TileRequest) -> np.ndarray:
        """One generator call; any failure becomes TileRejected with a reason a user can act on."""
        where = "" if tile.count == 1 else f"tile {tile.index + 1} of {tile.count}: "
        self.calls += 1
        try:
            return check_tile(self.generator.generate(request), request.reference.shape[0])
        except (GenerationError, InputError) as failure:
            raise TileRejected(f"{where}{failure}") from None
        except Exception as failure:  # a backend bug must still end as a visible rejection
            raise TileRejected(f"{where}the backend failed: {type(failure).__name__}: {failure}") from None

    def _progress(self, tile: FrontierTile):
        if self.progress is None or tile.count == 1:
            return self.progress
        share = 1.0 / tile.count
        return lambda fraction, message: self.progress(
            (tile.index + float(fraction)) * share, f"tile {tile.index + 1}/{tile.count}: {message}"
        )

    def _keep(
        self, place: Path, tile: FrontierTile, result: np.ndarray, seed: int, key: str, reused: Path | None
    ) -> None:
        if reused is not None:
            _link(reused, place / "tile.png")
        else:
            write_png(place / "tile.png", result)
        write_json(
            place / "position.json",
            {
                **tile.to_dict(),
                "tile": tile.index + 1,
                "seed": seed,
                "key": key,
                "reused_from": None if reused is None else str(reused.parent.relative_to(self.folder.parent.parent)),
                "direction": self.settings.direction,
                "frame": "rows across the edge, frontier-right frame",
            },
        )
        if tile.index == 0:  # the step folder's single-tile names show tile 01
            for name, target in (
                ("reference.png", "reference.png"),
                ("mask.png", "mask.png"),
                ("tile.png", "tile_full.png"),
            ):
                _link(place / name, self.folder / target)


def _link(source: Path, target: Path) -> None:
    if target.exists():
        return
    try:
        os.link(source, target)
    except OSError:  # file systems without hard links get a copy
        atomic_write(target, source.read_bytes())


def write_step_tiles(folder: Path, applied: AppliedStep, canvas: GrowingCanvas, contract: Contract) -> None:
    """After the glue: new_half.png (the tile's new half for one tile, else the new strip as glued),
    and for k > 1 each tile's seam.json and its box on the grown canvas (user frame)."""
    direction = canvas.direction
    if len(applied.tiles) == 1:
        new = applied.raw[0][:, contract.band :]
        write_png(folder / "new_half.png", from_frontier_right(new, direction))
        return
    turned = canvas.frontier_right
    write_png(folder / "new_half.png", from_frontier_right(turned[:, canvas.length - contract.advance :], direction))
    tiles_seam = (applied.seam or {}).get("tiles", [])
    for tile, seam in zip(applied.tiles, tiles_seam):
        place = tile_dir(folder, tile)
        r0, r1, c0, c1 = user_box(
            (tile.cross_start, tile.cross_start + tile.rows, canvas.length - contract.tile, canvas.length),
            turned.shape[:2],
            direction,
        )
        write_json(
            place / "seam.json",
            {**seam, "box_after": {"x": int(c0), "y": int(r0), "width": int(c1 - c0), "height": int(r1 - r0)}},
        )


def stored_tiles(folder: Path, direction: str):
    """The tile source of a replay: the committed step's own tiles, in order."""

    def read(tile: FrontierTile, turned_reference: np.ndarray, turned_mask: np.ndarray) -> np.ndarray:
        path = folder / "tile_full.png" if tile.count == 1 else tile_dir(folder, tile) / "tile.png"
        if not path.exists():
            raise SessionError(
                f"step {folder.name} is committed with {tile.count} tile(s) but {path} is "
                f"missing: the step cannot be replayed"
            )
        return to_frontier_right(read_png_into(path), direction)

    return read


def replay_step(canvas: GrowingCanvas, folder: Path, settings: StepSettings, contract: Contract) -> AppliedStep:
    """Apply a committed step to a canvas turned to its direction, from its saved tiles."""
    return apply_step(canvas, settings, contract, stored_tiles(folder, settings.direction))
