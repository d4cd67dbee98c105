"""How a tool's answer looks: one text block (a summary line and the structured result as JSON),
an optional capped preview image and a link to the full-resolution canvas; plus progress
notifications sent from the worker thread that runs the steps.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable

import anyio.from_thread
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, ImageContent, ResourceLink, TextContent
from pydantic import BaseModel

from ..shared_core.preview import Box, Preview, render_preview
from ..shared_core.session import Session
from .models import PreviewInfo, Region
from .settings import ServerSettings

log = logging.getLogger("exquisite.mcp")

URI_ROOT = "exquisite://sessions"
SHORT_MARKER = "… [{more} more characters: read the step's step.json resource]"


def canvas_uri(session_id: str) -> str:
    return f"{URI_ROOT}/{session_id}/canvas.png"


def step_uri(session_id: str, number: int) -> str:
    return f"{URI_ROOT}/{session_id}/steps/{number}/"


def shorten(text: str, limit: int) -> str:
    """`text` cut to about `limit` characters, saying how much was left out and where it is."""
    if len(text) <= limit:
        return text
    return text[:limit] + SHORT_MARKER.format(more=len(text) - limit)


def files(session_id: str, session: Session) -> dict:
    """Where the full-resolution canvas is: the MCP resource and the file on the server."""
    return {"canvas_uri": canvas_uri(session_id), "canvas_path": str(session.canvas_path())}


def preview_for(
    settings: ServerSettings, session: Session, box: Box | None, fmt: str = "auto", max_side: int | None = None
) -> Preview:
    side = settings.preview_max_side if max_side is None else min(max_side, settings.preview_max_side)
    return render_preview(session.canvas_view(), box, max_side=side, max_bytes=settings.preview_max_bytes, fmt=fmt)


def preview_info(preview: Preview) -> PreviewInfo:
    return PreviewInfo(
        format=preview.format,
        width=preview.width,
        height=preview.height,
        bytes=len(preview.data),
        scale=round(preview.scale, 6),
        region=Region(**preview.box.to_dict()),
    )


def result(
    model: BaseModel,
    summary: str,
    preview: Preview | None = None,
    session_id: str | None = None,
    is_error: bool = False,
) -> CallToolResult:
    structured = model.model_dump(mode="json")
    content: list = [TextContent(type="text", text=f"{summary}\n{json.dumps(structured)}")]
    if preview is not None:
        content.append(
            ImageContent(type="image", data=base64.b64encode(preview.data).decode(), mime_type=preview.mime_type)
        )
    if session_id is not None:
        content.append(
            ResourceLink(
                type="resource_link",
                uri=canvas_uri(session_id),
                name="canvas.png",
                mime_type="image/png",
                description="the full-resolution canvas",
            )
        )
    return CallToolResult(content=content, structured_content=structured, is_error=is_error)


class ProgressRelay:
    """Sends MCP progress notifications from the worker thread that runs the steps.

    Progress counts steps (total = steps requested); within a step it moves tile by tile (a step of
    k tiles makes k generator calls, and the core names the tile: "step 2/3: tile 1/4: ..."), and a
    generator's own reports move it within a tile. Values never go backwards (MCP wants them to
    increase): a report at the value of the one before (a tile starting where the last one ended)
    is moved forward a hair, one going back is dropped. A client that went away stops nothing.
    """

    NUDGE = 1e-4

    def __init__(self, ctx: Context, total: int, redact: Callable[[str], str] = str) -> None:
        self.ctx, self.total, self.redact = ctx, total, redact
        self.done = 0
        self.last, self.message = -1.0, ""
        self.tiles = 1

    def _send(self, value: float, message: str) -> None:
        if value < self.last or (value == self.last and message == self.message):
            return
        if value == self.last:
            value = min(self.last + self.NUDGE, self.done + 0.99)
            if value <= self.last:
                return
        self.last, self.message = value, message
        try:
            anyio.from_thread.run(self.ctx.report_progress, value, self.total, self.redact(message))
        except Exception:  # progress is advisory
            log.debug("progress notification not sent", exc_info=True)

    def _of_tiles(self) -> str:
        return f" ({self.tiles} tiles)" if self.tiles > 1 else ""

    def start(self, tiles: int = 1) -> None:
        """Before the first step; `tiles` = how many tiles cover the edge being grown."""
        self.tiles = tiles
        self._send(0.0, f"step 1/{self.total}: generating{self._of_tiles()}")

    def within_step(self, fraction: float, message: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        self._send(self.done + 0.95 * fraction, f"step {self.done + 1}/{self.total}: {message}")

    def step_done(self, outcome) -> None:
        self.done += 1
        status = f"committed{self._of_tiles()}" if outcome.committed else f"rejected ({outcome.reason})"
        self._send(float(self.done), f"step {self.done}/{self.total} {status}")
