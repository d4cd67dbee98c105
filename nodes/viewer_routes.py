"""The session viewer on ComfyUI's own server, for the sidebar tab (nodes/web/exquisite_viewer.js).

Routes under /exquisite/viewer/ serve the same page and the same JSON as `exquisite view`: every
request is answered by the core's `ViewerApi` (same routes, same confinement), run in a worker
thread so a canvas being tiled never blocks ComfyUI's event loop. Sessions are those under
ComfyUI's output folder, in exquisite-sessions/. ComfyUI and aiohttp are imported inside
`register()`, so importing this module needs neither.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from ..shared_core.viewer_api import SECURITY_HEADERS, ViewerApi

PREFIX = "/exquisite/viewer"
SESSIONS_FOLDER = "exquisite-sessions"


def sessions_root() -> Path:
    """ComfyUI's output folder / exquisite-sessions (whether or not it exists yet)."""
    import folder_paths  # ComfyUI's module: only there

    return Path(folder_paths.get_output_directory()) / SESSIONS_FOLDER


def register(routes=None, root: Path | None = None) -> ViewerApi:
    """Add the viewer's GET routes to `routes` (default: ComfyUI's `PromptServer.instance.routes`)
    for the sessions under `root` (default: `sessions_root()`); returns the API that answers them."""
    from aiohttp import web

    if routes is None:
        from server import PromptServer  # ComfyUI's module: only there

        routes = PromptServer.instance.routes
    api = ViewerApi([root if root is not None else sessions_root()])

    async def page(request: web.Request) -> web.Response:
        raw = request.rel_url.raw_path  # still percent-encoded: ViewerApi decodes each part once
        tail = raw[raw.find(PREFIX + "/") + len(PREFIX) + 1 :]  # ComfyUI also mounts every route under /api
        reply = await asyncio.to_thread(api.handle, tail, dict(request.query))
        headers = {**SECURITY_HEADERS, **reply.headers, "Content-Type": reply.content_type}
        return web.Response(status=reply.status, body=reply.body, headers=headers)

    async def to_slash(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{request.rel_url.raw_path}/")  # the page's URLs are relative to the folder

    routes.get(PREFIX)(to_slash)
    routes.get(PREFIX + "/{tail:.*}")(page)
    return api
