"""Steps whose tile was made elsewhere (a ComfyUI graph's sampler), journaled like any other step.

A ComfyUI workflow glues tiles that its own sampler made; the glue itself needs no session. But a
user who wants to see what happened step by step (the session viewer) needs the same journal a CLI
run leaves. So a glue may name a session: the tile becomes the step's "generator" (one call that
returns that tile), and the session records the step exactly as the CLI would (band, reference,
mask, tile, canvases, seam report, committed or rejected with its reason).

Which session a glue belongs to follows from the pixels, not from node order: the glue continues the
named session when the canvas it is given IS that session's current canvas (a chain of glues in one
graph, or a graph queued again after the last step), and otherwise starts the next free session of
that name (`name`, `name-2`, ...), so a re-queued or edited graph never corrupts an earlier run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError
from .generators import TileRequest
from .geometry import Contract
from .rgb import check_rgb
from .session import SESSION_FILE, Session, StepResult
from .step_settings import StepSettings

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,79}$")


@dataclass
class GivenTile:
    """A generator whose one tile was made already: the step's one call returns it."""

    tile: np.ndarray
    name: str = "external"
    default_blend: str | None = None
    paid: bool = False
    remote: bool = False

    def generate(self, request: TileRequest) -> np.ndarray:
        request.report(1.0, f"{self.name}: the tile made by the graph")
        return self.tile


def check_session_name(name: str) -> str:
    """A session name: letters, digits, dot, dash, underscore and space; no paths."""
    name = str(name).strip()
    if not _NAME.match(name) or name in (".", ".."):
        raise InputError(
            f"session name {name!r} is not a plain name: use letters, digits, '-', '_', '.' "
            f"or spaces (up to 80), no folders"
        )
    return name


def canvas_digest(canvas: np.ndarray) -> str:
    """Identity of a canvas's pixels (shape included)."""
    canvas = np.ascontiguousarray(canvas)
    return hashlib.sha256(repr(canvas.shape).encode() + canvas.tobytes()).hexdigest()


def session_for(sessions_dir: Path, name: str, canvas: np.ndarray, contract: Contract, direction: str) -> Session:
    """The session this glue continues (its current canvas is `canvas`), or a new one named after it."""
    name = check_session_name(name)
    sessions_dir = Path(sessions_dir)
    wanted = canvas_digest(canvas)
    candidates = [sessions_dir / name, *sorted(sessions_dir.glob(f"{name}-*"), key=_suffix_number, reverse=True)]
    for folder in candidates:
        if not (folder / SESSION_FILE).is_file():
            continue
        session = Session.open(folder)
        if session.contract == contract and canvas_digest(session.canvas_view()) == wanted:
            return session
        session.close()
    return Session.create(_next_free(sessions_dir, name), canvas, contract, direction=direction)


def journal_glue(
    sessions_dir: Path,
    name: str,
    canvas: np.ndarray,
    tile: np.ndarray,
    settings: StepSettings,
    contract: Contract,
    backend_name: str = "external",
) -> tuple[Path, StepResult, np.ndarray]:
    """Glue `tile` onto `canvas` as a step of the named session; (session folder, result, canvas after).

    A rejected step (a tile of the wrong size, say) is journaled with its reason and raised as an
    InputError, so the graph stops with the same reason the journal shows.
    """
    canvas = check_rgb(canvas, "canvas")
    tile = check_rgb(tile, "tile")
    if tile.shape[:2] != (contract.tile, contract.tile):
        raise InputError(
            f"the tile is {tile.shape[1]}x{tile.shape[0]} but this glue needs {contract.tile}x"
            f"{contract.tile}: glue the tile of the same step"
        )
    with session_for(Path(sessions_dir), name, canvas, contract, settings.direction) as session:
        result = session.step(settings, GivenTile(tile, backend_name))
        session.flush()
        if not result.committed:
            raise InputError(
                f"the glue was journaled as rejected step {result.number} of {session.root.name}: {result.reason}"
            )
        return session.root, result, session.canvas()


def _suffix_number(folder: Path) -> int:
    tail = folder.name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _next_free(sessions_dir: Path, name: str) -> Path:
    folder, n = sessions_dir / name, 1
    while folder.exists():
        n += 1
        folder = sessions_dir / f"{name}-{n}"
    return folder
