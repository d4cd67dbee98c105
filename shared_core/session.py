"""Sessions: a canvas that grows step by step, each step leaving its artifacts on disk.

A session is a directory:

    created.json            what the session was created with (contract, source, planned settings,
                            backend); written once
    session.json            the index of steps, derived from the folders (rewritten atomically)
    source.png source.sha256   the starting canvas (after an optional fit) and its checksum
    canvas/NNNN.png (.sha256)  the whole canvas after step NNNN, written at the end of each command
                            (the newest only; see step_canvas.py)
    .lock                   the writer lock (flock; holds the writing process's pid)
    steps/NNNN/             one folder per step, never reused or overwritten:
        prompt.txt conditioning_band.png reference.png mask.png canvas_before.png tile_full.png
        new_half.png canvas_after.png (+ .sha256) step.json   and   committed.ok  or  rejected.err
        (canvas_before/after are crops of the whole canvas around what the step changed: `crops`)

The files are the truth; session.json is an index rebuilt from them on open (see journal.py).

Commit protocol (why a kill at any moment is safe): a session folder is made beside its target and
renamed into place, so it exists whole or not at all. A step writes its inputs and the tile, glues
in memory, then writes step.json (with the tile's checksum) and committed.ok (a copy of the record):
that is the commit. The crops and the whole canvas are derived artifacts: the glue is a pure
function of the parent canvas and the tiles, so a file that was not yet written when a process died,
or that no longer matches its checksum, is rebuilt on open from the committed tiles (step_canvas.py).
The crops are encoded by a background writer while the next tile is generated, and exist once
`flush()` (called by every face before it returns) has run; the whole canvas and session.json are
written at the end of each command (`_end_command`), so a step's cost does not grow with the canvas.
The step itself is in session_steps.py.

One writer at a time: a run of steps, an undo and the repairs on open hold the session's writer
lock (session_files.writer_lock); a second writer is refused at once with the holder's pid, or
waits if asked. Readers (`Session.open(..., write=False)`: show, export) take no lock and write
nothing: what a writer would repair they rebuild in memory.

Undo marks the head step `undone` (its files stay); the canvas returns to its parent's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from .canvas import GrowingCanvas
from .errors import SessionError
from .generators import Generator, ProgressCallback
from .geometry import (
    Contract,
    check_canvas,
    fit_canvas,
    frontier_right_shape,
    parse_direction,
)
from .journal import (
    COMMITTED,
    READING_ONLY,
    REJECTED,
    SOURCE_FILE,
    UNDONE,
    head_of,
    read_steps,
    step_dir,
)
from .pngio import read_image
from .rgb import check_rgb
from .service import canvas_pixel_limit, check_step_settings, check_steps
from .session_files import BackgroundWriter, now, relative, storage_error, touch_atomic, write_canvas, write_json
from .session_files import writer_lock, writer_pid
from .session_folder import (
    FORMAT,
    ORIGIN_FILE,
    SESSION_FILE,
    check_new_root,
    check_session_folder,
    index_of,
    move_into_place,
    origin_of,
    read_index,
    remove_leftovers,
    staging_folder,
)
from .session_canvas import SessionCanvas
from .session_steps import SessionSteps, StepResult, _summary, _user_size
from .step_canvas import checkpoint_path, rebuild_crops
from .step_settings import StepSettings, next_settings

RESERVE_STEPS = 16
"""Room made up front for at most this many steps (more grow the buffer by half as they come)."""

__all__ = [
    "COMMITTED",
    "FORMAT",
    "ORIGIN_FILE",
    "REJECTED",
    "SESSION_FILE",
    "SOURCE_FILE",
    "UNDONE",
    "Session",
    "StepResult",
    "StepSettings",
    "next_settings",
]


class Session(SessionSteps, SessionCanvas):
    """One growing canvas on disk. Use `create` or `open`; call `close` (or use `with`)."""

    _locks: dict[str, threading.Lock] = {}  # noqa: RUF012  (shared on purpose: one lock per folder per process)
    _locks_guard = threading.Lock()

    def __init__(self, root: Path, meta: dict, write: bool = True, wait: bool = False, on_wait=None) -> None:
        self.root = root
        self.meta = meta
        self.contract = Contract.from_dict(meta["contract"])
        self.repairs: list[str] = []  # what opening found and put right (or, read-only, would)
        self._index_problem: str | None = None  # what was wrong with session.json when it was read
        self._known_committed: set[int] = set()  # the steps last seen committed (or undone)
        self._writable, self._wait, self._on_wait = write, wait, on_wait
        self._depth = 0  # how deeply this handle holds the writer lock (a step inside extend)
        self._canvas: GrowingCanvas | None = None
        self._checkpointed: int | None = None  # the step whose whole canvas is on disk (canvas/NNNN.png)
        self._unsaved_steps = 0  # steps session.json does not list yet (see _save_index_now_and_then)
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
        settings: StepSettings | None = None,
        backend: str | None = None,
        check_size=None,
    ) -> Session:
        """A new session at `root` (which must not hold anything yet) from an image or image file.

        Without `fit` the image keeps its full resolution (an edge of any length grows as a frontier
        of several tiles); with it, the canvas is scaled so that its cross dimension is the tile's
        (aspect kept), for growth in `direction`, unless that would pass the canvas pixel limit.
        `settings` and `backend` are what the first step was planned with: a session continued before
        any step committed continues with them. `check_size((width, height))`, if given, may refuse the
        canvas (e.g. a planned run that would pass the size limit) before anything is created. The
        folder appears whole or not at all.
        """
        root = Path(root)
        check_new_root(root)
        source_name = str(image) if not isinstance(image, np.ndarray) else "<array>"
        pixels = read_image(image) if not isinstance(image, np.ndarray) else check_rgb(image, "canvas")
        direction = parse_direction(direction)
        original = (int(pixels.shape[1]), int(pixels.shape[0]))
        if fit:
            pixels = fit_canvas(pixels, direction, contract, canvas_pixel_limit())
        check_canvas(frontier_right_shape(pixels.shape, direction), contract)
        size = [int(pixels.shape[1]), int(pixels.shape[0])]
        if check_size is not None:
            check_size((size[0], size[1]))
        origin = {
            "format": FORMAT,
            "contract": contract.to_dict(),
            "source": {"input": source_name, "original_size": list(original), "size": size, "fitted": bool(fit)},
            "created": now(),
            "settings": asdict(settings) if settings else None,
            "backend": backend,
        }
        meta = index_of(origin, [], 0, SOURCE_FILE, size, None)
        staging = staging_folder(root)
        try:
            (staging / "steps").mkdir(parents=True)
            write_canvas(staging / SOURCE_FILE, pixels)
            write_json(staging / ORIGIN_FILE, origin)
            write_json(staging / SESSION_FILE, meta)
            move_into_place(staging, root)
        except OSError as error:
            raise storage_error(error, f"the session {root} could not be created") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        session = cls(root, meta)
        session._canvas = GrowingCanvas.from_image(pixels, direction)
        session._checkpointed = 0
        return session

    @classmethod
    def open(cls, root: str | os.PathLike, write: bool = True, wait: bool = False, on_wait=None) -> Session:
        """Open a session. A writer (the default) finishes what a killed process left: interrupted
        steps are marked rejected, canvases not yet written (or damaged) are rebuilt from the
        committed tiles, session.json is rebuilt from the step folders, leftovers are removed; each
        repair is listed in `repairs`. With `write=False` nothing is written and no lock is taken.
        `wait`: wait for another writer instead of refusing at once (`on_wait(pid)` is told)."""
        root = Path(root)
        check_session_folder(root)
        index, problem = read_index(root)
        origin = origin_of(root, index)
        session = cls(
            root, {**(index or index_of(origin, [], 0, SOURCE_FILE, None, None)), **origin}, write, wait, on_wait
        )
        session._index_problem = problem
        session._known_committed = {
            int(r["number"])
            for r in (index or {}).get("steps", [])
            if isinstance(r, dict) and r.get("status") in (COMMITTED, UNDONE) and isinstance(r.get("number"), int)
        }
        if write:
            with session._exclusive(reload=False):
                session._recover()
        else:
            session._recover()
        return session

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Wait until every artifact is written, then stop the writer."""
        self._writer.close()

    def flush(self) -> None:
        """Return once every committed step's canvas_before.png / canvas_after.png (crops) exists."""
        self._writer.flush()

    def refresh(self) -> None:
        """Catch up with steps or undos another process made since this handle last looked (steps
        and undo do this themselves; call it before reading a long-lived handle's history or canvas)."""
        if self._index_stamp() == self._stamp:  # cheap look first: no lock (and no lock file) when unchanged
            return
        if not self._writable:
            self._recover()
            return
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

    @property
    def backend(self) -> str | None:
        """The backend the session last used (or was created for): what continuing it uses by default."""
        return self.meta.get("backend")

    @property
    def planned_settings(self) -> dict | None:
        """The settings the session was created with (before its first committed step)."""
        return self.meta.get("settings")

    def history(self) -> list[dict]:
        """Every step ever tried, oldest first, with its status (committed, rejected, undone)."""
        return [dict(record) for record in self.meta["steps"]]

    def step_dir(self, number: int) -> Path:
        return step_dir(self.root, number)

    def repair(self) -> list[str]:
        """What opening repaired, and every step's crops checked against their checksums and
        written again where missing or damaged (`exquisite repair`); returns what was done."""
        with self._exclusive():
            notes: list[str] = []
            rebuild_crops(self.root, self.meta["steps"], self.contract, self.meta["source"].get("size"), notes)
            self.repairs += notes
        return self.repairs

    # ---- stepping ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self):
        """Hold the writer lock across several calls (plan, steps, export), so no other writer's
        steps come between them: `with session.writing(): ...` (refused at once, or waited for, as
        the session was opened). It is one command: its end writes what is still unwritten (the
        index, the whole canvas)."""
        with self._exclusive():
            yield
            self._end_command()

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
        rejection by default. The writer lock is held for the whole run, so no other writer's steps
        come between these."""
        check_steps(steps)
        settings = check_step_settings(settings, self.contract)
        with self._exclusive():
            canvas = self._loaded()
            if canvas.direction == settings.direction:  # one allocation for the first steps of the call
                canvas.reserve(min(steps, RESERVE_STEPS) * self.contract.advance)
            results = []
            for i in range(steps):
                result = self.step(replace(settings, seed=settings.seed + i), generator, progress)
                results.append(result)
                if on_step is not None:
                    on_step(result)
                if not result.committed and stop_on_reject:
                    break
            self._end_command()
            return results

    def step(
        self, settings: StepSettings, generator: Generator, progress: ProgressCallback | None = None
    ) -> StepResult:
        """One step: one generator call, one tile, committed or rejected with its reason."""
        settings = check_step_settings(settings, self.contract)
        with self._exclusive():
            number = self._next_number()  # the step _step will make (we hold the lock)
            try:
                result = self._step(settings, generator, progress)
                if self._depth == 1:  # a command of its own (not a step of extend)
                    self._end_command()
                return result
            except OSError as error:  # a full disk, a read-only folder: say which step, keep the rest
                raise self._step_not_saved(number, error) from None

    def undo(self) -> dict:
        """Revert the last committed step; its files stay, marked `undone`. Returns its record."""
        with self._exclusive():
            self.flush()
            head = self.head
            if head == 0:
                raise SessionError("nothing to undo: the session is at its source image")
            touch_atomic(self.step_dir(head) / "undone", f"undone {now()}\n")
            self._canvas = None
            self._recover()  # the parent's canvas: the checkpoint walked back one step, and written
            return next(r for r in self.meta["steps"] if r["number"] == head)

    # ---- internals --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _exclusive(self, reload: bool = True):
        """One writer at a time: a thread lock in this process, the writer lock across processes;
        re-entered freely by the handle that holds it (a step inside `extend`)."""
        if not self._writable:
            raise SessionError(f"{self.root} was opened for reading only; open it for writing to change it")
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        if not self._lock.acquire(blocking=self._wait):
            raise SessionError(
                f"{self.root} is being changed by another handle or thread of this process: "
                f"try again when it has finished"
            )
        try:
            with writer_lock(self.root, self._wait, self._on_wait):
                self._depth = 1
                if reload:
                    self._reload_if_changed()
                yield
        finally:
            self._depth = 0
            self._lock.release()

    def _index_stamp(self):
        try:
            st = (self.root / SESSION_FILE).stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _save_index(self) -> None:
        write_json(self.root / SESSION_FILE, self.meta, compact=True)
        self._stamp = self._index_stamp()
        self._unsaved_steps = 0

    def _save_index_now_and_then(self) -> None:
        """After a step: session.json lists every step, so rewriting it after each step of a long run
        would make a step's cost grow with the session; it is rewritten once the steps since the
        last write reach an eighth of all (amortised constant per step) and at the end of every
        command. It is an index: the step folders are the truth, read on every open."""
        self._unsaved_steps += 1
        if self._unsaved_steps * 8 >= len(self.meta["steps"]):
            self._save_index()

    def _end_command(self) -> None:
        """The end of a command that stepped: the index and the whole canvas, once."""
        if self._unsaved_steps:
            self._save_index()
        self._checkpoint()

    def _reload_if_changed(self) -> None:
        """If another process changed the session since we last saw it, re-read it from the files."""
        if self._index_stamp() != self._stamp:
            self.flush()
            self._canvas = None
            self._recover()

    def _next_number(self) -> int:
        numbers = [int(p.name) for p in (self.root / "steps").iterdir() if p.name.isdigit()]
        return max(numbers, default=0) + 1

    def _recover(self) -> None:
        """Rebuild the index and the head canvas from the step folders, which are the truth (a
        writer also repairs what they show; a reader only notes it)."""
        journal = read_steps(self.root, None if self._writable else writer_pid(self.root), self._known_committed)
        notes = []
        if self._index_problem:
            notes.append(
                f"{SESSION_FILE} {self._index_problem}: rebuilt from the step folders"
                + ("" if self._writable else READING_ONLY)
            )
            self._index_problem = None
        if self._writable:
            (self.root / "steps").mkdir(exist_ok=True)
            notes += journal.apply_fixes() + remove_leftovers(self.root)
        else:
            notes += [what + READING_ONLY for what, _ in journal.fixes]
        records = [_summary(r) for r in journal.records]
        head = head_of(records)
        self.meta["steps"] = records
        canvas = self._replayed(head, notes)
        self._canvas = canvas
        last = [r for r in records if r["status"] in (COMMITTED, UNDONE)]
        self.meta = index_of(
            self.meta,
            records,
            head,
            relative(checkpoint_path(self.root, head), self.root),
            list(_user_size(canvas)),
            last[-1]["settings"] if last else None,
        )
        if last and last[-1].get("backend"):
            self.meta["backend"] = last[-1]["backend"]
        self.repairs += notes
        self._known_committed = {r["number"] for r in last}
        if self._writable:
            self._save_index()
            self._checkpoint()
        else:
            self._stamp = self._index_stamp()
