"""The viewer's routes, independent of any HTTP server: a path in, a status, a type and bytes out.

Why separate from the server: the same page is served by `exquisite view` (the standard library's
http.server) and inside ComfyUI (aiohttp); both hand their request path to `ViewerApi.handle`, so
they serve the same JSON and refuse the same paths. Paths are relative to where the viewer is
mounted (`/` for `exquisite view`, `/exquisite/viewer/` in ComfyUI) and the page only uses relative
URLs. Every file served is confined: session files to their session folder (real path, so `..` and
symlinks out are refused), of the kinds the journal writes (PNG, JSON, text); page files to the
package's web folder. Nothing here writes into a session.

Routes (see docs/viewer.md): ``api/sessions``, ``api/sessions/ID``, ``api/sessions/ID/stamp``,
``api/sessions/ID/canvas?step=N|file=REL``, ``files/ID/REL``,
``tiles/ID/LEVEL/COL_ROW.jpg?step=N|file=REL``, ``crop/ID?step=N|file=REL&box=X,Y,W,H``, and the
page itself (``""``, ``static/...``). `step=N` is the whole canvas after step N (viewer_canvas.py:
the session's file that holds it, or rendered from the steps into the viewer's temporary folder).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from .errors import InputError
from .paths import inside, real
from .viewer_data import SERVED_SUFFIXES, list_sessions, read_session, stamp, summary
from .viewer_canvas import canvas_pyramid, canvas_version, session_key
from .viewer_tiles import Pyramid, PyramidCache

WEB_DIR = Path(__file__).resolve().parent.parent / "web" / "viewer"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
# Sent with every answer by both servers: the page loads only its own files and runs only its own scripts.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'self'"
    ),
}
_TILE = re.compile(r"^(\d{1,2})/(\d{1,6})_(\d{1,6})\.jpg$")


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes
    headers: dict = field(default_factory=dict)


class Refused(Exception):
    """A request for something the viewer does not serve (403) or does not have (404)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(data, status: int = 200) -> Reply:
    return Reply(status, "application/json", json.dumps(data).encode(), {"Cache-Control": "no-store"})


def confined(root: Path, relative: str, suffixes: tuple[str, ...]) -> Path:
    """The real file `relative` names inside `root`, or Refused: no absolute paths, no `..`, no
    hidden files, only the given kinds, and the real location (symlinks followed) inside root."""
    if not relative or "\x00" in relative or "\\" in relative or relative.startswith("/"):
        raise Refused(403, f"refused path {relative!r}: give a path inside the session")
    parts = relative.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise Refused(403, f"refused path {relative!r}: no '..', hidden or empty parts")
    if Path(relative).suffix.lower() not in suffixes:
        raise Refused(403, f"refused path {relative!r}: only {', '.join(suffixes)} files are served")
    target = root / relative
    if not inside(target, [root]):
        raise Refused(403, f"refused path {relative!r}: it leads outside the session")
    target = real(target)
    if not target.is_file():
        raise Refused(404, f"no file {relative!r}")
    return target


def _box(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise Refused(404, f"box is x,y,width,height in pixels, got {text!r}") from None
    return x, y, w, h


class ViewerApi:
    """Serves the sessions found in `roots` (each a session or a folder of sessions)."""

    def __init__(self, roots: list[Path], web_dir: Path = WEB_DIR) -> None:
        self.roots = [Path(r) for r in roots]
        self.web_dir = web_dir
        self.pyramids = PyramidCache()  # PNG files of the sessions (a step's crops)
        self.canvases = PyramidCache(keep=2)  # whole canvases after a step: apart, so crops do not push them out

    def close(self) -> None:
        self.pyramids.close()
        self.canvases.close()

    def sessions(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for root in self.roots:
            for session_id, folder in list_sessions(root).items():
                found.setdefault(session_id, folder)
        return found

    def _session(self, session_id: str) -> Path:
        folder = self.sessions().get(session_id)
        if folder is None:
            raise Refused(404, f"no session {session_id!r} here")
        return folder

    def handle(self, path: str, query: dict[str, str]) -> Reply:
        """Answer one GET. `path` is percent-encoded and relative to the viewer's mount point."""
        try:
            return self._route([unquote(p) for p in path.lstrip("/").split("/")], query)
        except Refused as refused:
            return _json({"error": str(refused)}, refused.status)
        except InputError as bad:
            return _json({"error": str(bad)}, 404)
        except OSError as gone:  # a file removed or replaced while it was being read
            return _json({"error": f"could not read it: {gone.strerror or gone}"}, 404)

    def _route(self, parts: list[str], query: dict[str, str]) -> Reply:
        if parts in ([""], ["index.html"]):
            return self._static("index.html")
        head, rest = parts[0], parts[1:]
        if head == "static" and rest:
            return self._static("/".join(rest))
        if head == "api" and rest[:1] == ["sessions"]:
            return self._api(rest[1:], query)
        if head == "files" and len(rest) >= 2:
            folder = self._session(rest[0])
            target = confined(folder, "/".join(rest[1:]), SERVED_SUFFIXES)
            return Reply(200, CONTENT_TYPES[target.suffix.lower()], target.read_bytes(), {"Cache-Control": "no-cache"})
        if head == "tiles" and len(rest) == 3:
            match = _TILE.match("/".join(rest[1:]))
            if match is None:
                raise Refused(404, "tiles are tiles/ID/LEVEL/COL_ROW.jpg")
            pyramid = self._pyramid(rest[0], query)
            level, col, row = (int(g) for g in match.groups())
            return Reply(200, "image/jpeg", pyramid.tile(level, col, row), {"Cache-Control": "max-age=3600"})
        if head == "crop" and len(rest) == 1:
            box = _box(query.get("box", ""))
            return Reply(200, "image/png", self._pyramid(rest[0], query).crop(box), {"Cache-Control": "max-age=3600"})
        raise Refused(404, f"no such page {'/'.join(parts)!r}")

    def _api(self, parts: list[str], query: dict[str, str]) -> Reply:
        if not parts:
            return _json(
                {
                    "sessions": [summary(folder, sid) for sid, folder in self.sessions().items()],
                    "roots": [str(r) for r in self.roots],
                }
            )
        folder = self._session(parts[0])
        if len(parts) == 1:
            return _json(read_session(folder, parts[0]))
        if parts[1:] == ["stamp"]:
            return _json({"stamp": stamp(folder)})
        if parts[1:] == ["canvas"]:
            return _json(self._pyramid(parts[0], query).info())
        raise Refused(404, f"no such endpoint {'/'.join(parts)!r}")

    def _pyramid(self, session_id: str, query: dict[str, str]) -> Pyramid:
        """`step=N`: the whole canvas after step N; `file=REL`: a PNG of the session."""
        folder = self._session(session_id)
        if "step" in query:
            return self._canvas(folder, query["step"])
        target = confined(folder, query.get("file", ""), (".png",))
        return self.pyramids.get(target)

    def _canvas(self, folder: Path, text: str) -> Pyramid:
        """Made once per committed step (see viewer_canvas.py), whatever the session does later."""
        if not text.isdigit() or len(text) > 6:
            raise Refused(404, f"step is a step number (step=3), got {text!r}")
        number = int(text)
        version = canvas_version(folder, number)
        if version is None:
            raise Refused(404, f"step {number} is not committed: it has no canvas to show")
        key = ("step", session_key(folder), number, version)
        return self.canvases.get_built(key, lambda scratch: canvas_pyramid(folder, number, scratch))

    def _static(self, relative: str) -> Reply:
        target = confined(self.web_dir, relative, tuple(s for s in CONTENT_TYPES if s != ".json"))
        return Reply(200, CONTENT_TYPES[target.suffix.lower()], target.read_bytes(), {"Cache-Control": "no-cache"})
