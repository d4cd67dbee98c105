"""What every tool and resource reaches through the SDK's lifespan context: the server's settings,
its sessions and the redactor, built once by `create_app` and yielded by the server's lifespan.

Tools take a `ctx: Context` (the SDK injects it and keeps it out of the schema) and call
`state_of(ctx)`; nothing is captured in closures, so each tool is a plain module-level function.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from mcp.server.mcpserver import Context

from .redact import Redactor
from .settings import ServerSettings
from .store import SessionStore

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer


@dataclass
class AppState:
    settings: ServerSettings
    store: SessionStore
    redact: Redactor


def state_of(ctx: Context) -> AppState:
    """The server's state for this request (what the lifespan yielded)."""
    state = ctx.request_context.lifespan_context
    assert isinstance(state, AppState), "the server was not made by create_app"
    return state


@asynccontextmanager
async def lifespan(server: MCPServer) -> AsyncIterator[AppState]:
    """Yield the state the server was created with (an `ExquisiteServer` holds it from
    `create_app` on, so a bad setting fails before any client connects)."""
    yield server.state  # type: ignore[attr-defined]
