"""Atomic file writes: a file either does not exist or is complete, whatever kills the process.

Every file the core writes goes through `atomic_write`: the bytes go to a hidden temporary file
beside the target, are flushed to disk, and the temporary file is renamed over the target (a
rename within one folder is atomic). If writing fails (a full disk, a closed pipe) the temporary
file is removed at once, so a failure never leaves a half-written file or a stray temp file behind.
Temp files are named `.NAME.THREAD.PID.tmp`: two threads of one process may write the same file at
once (two handles of one session, e.g. an MCP server's and a viewer's, rebuilding the same canvas)
and must not share a temp file. `stale_temp_files` finds those of processes that were killed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{threading.get_ident()}.{os.getpid()}{TEMP_SUFFIX}")


def atomic_write(path: str | os.PathLike, data: bytes | str | Iterable[bytes], sync: bool = True) -> Path:
    """Write `data` (bytes, text or an iterable of byte chunks) to `path` atomically."""
    path = Path(path)
    tmp = temp_name(path)
    chunks = [data.encode() if isinstance(data, str) else data] if isinstance(data, (bytes, str)) else data
    try:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            if sync:
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.filename is None:  # a failed write() names no file: name it
            error.filename = str(path)
        raise
    return path


def stale_temp_files(folder: Path, name: str | None = None) -> list[Path]:
    """Temp files under `folder` left by processes that are no longer running (with `name`: only
    those of that file, directly in `folder`)."""
    stale = []
    found = folder.glob(f".{name}.*{TEMP_SUFFIX}") if name else folder.rglob(f".*{TEMP_SUFFIX}")
    for tmp in found:
        pid = tmp.name[: -len(TEMP_SUFFIX)].rsplit(".", 1)[-1]
        if not pid.isdigit() or not process_alive(int(pid)):
            stale.append(tmp)
    return stale


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs (ours always does; another user's counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
