"""Session file plumbing: atomic JSON and marker files, canvas links, and the background writer.

Whole-canvas PNGs are derived artifacts (a committed step's canvas can always be replayed from its
tiles), so they are written in order on a background thread while the next tile is generated, and
every face waits for them (`flush`) before it returns.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .canvas import GrowingCanvas
from .errors import SessionError
from .geometry import Contract, from_frontier_right, user_box
from .pngio import write_png


class BackgroundWriter:
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


def canvas_job(canvas: GrowingCanvas, contract: Contract, path: Path):
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


def link_job(source: Path, target: Path):
    def link() -> None:
        if target.exists() or not source.exists():
            return  # a parent canvas another process has not written yet: restored on open
        try:
            os.link(source, target)
        except FileExistsError:
            pass
        except OSError:  # file systems without hard links get a copy
            atomic_write(target, source.read_bytes())
    return link


def relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def write_json(path: Path, data: object) -> None:
    atomic_write(path, json.dumps(data, indent=1), sync=False)


def touch_atomic(path: Path, text: str) -> None:
    """A marker file (committed.ok, rejected.err, undone): synced, because it is the commit."""
    atomic_write(path, text)
