"""A local HTTP server for tests that talk to a service through its real client (OpenAI's SDK, the
ComfyUI backend's urllib calls): bound to 127.0.0.1 on a free port, served from a thread."""

from __future__ import annotations

import email.parser
import email.policy
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalServer:
    """Serve `handler` (a BaseHTTPRequestHandler subclass) while the `with` block runs."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that does not print every request to stderr."""

    def log_message(self, *args) -> None:
        pass


def parse_multipart(content_type: str, body: bytes) -> tuple[dict, dict]:
    """A multipart/form-data body as ({field: text or file bytes}, {file field: filename})."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields, filenames = {}, {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if part.get_filename():
            fields[name], filenames[name] = payload, part.get_filename()
        else:
            fields[name] = payload.decode()
    return fields, filenames
