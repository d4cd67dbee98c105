"""Streamable HTTP, safe by default: loopback only, unless the operator gives a bearer token AND says
`--allow-remote`. With a token every HTTP request must carry `Authorization: Bearer <token>` (401
otherwise), on loopback too.

Why both for a remote bind: the SDK checks Host/Origin headers (DNS-rebinding protection) only on
loopback, and has no authentication of its own; a server on 0.0.0.0 without a token would let anyone
on the network run paid generations and write files into the export folders.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging

from ..shared_core.errors import InputError

log = logging.getLogger("exquisite.mcp")

ENV_TOKEN = "EXQUISITE_MCP_TOKEN"
MIN_TOKEN_CHARS = 16


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # another host name: it may resolve to anything
        return False


def check_bind(host: str, token: str | None, allow_remote: bool) -> None:
    """Refuse, before anything listens, a bind the operator did not secure and ask for."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise InputError(
            f"the bearer token is too short: use at least {MIN_TOKEN_CHARS} random characters "
            f"(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if is_loopback(host):
        return
    if not token:
        raise InputError(
            f"--host {host} would serve other machines without authentication: set {ENV_TOKEN} "
            f"(or --token) and pass --allow-remote, or bind 127.0.0.1"
        )
    if not allow_remote:
        raise InputError(
            f"--host {host} serves other machines: pass --allow-remote to confirm (the bearer "
            f"token is checked on every request), or bind 127.0.0.1"
        )


class BearerGate:
    """ASGI middleware: every HTTP request needs `Authorization: Bearer <token>`, else 401."""

    def __init__(self, app, token: str) -> None:
        self.app = app
        self.expected = token.encode()

    def _authorised(self, scope) -> bool:
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization":
                scheme, _, given = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.expected)
        return False

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket") or self._authorised(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b'{"error": "unauthorized: send Authorization: Bearer <the server\'s token>"}'
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="exquisite-mcp"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def serve_http(server, host: str, port: int, path: str, token: str | None, allow_remote: bool) -> None:
    """Serve `server` (an MCPServer) over streamable HTTP until interrupted."""
    import anyio
    import uvicorn

    from mcp.server.transport_security import TransportSecuritySettings

    check_bind(host, token, allow_remote)
    security = None
    if is_loopback(host):  # Host/Origin checks (DNS rebinding) for every loopback name, not only the SDK's three
        names = {host if ":" not in host.strip("[]") else f"[{host.strip('[]')}]", "127.0.0.1", "localhost", "[::1]"}
        security = TransportSecuritySettings(
            allowed_hosts=[f"{n}:*" for n in sorted(names)], allowed_origins=[f"http://{n}:*" for n in sorted(names)]
        )
    app = server.streamable_http_app(streamable_http_path=path, host=host, transport_security=security)
    if token:
        app = BearerGate(app, token)
    log.info(
        "serving streamable HTTP on http://%s:%s%s (%s; %s)",
        host,
        port,
        path,
        "loopback only" if is_loopback(host) else "remote clients allowed",
        "bearer token required on every request" if token else "no token",
    )
    config = uvicorn.Config(app, host=host, port=port, log_level="info")
    anyio.run(uvicorn.Server(config).serve)
