"""A frontier step whose k tiles were made elsewhere (a ComfyUI graph's batch), glued or journaled.

A graph hands the k references of one frontier to a sampler as a batch and gets k tiles back. They
are composed exactly as a session step composes its tiles (`frontier.apply_step`: colour matching,
the growth blend, the joints between neighbours blended across), so `glue_given_tiles` and a
session step fed the same tiles (`journal_frontier_glue`) make the same pixels and the same seam
report. What differs from the core's own sequential path is only how the tiles were generated: a
sampler that processes the batch independently never saw tile i-1's result in tile i's reference.

`GivenTiles` is the step's generator: tile i is looked up by the seed the session asks tile i with
(`frontier_files.tile_seed`), so a reused tile or any order of calls still gets the right tile, and
its fingerprint holds a digest of the tiles, so a session never reuses a tile the graph did not give.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .canvas import GrowingCanvas
from .errors import InputError
from .external_steps import journal_glue, session_for
from .frontier import apply_step
from .frontier_files import tile_seed
from .generators import TileRequest
from .geometry import Contract, check_canvas, frontier_right_shape, frontier_tiles, to_frontier_right
from .rgb import check_rgb
from .session import StepResult
from .step_settings import StepSettings


def check_given_tiles(
    canvas: np.ndarray, tiles: list[np.ndarray], settings: StepSettings, contract: Contract
) -> list[np.ndarray]:
    """The tiles as RGB arrays, refused unless there is one T x T tile per tile of this frontier."""
    canvas = check_rgb(canvas, "canvas")
    turned_shape = frontier_right_shape(canvas.shape, settings.direction)
    check_canvas(turned_shape, contract)
    count = len(frontier_tiles(turned_shape[0], contract))
    if len(tiles) != count:
        raise InputError(
            f"this canvas's frontier has {count} tiles but {len(tiles)} were given: glue the whole "
            f"batch that came from this canvas's references, in order"
        )
    checked = [check_rgb(t, f"tile {i + 1}") for i, t in enumerate(tiles)]
    for i, tile in enumerate(checked):
        if tile.shape[:2] != (contract.tile, contract.tile):
            raise InputError(
                f"tile {i + 1} is {tile.shape[1]}x{tile.shape[0]} but this frontier's tiles are "
                f"{contract.tile}x{contract.tile}: glue the tiles made from its references, unresized"
            )
    return checked


def glue_given_tiles(
    canvas: np.ndarray, tiles: list[np.ndarray], settings: StepSettings, contract: Contract
) -> tuple[np.ndarray, dict]:
    """(the grown canvas in the user's frame, the step's seam report) for tiles in frontier order."""
    settings = settings.checked(contract)
    tiles = check_given_tiles(canvas, tiles, settings, contract)
    grown = GrowingCanvas.from_image(check_rgb(canvas, "canvas"), settings.direction, contract.advance)
    turned_tiles = [to_frontier_right(t, settings.direction) for t in tiles]
    applied = apply_step(grown, settings, contract, lambda tile, _ref, _mask: turned_tiles[tile.index], report=True)
    return np.ascontiguousarray(grown.user()), applied.seam or {}


class GivenTiles:
    """The generator of a step whose tiles are given: tile i for the seed tile i is asked with."""

    paid = False
    remote = False
    default_blend = None

    def __init__(self, tiles: list[np.ndarray], seed: int, name: str = "external") -> None:
        self.name = name
        self._by_seed = {tile_seed(seed, i): np.ascontiguousarray(t) for i, t in enumerate(tiles)}
        digest = hashlib.sha256()
        for tile in tiles:
            digest.update(repr(tile.shape).encode() + np.ascontiguousarray(tile).tobytes())
        self.settings = {"tiles": digest.hexdigest()}  # the fingerprint a reused tile must match

    def generate(self, request: TileRequest) -> np.ndarray:
        request.report(1.0, f"{self.name}: a tile made by the graph")
        return self._by_seed[request.seed]


def journal_frontier_glue(
    sessions_dir: Path,
    name: str,
    canvas: np.ndarray,
    tiles: list[np.ndarray],
    settings: StepSettings,
    contract: Contract,
    backend_name: str = "external",
) -> tuple[Path, StepResult, np.ndarray]:
    """Glue the frontier's tiles as a step of the named session (external_steps.session_for picks
    the session from the canvas's pixels); (session folder, result, canvas after). A one-tile
    frontier is exactly `external_steps.journal_glue`; a rejected step is raised as an InputError."""
    settings = settings.checked(contract)
    tiles = check_given_tiles(canvas, tiles, settings, contract)
    if len(tiles) == 1 and frontier_right_shape(canvas.shape, settings.direction)[0] == contract.tile:
        return journal_glue(sessions_dir, name, canvas, tiles[0], settings, contract, backend_name)
    with session_for(Path(sessions_dir), name, canvas, contract, settings.direction) as session:
        result = session.step(settings, GivenTiles(tiles, settings.seed, backend_name))
        session.flush()
        if not result.committed:
            raise InputError(
                f"the glue was journaled as rejected step {result.number} of {session.root.name}: {result.reason}"
            )
        return session.root, result, session.canvas()
