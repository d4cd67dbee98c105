"""Sessions: a canvas that grows step by step, each step leaving its artifacts on disk.

A session is a directory:

    session.json            contract, source, the index of steps (rewritten atomically)
    source.png              the starting canvas (after an optional fit)
    steps/NNNN/             one folder per step, never reused or overwritten:
        prompt.txt conditioning_band.png reference.png mask.png canvas_before.png tile_full.png
        new_half.png canvas_after.png step.json   and   committed.ok  or  rejected.err

The files are the truth; session.json is an index rebuilt from them on open.

Commit protocol (why a kill at any moment is safe): a step writes its inputs and the tile, glues in
memory, then writes step.json and creates committed.ok: that is the commit. canvas_after.png is a
derived artifact: the glue is a pure function of the parent canvas and the tile, so a canvas that
was not yet written when a process died is rebuilt on open by replaying the committed tiles. This
is also what keeps per-step cost flat: the whole-canvas PNGs are encoded by a background writer
while the next tile is generated, and every step's canvas_before.png/canvas_after.png exists once
`flush()` (called by every face before it returns) has run.

Undo marks the head step `undone` (its files stay); the canvas returns to its parent's.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from .canvas import GrowingCanvas
from .errors import ContractError, GenerationError, InputError, SessionError
from .generators import Generator, ProgressCallback, TileRequest, check_tile
from .geometry import (
    Contract, check_canvas, extract_band, fit_canvas, from_frontier_right, frontier_right_shape,
    pack_reference, parse_direction, to_frontier_right,
)
from .journal import (
    COMMITTED,
    REJECTED,
    SOURCE_FILE,
    UNDONE,
    canvas_file,
    head_of,
    read_steps,
    replay_canvas,
    restore_before_links,
    seal_interrupted,
    step_dir,
)
from .journal import glue_recorded as _glue
from .mask import generation_mask
from .pngio import read_image, write_png
from .rgb import check_rgb
from .seam_report import report_grown, tail_before
from .service import check_export_target, check_steps
from .session_files import (
    BackgroundWriter,
    canvas_job,
    link_job,
    now,
    relative,
    touch_atomic,
    write_json,
)
from .step_settings import StepSettings, next_settings

try:  # advisory lock between processes; absent on Windows, where the in-process lock still holds
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

SESSION_FILE = "session.json"
FORMAT = 1
__all__ = ["COMMITTED", "REJECTED", "SESSION_FILE", "SOURCE_FILE", "UNDONE", "Session", "StepResult",
           "StepSettings", "next_settings"]


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


class Session:
    """One growing canvas on disk. Use `create` or `open`; call `close` (or use `with`)."""

    _locks: dict[str, threading.Lock] = {}
    _locks_guard = threading.Lock()

    def __init__(self, root: Path, meta: dict) -> None:
        self.root = root
        self.meta = meta
        self.contract = Contract.from_dict(meta["contract"])
        self._canvas: GrowingCanvas | None = None
        self._writer = BackgroundWriter()
        self._stamp = self._index_stamp()  # to notice another process's steps (see _reload_if_changed)
        with Session._locks_guard:
            self._lock = Session._locks.setdefault(str(root.resolve()), threading.Lock())

    # ---- creating and opening ---------------------------------------------------------------

    @classmethod
    def create(
        cls,
        root: str | os.PathLike,
        image: np.ndarray | str | os.PathLike,
        contract: Contract = Contract(),
        fit: bool = False,
        direction: str = "x_ltr",
    ) -> "Session":
        """A new session at `root` (which must not hold anything yet) from an image or image file.

        Without `fit`, a canvas whose cross dimension is not the tile's is refused; with it, the
        canvas is scaled so that it is (aspect kept), for growth in `direction`.
        """
        root = Path(root)
        if root.exists() and any(root.iterdir()):
            if (root / SESSION_FILE).exists():
                raise SessionError(f"{root} already holds a session: continue it instead of creating one")
            raise SessionError(f"{root} exists and is not empty: choose a new session directory")
        source_name = str(image) if not isinstance(image, np.ndarray) else "<array>"
        pixels = read_image(image) if not isinstance(image, np.ndarray) else check_rgb(image, "canvas")
        direction = parse_direction(direction)
        original = (int(pixels.shape[1]), int(pixels.shape[0]))
        if fit:
            pixels = fit_canvas(pixels, direction, contract)
        check_canvas(frontier_right_shape(pixels.shape, direction), contract)
        root.mkdir(parents=True, exist_ok=True)
        (root / "steps").mkdir(exist_ok=True)
        write_png(root / SOURCE_FILE, pixels)
        meta = {
            "format": FORMAT,
            "contract": contract.to_dict(),
            "source": {"input": source_name, "original_size": list(original),
                       "size": [int(pixels.shape[1]), int(pixels.shape[0])], "fitted": bool(fit)},
            "created": now(),
            "steps": [],
            "head": 0,
            "canvas": SOURCE_FILE,
            "size": [int(pixels.shape[1]), int(pixels.shape[0])],
            "last_settings": None,
        }
        write_json(root / SESSION_FILE, meta)
        session = cls(root, meta)
        session._canvas = GrowingCanvas.from_image(pixels, direction)
        return session

    @classmethod
    def open(cls, root: str | os.PathLike) -> "Session":
        """Open a session, finishing what a killed process left: interrupted steps are marked
        rejected, and canvases not yet written are rebuilt from the committed tiles."""
        root = Path(root)
        try:
            meta = json.loads((root / SESSION_FILE).read_text())
        except FileNotFoundError:
            raise SessionError(f"{root} is not a session (no {SESSION_FILE})") from None
        except json.JSONDecodeError as bad:
            raise SessionError(f"{root / SESSION_FILE} is damaged ({bad})") from None
        if meta.get("format") != FORMAT:
            raise SessionError(f"{root} has session format {meta.get('format')!r}; this version reads {FORMAT}")
        session = cls(root, meta)
        with session._exclusive():
            session._recover()
        return session

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Wait until every artifact is written, then stop the writer."""
        self._writer.close()

    def flush(self) -> None:
        """Return once every committed step's canvas_before.png / canvas_after.png exists."""
        self._writer.flush()

    def refresh(self) -> None:
        """Catch up with steps or undos another process made since this handle last looked (steps
        and undo do this themselves; call it before reading a long-lived handle's history or canvas)."""
        if self._index_stamp() != self._stamp:  # cheap look first: no lock (and no lock file) when unchanged
            with self._exclusive():
                pass

    # ---- reading ----------------------------------------------------------------------------

    @property
    def head(self) -> int:
        return int(self.meta["head"])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the current canvas."""
        return tuple(self.meta["size"])

    def history(self) -> list[dict]:
        """Every step ever tried, oldest first, with its status (committed, rejected, undone)."""
        return [dict(record) for record in self.meta["steps"]]

    def step_dir(self, number: int) -> Path:
        return step_dir(self.root, number)

    def canvas(self) -> np.ndarray:
        """A copy of the current canvas in the user's orientation."""
        return np.array(self._loaded().user())

    def canvas_view(self) -> np.ndarray:
        """The current canvas in the user's orientation without a copy (for previews of long
        canvases); valid only until the next step or undo, so read it while no step runs."""
        view = self._loaded().user()
        view.flags.writeable = False
        return view

    def canvas_path(self) -> Path:
        """The file that holds the current canvas (written before this returns)."""
        self.flush()
        return self.root / self.meta["canvas"]

    def export(self, out: str | os.PathLike, level: int = 6, force: bool = True) -> Path:
        """Write the current canvas to `out` (never into the session; over an existing file only
        with `force`, which faces that asked the user already pass)."""
        out = check_export_target(out, force, self.root)
        out.parent.mkdir(parents=True, exist_ok=True)
        return write_png(out, self._loaded().user(), level)

    # ---- stepping ---------------------------------------------------------------------------

    def extend(
        self,
        settings: StepSettings,
        generator: Generator,
        steps: int = 1,
        on_step=None,
        progress: ProgressCallback | None = None,
        stop_on_reject: bool = True,
    ) -> list[StepResult]:
        """Run `steps` steps (step i uses seed + i); `on_step(result)` after each. Stops at the first
        rejection by default."""
        check_steps(steps)
        settings = settings.checked(self.contract)
        canvas = self._loaded()
        if canvas.direction == settings.direction:  # one allocation for the whole call
            canvas.reserve(steps * self.contract.advance)
        results = []
        for i in range(steps):
            result = self.step(replace(settings, seed=settings.seed + i), generator, progress)
            results.append(result)
            if on_step is not None:
                on_step(result)
            if not result.committed and stop_on_reject:
                break
        return results

    def step(self, settings: StepSettings, generator: Generator,
             progress: ProgressCallback | None = None) -> StepResult:
        """One step: one generator call, one tile, committed or rejected with its reason."""
        settings = settings.checked(self.contract)
        with self._exclusive():
            return self._step(settings, generator, progress)

    def _step(self, settings: StepSettings, generator: Generator, progress) -> StepResult:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        contract = self.contract
        number = self._next_number()
        folder = self.step_dir(number)
        folder.mkdir()
        parent = self.head
        record = {
            "number": number, "parent": parent, "status": "running", "reason": "",
            "direction": settings.direction, "contract": contract.to_dict(),
            "settings": asdict(settings), "backend": getattr(generator, "name", type(generator).__name__),
            "seed": settings.seed, "prompt": settings.prompt,
            "size_before": list(self.size), "size_after": None, "started": now(), "timings": timings,
        }
        (folder / "prompt.txt").write_text(settings.prompt)
        self._writer.submit(link_job(self._canvas_file(parent), folder / "canvas_before.png"))
        try:
            canvas = self._loaded().turned(settings.direction)
            self._canvas = canvas
            check_canvas(canvas.norm.shape, contract)
        except ContractError as bad:
            return self._reject(record, folder, str(bad))
        direction = settings.direction
        norm_band = extract_band(canvas.norm, contract)
        norm_reference = pack_reference(norm_band, contract, settings.fill)
        norm_mask = generation_mask(contract, settings.ramp_start, settings.ramp_end, settings.ramp_shape)
        reference = np.ascontiguousarray(from_frontier_right(norm_reference, direction))
        mask = np.ascontiguousarray(from_frontier_right(norm_mask, direction))
        write_png(folder / "conditioning_band.png", from_frontier_right(norm_band, direction))
        write_png(folder / "reference.png", reference)
        write_png(folder / "mask.png", np.rint(mask * 255).astype(np.uint8))
        write_json(folder / "step.json", record)
        timings["prepare_s"] = time.perf_counter() - started

        t0 = time.perf_counter()
        try:
            request = TileRequest(reference, mask, settings.prompt, settings.seed, direction, progress)
            tile = check_tile(generator.generate(request), contract.tile)
        except (GenerationError, InputError) as failure:
            timings["generate_s"] = time.perf_counter() - t0
            return self._reject(record, folder, str(failure))
        except Exception as failure:  # a backend bug must still end as a visible rejection
            timings["generate_s"] = time.perf_counter() - t0
            return self._reject(record, folder, f"the backend failed: {type(failure).__name__}: {failure}")
        except BaseException:
            self._reject(record, folder, "interrupted while the tile was being generated")
            raise
        timings["generate_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        norm_tile = to_frontier_right(tile, direction)
        write_png(folder / "tile_full.png", tile)
        write_png(folder / "new_half.png", from_frontier_right(norm_tile[:, contract.band:], direction))
        before_tail = tail_before(canvas.norm, contract)
        glued = _glue(canvas, norm_tile, settings, contract)
        timings["glue_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        seam = report_grown(before_tail, canvas.norm, glued, contract, norm_tile).to_dict()
        timings["seam_s"] = time.perf_counter() - t0
        size = _user_size(canvas)
        record.update(status=COMMITTED, size_after=list(size), finished=now(), seam=seam)
        timings["overhead_s"] = time.perf_counter() - started - timings["generate_s"]
        write_json(folder / "step.json", record)
        touch_atomic(folder / "committed.ok", f"committed {record['finished']}\n")
        self._writer.submit(canvas_job(canvas, contract, folder / "canvas_after.png"))
        self.meta.update(head=number, size=list(size), canvas=relative(folder / "canvas_after.png", self.root),
                         last_settings=asdict(settings))
        self.meta["steps"].append(_summary(record))
        self._save_index()
        return StepResult(number, COMMITTED, "", size, str(folder), dict(timings), seam)

    def _reject(self, record: dict, folder: Path, reason: str) -> StepResult:
        record.update(status=REJECTED, reason=reason, finished=now(), size_after=list(self.size))
        write_json(folder / "step.json", record)
        touch_atomic(folder / "rejected.err", reason.rstrip() + "\n")
        self.meta["steps"].append(_summary(record))
        self._save_index()
        return StepResult(record["number"], REJECTED, reason, self.size, str(folder), dict(record["timings"]))

    def undo(self) -> dict:
        """Revert the last committed step; its files stay, marked `undone`. Returns its record."""
        with self._exclusive():
            self.flush()
            head = self.head
            if head == 0:
                raise SessionError("nothing to undo: the session is at its source image")
            touch_atomic(self.step_dir(head) / "undone", f"undone {now()}\n")
            self._canvas = None
            self._recover()
            return next(r for r in self.meta["steps"] if r["number"] == head)

    # ---- internals --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _exclusive(self):
        """One step at a time per session: a thread lock in this process, a file lock across them."""
        with self._lock:
            if fcntl is None:
                yield
                return
            with open(self.root / ".lock", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    self._reload_if_changed()
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def _index_stamp(self):
        try:
            st = (self.root / SESSION_FILE).stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _save_index(self) -> None:
        write_json(self.root / SESSION_FILE, self.meta)
        self._stamp = self._index_stamp()

    def _reload_if_changed(self) -> None:
        """If another process changed the session since we last saw it, re-read it from the files."""
        if self._stamp is not None and self._index_stamp() != self._stamp:
            self.flush()
            self.meta = json.loads((self.root / SESSION_FILE).read_text())
            self._canvas = None
            self._recover()

    def _next_number(self) -> int:
        numbers = [int(p.name) for p in (self.root / "steps").iterdir() if p.name.isdigit()]
        return max(numbers, default=0) + 1

    def _canvas_file(self, number: int) -> Path:
        return canvas_file(self.root, number)

    def _loaded(self) -> GrowingCanvas:
        if self._canvas is None:
            self._canvas = replay_canvas(self.root, self.meta["steps"], self.head, self.contract)
        return self._canvas

    def _recover(self) -> None:
        """Rebuild the index and the head canvas from the step folders, which are the truth."""
        records = read_steps(self.root)
        seal_interrupted(self.root, records)
        records = [_summary(r) for r in records]
        self.meta["steps"] = records
        head = head_of(records)
        self.meta["head"] = head
        self.meta["canvas"] = relative(self._canvas_file(head), self.root)
        canvas = replay_canvas(self.root, records, head, self.contract)
        self._canvas = canvas
        restore_before_links(self.root, records)
        self.meta["size"] = list(_user_size(canvas))
        self._save_index()


def _summary(record: dict) -> dict:
    keys = ("number", "parent", "status", "reason", "direction", "backend", "seed", "prompt",
            "size_before", "size_after", "settings", "timings", "started", "finished", "seam")
    return {k: record.get(k) for k in keys}


def _user_size(canvas: GrowingCanvas) -> tuple[int, int]:
    height, width = canvas.user().shape[:2]
    return int(width), int(height)
