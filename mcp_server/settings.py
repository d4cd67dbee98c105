"""What the operator decides, not the agent: where sessions live, which folders may be read and
written, which backend runs with which settings, how large a preview may be.

Read from environment variables (what an MCP client config sets) and overridden by command-line
flags. Backend settings may hold API keys: they are never printed, logged or returned.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..shared_core.service import data_home, default_backend
from ..shared_core.errors import InputError
from ..shared_core.preview import DEFAULT_MAX_BYTES, DEFAULT_MAX_SIDE

ENV_SESSIONS = "EXQUISITE_SESSIONS"
ENV_INPUT_DIRS = "EXQUISITE_INPUT_DIRS"
ENV_EXPORT_DIRS = "EXQUISITE_EXPORT_DIRS"
ENV_BACKEND = "EXQUISITE_BACKEND"
ENV_BACKEND_SETTINGS = "EXQUISITE_BACKEND_SETTINGS"
ENV_PREVIEW_MAX_BYTES = "EXQUISITE_PREVIEW_MAX_BYTES"
ENV_PREVIEW_MAX_SIDE = "EXQUISITE_PREVIEW_MAX_SIDE"
ENV_MAX_STEPS = "EXQUISITE_MAX_STEPS"
ENV_MAX_UPLOAD_BYTES = "EXQUISITE_MAX_UPLOAD_BYTES"

DEFAULT_MAX_STEPS = 8
"""Steps one extend call may run unless the operator says otherwise: short enough for clients' timeouts."""

INPUT_HINT = f"set {ENV_INPUT_DIRS} or pass --input-dir to allow a folder"
EXPORT_HINT = f"set {ENV_EXPORT_DIRS} or pass --export-dir to allow a folder"


@dataclass
class ServerSettings:
    sessions_dir: Path = field(default_factory=lambda: data_home() / "sessions")
    input_dirs: list[Path] = field(default_factory=list)
    export_dirs: list[Path] = field(default_factory=lambda: [data_home() / "exports"])
    backend: str = ""
    backend_settings: dict[str, dict] = field(default_factory=dict, repr=False)
    preview_max_bytes: int = DEFAULT_MAX_BYTES
    preview_max_side: int = DEFAULT_MAX_SIDE
    max_steps: int = DEFAULT_MAX_STEPS
    max_upload_bytes: int = 2 * 1024 * 1024

    def __post_init__(self) -> None:
        self.sessions_dir = Path(self.sessions_dir).expanduser().absolute()
        self.input_dirs = [Path(p).expanduser().absolute() for p in self.input_dirs]
        self.export_dirs = [Path(p).expanduser().absolute() for p in self.export_dirs]
        self.backend = self.backend or default_backend()
        if not isinstance(self.backend_settings, dict) or not all(
            isinstance(v, dict) for v in self.backend_settings.values()
        ):
            raise InputError(
                f"{ENV_BACKEND_SETTINGS} must be a JSON object of objects keyed by backend "
                f'name, e.g. {{"openai": {{"model": "gpt-image-1.5"}}}}'
            )
        for name in ("preview_max_bytes", "preview_max_side", "max_steps", "max_upload_bytes"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be a positive number")

    def settings_for(self, backend: str) -> dict:
        return dict(self.backend_settings.get(backend, {}))

    def describe(self) -> str:
        """A one-line summary for the log: names and folders only, never backend settings."""
        return (
            f"sessions {self.sessions_dir}; inputs {[str(p) for p in self.input_dirs] or 'none'}; "
            f"exports {[str(p) for p in self.export_dirs]}; backend {self.backend}"
        )


def _dirs(value: str | None) -> list[Path] | None:
    if value is None:
        return None
    return [Path(p) for p in value.split(os.pathsep) if p.strip()]


def _json_object(text: str, what: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as bad:  # the message names the position only, never the text
        raise InputError(f"{what} is not valid JSON (line {bad.lineno} column {bad.colno})") from None
    if not isinstance(value, dict):
        raise InputError(f"{what} must be a JSON object keyed by backend name")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="exquisite-mcp", description="MCP tool server for step-wise image outpainting (stdio by default)."
    )
    p.add_argument("--sessions", help=f"folder for sessions (env {ENV_SESSIONS})")
    p.add_argument(
        "--input-dir",
        action="append",
        default=None,
        help=f"a folder images may be read from; repeatable (env {ENV_INPUT_DIRS}, {os.pathsep}-separated)",
    )
    p.add_argument(
        "--export-dir",
        action="append",
        default=None,
        help=f"a folder exports may be written to; repeatable (env {ENV_EXPORT_DIRS})",
    )
    p.add_argument("--backend", help=f"default generator backend (env {ENV_BACKEND})")
    p.add_argument(
        "--backend-settings",
        metavar="JSON",
        help=f'backend settings keyed by backend name (env {ENV_BACKEND_SETTINGS}), '
        f'e.g. \'{{"openai": {{"model": "gpt-image-1.5"}}}}\'',
    )
    p.add_argument(
        "--max-steps",
        type=int,
        help=f"most steps one extend call may run (env {ENV_MAX_STEPS}, default {DEFAULT_MAX_STEPS})",
    )
    p.add_argument("--preview-max-bytes", type=int, help=f"env {ENV_PREVIEW_MAX_BYTES}, default {DEFAULT_MAX_BYTES}")
    p.add_argument("--preview-max-side", type=int, help=f"env {ENV_PREVIEW_MAX_SIDE}, default {DEFAULT_MAX_SIDE}")
    p.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="stdio (default) or streamable HTTP")
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    p.add_argument("--path", default="/mcp", help="HTTP endpoint path (default /mcp)")
    p.add_argument(
        "--token",
        help="HTTP bearer token every request must carry (env EXQUISITE_MCP_TOKEN, "
        "preferred: a flag shows in the process list); at least 16 characters",
    )
    p.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host (needs a token)")
    return p


def from_env_and_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> ServerSettings:
    env = os.environ if env is None else env
    kwargs: dict = {}
    sessions = args.sessions or env.get(ENV_SESSIONS)
    if sessions:
        kwargs["sessions_dir"] = Path(sessions)
    inputs = args.input_dir if args.input_dir else _dirs(env.get(ENV_INPUT_DIRS))
    if inputs is not None:
        kwargs["input_dirs"] = inputs
    exports = args.export_dir if args.export_dir else _dirs(env.get(ENV_EXPORT_DIRS))
    if exports:
        kwargs["export_dirs"] = exports
    backend = args.backend or env.get(ENV_BACKEND)
    if backend:
        kwargs["backend"] = backend
    settings_text = args.backend_settings or env.get(ENV_BACKEND_SETTINGS)
    if settings_text:
        kwargs["backend_settings"] = _json_object(settings_text, "the backend settings")
    for name, flag, key in (
        ("max_steps", args.max_steps, ENV_MAX_STEPS),
        ("preview_max_bytes", args.preview_max_bytes, ENV_PREVIEW_MAX_BYTES),
        ("preview_max_side", args.preview_max_side, ENV_PREVIEW_MAX_SIDE),
        ("max_upload_bytes", None, ENV_MAX_UPLOAD_BYTES),
    ):
        value = flag if flag is not None else env.get(key)
        if value is not None:
            try:
                kwargs[name] = int(value)
            except ValueError:
                raise InputError(f"{key} must be a whole number, got {value!r}") from None
    return ServerSettings(**kwargs)
