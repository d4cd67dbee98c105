"""A session's step: one generator call per tile, the tiles glued at once, committed or rejected.

Split from session.py so that one file holds the session (creating, opening, locking, undo, reading)
and this one the step itself: `SessionSteps` is the part of `Session` that runs a step, and is only
ever used as its base class (its methods use the session's state: meta, the canvas, the writer).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from functools import partial
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .canvas import GrowingCanvas
from .errors import ContractError, SessionError
from .frontier import apply_step
from .frontier_files import GeneratedTiles, TileRejected, reusable_tiles, write_step_tiles
from .generators import Generator
from .geometry import Contract, check_canvas, from_frontier_right, frontier_tiles
from .journal import COMMITTED, INDEX_FIELDS, REJECTED, commit_step
from .pngio import write_png
from .session_files import (
    BackgroundWriter,
    StorageError,
    now,
    relative,
    storage_error,
    touch_atomic,
    write_canvas,
    write_json,
)
from .step_canvas import AFTER, BEFORE, checkpoint_path, crop_boxes, cut_crop
from .step_settings import StepSettings

STALE = object()
"""An index stamp that never matches: the next lock re-reads the files."""


@dataclass
class StepResult:
    """What every face reports for a step: committed or rejected, and why."""

    number: int
    status: str
    reason: str = ""
    size: tuple[int, int] = (0, 0)
    directory: str = ""
    timings: dict = field(default_factory=dict)
    seam: dict = field(default_factory=dict)

    @property
    def committed(self) -> bool:
        return self.status == COMMITTED

    def to_dict(self) -> dict:
        return {**asdict(self), "size": list(self.size)}


class SessionSteps:
    """Running one step of a Session (see Session.step, which holds the writer lock around it)."""

    if TYPE_CHECKING:  # what Session provides
        root: Path
        meta: dict
        contract: Contract
        _writer: BackgroundWriter
        _canvas: GrowingCanvas | None
        _stamp: object

        @property
        def head(self) -> int: ...

        @property
        def size(self) -> tuple[int, int]: ...

        def step_dir(self, number: int) -> Path: ...

        def _next_number(self) -> int: ...

        def _loaded(self) -> GrowingCanvas: ...

        def _save_index(self) -> None: ...

        def _save_index_now_and_then(self) -> None: ...

    def _step(self, settings: StepSettings, generator: Generator, progress) -> StepResult:
        """One step: the frontier's k tiles (one generator call each) glued at once, or none (see
        frontier.py for the tiles and frontier_files.py for their files). One function because the
        order of its writes is the commit protocol (session.py's docstring)."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        contract = self.contract
        number = self._next_number()
        folder = self.step_dir(number)
        folder.mkdir()
        parent = self.head
        record = {
            "number": number,
            "parent": parent,
            "status": "running",
            "reason": "",
            "direction": settings.direction,
            "contract": contract.to_dict(),
            "settings": asdict(settings),
            "backend": getattr(generator, "name", type(generator).__name__),
            "seed": settings.seed,
            "prompt": settings.prompt,
            "size_before": list(self.size),
            "size_after": None,
            "started": now(),
            "timings": timings,
        }
        (folder / "prompt.txt").write_text(settings.prompt)
        try:
            canvas = self._loaded().turned(settings.direction)
            self._canvas = canvas
            check_canvas(canvas.frontier_right.shape, contract)
        except ContractError as bad:
            return self._reject(record, folder, str(bad))
        direction = settings.direction
        before = cut_crop(canvas, crop_boxes(direction, self.size, self.size, contract)[BEFORE])
        self._writer.submit(partial(write_canvas, folder / "canvas_before.png", before))
        record["frontier"] = [t.to_dict() for t in frontier_tiles(canvas.frontier_right.shape[0], contract)]
        band = canvas.frontier_right[:, canvas.length - contract.band :]  # the whole edge's band (every tile's rows)
        write_png(folder / "conditioning_band.png", from_frontier_right(band, direction))
        write_json(folder / "step.json", record)
        timings["prepare_s"] = time.perf_counter() - started

        source = GeneratedTiles(
            folder, settings, generator, progress, reusable_tiles(self.root, self.meta["steps"]), timings
        )
        try:
            applied = apply_step(canvas, settings, contract, source, report=True, timings=timings)
        except TileRejected as failure:
            return self._reject(record, folder, str(failure))
        except BaseException:
            self._reject(record, folder, "interrupted while the tile was being generated")
            raise
        record["generator_calls"] = source.calls
        write_step_tiles(folder, applied, canvas, contract)
        seam = applied.seam
        size = _user_size(canvas)
        crops = crop_boxes(direction, record["size_before"], size, contract)
        record.update(status=COMMITTED, size_after=list(size), finished=now(), seam=seam, crops=crops)
        timings["overhead_s"] = time.perf_counter() - started - timings["generate_s"]
        commit_step(folder, record)
        self._writer.submit(partial(write_canvas, folder / "canvas_after.png", cut_crop(canvas, crops[AFTER])))
        self.meta.update(
            head=number,
            size=list(size),
            canvas=relative(checkpoint_path(self.root, number), self.root),
            last_settings=asdict(settings),
        )
        self.meta["steps"].append(_summary(record))
        self._save_index_now_and_then()
        return StepResult(number, COMMITTED, "", size, str(folder), dict(timings), seam or {})

    def _reject(self, record: dict, folder: Path, reason: str) -> StepResult:
        record.update(status=REJECTED, reason=reason, finished=now(), size_after=list(self.size))
        write_json(folder / "step.json", record)
        touch_atomic(folder / "rejected.err", reason.rstrip() + "\n")
        self.meta["steps"].append(_summary(record))
        self._save_index_now_and_then()
        return StepResult(record["number"], REJECTED, reason, self.size, str(folder), dict(record["timings"]))

    def _step_not_saved(self, number: int, error: OSError) -> StorageError:
        """The step that was running when a write failed: marked rejected if the disk still takes a
        marker (else it is marked interrupted on the next open); the in-memory state is re-read."""
        self._canvas, self._stamp = None, STALE
        with contextlib.suppress(SessionError):  # the writer's own failure would only repeat this one
            self._writer.flush()
        folder = self.step_dir(number)
        if not folder.is_dir():
            return storage_error(error, f"step {number:04d} could not be started")
        if (folder / "committed.ok").exists():
            return storage_error(
                error,
                f"step {number:04d} is committed, but the session index could not "
                f"be written (it is rebuilt on the next open)",
            )
        if not (folder / "step.json").exists():  # no record yet: nothing to keep
            shutil.rmtree(folder, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                touch_atomic(folder / "rejected.err", f"could not be saved: {error.strerror or error}\n")
        return storage_error(error, f"step {number:04d} could not be saved, so it was not committed")


def _summary(record: dict) -> dict:
    """What session.json keeps of a step's record."""
    return {k: record.get(k) for k in INDEX_FIELDS}


def _user_size(canvas: GrowingCanvas) -> tuple[int, int]:
    height, width = canvas.user().shape[:2]
    return int(width), int(height)
