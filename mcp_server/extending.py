"""What extend_canvas does in its worker thread, and what it answers.

Two promises to a client, whatever other clients (the CLI, another server, a viewer) do to the
same session meanwhile:

- `changed_region` is what THIS call's committed steps changed, in the canvas the result shows:
  worked out from the session's records of those steps (`preview.steps_region`), never from a size
  read before the call plus a count (another client may have grown or undone the session between
  that read and the steps, or between two of the steps).
- Steps that committed are never hidden behind an error: when a later step fails in a way that is
  not a rejection (a full disk, a broken file), the answer lists the committed steps and that step
  as rejected with the reason. The result is an error only when no step of the call committed.

Progress is reported tile by tile (`ProgressRelay`, and `TileStarts` so that a tile's start is
reported even by a backend that only reports its end).
"""

from __future__ import annotations

import json
import logging
import traceback
from dataclasses import dataclass, replace
from pathlib import Path

from ..shared_core.errors import ExquisiteError, InputError
from ..shared_core.frontier_files import backend_fingerprint
from ..shared_core.generators import Generator, TileRequest
from ..shared_core.geometry import frontier_right_shape, frontier_tiles
from ..shared_core.preview import Box, Preview, steps_region
from ..shared_core.service import plan_steps, run_steps
from ..shared_core.session import COMMITTED, REJECTED, Session, StepResult
from .models import ExtendResult, Region, StepOutcome
from .present import ProgressRelay, files, preview_for, preview_info
from .state import AppState

log = logging.getLogger("exquisite.mcp")

CONTINUE_ADVICE = "call extend_canvas again to continue"


class TileStarts:
    """The plan's generator, reporting "generating" as each tile starts (a backend such as the mock
    reports only when a tile is ready, which in a step of k tiles leaves a client waiting silently).

    It is the same backend to the session: the same name, and `settings` are the ones that decide
    the backend's picture, so a tile's reuse key (frontier_files.tile_key) does not change."""

    def __init__(self, inner: Generator) -> None:
        self._inner = inner
        self.name = getattr(inner, "name", type(inner).__name__)
        self.settings = backend_fingerprint(inner)["settings"]

    def __getattr__(self, trait: str):  # default_blend, paid, remote, anything a backend adds
        return getattr(self._inner, trait)

    def generate(self, request: TileRequest):
        request.report(0.0, "generating")
        return self._inner.generate(request)


@dataclass
class Extended:
    model: ExtendResult
    preview: Preview | None
    note: str  # a line for the summary when something needs saying (e.g. no preview), else ""


def tiles_across(session: Session, direction: str) -> int:
    """How many tiles cover the edge this direction grows (k, one generator call each)."""
    width, height = session.size
    return len(frontier_tiles(frontier_right_shape((height, width), direction)[0], session.contract))


def extend(
    state: AppState,
    session_id: str,
    chosen: dict,
    backend: str,
    steps: int,
    progress: ProgressRelay,
    preview_format: str,
) -> Extended:
    """Plan and run the steps under the session's lock (the store's), then answer from the session
    as the call's last step left it."""
    store = state.store
    session = store.session(session_id)
    plan = plan_steps(
        session.contract,
        session.meta.get("last_settings"),
        chosen,
        backend,
        state.settings.settings_for(backend),
        steps,
        state.settings.max_steps,
        CONTINUE_ADVICE,
        size=session.size,
    )
    plan = replace(plan, generator=TileStarts(plan.generator))
    progress.start(tiles_across(session, plan.settings.direction))
    outcomes: list[StepResult] = []

    def on_step(outcome: StepResult) -> None:
        outcomes.append(outcome)
        progress.step_done(outcome)

    try:
        run_steps(session, plan, on_step=on_step, progress=progress.within_step)
        store.done(session_id, session)
    except Exception as error:
        if not any(o.committed for o in outcomes):
            if isinstance(error, InputError):  # refused before any step: the handle is as it was
                store.done(session_id, session)
            else:
                store.forget(session_id)
            raise
        log.error("a step after committed ones failed:\n%s", state.redact(traceback.format_exc()))
        store.forget(session_id)  # the handle may be half-way through the failed step
        session = store.session(session_id)  # the session as its files say (the failed step: rejected)
        outcomes.append(_failed_step(session, outcomes, error))
    return _answer(state, session_id, session, plan.settings.direction, plan.backend, steps, outcomes, preview_format)


def _failed_step(session: Session, outcomes: list[StepResult], error: Exception) -> StepResult:
    """A step that raised instead of being rejected, reported as the rejected step it is on disk."""
    reason = str(error) if isinstance(error, ExquisiteError) else f"{type(error).__name__}: {error}"
    last = max(o.number for o in outcomes)
    number = max(
        [last + 1] + [r["number"] for r in session.history() if r["number"] > last and r["status"] == REJECTED]
    )
    return StepResult(
        number, REJECTED, f"{reason} (this step changed nothing; the steps before it are kept)", session.size
    )


def _answer(
    state: AppState,
    session_id: str,
    session: Session,
    direction: str,
    backend: str,
    steps: int,
    outcomes: list[StepResult],
    preview_format: str,
) -> Extended:
    committed = [o.number for o in outcomes if o.committed]
    box = steps_region(session.contract, session.history(), session.head, committed) if committed else None
    statuses = {r["number"]: r["status"] for r in session.history()}
    undone = [n for n in committed if statuses.get(n) != COMMITTED]
    note = ""
    if undone:
        note = (
            f"another client has since undone step(s) {', '.join(map(str, undone))} of this call: the canvas "
            f"no longer shows {'them' if len(undone) > 1 else 'it'}"
        )
    preview = None
    if box is not None:
        try:
            preview = preview_for(state.settings, session, box, preview_format)
        except Exception as error:  # the steps are committed: say so even if the picture cannot be made
            log.error("preview failed:\n%s", state.redact(traceback.format_exc()))
            note = f"no preview: {state.redact(str(error))} (view_canvas shows the canvas)"
    model = ExtendResult(
        session_id=session_id,
        direction=direction,
        backend=backend,
        requested_steps=steps,
        committed_steps=len(committed),
        steps=[_outcome(state, o) for o in outcomes],
        width=session.size[0],
        height=session.size[1],
        changed_region=_region(box),
        preview=preview_info(preview) if preview else None,
        **files(session_id, session),
    )
    return Extended(model, preview, note)


def _outcome(state: AppState, result: StepResult) -> StepOutcome:
    record = _step_record(result)
    frontier = record.get("frontier")
    calls = record.get("generator_calls")
    return StepOutcome(
        number=result.number,
        status=result.status,
        reason=state.redact(result.reason),
        width=result.size[0],
        height=result.size[1],
        seam=result.seam or None,
        tiles=len(frontier) if isinstance(frontier, list) else None,
        generator_calls=calls if isinstance(calls, int) else None,
        seconds=round(result.timings.get("generate_s", 0.0) + result.timings.get("overhead_s", 0.0), 3),
    )


def _step_record(result: StepResult) -> dict:
    """The step's step.json (what it grew and how many calls it made), or {} if it has none."""
    if not result.directory:
        return {}
    try:
        record = json.loads((Path(result.directory) / "step.json").read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _region(box: Box | None) -> Region | None:
    return Region(**box.to_dict()) if box is not None else None
