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
import queue
import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from .canvas import GrowingCanvas
from .errors import ContractError, GenerationError, InputError, SessionError
from .generators import Generator, ProgressCallback, TileRequest, check_tile
from .geometry import (
    Contract, FILLS, check_canvas, extract_band, fit_canvas, from_frontier_right, frontier_right_shape,
    pack_reference, parse_direction, to_frontier_right, user_box,
)
from .colour import SPACES as COLOUR_SPACES, match_colour
from .glue import BLENDS, MASK_BLENDS, glue_alpha, glue_into, overlap_blend
from .mask import SHAPES, generation_mask
from .pngio import png_size, read_image, read_png_into, write_png
from .seam_report import report_grown, tail_before

try:  # advisory lock between processes; absent on Windows, where the in-process lock still holds
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

SESSION_FILE = "session.json"
SOURCE_FILE = "source.png"
FORMAT = 1
COMMITTED, REJECTED, UNDONE = "committed", "rejected", "undone"


@dataclass(frozen=True)
class StepSettings:
    """Everything that decides one step besides the canvas and the generator's own settings."""

    direction: str = "x_ltr"
    prompt: str = ""
    seed: int = 0
    blend: str = "linear"
    feather_px: int | None = None
    ramp_start: float | None = None
    ramp_end: float | None = None
    ramp_shape: str = "linear"
    fill: str = "gray"
    colour_match: bool = True
    colour_space: str = "rgb"
    blend_ramp_start: float | None = None
    blend_ramp_end: float | None = None

    def checked(self, contract: Contract) -> "StepSettings":
        """Validate every field now, so a bad option is refused before anything is written."""
        direction = parse_direction(self.direction)
        if self.blend not in BLENDS:
            raise InputError(f"unknown blend {self.blend!r}: use one of {', '.join(BLENDS)}")
        if self.ramp_shape not in SHAPES:
            raise InputError(f"unknown ramp shape {self.ramp_shape!r}: use one of {', '.join(SHAPES)}")
        if self.fill not in FILLS:
            raise InputError(f"unknown fill {self.fill!r}: use one of {', '.join(FILLS)}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise InputError(f"the seed must be a whole number from 0 to 2**63-1, got {self.seed!r}")
        if not isinstance(self.colour_match, bool):
            raise InputError(f"colour_match is true or false, got {self.colour_match!r}")
        if self.colour_space not in COLOUR_SPACES:
            raise InputError(f"unknown colour space {self.colour_space!r}: use one of {', '.join(COLOUR_SPACES)}")
        if (self.blend_ramp_start, self.blend_ramp_end) != (None, None) and self.blend not in MASK_BLENDS:
            raise InputError(f"a compositing ramp applies to the {', '.join(MASK_BLENDS)} blends, not "
                             f"{self.blend}: use feather_px for linear/smooth")
        settings = StepSettings(**{**asdict(self), "direction": direction})
        alpha_for(settings, contract)  # feather and ramp ranges
        overlap_blend(settings.blend)  # refuses a blend whose extra is not installed
        return settings


def next_settings(last: dict | None, chosen: dict, backend_blend: str | None = None) -> StepSettings:
    """A step's settings as every face builds them, so a session continues the same way everywhere.

    Each field is what the caller chose (None = not chosen); else, for the blend, the backend's own
    (`default_blend`, e.g. openai's mask blend: only it keeps pixels a model repainted); else what
    the session's last step used; else the default. The seed moves on by one from the last step's,
    so a repeated call does not repeat a tile. A newly chosen blend drops a compositing ramp that
    belonged to the previous one.
    """
    known = {f.name for f in fields(StepSettings)}
    unknown = set(chosen) - known
    if unknown:
        raise InputError(f"unknown step settings {sorted(unknown)}")
    last = {k: v for k, v in (last or {}).items() if k in known}
    blend = chosen.get("blend") or backend_blend
    if blend is not None and blend != last.get("blend"):
        last.pop("blend_ramp_start", None)
        last.pop("blend_ramp_end", None)
        last["blend"] = blend
    if chosen.get("seed") is None and "seed" in last:
        last["seed"] = int(last["seed"]) + 1
    merged = {**last, **{k: v for k, v in chosen.items() if v is not None}}
    return StepSettings(**merged)


def alpha_for(settings: StepSettings, contract: Contract) -> np.ndarray:
    """The glue alpha of a step (frontier-right frame); a pure function of its recorded settings.

    The mask-family blends use the compositing mask: the generation ramp unless blend_ramp_start /
    blend_ramp_end give the compositing ramp its own span.
    """
    if settings.blend not in MASK_BLENDS:
        return glue_alpha(contract, settings.blend, settings.feather_px)
    start = settings.ramp_start if settings.blend_ramp_start is None else settings.blend_ramp_start
    end = settings.ramp_end if settings.blend_ramp_end is None else settings.blend_ramp_end
    mask = generation_mask(contract, start, end, settings.ramp_shape)
    return glue_alpha(contract, settings.blend, settings.feather_px, mask)


def glue_step(canvas: GrowingCanvas, norm_tile: np.ndarray, settings: StepSettings, contract: Contract) -> np.ndarray:
    """Colour-match (if the settings say so) and glue one tile onto a canvas turned to the step's
    direction; returns the tile as glued. A step and its replay both call this, so they agree."""
    if settings.colour_match:
        norm_tile = match_colour(extract_band(canvas.norm, contract), norm_tile, contract, settings.colour_space)
    canvas.length = glue_into(canvas.buffer_for_step(contract), canvas.length, norm_tile, contract,
                              alpha_for(settings, contract), blend=overlap_blend(settings.blend))
    return norm_tile


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
        self._writer = _BackgroundWriter()
        self._stamp = self._index_stamp()  # to notice another process's steps (see _catch_up)
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
        pixels = read_image(image) if not isinstance(image, np.ndarray) else _check_image(image)
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
            "created": _now(),
            "steps": [],
            "head": 0,
            "canvas": SOURCE_FILE,
            "size": [int(pixels.shape[1]), int(pixels.shape[0])],
            "last_settings": None,
        }
        _write_json(root / SESSION_FILE, meta)
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
            session._reconcile()
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
        return self.root / "steps" / f"{number:04d}"

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

    def export(self, out: str | os.PathLike, level: int = 6) -> Path:
        """Write the current canvas to `out` (never over an existing session artifact)."""
        out = Path(out)
        if out.resolve().is_relative_to(self.root.resolve()):
            raise InputError(f"export to a path outside the session directory, not {out}")
        if out.suffix.lower() != ".png":
            raise InputError(f"exports are PNG files: give a path ending in .png, not {out.name}")
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
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise InputError(f"steps must be a whole number of at least 1, got {steps!r}")
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
            "size_before": list(self.size), "size_after": None, "started": _now(), "timings": timings,
        }
        (folder / "prompt.txt").write_text(settings.prompt)
        self._writer.submit(_link_job(self._canvas_file(parent), folder / "canvas_before.png"))
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
        _write_json(folder / "step.json", record)
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
        glued = glue_step(canvas, norm_tile, settings, contract)
        timings["glue_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        seam = report_grown(before_tail, canvas.norm, glued, contract, norm_tile).to_dict()
        timings["seam_s"] = time.perf_counter() - t0
        size = _user_size(canvas)
        record.update(status=COMMITTED, size_after=list(size), finished=_now(), seam=seam)
        timings["overhead_s"] = time.perf_counter() - started - timings["generate_s"]
        _write_json(folder / "step.json", record)
        _touch_atomic(folder / "committed.ok", f"committed {record['finished']}\n")
        self._writer.submit(_canvas_job(canvas, contract, folder / "canvas_after.png"))
        self.meta.update(head=number, size=list(size), canvas=_relative(folder / "canvas_after.png", self.root),
                         last_settings=asdict(settings))
        self.meta["steps"].append(_summary(record))
        self._save_index()
        return StepResult(number, COMMITTED, "", size, str(folder), dict(timings), seam)

    def _reject(self, record: dict, folder: Path, reason: str) -> StepResult:
        record.update(status=REJECTED, reason=reason, finished=_now(), size_after=list(self.size))
        _write_json(folder / "step.json", record)
        _touch_atomic(folder / "rejected.err", reason.rstrip() + "\n")
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
            _touch_atomic(self.step_dir(head) / "undone", f"undone {_now()}\n")
            self._canvas = None
            self._reconcile()
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
                    self._catch_up()
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
        _write_json(self.root / SESSION_FILE, self.meta)
        self._stamp = self._index_stamp()

    def _catch_up(self) -> None:
        """If another process changed the session since we last saw it, re-read it from the files."""
        if self._stamp is not None and self._index_stamp() != self._stamp:
            self.flush()
            self.meta = json.loads((self.root / SESSION_FILE).read_text())
            self._canvas = None
            self._reconcile()

    def _next_number(self) -> int:
        numbers = [int(p.name) for p in (self.root / "steps").iterdir() if p.name.isdigit()]
        return max(numbers, default=0) + 1

    def _canvas_file(self, number: int) -> Path:
        return self.root / SOURCE_FILE if number == 0 else self.step_dir(number) / "canvas_after.png"

    def _loaded(self) -> GrowingCanvas:
        if self._canvas is None:
            self._canvas = self._rebuild(self.head)
        return self._canvas

    def _rebuild(self, number: int) -> GrowingCanvas:
        """The canvas after step `number`: read from its file, or replayed from the nearest ancestor
        whose canvas file exists (the files a killed process did not write are written now)."""
        chain = []
        records = {r["number"]: r for r in self.meta["steps"]}
        while number != 0 and not self._canvas_file(number).exists():
            chain.append(records[number])
            number = records[number]["parent"]
        path = self._canvas_file(number)
        width, height = png_size(path)
        direction = chain[-1]["direction"] if chain else (records[number]["direction"] if number else "x_ltr")
        cross, length = frontier_right_shape((height, width), direction)
        # room for the replayed steps and a few more, so a following step need not grow the buffer
        canvas = GrowingCanvas(cross, length, direction, room=(len(chain) + 4) * self.contract.advance)
        read_png_into(path, canvas.user())
        for record in reversed(chain):
            folder = self.step_dir(record["number"])
            settings = StepSettings(**record["settings"])
            canvas = canvas.turned(settings.direction)
            tile = read_png_into(folder / "tile_full.png")
            glue_step(canvas, to_frontier_right(tile, settings.direction), settings, self.contract)
            before = folder / "canvas_before.png"
            if not before.exists():
                _link_job(self._canvas_file(record["parent"]), before)()
            write_png(folder / "canvas_after.png", canvas.user())
        return canvas

    def _reconcile(self) -> None:
        """Rebuild the index from the step folders, which are the truth."""
        records = []
        for folder in sorted((self.root / "steps").iterdir()):
            if not folder.name.isdigit() or not (folder / "step.json").exists():
                continue
            record = json.loads((folder / "step.json").read_text())
            if (folder / "committed.ok").exists():
                record["status"] = UNDONE if (folder / "undone").exists() else COMMITTED
            elif (folder / "rejected.err").exists():
                record["status"] = REJECTED
                record["reason"] = (folder / "rejected.err").read_text().strip()
            else:
                reason = "interrupted: the process stopped during this step; the canvas was not changed"
                record.update(status=REJECTED, reason=reason)
                _write_json(folder / "step.json", record)
                _touch_atomic(folder / "rejected.err", reason + "\n")
            records.append(_summary(record))
        self.meta["steps"] = records
        heads = [r["number"] for r in records if r["status"] == COMMITTED]
        head = max(heads, default=0)
        self.meta["head"] = head
        self.meta["canvas"] = _relative(self._canvas_file(head), self.root)
        canvas = self._rebuild(head)
        self._canvas = canvas
        for record in records:  # canvas_before is a link to the parent's canvas: restore lost links
            before = self.step_dir(record["number"]) / "canvas_before.png"
            parent_canvas = self._canvas_file(record["parent"])
            if not before.exists() and parent_canvas.exists():
                _link_job(parent_canvas, before)()
        self.meta["size"] = list(_user_size(canvas))
        self._save_index()


class _BackgroundWriter:
    """Writes whole-canvas artifacts in order on one thread, while the next tile is generated."""

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def submit(self, job) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="exquisite-writer", daemon=True)
            self._thread.start()
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                job()
            except BaseException as error:  # surfaced by flush(); later jobs still run
                self._error = self._error or error
            finally:
                self._jobs.task_done()

    def flush(self) -> None:
        self._jobs.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise SessionError(f"writing a step artifact failed: {error}") from error

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
        self.flush()


def _canvas_job(canvas: GrowingCanvas, contract: Contract, path: Path):
    """A job that writes the canvas as it is now, even after later steps changed its last O columns.

    Later steps only ever touch columns from L - O on, so the job keeps a copy of those columns (a
    strip of O x cross pixels) and reads the rest from the live buffer when it runs.
    """
    norm = canvas.norm
    view = canvas.user()
    strip_box = user_box((0, norm.shape[0], canvas.length - contract.overlap, canvas.length),
                         norm.shape[:2], canvas.direction)
    strip = np.array(from_frontier_right(norm[:, canvas.length - contract.overlap:], canvas.direction))
    return lambda: write_png(path, view, overlay=strip_box + (strip,))


def _link_job(source: Path, target: Path):
    def link() -> None:
        if target.exists() or not source.exists():
            return  # a parent canvas another process has not written yet: restored on open
        try:
            os.link(source, target)
        except OSError:  # file systems without hard links get a copy
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(source.read_bytes())
            os.replace(tmp, target)
    return link


def _summary(record: dict) -> dict:
    keys = ("number", "parent", "status", "reason", "direction", "backend", "seed", "prompt",
            "size_before", "size_after", "settings", "timings", "started", "finished", "seam")
    return {k: record.get(k) for k in keys}


def _user_size(canvas: GrowingCanvas) -> tuple[int, int]:
    height, width = canvas.user().shape[:2]
    return int(width), int(height)


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"a canvas must be an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    return image


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def _touch_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
