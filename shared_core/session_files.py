"""Session file plumbing: atomic JSON and marker files, canvases with their checksums, the
background writer, and the one-writer lock.

A step's canvas crops are derived artifacts (a committed step's canvas can always be replayed from
its tiles), so they are written in order on a background thread while the next tile is generated,
and every face waits for them (`flush`) before it returns. Each canvas file gets a checksum file
beside it (`canvas_after.sha256`: sha256 and size of the PNG as written), so a file replaced or
damaged later is noticed on open and rebuilt instead of being trusted.

One writer per session: `writer_lock` holds an flock on `.lock` (which names the holder's pid) for
a whole run of steps, so a second writer is refused at once, saying who holds it, or waits.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .errors import SessionError
from .pngio import encode_png

try:  # advisory lock between processes; absent on Windows, where the in-process lock still holds
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"


class StorageError(SessionError):
    """The disk refused a write (full, read-only...): nothing committed is lost, the message says
    which step and what to do."""


class SessionBusy(SessionError):
    """Another process (or thread) is changing the session right now."""


def storage_error(error: OSError, what: str) -> StorageError:
    """A one-line StorageError for an OSError that happened while writing `what`."""
    reason = error.strerror or str(error)
    advice = "free some space" if error.errno == errno.ENOSPC else "make the session folder writable"
    return StorageError(f"{what}: {reason}; {advice} and run the command again")


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
            if isinstance(error, OSError):
                name = "/".join(Path(error.filename).parts[-2:]) if error.filename else "a canvas file"
                raise storage_error(
                    error,
                    f"{name} could not be written (the step itself is committed; "
                    f"its canvas is rebuilt on the next open)",
                )
            raise SessionError(f"writing a step artifact failed: {error}") from error

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
        self.flush()


def checksum_file(canvas: Path) -> Path:
    """Where a canvas's checksum lives: source.png -> source.sha256."""
    return canvas.with_suffix(".sha256")


def write_canvas(path: Path, image: np.ndarray) -> Path:
    """Write a canvas PNG (a whole canvas or a step's crop) atomically, then its checksum file
    (sha256 of the bytes, and the size)."""
    digest = hashlib.sha256()
    atomic_write(path, _hashed(encode_png(image, 1), digest), sync=False)  # derived: replayed if lost
    height, width = image.shape[:2]
    atomic_write(checksum_file(path), json.dumps({"sha256": digest.hexdigest(), "size": [width, height]}), sync=False)
    return path


def _hashed(chunks: Iterable[bytes], digest) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (read in blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def canvas_verified(path: Path, size: list | tuple | None) -> bool:
    """True when the canvas file exists, has the size expected (if known) and the bytes its
    checksum file recorded when it was written."""
    try:
        recorded = json.loads(checksum_file(path).read_text())
        if size is not None and list(recorded["size"]) != list(size):
            return False
        return file_digest(path) == recorded["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def write_json(path: Path, data: object, compact: bool = False) -> None:
    """Atomic JSON; `compact` (one line, the C encoder: about 20x faster) for the session index,
    which every step rewrites and which grows with the number of steps."""
    text = json.dumps(data, separators=(",", ":")) if compact else json.dumps(data, indent=1)
    atomic_write(path, text, sync=False)


def touch_atomic(path: Path, text: str) -> None:
    """A marker file (committed.ok, rejected.err, undone): synced, because it is the commit."""
    atomic_write(path, text)


@contextlib.contextmanager
def writer_lock(root: Path, wait: bool = False, on_wait=None):
    """Hold the session's writer lock: refused at once (SessionBusy, naming the holder's pid) while
    another process holds it, unless `wait` (then `on_wait(pid)` is called once and this blocks)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(root / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(handle)
            if not wait:
                raise SessionBusy(
                    f"{root} is being changed by process {pid}: try again when it has "
                    f"finished (the CLI waits for it with --wait)"
                ) from None
            if on_wait is not None:
                on_wait(pid)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def writer_pid(root: Path) -> int | None:
    """The pid of the process writing the session now, or None (reads only: creates no lock file)."""
    if fcntl is None:  # pragma: no cover
        return None
    try:
        handle = open(root / LOCK_FILE)  # noqa: SIM115  (closed by the `with` below)
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(handle) or -1
        except OSError:
            return None
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _holder(handle) -> int | None:
    handle.seek(0)
    text = handle.read().strip()
    return int(text) if text.isdigit() else None
