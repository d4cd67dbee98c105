"""What a backend needs when it is called from inside a server (ComfyUI), checked before the call.

Two mistakes only show there: the comfyui backend pointed at the very server that runs the node
(it would queue its tile behind the graph that waits for it, until its timeout), and a missing API
key, which must be set where the server process can see it, not in the user's shell. Both are
refused here with advice in the server's words, before anything is sent or paid for.
"""

from __future__ import annotations

import ipaddress
import os
import urllib.parse

from .errors import InputError

SECRETS = {"openai": "OPENAI_API_KEY"}
"""Backend name -> the environment variable its key is read from (the SDK reads nothing else here)."""

WILDCARDS = {"0.0.0.0", "::", ""}


def check_backend_in_server(
    backend: str, generator: object, server_name: str, listen_hosts: list[str], port: int | None
) -> None:
    """Refuse a backend call that cannot work from inside the server `server_name` listening on
    `listen_hosts`:`port` (port None = unknown, then only the key is checked)."""
    secret = SECRETS.get(backend)
    if secret and not os.environ.get(secret):
        raise InputError(
            f"no key for the {backend} backend: set {secret} in the environment of the "
            f"{server_name} server (restart it after setting)"
        )
    target = getattr(generator, "server", None)
    if port is not None and isinstance(target, str) and calls_itself(target, listen_hosts, port):
        raise InputError(
            f"the {backend} backend would send its tile to {target}, which is this {server_name} server "
            f"itself: the tile would wait behind the graph that waits for it. Set backend_settings "
            f'{{"server": "http://HOST:PORT"}} to ANOTHER {server_name} server, or make the tile in this '
            f"graph with a sampler (the three-step checkpoint template)"
        )


def calls_itself(url: str, listen_hosts: list[str], port: int) -> bool:
    """Whether `url` reaches a server listening on `listen_hosts`:`port` on this machine."""
    parts = urllib.parse.urlsplit(url)
    try:
        target_port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    if target_port != int(port):
        return False
    host = (parts.hostname or "").lower()
    listening = {h.strip().strip("[]").lower() for h in listen_hosts}
    if host in listening:
        return True
    return _is_local(host) and any(h in WILDCARDS or _is_local(h) for h in listening)


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
