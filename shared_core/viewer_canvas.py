"""The whole canvas after a step, for the viewer's deep zoom: a file of the session when one holds it,
else rendered read-only from the steps.

Why rendering: a session keeps whole canvases only as checkpoints (canvas/NNNN.png, written once per
command and only the newest kept; source.png for step 0; a session made before crops also has each
step's whole canvas_after.png). A step writes crops, so during a long run, or after a crash, the
head has no whole canvas on disk. The viewer then walks to it as a reader does
(`step_canvas.replay_canvas(write=False)`: nearest whole canvas, crops pasted, missing crops glued
again from the tiles) into memory, and the pyramid keeps it in its own temporary folder: nothing is
written into the session.

A step's canvas never changes once the step is committed (an undo marks it; it does not rewrite it),
so a rendered canvas is keyed by the step and its commit marker, not by the session's stamp: it is
made once, and not again when the run ends and writes the same pixels as canvas/NNNN.png.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np

from .errors import ExquisiteError, InputError
from .geometry import Contract
from .journal import COMMITTED, SOURCE_FILE, UNDONE, read_steps, step_dir
from .pngio import png_size
from .session_files import checksum_file
from .session_folder import json_object
from .step_canvas import AFTER, checkpoint_path, replay_canvas, whole_intact
from .viewer_tiles import Pyramid

SESSION_FILE = "session.json"


def canvas_version(folder: Path, number: int) -> str | None:
    """A token that changes only if step `number`'s canvas could: its commit marker (the source's
    file for 0); None when the step is not committed (its canvas does not exist)."""
    path = folder / SOURCE_FILE if number == 0 else step_dir(folder, number) / "committed.ok"
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{st.st_ino:x}.{st.st_mtime_ns:x}"


def _sized(path: Path, size) -> bool:
    """Cheap: the file is a PNG of `size` and its checksum file (if any) records that size. The
    bytes are checked against the checksum when the pyramid is built (`step_canvas.whole_intact`)."""
    try:
        if size is not None and list(png_size(path)) != [int(v) for v in size]:
            return False
        recorded = json.loads(checksum_file(path).read_text())
        return size is None or list(recorded["size"]) == [int(v) for v in size]
    except FileNotFoundError:
        return path.is_file() and not checksum_file(path).exists()  # a session older than checksums
    except (OSError, ValueError, KeyError, TypeError, ExquisiteError):
        return False


def whole_file(folder: Path, number: int, record: dict | None) -> str | None:
    """The session file (relative path) that holds the whole canvas after step `number`, if any:
    its checkpoint, an old session's whole canvas_after.png, or source.png for step 0. `record`:
    the step's record (size_after, crops); None for step 0."""
    if number == 0:
        size = ((json_object(folder / SESSION_FILE) or {}).get("source") or {}).get("size")
        return SOURCE_FILE if _sized(folder / SOURCE_FILE, size) else None
    if record is None or not record.get("size_after"):
        return None
    candidates = [checkpoint_path(folder, number)]
    if not record.get("crops"):  # made before crops: the step's canvas_after.png is whole
        candidates.append(step_dir(folder, number) / f"{AFTER}.png")
    for path in candidates:
        if _sized(path, record["size_after"]):
            return path.relative_to(folder).as_posix()
    return None


def render_canvas(folder: Path, number: int) -> np.ndarray:
    """The whole canvas after step `number` (user orientation), walked to from the nearest whole
    canvas without writing anything; InputError when the session cannot give it."""
    meta = json_object(folder / SESSION_FILE) or {}
    try:
        contract = Contract.from_dict(meta.get("contract") or {})
        # No writer_pid(): its flock, polled by a viewer, could make a writer's own lock attempt
        # fail; the status of a step without a verdict does not matter to a committed step's canvas.
        records = read_steps(folder).records
        if number and not any(r["number"] == number and r["status"] in (COMMITTED, UNDONE) for r in records):
            raise InputError(f"step {number} of {folder.name} is not committed: it has no canvas to show")
        source_size = (meta.get("source") or {}).get("size")
        last = _last_rendered.get(session_key(folder))  # a run in progress: walk on from the last head
        known = (last[0], last[2]) if last and canvas_version(folder, last[0]) == last[1] else None
        canvas = replay_canvas(folder, records, number, contract, source_size, write=False, known=known)
    except InputError:
        raise
    except (ExquisiteError, OSError, KeyError, TypeError) as error:
        raise InputError(f"the canvas after step {number} cannot be rebuilt: {error}") from None
    image = np.array(canvas.user())
    with _last_lock:
        key = session_key(folder)
        _last_rendered.pop(key, None)
        _last_rendered[key] = (number, canvas_version(folder, number), image)
        while len(_last_rendered) > KEEP_LAST:  # the sessions looked at least recently go first
            _last_rendered.pop(next(iter(_last_rendered)))
    return image


_last_rendered: dict[str, tuple] = {}
"""Per session, the last canvas rendered (step, its commit marker's version, pixels): the next head of
a run in progress is walked to from it (a few crops pasted) instead of from the last whole canvas on
disk; used only while that step's commit marker is the same file (a session made anew in the same
folder is not mistaken for it). One per session, for the KEEP_LAST sessions rendered most recently."""
KEEP_LAST = 2
_last_lock = threading.Lock()


def session_key(folder: Path) -> str:
    """The session's real folder, for cache keys (two ids of one folder share their pyramids)."""
    return os.path.realpath(folder)


def step_record(folder: Path, number: int) -> dict | None:
    """A committed step's record: step.json, or the copy its commit marker holds."""
    directory = step_dir(folder, number)
    return json_object(directory / "step.json") or json_object(directory / "committed.ok")


def canvas_pyramid(folder: Path, number: int, scratch: Path) -> Pyramid:
    """The pyramid of the whole canvas after step `number`, in `scratch` (the viewer's temporary
    folder): from the session's file that holds it when its checksum matches, else rendered."""
    record = None if number == 0 else step_record(folder, number)
    relative = whole_file(folder, number, record)
    if relative is not None:
        path = folder / relative
        try:
            if whole_intact(path, record, None):
                return Pyramid(path, scratch)
        except (OSError, InputError):  # removed by the next command's checkpoint, or damaged
            pass
    return Pyramid.of_image(render_canvas(folder, number), scratch)
