"""The server's sessions: one open `Session` per id, and one lock per id held for a whole tool call.

Why a lock per call and not only per step: `Session` already serialises single steps, but an
"extend by 3" call must not have another call's steps slipped between its own. Each tool call
takes its session's lock, then runs the blocking work in a worker thread, so calls on different
sessions run at the same time while calls on one session queue. A cached `Session` is refreshed
(Session.refresh) before each use, so steps the CLI or another server made are never ignored.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
from pathlib import Path
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from ..shared_core.errors import InputError, SessionError
from ..shared_core.session import ORIGIN_FILE, SESSION_FILE, Session
from .redact import public_source

T = TypeVar("T")
log = logging.getLogger("exquisite.mcp")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class SessionStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._open: dict[str, Session] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self._guard = threading.Lock()

    # ---- ids and folders -------------------------------------------------------------------

    def folder(self, session_id: str) -> Path:
        """The folder of an existing session, or an error that says how to find the right id."""
        if not isinstance(session_id, str) or not ID_PATTERN.match(session_id):
            raise InputError(
                f"{session_id!r} is not a session id (lower-case letters, digits, - and _): "
                f"use an id that open_canvas or list_sessions returned"
            )
        root = self.root / session_id
        if not (root / SESSION_FILE).is_file() and not (root / ORIGIN_FILE).is_file():  # the index is rebuilt
            raise SessionError(
                f"unknown session {session_id!r}: list_sessions shows the sessions there are, "
                f"open_canvas starts a new one"
            )
        return root

    def new_id(self, stem: str) -> str:
        """A fresh id from a readable stem (e.g. the image's file name) and a random suffix."""
        stem = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:40] or "canvas"
        while True:
            session_id = f"{stem}-{secrets.token_hex(3)}"
            if not (self.root / session_id).exists():
                return session_id

    # ---- running work on a session ---------------------------------------------------------

    async def run(self, session_id: str, work: Callable[[], T]) -> T:
        """Run blocking `work` in a worker thread while holding the session's lock.

        The thread is never abandoned: a cancelled call still holds the lock until its step ends.
        """
        self.folder(session_id)  # refuse a bad id before a lock exists for it
        lock = self._locks.setdefault(session_id, anyio.Lock())
        async with lock:
            return await anyio.to_thread.run_sync(work)

    def session(self, session_id: str) -> Session:
        """The open session (call inside `run`), caught up with other processes' changes."""
        root = self.folder(session_id)
        with self._guard:
            session = self._open.get(session_id)
        if session is None:
            session = Session.open(root)
            with self._guard:
                self._open[session_id] = session
        else:
            session.refresh()
        return session

    def done(self, session_id: str, session: Session) -> None:
        """After a change: every artifact of it is on disk before the tool answers, and the session
        stays open for the next call."""
        session.flush()
        with self._guard:
            self._open[session_id] = session

    def forget(self, session_id: str) -> None:
        """Drop the open handle (after a step failed half-way, it may not match the files): the next
        call opens the session again from its files, which finish or reject what was left."""
        with self._guard:
            session = self._open.pop(session_id, None)
        if session is not None:
            try:
                session.close()
            except Exception:  # a writer that failed (e.g. a full disk): reopening rebuilds what is missing
                log.warning("closing session %s after a failure failed", session_id, exc_info=True)

    def close_all(self) -> None:
        with self._guard:
            sessions, self._open = list(self._open.values()), {}
        for session in sessions:
            session.close()

    # ---- listing ---------------------------------------------------------------------------

    def summaries(self, limit: int = 100) -> tuple[list[dict], int]:
        """The most recently changed sessions (read from their index, nothing is repaired)."""
        found = []
        for folder in self.root.iterdir():
            index = folder / SESSION_FILE
            if not ID_PATTERN.match(folder.name) or not index.is_file():
                continue
            try:
                meta = json.loads(index.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            steps = meta.get("steps", [])
            found.append(
                {
                    "session_id": folder.name,
                    "width": int(meta["size"][0]),
                    "height": int(meta["size"][1]),
                    "head": int(meta.get("head", 0)),
                    "committed_steps": sum(1 for s in steps if s.get("status") == "committed"),
                    "steps_tried": len(steps),
                    "created": meta.get("created", ""),
                    "source": public_source(meta.get("source") or {}).get("input", ""),
                    "_mtime": index.stat().st_mtime_ns,
                }
            )
        found.sort(key=lambda s: s["_mtime"], reverse=True)
        for summary in found:
            del summary["_mtime"]
        return found[:limit], len(found)
