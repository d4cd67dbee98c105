"""The seven tools, as module-level functions: argument translation and presentation over the core's
step service (`shared_core.service`), nothing else.

Each tool is declared by `@tool(title, hints)` and reaches the server's settings and sessions
through `state_of(ctx)` (the SDK's lifespan context). Blocking work runs in a worker thread under
the session's lock (see `store`); every change is on disk before the tool returns. app.py registers
`TOOLS`, turns every failure into a ToolError an agent can read and puts the server's own domains
(max steps, installed backends) into the schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable
from typing import Annotated, Literal

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field, Strict

from ..shared_core.errors import InputError
from ..shared_core.generators import backend_names
from ..shared_core.geometry import DIRECTION_WORDS, Contract, parse_direction
from ..shared_core.paths import confine
from ..shared_core.preview import Box, check_box, steps_region
from ..shared_core.service import check_export_target
from ..shared_core.session import COMMITTED, Session
from .arguments import (
    PATH_MAX_CHARS,
    Backend,
    Blend,
    Direction,
    Fill,
    Flag,
    Overlap,
    PreviewFormat,
    Prompt,
    Seed,
    SessionId,
    Steps,
)
from . import extending, inputs
from .models import (
    ExportResult,
    ExtendResult,
    HistoryResult,
    HistoryStep,
    ListResult,
    OpenResult,
    Region,
    SessionSummary,
    UndoResult,
    ViewResult,
)
from .present import ProgressRelay, files, preview_for, preview_info, result, shorten, step_uri
from .redact import public_source
from .settings import EXPORT_HINT, INPUT_HINT
from .state import AppState, state_of

HISTORY_PROMPT_CHARS = 200
HISTORY_REASON_CHARS = 1000  # reasons are short in practice; the cap only bounds a runaway one
HISTORY_PAGE = 50
HISTORY_PAGE_MAX = 200


@dataclass(frozen=True)
class ToolSpec:
    fn: Callable
    title: str
    annotations: ToolAnnotations


TOOLS: list[ToolSpec] = []


def tool(title: str, *, read_only: bool, destructive: bool, idempotent: bool, open_world: bool = False):
    """Declare a tool: its title and what a client may assume about it (MCP tool annotations)."""

    def declare(fn: Callable) -> Callable:
        TOOLS.append(
            ToolSpec(
                fn,
                title,
                ToolAnnotations(
                    read_only_hint=read_only,
                    destructive_hint=destructive,
                    idempotent_hint=idempotent,
                    open_world_hint=open_world,
                ),
            )
        )
        return fn

    return declare


Side = Annotated[int, Strict(), Field(ge=1, le=inputs.MAX_BLANK_SIDE)]


# Long only because its signature is its input schema: each argument with its type, limits and description.
@tool("Open a canvas", read_only=False, destructive=False, idempotent=False)
async def open_canvas(
    ctx: Context,
    image_path: Annotated[
        Annotated[str, Strict(), Field(max_length=PATH_MAX_CHARS)] | None,
        Field(
            description=(
                "an image file inside an allowed input folder (see list_sessions): a relative name, an absolute "
                "path, ~/... or a file:// URI"
            )
        ),
    ] = None,
    image_base64: Annotated[
        Annotated[str, Strict()] | None,
        Field(description=("the image's bytes as base64 (or a data: URL), for small images only")),
    ] = None,
    blank: Annotated[Flag, Field(description="start from a blank canvas instead of an image")] = False,
    blank_width: Annotated[Side, Field(description="width of a blank canvas in px")] = 1024,
    blank_height: Annotated[Side, Field(description="height of a blank canvas in px")] = 1024,
    blank_color: Annotated[
        str, Strict(), Field(max_length=64, description=("colour of a blank canvas: a name or #rrggbb"))
    ] = "gray",
    fit: Annotated[
        Flag,
        Field(
            description=(
                "optional: scale the image so its side across `direction` is one 1024 px tile (aspect kept), "
                "for a one-tile strip; without it the full resolution is kept and a longer edge grows as "
                "several tiles"
            )
        ),
    ] = False,
    direction: Annotated[
        Direction,
        Field(
            description=(
                "the direction you plan to grow first: the image must be at least 512 px along it (with "
                "fit, the side across it becomes 1024 px); extend_canvas may grow any direction later"
            )
        ),
    ] = "right",
    overlap: Overlap = 512,
    name: Annotated[
        Annotated[str, Strict(), Field(max_length=64)] | None, Field(description=("a readable stem for the session id"))
    ] = None,
) -> Annotated[CallToolResult, OpenResult]:
    """Start a session from an image file, base64 image bytes or a blank canvas, at full resolution
    (fit is optional). Returns the session id that every other tool takes, the canvas size and a
    preview."""
    state = state_of(ctx)
    if sum([image_path is not None, image_base64 is not None, bool(blank)]) != 1:
        raise InputError("give exactly one of image_path, image_base64 or blank=true")
    direction = parse_direction(direction)
    contract = Contract(overlap=overlap)
    image: object  # a path, or pixels
    if image_path is not None:
        source = confine(
            image_path, state.settings.input_dirs, what="input image", must_exist=True, configure_hint=INPUT_HINT
        )
        stem, image = name or source.stem, str(source)
    elif image_base64 is not None:
        stem, image = name or "upload", inputs.decode_base64(image_base64, state.settings.max_upload_bytes)
    else:
        stem, image = name or "blank", inputs.blank(blank_width, blank_height, blank_color)
    session_id = state.store.new_id(stem)

    def work():
        session = Session.create(state.store.root / session_id, image, contract, fit=fit, direction=direction)
        state.store.done(session_id, session)
        preview = preview_for(state.settings, session, None)
        source = session.meta["source"]
        model = OpenResult(
            session_id=session_id,
            width=session.size[0],
            height=session.size[1],
            original_width=source["original_size"][0],
            original_height=source["original_size"][1],
            fitted=bool(source["fitted"]),
            contract=contract.to_dict(),
            preview=preview_info(preview),
            **files(session_id, session),
        )
        return model, preview

    model, preview = await anyio.to_thread.run_sync(work)
    summary = f"opened session {session_id}: canvas {model.width}x{model.height}" + (
        f" (fitted from {model.original_width}x{model.original_height})" if model.fitted else ""
    )
    return result(model, summary, preview, session_id)


@tool("Extend a canvas", read_only=False, destructive=False, idempotent=False, open_world=True)
async def extend_canvas(
    ctx: Context,
    session_id: SessionId,
    direction: Direction,
    steps: Steps = 1,
    prompt: Prompt = None,
    backend: Backend = None,
    blend: Blend = None,
    seed: Seed = None,
    fill: Fill = None,
    preview_format: Annotated[PreviewFormat, Field(description="format of the preview")] = "auto",
) -> Annotated[CallToolResult, ExtendResult]:
    """Grow the canvas by `steps` steps of 512 px in any direction, on any session (any direction
    after any other, at full resolution). An edge longer than a tile is covered by several tiles,
    one generator call per tile; progress notifications name the step and the tile. Returns each
    step's status (committed, or rejected with its reason: a rejected step changes nothing and stops
    the call), the new size and a preview of the region this call changed. The result is an error
    only when no step committed."""
    state = state_of(ctx)
    state.store.folder(session_id)
    direction = parse_direction(direction)
    backend = backend or state.settings.backend
    progress = ProgressRelay(ctx, steps, state.redact)
    chosen = {"direction": direction, "prompt": prompt, "seed": seed, "blend": blend, "fill": fill}
    done = await state.store.run(
        session_id, lambda: extending.extend(state, session_id, chosen, backend, steps, progress, preview_format)
    )
    model = done.model
    summary = (
        f"session {session_id}: {model.committed_steps} of {steps} steps committed "
        f"{DIRECTION_WORDS[direction]}; canvas {model.width}x{model.height}"
    )
    tiles = max((outcome.tiles or 1 for outcome in model.steps), default=1)
    if tiles > 1:
        summary += f"; {tiles} tiles across the edge, one generator call each"
    for outcome in model.steps:
        if outcome.status != COMMITTED:
            summary += f"\nstep {outcome.number} rejected: {outcome.reason}"
    if done.note:
        summary += f"\n{done.note}"
    return result(model, summary, done.preview, session_id, is_error=model.committed_steps == 0)


@tool("View a canvas", read_only=True, destructive=False, idempotent=True)
async def view_canvas(
    ctx: Context,
    session_id: SessionId,
    what: Annotated[
        Literal["canvas", "last_step", "region"],
        Field(
            description=(
                "canvas: the whole canvas; last_step: the region the last committed step changed; region: the "
                "`region` box"
            )
        ),
    ] = "canvas",
    region: Annotated[Region | None, Field(description="the box to show when what=region")] = None,
    format: PreviewFormat = "auto",
    max_side: Annotated[
        Annotated[int, Strict(), Field(ge=16)] | None,
        Field(description=("longest side of the preview in px, at least 16 (at most the server's cap)")),
    ] = None,
) -> Annotated[CallToolResult, ViewResult]:
    """Look at a session as an image capped in bytes and pixels whatever the canvas size. The
    full-resolution canvas is the resource in canvas_uri and the file in canvas_path."""
    state = state_of(ctx)
    state.store.folder(session_id)
    if what == "region" and region is None:
        raise InputError("what=region needs a region {x, y, width, height} in canvas pixels")
    if what != "region" and region is not None:
        raise InputError(f"a region is only used with what=region (got what={what})")
    asked = Box(region.x, region.y, region.width, region.height) if region is not None else None

    def work():
        session = state.store.session(session_id)
        if asked is not None:
            box = check_box(asked, session.size)
        elif what == "canvas":
            box = None
        else:
            if session.head == 0:
                raise InputError("no step is committed yet: view what=canvas instead")
            box = steps_region(session.contract, session.history(), session.head, {session.head})
        preview = preview_for(state.settings, session, box, format, max_side)
        model = ViewResult(
            session_id=session_id,
            what=what,
            width=session.size[0],
            height=session.size[1],
            head=session.head,
            preview=preview_info(preview),
            **files(session_id, session),
        )
        return model, preview

    model, preview = await state.store.run(session_id, work)
    info = model.preview
    summary = (
        f"session {session_id} ({model.width}x{model.height}, step {model.head}): {what} "
        f"x={info.region.x} y={info.region.y} {info.region.width}x{info.region.height} shown at "
        f"{info.width}x{info.height} {info.format}"
    )
    return result(model, summary, preview, session_id)


@tool("Session history", read_only=True, destructive=False, idempotent=True)
async def session_history(
    ctx: Context,
    session_id: SessionId,
    offset: Annotated[
        int,
        Strict(),
        Field(ge=0, description=("how many of the oldest steps to skip (next_offset of the previous page)")),
    ] = 0,
    limit: Annotated[
        int,
        Strict(),
        Field(ge=1, le=HISTORY_PAGE_MAX, description=(f"how many steps to return, 1 to {HISTORY_PAGE_MAX}")),
    ] = HISTORY_PAGE,
) -> Annotated[CallToolResult, HistoryResult]:
    """Every step tried in a session, oldest first, a page at a time: status (committed, rejected,
    undone), reason, direction, prompt, seed, backend and sizes. Long prompts and reasons are cut
    (the step's step.json resource has them whole)."""
    state = state_of(ctx)

    def work():
        session = state.store.session(session_id)
        records = session.history()
        page = records[offset : offset + limit]
        more = offset + len(page) < len(records)
        return HistoryResult(
            session_id=session_id,
            width=session.size[0],
            height=session.size[1],
            head=session.head,
            contract=session.contract.to_dict(),
            source=public_source(session.meta["source"]),
            total_steps=len(records),
            offset=offset,
            next_offset=offset + len(page) if more else None,
            steps=[_history_step(state, session_id, r) for r in page],
            **files(session_id, session),
        )

    model = await state.store.run(session_id, work)
    lines = [
        f"session {session_id}: {model.width}x{model.height} at step {model.head}; steps "
        f"{model.offset + 1}-{model.offset + len(model.steps)} of {model.total_steps}"
        + (f" (next_offset={model.next_offset})" if model.next_offset is not None else "")
    ]
    for s in model.steps:
        size = s.size_after or s.size_before
        lines.append(
            f"{s.number:4d} {s.status:<9} {s.direction:<5} {size[0]}x{size[1]} seed {s.seed} "
            f"{s.prompt!r}" + (f" reason: {s.reason}" if s.status == "rejected" else "")
        )
    return result(model, "\n".join(lines))


def _history_step(state: AppState, session_id: str, record: dict) -> HistoryStep:
    return HistoryStep(
        number=record["number"],
        status=record["status"],
        direction=record["direction"],
        reason=shorten(state.redact(record.get("reason") or ""), HISTORY_REASON_CHARS),
        prompt=shorten(record.get("prompt") or "", HISTORY_PROMPT_CHARS),
        seed=int(record.get("seed") or 0),
        backend=record.get("backend") or "",
        blend=(record.get("settings") or {}).get("blend", ""),
        size_before=list(record["size_before"]),
        size_after=record.get("size_after"),
        seam=record.get("seam"),
        step_uri=step_uri(session_id, record["number"]),
    )


@tool("Undo the last step", read_only=False, destructive=True, idempotent=False)
async def undo_step(ctx: Context, session_id: SessionId) -> Annotated[CallToolResult, UndoResult]:
    """Revert the last committed step: the canvas returns to what it was before it (the step's files
    stay, marked undone). Call again to go back further."""
    state = state_of(ctx)

    def work():
        session = state.store.session(session_id)
        if session.head == 0:  # refused here too, so not even a lock file is made
            raise InputError("nothing to undo: the session is at its source image")
        try:
            record = session.undo()
        finally:
            state.store.done(session_id, session)
        return UndoResult(
            session_id=session_id,
            undone_step=record["number"],
            head=session.head,
            width=session.size[0],
            height=session.size[1],
            **files(session_id, session),
        )

    model = await state.store.run(session_id, work)
    return result(
        model,
        f"undid step {model.undone_step}; session {session_id} is {model.width}x{model.height} at step {model.head}",
        None,
        session_id,
    )


@tool("Export a canvas", read_only=False, destructive=True, idempotent=True)
async def export_canvas(
    ctx: Context,
    session_id: SessionId,
    path: Annotated[
        str,
        Strict(),
        Field(
            max_length=PATH_MAX_CHARS,
            description=(
                "a .png file inside an allowed export folder (see list_sessions): a relative name, an absolute "
                "path, ~/... or a file:// URI"
            ),
        ),
    ],
    overwrite: Annotated[Flag, Field(description="replace the file if it exists")] = False,
) -> Annotated[CallToolResult, ExportResult]:
    """Write the session's current canvas at full resolution to a PNG file in an export folder."""
    state = state_of(ctx)
    state.store.folder(session_id)
    target = confine(path, state.settings.export_dirs, what="export", configure_hint=EXPORT_HINT)
    check_export_target(target, overwrite, session_root=state.settings.sessions_dir, force_option="overwrite=true")

    def work():
        session = state.store.session(session_id)
        written = session.export(target)
        return ExportResult(
            session_id=session_id,
            path=str(written),
            width=session.size[0],
            height=session.size[1],
            bytes=written.stat().st_size,
        )

    model = await state.store.run(session_id, work)
    return result(model, f"wrote {model.path} ({model.width}x{model.height})")


@tool("List sessions", read_only=True, destructive=False, idempotent=True)
async def list_sessions(ctx: Context) -> Annotated[CallToolResult, ListResult]:
    """The sessions on this server (newest first), the backends, and the folders open_canvas may read
    from and export_canvas may write to."""
    state = state_of(ctx)
    summaries, total = await anyio.to_thread.run_sync(state.store.summaries)
    settings = state.settings
    model = ListResult(
        sessions=[SessionSummary(**s) for s in summaries],
        total=total,
        backends=backend_names(),
        default_backend=settings.backend,
        input_dirs=[str(p) for p in settings.input_dirs],
        export_dirs=[str(p) for p in settings.export_dirs],
    )
    summary = f"{total} session(s); input folders: {model.input_dirs or 'none'}; export folders: {model.export_dirs}"
    return result(model, summary)
