"""A session's folder as a whole: created whole or not at all, recognised, and its index
(session.json) read, or rebuilt when it is damaged from what the folder still holds.

created.json records what the session was created with and is never rewritten; session.json is an
index derived from created.json and the step folders, so a damaged one costs nothing: it is rebuilt.
A new session is built in a hidden folder beside its target and renamed into place: two processes
creating the same folder at once cannot both succeed, and a killed creation leaves no half session.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import threading
from pathlib import Path

from .atomic import process_alive, stale_temp_files
from .errors import ExquisiteError, SessionError
from .journal import SOURCE_FILE
from .pngio import png_size

SESSION_FILE = "session.json"
ORIGIN_FILE = "created.json"
FORMAT = 1


def index_of(origin: dict, steps: list, head: int, canvas: str, size, last_settings) -> dict:
    """session.json: what the session was created with, and the index of its steps."""
    return {
        "format": FORMAT,
        "contract": origin["contract"],
        "source": origin["source"],
        "created": origin.get("created", ""),
        "settings": origin.get("settings"),
        "backend": origin.get("backend"),
        "steps": steps,
        "head": head,
        "canvas": canvas,
        "size": size,
        "last_settings": last_settings,
    }


def check_new_root(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise SessionError(f"{root} is a file: give a folder for the new session")
    if root.exists() and any(root.iterdir()):
        if (root / SESSION_FILE).exists() or (root / ORIGIN_FILE).exists():
            raise SessionError(f"{root} already holds a session: continue it instead of creating one")
        raise SessionError(f"{root} exists and is not empty: choose a new session directory")


def staging_folder(root: Path) -> Path:
    """A fresh folder beside `root` to build the session in (stale ones of dead processes go)."""
    parent = root.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_creations(parent)
    staging = parent / f".{root.name}.{os.getpid()}.{threading.get_ident()}.creating"
    shutil.rmtree(staging, ignore_errors=True)
    return staging


def remove_leftovers(root: Path) -> list[str]:
    """What killed runs left that no live process owns (for a writer to call while it holds the
    lock): temp files of killed writes (their pid is in their name) and half-built sessions beside
    this one. Returns what was removed, for the user."""
    notes = []
    stale = stale_temp_files(root)
    size = 0
    for tmp in stale:
        with contextlib.suppress(OSError):
            size += tmp.stat().st_size
            tmp.unlink()
    if stale:
        notes.append(f"removed {len(stale)} temp file(s) of killed writes ({size / 2**20:.1f} MiB)")
    creations = remove_stale_creations(root.absolute().parent)
    if creations:
        notes.append(f"removed {creations} half-created session folder(s) of killed runs beside it")
    return notes


def remove_stale_creations(parent: Path) -> int:
    """Remove the half-built sessions that killed creations left in `parent`; how many there were."""
    removed = 0
    for old in parent.glob(".*.creating"):  # .NAME.PID.THREAD.creating
        pid = old.name.rsplit(".", 3)[-3]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
            removed += 1
    return removed


class CreatedMeanwhile(SessionError):
    """Another process created the same session folder at the same moment."""


def move_into_place(staging: Path, root: Path) -> None:
    """Rename the finished session folder to `root` (atomic; an empty `root` is replaced)."""
    try:
        os.rename(staging, root)
    except OSError as error:
        if error.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise CreatedMeanwhile(
                f"{root} was created by another process at the same moment: continue that "
                f"session or choose another folder"
            ) from None
        raise


def check_session_folder(root: Path) -> None:
    if not root.exists():
        raise SessionError(f"no session at {root}: give a session folder (or the id of one)")
    if not root.is_dir():
        raise SessionError(f"{root} is a file, not a session: give the session's folder (or its id)")
    if not (root / SESSION_FILE).exists() and not (root / ORIGIN_FILE).exists():
        raise SessionError(f"{root} is not a session (no {SESSION_FILE})")


def read_index(root: Path) -> tuple[dict | None, str | None]:
    """session.json if it is whole, else (None, what is wrong with it)."""
    try:
        index = json.loads((root / SESSION_FILE).read_text())
    except FileNotFoundError:
        return None, "was missing"
    except (OSError, ValueError):
        return None, "was damaged (not JSON)"
    if isinstance(index, dict) and isinstance(index.get("format"), int) and index["format"] > FORMAT:
        raise SessionError(
            f"{root} has session format {index['format']}; this version reads {FORMAT}: update exquisite"
        )
    keys = ("contract", "source", "steps", "head", "size", "canvas")
    if not isinstance(index, dict) or index.get("format") != FORMAT or any(k not in index for k in keys):
        return None, "was damaged (not a session index)"
    return index, None


def origin_of(root: Path, index: dict | None) -> dict:
    """What the session was created with: created.json, else the index, else the step records."""
    for source in (json_object(root / ORIGIN_FILE), index):
        if source and isinstance(source.get("contract"), dict) and isinstance(source.get("source"), dict):
            return {k: source.get(k) for k in ("contract", "source", "created", "settings", "backend")}
    steps = sorted((root / "steps").glob("*/step.json")) if (root / "steps").is_dir() else []
    for path in steps:
        record = json_object(path) or json_object(path.with_name("committed.ok"))
        if record and isinstance(record.get("contract"), dict):
            try:
                size = list(png_size(root / SOURCE_FILE))
            except (OSError, ExquisiteError):
                size = None
            return {
                "contract": record["contract"],
                "created": "",
                "settings": None,
                "backend": None,
                "source": {"input": "", "original_size": size, "size": size, "fitted": False},
            }
    raise SessionError(
        f"{root / SESSION_FILE} is damaged and no other file records the session's contract: restore it from a backup"
    )


def json_object(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
