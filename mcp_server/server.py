"""The `exquisite-mcp` server: an agent opens a canvas, extends it step by step, looks, undoes, exports.

Tools are thin over `shared_core.session.Session`; what is not MCP-specific lives in the core
(`paths` for folder confinement, `preview` for capped previews and changed regions). Every tool's
blocking work runs in a worker thread under its session's lock (see `store`), every change is
flushed to disk before the tool returns, and every failure an agent can fix is a ToolError that
says what was wrong and what to do.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import logging
import sys
import traceback
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Annotated, Literal

import anyio.from_thread
import anyio.to_thread
import numpy as np
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp_types import CallToolResult, ImageContent, Resource, ResourceLink, TextContent, ToolAnnotations
from PIL import ImageColor
from pydantic import BaseModel, Field

from ..shared_core.errors import ExquisiteError, InputError
from ..shared_core.generators import backend_names
from ..shared_core.glue import BLENDS
from ..shared_core.geometry import (
    DIRECTION_WORDS, FILLS, Contract, parse_direction,
)
from ..shared_core.paths import confine, inside
from ..shared_core.pngio import decode_image_bytes
from ..shared_core.preview import Box, Preview, changed_box, check_box, render_preview
from ..shared_core.service import check_steps, plan_steps, run_steps
from ..shared_core.session import COMMITTED, Session
from .models import (
    ExportResult, ExtendResult, HistoryResult, HistoryStep, ListResult, OpenResult, PreviewInfo, Region,
    SessionSummary, StepOutcome, UndoResult, ViewResult,
)
from .redact import Redactor, secret_values
from .settings import EXPORT_HINT, INPUT_HINT, ServerSettings, from_env_and_args, parser
from .store import SessionStore

log = logging.getLogger("exquisite.mcp")

URI_ROOT = "exquisite://sessions"
STEP_IMAGES = ("conditioning_band", "reference", "mask", "canvas_before", "tile_full", "new_half", "canvas_after")
MAX_BLANK_SIDE = 16384

INSTRUCTIONS = """\
exquisite grows an image one 1024 px tile at a time (outpainting). Workflow: list_sessions (shows the
folders you may read and export to), open_canvas (an image file, base64 bytes or a blank canvas; use
fit=true unless the side across the growth direction is already 1024 px), extend_canvas (a direction
right/left/down/up, N steps, a prompt for the new region), view_canvas to look, undo_step to drop the
last step, export_canvas to write a PNG. Rejected steps change nothing; their reason says why.
Full-resolution files are resources (exquisite://sessions/{id}/canvas.png) and paths on the server."""


def _canvas_uri(session_id: str) -> str:
    return f"{URI_ROOT}/{session_id}/canvas.png"


class _SessionListingServer(MCPServer):
    """An MCPServer whose resources/list also names each session's canvas.

    The canvases are served through a URI template, which resources/list does not show; clients
    that only browse resources/list (to let the user attach one) would otherwise see nothing.
    """

    session_store: SessionStore | None = None

    async def list_resources(self) -> list[Resource]:
        listed = await super().list_resources()
        if self.session_store is None:
            return listed
        summaries, _ = await anyio.to_thread.run_sync(self.session_store.summaries)
        return listed + [
            Resource(uri=_canvas_uri(s["session_id"]), name=f"{s['session_id']}/canvas.png", mime_type="image/png",
                     description=f"canvas of session {s['session_id']}: {s['width']}x{s['height']} at step {s['head']}")
            for s in summaries]


@dataclass
class App:
    """The MCP server together with what it serves, so tests and main can close it properly."""

    mcp: MCPServer
    store: SessionStore
    settings: ServerSettings

    def close(self) -> None:
        self.store.close_all()


def create_app(settings: ServerSettings) -> App:
    if settings.backend not in backend_names():
        raise InputError(f"the default backend {settings.backend!r} is not available: choose one of "
                         f"{', '.join(backend_names())} (EXQUISITE_BACKEND or --backend)")
    store = SessionStore(settings.sessions_dir)
    redact = Redactor(secret_values(settings.backend_settings))
    mcp = _SessionListingServer("exquisite", instructions=INSTRUCTIONS)
    mcp.session_store = store
    app = App(mcp, store, settings)

    def tool_errors(fn):
        """Turn every failure into a ToolError an agent can read, with secrets removed."""
        @wraps(fn)
        async def wrapper(*args, **kwargs):
            try:
                return await fn(*args, **kwargs)
            except ToolError as error:
                raise ToolError(redact(str(error))) from None
            except ExquisiteError as error:
                raise ToolError(redact(str(error))) from None
            except Exception as error:  # a bug: keep the text, log the trace (to stderr, redacted)
                log.error("%s", redact(traceback.format_exc()))
                raise ToolError(redact(f"internal error in {fn.__name__}: {type(error).__name__}: {error}")) from None
        wrapper.__doc__ = inspect.cleandoc(fn.__doc__ or "")  # the tool's description, without source indentation
        return wrapper

    def preview_for(session: Session, box: Box | None, fmt: str = "auto", max_side: int | None = None) -> Preview:
        side = settings.preview_max_side if max_side is None else min(max_side, settings.preview_max_side)
        return render_preview(session.canvas_view(), box, max_side=side, max_bytes=settings.preview_max_bytes,
                              fmt=fmt)

    def files(session_id: str, session: Session) -> dict:
        return {"canvas_uri": _canvas_uri(session_id), "canvas_path": str(session.canvas_path())}

    def result(model: BaseModel, summary: str, preview: Preview | None, session_id: str | None,
               is_error: bool = False) -> CallToolResult:
        structured = model.model_dump(mode="json")
        content: list = [TextContent(type="text", text=f"{summary}\n{json.dumps(structured)}")]
        if preview is not None:
            content.append(ImageContent(type="image", data=base64.b64encode(preview.data).decode(),
                                        mime_type=preview.mime_type))
        if session_id is not None:
            content.append(ResourceLink(type="resource_link", uri=_canvas_uri(session_id), name="canvas.png",
                                        mime_type="image/png",
                                        description="the full-resolution canvas"))
        return CallToolResult(content=content, structured_content=structured, is_error=is_error)

    # ---- tools -------------------------------------------------------------------------------

    @mcp.tool(
        title="Open a canvas",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                                    open_world_hint=False))
    @tool_errors
    async def open_canvas(
        image_path: Annotated[str | None, Field(description=(
            "an image file inside an allowed input folder (see list_sessions): a relative name, an "
            "absolute path or a file:// URI"))] = None,
        image_base64: Annotated[str | None, Field(description=(
            "the image's bytes as base64 (or a data: URL), for small images only"))] = None,
        blank: Annotated[bool, Field(description="start from a blank canvas instead of an image")] = False,
        blank_width: Annotated[int, Field(description="width of a blank canvas in px")] = 1024,
        blank_height: Annotated[int, Field(description="height of a blank canvas in px")] = 1024,
        blank_color: Annotated[str, Field(description="colour of a blank canvas: a name or #rrggbb")] = "gray",
        fit: Annotated[bool, Field(description=(
            "scale the image so its side across `direction` is the 1024 px tile (aspect kept); "
            "without it such an image is refused"))] = False,
        direction: Annotated[str, Field(description=(
            "the direction you plan to grow first: right, left, down or up (decides which side must "
            "be 1024 px)"))] = "right",
        overlap: Annotated[int, Field(description=(
            "px of old canvas each step blends over: 512 (default, the whole tile is pasted) or 256 "
            "(legacy)"))] = 512,
        name: Annotated[str | None, Field(description="a readable stem for the session id")] = None,
    ) -> Annotated[CallToolResult, OpenResult]:
        """Start a session from an image file, base64 image bytes or a blank canvas. Returns the
        session id that every other tool takes, the canvas size and a preview."""
        sources = [image_path is not None, image_base64 is not None, bool(blank)]
        if sum(sources) != 1:
            raise InputError("give exactly one of image_path, image_base64 or blank=true")
        direction = parse_direction(direction)
        contract = Contract(overlap=overlap)
        if image_path is not None:
            source = confine(image_path, settings.input_dirs, what="input image", must_exist=True,
                             configure_hint=INPUT_HINT)
            stem = name or source.stem
            image: object = str(source)
        elif image_base64 is not None:
            image = _decode_base64(image_base64, settings.max_upload_bytes)
            stem = name or "upload"
        else:
            image = _blank(blank_width, blank_height, blank_color)
            stem = name or "blank"
        session_id = store.new_id(stem)

        def work():
            session = Session.create(store.root / session_id, image, contract, fit=fit, direction=direction)
            store.done(session_id, session)
            preview = preview_for(session, None)
            source_meta = session.meta["source"]
            model = OpenResult(
                session_id=session_id, width=session.size[0], height=session.size[1],
                original_width=source_meta["original_size"][0], original_height=source_meta["original_size"][1],
                fitted=bool(source_meta["fitted"]), contract=contract.to_dict(),
                preview=_preview_info(preview), **files(session_id, session))
            return model, preview

        model, preview = await anyio.to_thread.run_sync(work)
        summary = (f"opened session {session_id}: canvas {model.width}x{model.height}"
                   + (f" (fitted from {model.original_width}x{model.original_height})" if model.fitted else ""))
        return result(model, summary, preview, session_id)

    @mcp.tool(
        title="Extend a canvas",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                                    open_world_hint=True))
    @tool_errors
    async def extend_canvas(
        session_id: Annotated[str, Field(description="from open_canvas or list_sessions")],
        direction: Annotated[str, Field(description="right, left, down or up (or x_ltr, x_rtl, y_ttb, y_btt)")],
        ctx: Context,
        steps: Annotated[int, Field(description="how many 512 px steps to take (each is one generated tile)")] = 1,
        prompt: Annotated[str | None, Field(description=(
            "what the new region should show; omitted = the session's last prompt"))] = None,
        backend: Annotated[str | None, Field(description="generator backend; omitted = the server's default")] = None,
        blend: Annotated[str | None, Field(description=f"seam blend, one of {', '.join(BLENDS)}; omitted = the last (linear at first)")] = None,
        seed: Annotated[int | None, Field(description="seed of the first step; step i uses seed+i; omitted = last+1")] = None,
        fill: Annotated[str | None, Field(description=f"what the model sees in the new half, one of {', '.join(FILLS)}")] = None,
        preview_format: Annotated[Literal["auto", "png", "jpeg"], Field(description="format of the preview")] = "auto",
    ) -> Annotated[CallToolResult, ExtendResult]:
        """Grow the canvas by `steps` tiles in one direction, one generator call per step, with progress
        notifications per step. Returns each step's status (committed, or rejected with its reason:
        a rejected step changes nothing and stops the call), the new size and a preview of the region
        this call changed. The result is an error only when no step committed."""
        store.folder(session_id)
        direction = parse_direction(direction)
        check_steps(steps, settings.max_steps, "call extend_canvas again to continue")
        backend = backend or settings.backend
        progress = _ProgressRelay(ctx, steps)

        def work():
            session = store.session(session_id)
            width, height = session.size
            chosen = {"direction": direction, "prompt": prompt, "seed": seed, "blend": blend, "fill": fill}
            plan = plan_steps(session.contract, session.meta.get("last_settings"), chosen, backend,
                              settings.settings_for(backend), steps, settings.max_steps, size=session.size)
            progress.start()
            try:
                outcomes = run_steps(session, plan, on_step=progress.step_done, progress=progress.within_step)
            finally:
                store.done(session_id, session)
            committed = sum(1 for r in outcomes if r.committed)
            box = changed_box(session.contract, direction, (width, height), committed) if committed else None
            preview = preview_for(session, box, preview_format) if box else None
            model = ExtendResult(
                session_id=session_id, direction=direction, backend=backend, requested_steps=steps,
                committed_steps=committed,
                steps=[StepOutcome(number=r.number, status=r.status, reason=redact(r.reason), width=r.size[0],
                                   height=r.size[1], seconds=round(r.timings.get("generate_s", 0.0) + r.timings.get("overhead_s", 0.0), 3),
                                   seam=r.seam or None)
                       for r in outcomes],
                width=session.size[0], height=session.size[1],
                changed_region=Region(**box.to_dict()) if box else None,
                preview=_preview_info(preview) if preview else None, **files(session_id, session))
            return model, preview

        model, preview = await store.run(session_id, work)
        summary = (f"session {session_id}: {model.committed_steps} of {steps} steps committed "
                   f"{DIRECTION_WORDS[direction]}; canvas {model.width}x{model.height}")
        for outcome in model.steps:
            if outcome.status != COMMITTED:
                summary += f"\nstep {outcome.number} rejected: {outcome.reason}"
        return result(model, summary, preview, session_id, is_error=model.committed_steps == 0)

    @mcp.tool(
        title="View a canvas",
        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                    open_world_hint=False))
    @tool_errors
    async def view_canvas(
        session_id: Annotated[str, Field(description="from open_canvas or list_sessions")],
        what: Annotated[Literal["canvas", "last_step", "region"], Field(description=(
            "canvas: the whole canvas; last_step: the region the last committed step changed; region: "
            "the `region` box"))] = "canvas",
        region: Annotated[Region | None, Field(description="the box to show when what=region")] = None,
        format: Annotated[Literal["auto", "png", "jpeg"], Field(description=(
            "auto: PNG when it fits the size cap, else JPEG"))] = "auto",
        max_side: Annotated[int | None, Field(description=(
            "longest side of the preview in px (at most the server's cap)"))] = None,
    ) -> Annotated[CallToolResult, ViewResult]:
        """Look at a session as an image capped in bytes and pixels whatever the canvas size. The
        full-resolution canvas is the resource in canvas_uri and the file in canvas_path."""
        store.folder(session_id)
        if what == "region" and region is None:
            raise InputError("what=region needs a region {x, y, width, height} in canvas pixels")
        if what != "region" and region is not None:
            raise InputError(f"a region is only used with what=region (got what={what})")
        if max_side is not None and max_side < 16:
            raise InputError(f"max_side must be at least 16 px, got {max_side}")

        def work():
            session = store.session(session_id)
            if what == "canvas":
                box = None
            elif what == "region":
                box = check_box(Box(region.x, region.y, region.width, region.height), session.size)
            else:
                if session.head == 0:
                    raise InputError("no step is committed yet: view what=canvas instead")
                record = next(r for r in session.history() if r["number"] == session.head)
                box = changed_box(session.contract, record["direction"], tuple(record["size_before"]), 1)
            preview = preview_for(session, box, format, max_side)
            model = ViewResult(session_id=session_id, what=what, width=session.size[0], height=session.size[1],
                               head=session.head, preview=_preview_info(preview), **files(session_id, session))
            return model, preview

        model, preview = await store.run(session_id, work)
        info = model.preview
        summary = (f"session {session_id} ({model.width}x{model.height}, step {model.head}): {what} "
                   f"x={info.region.x} y={info.region.y} {info.region.width}x{info.region.height} shown at "
                   f"{info.width}x{info.height} {info.format}")
        return result(model, summary, preview, session_id)

    @mcp.tool(
        title="Session history",
        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                    open_world_hint=False))
    @tool_errors
    async def session_history(
        session_id: Annotated[str, Field(description="from open_canvas or list_sessions")],
    ) -> Annotated[CallToolResult, HistoryResult]:
        """Every step tried in a session, oldest first: status (committed, rejected, undone), reason,
        direction, prompt, seed, backend and sizes."""
        def work():
            session = store.session(session_id)
            steps = [HistoryStep(
                number=r["number"], status=r["status"], reason=redact(r.get("reason") or ""),
                direction=r["direction"], prompt=r.get("prompt") or "", seed=int(r.get("seed") or 0),
                backend=r.get("backend") or "", blend=(r.get("settings") or {}).get("blend", ""),
                size_before=list(r["size_before"]), size_after=r.get("size_after"), seam=r.get("seam"),
                step_uri=f"{URI_ROOT}/{session_id}/steps/{r['number']}/") for r in session.history()]
            source = dict(session.meta["source"])
            source["input"] = Path(str(source.get("input", ""))).name
            return HistoryResult(session_id=session_id, width=session.size[0], height=session.size[1],
                                 head=session.head, contract=session.contract.to_dict(), source=source,
                                 steps=steps, **files(session_id, session))

        model = await store.run(session_id, work)
        lines = [f"session {session_id}: {model.width}x{model.height} at step {model.head}"]
        for s in model.steps:
            size = s.size_after or s.size_before
            lines.append(f"{s.number:4d} {s.status:<9} {s.direction:<5} {size[0]}x{size[1]} seed {s.seed} "
                         f"{s.prompt!r}" + (f" reason: {s.reason}" if s.status == "rejected" else ""))
        return result(model, "\n".join(lines), None, None)

    @mcp.tool(
        title="Undo the last step",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False,
                                    open_world_hint=False))
    @tool_errors
    async def undo_step(
        session_id: Annotated[str, Field(description="from open_canvas or list_sessions")],
    ) -> Annotated[CallToolResult, UndoResult]:
        """Revert the last committed step: the canvas returns to what it was before it (the step's
        files stay, marked undone). Call again to go back further."""
        def work():
            session = store.session(session_id)
            if session.head == 0:  # refused here too, so not even a lock file is made
                raise InputError("nothing to undo: the session is at its source image")
            try:
                record = session.undo()
            finally:
                store.done(session_id, session)
            return UndoResult(session_id=session_id, undone_step=record["number"], head=session.head,
                              width=session.size[0], height=session.size[1], **files(session_id, session))

        model = await store.run(session_id, work)
        return result(model, f"undid step {model.undone_step}; session {session_id} is {model.width}x"
                             f"{model.height} at step {model.head}", None, session_id)

    @mcp.tool(
        title="Export a canvas",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True,
                                    open_world_hint=False))
    @tool_errors
    async def export_canvas(
        session_id: Annotated[str, Field(description="from open_canvas or list_sessions")],
        path: Annotated[str, Field(description=(
            "a .png file inside an allowed export folder (see list_sessions): a relative name or an "
            "absolute path"))],
        overwrite: Annotated[bool, Field(description="replace the file if it exists")] = False,
    ) -> Annotated[CallToolResult, ExportResult]:
        """Write the session's current canvas at full resolution to a PNG file in an export folder."""
        store.folder(session_id)
        target = confine(path, settings.export_dirs, what="export", configure_hint=EXPORT_HINT)
        if inside(target, [settings.sessions_dir]):
            raise InputError("exports may not be written into the sessions folder: choose another path")
        if target.suffix.lower() != ".png":
            raise InputError(f"exports are PNG files: give a path ending in .png, not {target.name}")
        if target.exists() and not overwrite:
            raise InputError(f"{target} already exists: choose another name or pass overwrite=true")
        if target.is_dir():
            raise InputError(f"{target} is a folder: give a file name ending in .png")

        def work():
            session = store.session(session_id)
            written = session.export(target)
            return ExportResult(session_id=session_id, path=str(written), width=session.size[0],
                                height=session.size[1], bytes=written.stat().st_size)

        model = await store.run(session_id, work)
        return result(model, f"wrote {model.path} ({model.width}x{model.height})", None, None)

    @mcp.tool(
        title="List sessions",
        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                    open_world_hint=False))
    @tool_errors
    async def list_sessions() -> Annotated[CallToolResult, ListResult]:
        """The sessions on this server (newest first), the backends, and the folders open_canvas may
        read from and export_canvas may write to."""
        summaries, total = await anyio.to_thread.run_sync(store.summaries)
        model = ListResult(sessions=[SessionSummary(**s) for s in summaries], total=total,
                           backends=backend_names(), default_backend=settings.backend,
                           input_dirs=[str(p) for p in settings.input_dirs],
                           export_dirs=[str(p) for p in settings.export_dirs])
        summary = f"{total} session(s); input folders: {model.input_dirs or 'none'}; export folders: {model.export_dirs}"
        return result(model, summary, None, None)

    # ---- resources ---------------------------------------------------------------------------

    async def read_session_file(session_id: str, relative: str) -> bytes:
        def work():
            session = store.session(session_id)
            path = session.canvas_path() if relative == "canvas" else session.root / relative
            if not path.is_file():
                raise ResourceError(f"session {session_id} has no {relative}")
            return path.read_bytes()
        try:
            return await store.run(session_id, work)
        except ExquisiteError as error:
            raise ResourceError(redact(str(error))) from None

    @mcp.resource(f"{URI_ROOT}/{{session_id}}/canvas.png", mime_type="image/png",
                  description="a session's current canvas at full resolution")
    async def canvas_resource(session_id: str) -> bytes:
        return await read_session_file(session_id, "canvas")

    @mcp.resource(f"{URI_ROOT}/{{session_id}}/session.json", mime_type="application/json",
                  description="a session's index: contract, source and steps")
    async def session_resource(session_id: str) -> str:
        return (await read_session_file(session_id, "session.json")).decode()

    @mcp.resource(f"{URI_ROOT}/{{session_id}}/steps/{{number}}/{{artifact}}.png", mime_type="image/png",
                  description="a step's image: " + ", ".join(STEP_IMAGES))
    async def step_image_resource(session_id: str, number: str, artifact: str) -> bytes:
        if artifact not in STEP_IMAGES:
            raise ResourceError(f"unknown step image {artifact!r}: use one of {', '.join(STEP_IMAGES)}")
        return await read_session_file(session_id, f"steps/{_step_number(number):04d}/{artifact}.png")

    @mcp.resource(f"{URI_ROOT}/{{session_id}}/steps/{{number}}/step.json", mime_type="application/json",
                  description="a step's record: settings, status, reason, timings")
    async def step_record_resource(session_id: str, number: str) -> str:
        return (await read_session_file(session_id, f"steps/{_step_number(number):04d}/step.json")).decode()

    return app


class _ProgressRelay:
    """Sends MCP progress notifications from the worker thread that runs the steps.

    Progress counts steps (total = steps requested); a generator's own progress moves it within a
    step. Values never go backwards, and a client that went away does not stop the steps.
    """

    def __init__(self, ctx: Context, total: int) -> None:
        self.ctx, self.total = ctx, total
        self.done = 0
        self.last = -1.0

    def _send(self, value: float, message: str) -> None:
        if value <= self.last:
            return
        self.last = value
        try:
            anyio.from_thread.run(self.ctx.report_progress, value, self.total, message)
        except Exception:  # progress is advisory
            log.debug("progress notification not sent", exc_info=True)

    def start(self) -> None:
        self._send(0.0, f"step 1/{self.total}: generating")

    def within_step(self, fraction: float, message: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        self._send(self.done + 0.95 * fraction, f"step {self.done + 1}/{self.total}: {message}")

    def step_done(self, outcome) -> None:
        self.done += 1
        status = outcome.status if outcome.committed else f"rejected ({outcome.reason})"
        self._send(float(self.done), f"step {self.done}/{self.total} {status}")


def _preview_info(preview: Preview) -> PreviewInfo:
    return PreviewInfo(format=preview.format, width=preview.width, height=preview.height,
                       bytes=len(preview.data), scale=round(preview.scale, 6),
                       region=Region(**preview.box.to_dict()))


def _step_number(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 10000:
        raise ResourceError(f"{text!r} is not a step number: use the numbers session_history lists")
    return int(text)


def _decode_base64(text: str, max_bytes: int) -> np.ndarray:
    """Image bytes given inline, refused before decoding when they are larger than the cap."""
    text = text.strip()
    if text.startswith("data:"):
        header, sep, text = text.partition(",")
        if not sep or ";base64" not in header:
            raise InputError("a data: URL must be base64 (data:image/png;base64,...)")
    if len(text) * 3 // 4 > max_bytes:
        raise InputError(f"the base64 image is about {len(text) * 3 // 4} bytes, over the {max_bytes}-byte limit "
                         f"for inline images: put the file in an input folder and pass image_path")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("image_base64 is not valid base64") from None
    return decode_image_bytes(data, "base64 image")


def _blank(width: int, height: int, colour: str) -> np.ndarray:
    for name, value in (("blank_width", width), ("blank_height", height)):
        if not 1 <= value <= MAX_BLANK_SIDE:
            raise InputError(f"{name} must be from 1 to {MAX_BLANK_SIDE} px, got {value}")
    try:
        rgb = ImageColor.getrgb(colour)[:3]
    except ValueError:
        raise InputError(f"unknown colour {colour!r}: use a name (gray, white, ...) or #rrggbb") from None
    return np.full((height, width, 3), rgb, dtype=np.uint8)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="exquisite-mcp: %(message)s")
    try:
        settings = from_env_and_args(args)
        app = create_app(settings)
    except ExquisiteError as error:
        print(f"exquisite-mcp: {error}", file=sys.stderr)
        return 2
    log.info("%s", settings.describe())
    try:
        if args.transport == "http":
            app.mcp.run("streamable-http", host=args.host, port=args.port, streamable_http_path=args.path)
        else:
            app.mcp.run()
    except KeyboardInterrupt:
        pass
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
