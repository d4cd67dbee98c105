"""Keep secrets and server paths out of what an agent sees: a backend's error text may quote its own
settings, and a session records the full path of the image it started from."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_SECRET_WORDS = ("key", "token", "secret", "password")
_MIN_LENGTH = 6


def _looks_secret(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_WORDS)


def secret_values(backend_settings: dict[str, dict], env: Mapping[str, str] | None = None) -> list[str]:
    """Values that must never be shown: secret-named backend settings and environment variables."""
    env = os.environ if env is None else env
    found = []
    for options in backend_settings.values():
        for name, value in options.items():
            if isinstance(value, str) and _looks_secret(name) and len(value) >= _MIN_LENGTH:
                found.append(value)
    for name, value in env.items():
        if _looks_secret(name) and isinstance(value, str) and len(value) >= _MIN_LENGTH:
            found.append(value)
    return sorted(set(found), key=len, reverse=True)  # longest first: no partial leftovers


class Redactor:
    def __init__(self, secrets: list[str]) -> None:
        self._secrets = secrets

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


def public_source(source: dict) -> dict:
    """A session's `source` record as an agent sees it: the input file by name only, never the
    folder it was read from (the one rule for session_history, list_sessions and session.json)."""
    shown = dict(source)
    if "input" in shown:
        shown["input"] = Path(str(shown["input"])).name
    return shown


def public_index(meta: dict) -> dict:
    """A session's index (session.json) with its source shown by `public_source`."""
    return {**meta, "source": public_source(meta.get("source") or {})}
