"""`exquisite view`'s HTTP server: the standard library only, on 127.0.0.1, read-only.

Why the header checks: a page on any web site can make the browser send requests to
127.0.0.1:PORT through a DNS name it controls (DNS rebinding). Such requests carry that name in
`Host` (and a foreign `Origin`), so only `127.0.0.1:PORT` and `localhost:PORT` are answered. Only GET
and HEAD exist; every route and every path check is `ViewerApi`'s.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from .viewer_api import SECURITY_HEADERS, Reply, ViewerApi


class ViewerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: ViewerApi, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.api = api
        self.port = self.server_address[1]
        self.allowed_hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        self.allowed_origins = {f"http://{host}" for host in self.allowed_hosts}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> threading.Thread:
        """Serve on a background thread (for tests and embedding); `stop()` ends it."""
        thread = threading.Thread(target=self.serve_forever, name="exquisite-viewer", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.api.close()


class _Handler(BaseHTTPRequestHandler):
    server: ViewerServer
    server_version = "exquisite-viewer"
    sys_version = ""

    def log_message(self, format, *args) -> None:
        pass  # the page polls every second: a line per request would bury the URL

    def _refusal(self) -> Reply | None:
        host = self.headers.get("Host", "")
        if host not in self.server.allowed_hosts:
            return Reply(
                403,
                "text/plain; charset=utf-8",
                f"refused: Host {host!r} is not this viewer (use {self.server.url})\n".encode(),
            )
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self.server.allowed_origins:
            return Reply(403, "text/plain; charset=utf-8", f"refused: Origin {origin!r}\n".encode())
        return None

    def _answer(self, with_body: bool) -> None:
        reply = self._refusal()
        if reply is None:
            parts = urlsplit(self.path)
            reply = self.server.api.handle(parts.path, dict(parse_qsl(parts.query)))
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in {**SECURITY_HEADERS, **reply.headers}.items():
            self.send_header(name, value)
        self.end_headers()
        if with_body:
            self.wfile.write(reply.body)

    def do_GET(self) -> None:
        self._answer(True)

    def do_HEAD(self) -> None:
        self._answer(False)

    def _not_allowed(self) -> None:
        body = b"read-only viewer: only GET and HEAD\n"
        self.send_response(405)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed


def serve(roots: list[Path], port: int = 0) -> ViewerServer:
    """A server for the sessions under `roots`, bound but not yet serving."""
    return ViewerServer(ViewerApi(roots), port)
