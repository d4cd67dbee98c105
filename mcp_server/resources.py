"""The resources: each session's full-resolution canvas, its index and every step's images and record,
read under the session's lock (a step in progress is never half-read). Like the tools they are
module-level functions reaching the sessions through `state_of(ctx)`; app.py registers `RESOURCES`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from collections.abc import Callable

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError
from mcp_types import Resource

from ..shared_core.errors import ExquisiteError
from .present import URI_ROOT, canvas_uri
from .redact import public_index
from .state import AppState, state_of

STEP_IMAGES = ("conditioning_band", "reference", "mask", "canvas_before", "tile_full", "new_half", "canvas_after")


@dataclass(frozen=True)
class ResourceSpec:
    fn: Callable
    uri: str
    mime_type: str
    description: str


async def _read(ctx: Context, session_id: str, relative: str) -> bytes:
    state = state_of(ctx)

    def work():
        session = state.store.session(session_id)
        path = session.canvas_path() if relative == "canvas" else session.root / relative
        if not path.is_file():
            raise ResourceError(f"session {session_id} has no {relative}")
        return path.read_bytes()

    try:
        return await state.store.run(session_id, work)
    except ExquisiteError as error:
        raise ResourceError(state.redact(str(error))) from None


def _step_number(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 10000:
        raise ResourceError(f"{text!r} is not a step number: use the numbers session_history lists")
    return int(text)


async def canvas_resource(session_id: str, ctx: Context) -> bytes:
    return await _read(ctx, session_id, "canvas")


async def session_resource(session_id: str, ctx: Context) -> str:
    """The session's index, its source shown by name only (the rule session_history follows)."""
    index = public_index(json.loads(await _read(ctx, session_id, "session.json")))
    return state_of(ctx).redact(json.dumps(index, indent=1))


async def step_image_resource(session_id: str, number: str, artifact: str, ctx: Context) -> bytes:
    if artifact not in STEP_IMAGES:
        raise ResourceError(f"unknown step image {artifact!r}: use one of {', '.join(STEP_IMAGES)}")
    return await _read(ctx, session_id, f"steps/{_step_number(number):04d}/{artifact}.png")


async def step_record_resource(session_id: str, number: str, ctx: Context) -> str:
    record = await _read(ctx, session_id, f"steps/{_step_number(number):04d}/step.json")
    return state_of(ctx).redact(record.decode())


RESOURCES = (
    ResourceSpec(
        canvas_resource,
        f"{URI_ROOT}/{{session_id}}/canvas.png",
        "image/png",
        "a session's current canvas at full resolution",
    ),
    ResourceSpec(
        session_resource,
        f"{URI_ROOT}/{{session_id}}/session.json",
        "application/json",
        "a session's index: contract, source and steps",
    ),
    ResourceSpec(
        step_image_resource,
        f"{URI_ROOT}/{{session_id}}/steps/{{number}}/{{artifact}}.png",
        "image/png",
        "a step's image: " + ", ".join(STEP_IMAGES) + " (canvas_before and canvas_after are crops of the whole "
        "canvas around what the step changed; where each sits is the step record's `crops`)",
    ),
    ResourceSpec(
        step_record_resource,
        f"{URI_ROOT}/{{session_id}}/steps/{{number}}/step.json",
        "application/json",
        "a step's record: settings, status, reason, timings",
    ),
)


async def canvas_listing(state: AppState) -> list[Resource]:
    """Each session's canvas as a concrete resource, for clients that browse only resources/list
    (the canvases are served through a URI template, which resources/list does not show)."""
    summaries, _ = await anyio.to_thread.run_sync(state.store.summaries)
    return [
        Resource(
            uri=canvas_uri(s["session_id"]),
            name=f"{s['session_id']}/canvas.png",
            mime_type="image/png",
            description=f"canvas of session {s['session_id']}: {s['width']}x{s['height']} at step {s['head']}",
        )
        for s in summaries
    ]
