"""Assemble the MCP server: the module-level tools (tools.py) and resources (resources.py), the state
they reach through the SDK's lifespan context (state.py), and the three things every tool shares:

- the server's own argument domains (max steps, installed backends) put into each schema;
- every failure turned into a one-line ToolError an agent can read, secrets removed; arguments the
  schema refuses are reported the same way (which argument, what it should be, what was given);
- `serverInfo.version` = the installed package's version.

The session viewer (an MCP App) plugs in through `create_app(..., extensions=[...], tool_meta={...})`:
`tool_meta` adds `_meta` to named tools (e.g. {"view_canvas": {"ui": {"resourceUri": "ui://..."}}}),
`extensions` are SDK extensions such as `mcp.server.apps.Apps`.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import traceback
from dataclasses import dataclass
from functools import wraps
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import Resource
from pydantic import ValidationError

from ..shared_core.errors import ExquisiteError, InputError
from ..shared_core.generators import backend_names
from .arguments import server_domains
from .redact import Redactor, secret_values
from .resources import RESOURCES, canvas_listing
from .settings import ServerSettings
from .state import AppState, lifespan, state_of
from .store import SessionStore
from .tools import TOOLS, ToolSpec
from . import viewer_app

VIEWER_TOOLS = ("extend_canvas", "view_canvas", "session_history")
"""Tools whose results the session viewer (an MCP App, viewer_app.py) renders inline in clients that show apps."""

log = logging.getLogger("exquisite.mcp")

INSTRUCTIONS = """\
exquisite grows an image 512 px at a time on any side (outpainting), at full resolution: an edge
longer than a 1024 px tile is generated as several tiles, one generator call each. Workflow:
list_sessions (shows the folders you may read and export to), open_canvas (an image file, base64
bytes or a blank canvas; fit=true is optional and only scales the picture to a one-tile strip),
extend_canvas (a direction right/left/down/up, any direction after any other, N steps, a prompt for
the new region), view_canvas to look, undo_step to drop the last step, export_canvas to write a PNG.
Rejected steps change nothing; their reason says why. Full-resolution files are resources
(exquisite://sessions/{id}/canvas.png) and paths on the server."""


def package_version() -> str:
    try:
        return importlib.metadata.version("exquisite")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


class ExquisiteServer(MCPServer):
    """An MCPServer holding its state (yielded by the lifespan), whose resources/list also names each
    session's canvas and whose refused arguments come back as one readable line."""

    def __init__(self, state: AppState, **kwargs: Any) -> None:
        self.state = state
        super().__init__("exquisite", instructions=INSTRUCTIONS, version=package_version(), lifespan=lifespan, **kwargs)

    async def list_resources(self) -> list[Resource]:
        return await super().list_resources() + await canvas_listing(self.state)

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:
            if isinstance(error.__cause__, ValidationError):
                raise ToolError(argument_problems(name, error.__cause__)) from error.__cause__
            raise


def argument_problems(tool: str, error: ValidationError) -> str:
    """One line for arguments the schema refused: which, what they should be, what was given."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "arguments"
        if item["type"] == "missing":
            problems.append(f"{where} is required")
            continue
        given = repr(item.get("input"))
        given = given if len(given) <= 60 else given[:57] + "..."
        problems.append(f"{where}: {item['msg'].removeprefix('Value error, ')} (got {given})")
    return f"{tool} refused its arguments: {'; '.join(problems)}: see the tool's input schema"


def _guarded(spec: ToolSpec, domains: Mapping[str, Any]) -> Callable:
    """The tool function with the server's domains in its signature and its failures as ToolErrors."""
    fn = spec.fn
    signature = inspect.signature(fn, eval_str=True)
    if "ctx" not in signature.parameters:
        raise TypeError(f"tool {fn.__name__} must take ctx: Context (it reaches the server's state through it)")
    parameters = [p.replace(annotation=domains.get(p.name, p.annotation)) for p in signature.parameters.values()]

    @wraps(fn)
    async def tool(**kwargs: Any) -> Any:
        redact = state_of(kwargs["ctx"]).redact
        try:
            return await fn(**kwargs)
        except (ToolError, ExquisiteError) as error:
            raise ToolError(redact(str(error))) from None
        except Exception as error:  # a bug: keep the text, log the trace (to stderr, redacted)
            log.error("%s", redact(traceback.format_exc()))
            raise ToolError(redact(f"internal error in {fn.__name__}: {type(error).__name__}: {error}")) from None

    tool.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": signature.return_annotation}
    tool.__doc__ = inspect.cleandoc(fn.__doc__ or "")  # the description, without source indentation
    return tool


@dataclass
class App:
    """The MCP server together with what it serves, so tests and main can close it properly."""

    mcp: ExquisiteServer
    store: SessionStore
    settings: ServerSettings

    def close(self) -> None:
        self.store.close_all()


def create_app(
    settings: ServerSettings,
    *,
    extensions: Sequence[Any] = (),
    tool_meta: Mapping[str, dict] | None = None,
    extra_secrets: Sequence[str] = (),
) -> App:
    """The server for `settings`; refuses an unavailable default backend before anything is served."""
    backends = backend_names()
    if settings.backend not in backends:
        raise InputError(
            f"the default backend {settings.backend!r} is not available: choose one of "
            f"{', '.join(backends)} (EXQUISITE_BACKEND or --backend)"
        )
    tool_meta = {name: viewer_app.TOOL_META for name in VIEWER_TOOLS} | dict(tool_meta or {})
    unknown = set(tool_meta) - {spec.fn.__name__ for spec in TOOLS}
    if unknown:
        raise ValueError(f"tool_meta names tools this server does not have: {', '.join(sorted(unknown))}")
    store = SessionStore(settings.sessions_dir)
    secrets = {*secret_values(settings.backend_settings), *(s for s in extra_secrets if s)}
    redact = Redactor(sorted(secrets, key=len, reverse=True))
    server = ExquisiteServer(AppState(settings, store, redact), extensions=list(extensions) or None)
    domains = server_domains(settings.max_steps, backends)
    for spec in TOOLS:
        server.add_tool(
            _guarded(spec, domains),
            name=spec.fn.__name__,
            title=spec.title,
            annotations=spec.annotations,
            meta=tool_meta.get(spec.fn.__name__),
        )
    for resource in RESOURCES:
        server.resource(resource.uri, mime_type=resource.mime_type, description=resource.description)(resource.fn)
    viewer_app.register(server)
    return App(server, store, settings)
