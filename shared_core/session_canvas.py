"""The session's canvas: in memory, as the whole canvas on disk, and after any step.

Split from session.py: `SessionCanvas` is the part of `Session` that holds the head canvas (loaded
lazily by walking from the nearest whole canvas, step_canvas.py), writes it whole once per command
(`_checkpoint`), and hands it to readers (canvas, canvas_view, canvas_at, canvas_path, export). It
is only ever used as Session's base class.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .atomic import stale_temp_files
from .canvas import GrowingCanvas
from .errors import InputError
from .geometry import Contract
from .journal import COMMITTED, UNDONE
from .pngio import write_png
from .service import check_export_target
from .session_files import BackgroundWriter, storage_error
from .step_canvas import checkpoint_path, replay_canvas, write_checkpoint


class SessionCanvas:
    """The head canvas of a Session and the whole canvases of its steps."""

    if TYPE_CHECKING:  # what Session provides
        root: Path
        meta: dict
        contract: Contract
        repairs: list[str]
        _canvas: GrowingCanvas | None
        _checkpointed: int | None
        _writable: bool
        _writer: BackgroundWriter

        @property
        def head(self) -> int: ...

        def history(self) -> list[dict]: ...

        def flush(self) -> None: ...

        def _exclusive(self, reload: bool = True): ...

    def canvas(self) -> np.ndarray:
        """A copy of the current canvas in the user's orientation."""
        return np.array(self._loaded().user())

    def canvas_view(self) -> np.ndarray:
        """The current canvas in the user's orientation without a copy (for previews of long
        canvases); valid only until the next step or undo, so read it while no step runs."""
        view = self._loaded().user()
        view.flags.writeable = False
        return view

    def canvas_at(self, number: int) -> np.ndarray:
        """The whole canvas after step `number` (0: the source; a committed or undone step) in the
        user's orientation, rebuilt in memory from the nearest whole canvas and the steps' crops
        (nothing is written); refused clearly for a step that made none."""
        records = {r["number"]: r for r in self.history()}
        if number != 0 and records.get(number, {}).get("status") not in (COMMITTED, UNDONE):
            made = ", ".join(str(n) for n, r in records.items() if r["status"] in (COMMITTED, UNDONE)) or "none"
            status = records[number]["status"] if number in records else "not a step of this session"
            raise InputError(
                f"step {number} has no canvas ({status}): give 0 (the source) or a committed or undone step ({made})"
            )
        if number == self.head:
            return self.canvas()
        return replay_canvas(
            self.root, self.history(), number, self.contract, self.meta["source"].get("size"), write=False
        ).user()

    def canvas_path(self) -> Path:
        """The file that holds the whole current canvas: canvas/NNNN.png (source.png before any step),
        written at the end of every command that changed it; a writer writes it now if it is not yet."""
        if self._writable:
            with self._exclusive():
                self._checkpoint()
        return checkpoint_path(self.root, self.head)

    def export(self, out: str | os.PathLike, level: int = 6, force: bool = True) -> Path:
        """Write the current canvas to `out` (never into the session; over an existing file only
        with `force`, which faces that asked the user already pass)."""
        out = check_export_target(out, force, self.root)
        canvas = self._loaded()
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            for tmp in stale_temp_files(out.parent, out.name):  # an earlier export to `out`, killed
                tmp.unlink(missing_ok=True)
            return write_png(out, canvas.user(), level)
        except OSError as error:
            raise storage_error(error, f"the export {out} could not be written") from None

    def _loaded(self) -> GrowingCanvas:
        if self._canvas is None:
            self._canvas = self._replayed(self.head, self.repairs)
        return self._canvas

    def _replayed(self, head: int, notes: list) -> GrowingCanvas:
        canvas = replay_canvas(
            self.root, self.meta["steps"], head, self.contract, self.meta["source"].get("size"), self._writable, notes
        )
        self._checkpointed = head if canvas.read_whole == head else None
        return canvas

    def _checkpoint(self) -> None:
        """Write the whole head canvas (canvas/NNNN.png) unless it is on disk already: once per
        command that changed it, so a step's cost does not grow with the canvas (step_canvas.py)."""
        self.flush()
        if self._canvas is None or self._checkpointed == self.head:
            return
        try:
            write_checkpoint(self.root, self.head, self._canvas.user())
        except OSError as error:
            raise storage_error(
                error, "the whole canvas could not be written (every step is committed; it is written on the next open)"
            ) from None
        self._checkpointed = self.head
