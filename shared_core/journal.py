"""The journal: a session's step folders read back, and its canvases replayed from them.

The step folders are the truth (see session.py); everything else (session.json, the canvas files)
is derived from them. This module reads the folders (`read_steps`), settles steps a killed process
left without a verdict (`seal_interrupted`), and replays a canvas from the nearest ancestor canvas
on disk by applying each committed step's tile again (`replay_canvas`; the glue is a pure function
of the parent canvas, the tile and the recorded settings, so the replay is exact).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .canvas import GrowingCanvas
from .geometry import Contract, frontier_right_shape, to_frontier_right
from .glue import glue_step
from .pngio import png_size, read_png_into, write_png
from .session_files import link_job, touch_atomic, write_json
from .step_settings import StepSettings, alpha_for

SOURCE_FILE = "source.png"
COMMITTED, REJECTED, UNDONE = "committed", "rejected", "undone"
INTERRUPTED = "interrupted: the process stopped during this step; the canvas was not changed"


def step_dir(root: Path, number: int) -> Path:
    return root / "steps" / f"{number:04d}"


def canvas_file(root: Path, number: int) -> Path:
    """The file that holds the canvas after step `number` (0: the source)."""
    return root / SOURCE_FILE if number == 0 else step_dir(root, number) / "canvas_after.png"


def read_steps(root: Path) -> list[dict]:
    """Every step folder's record, oldest first, with its status as its marker files say.

    A step with neither committed.ok nor rejected.err was interrupted: its record says so (with
    `sealed` False until `seal_interrupted` has written the verdict into its folder).
    """
    records = []
    for folder in sorted((root / "steps").iterdir()):
        if not folder.name.isdigit() or not (folder / "step.json").exists():
            continue
        record = json.loads((folder / "step.json").read_text())
        if (folder / "committed.ok").exists():
            record["status"] = UNDONE if (folder / "undone").exists() else COMMITTED
        elif (folder / "rejected.err").exists():
            record["status"] = REJECTED
            record["reason"] = (folder / "rejected.err").read_text().strip()
        else:
            record.update(status=REJECTED, reason=INTERRUPTED, sealed=False)
        records.append(record)
    return records


def seal_interrupted(root: Path, records: list[dict]) -> None:
    """Write the `interrupted` verdict into the folders of steps a killed process left open."""
    for record in records:
        if record.pop("sealed", True) is False:
            folder = step_dir(root, record["number"])
            write_json(folder / "step.json", record)
            touch_atomic(folder / "rejected.err", record["reason"] + "\n")


def head_of(records: list[dict]) -> int:
    """The current step: the newest committed (not undone) one, 0 for the source."""
    return max((r["number"] for r in records if r["status"] == COMMITTED), default=0)


def replay_canvas(root: Path, records: list[dict], number: int, contract: Contract) -> GrowingCanvas:
    """The canvas after step `number`: read from its file, or replayed from the nearest ancestor
    whose canvas file exists (the files a killed process did not write are written now)."""
    chain = []
    by_number = {r["number"]: r for r in records}
    while number != 0 and not canvas_file(root, number).exists():
        chain.append(by_number[number])
        number = by_number[number]["parent"]
    path = canvas_file(root, number)
    width, height = png_size(path)
    direction = chain[-1]["direction"] if chain else (by_number[number]["direction"] if number else "x_ltr")
    cross, length = frontier_right_shape((height, width), direction)
    # room for the replayed steps and a few more, so a following step need not grow the buffer
    canvas = GrowingCanvas(cross, length, direction, room=(len(chain) + 4) * contract.advance)
    read_png_into(path, canvas.user())
    for record in reversed(chain):
        folder = step_dir(root, record["number"])
        canvas = apply_committed_step(canvas, folder, record, contract)
        before = folder / "canvas_before.png"
        if not before.exists():
            link_job(canvas_file(root, record["parent"]), before)()
        write_png(folder / "canvas_after.png", canvas.user())
    return canvas


def apply_committed_step(canvas: GrowingCanvas, folder: Path, record: dict, contract: Contract) -> GrowingCanvas:
    """Apply one committed step (its tile, glued as its recorded settings say) to its parent's canvas."""
    settings = StepSettings(**record["settings"])
    canvas = canvas.turned(settings.direction)
    tile = read_png_into(folder / "tile_full.png")
    glue_recorded(canvas, to_frontier_right(tile, settings.direction), settings, contract)
    return canvas


def restore_before_links(root: Path, records: list[dict]) -> None:
    """canvas_before.png is a link to the parent's canvas: restore links a killed process did not make."""
    for record in records:
        before = step_dir(root, record["number"]) / "canvas_before.png"
        parent_canvas = canvas_file(root, record["parent"])
        if not before.exists() and parent_canvas.exists():
            link_job(parent_canvas, before)()


def glue_recorded(canvas: GrowingCanvas, turned_tile: np.ndarray, settings: StepSettings,
                  contract: Contract) -> np.ndarray:
    """The glue a step's recorded settings describe (a step and its replay both call this)."""
    return glue_step(canvas, turned_tile, contract, alpha_for(settings, contract), settings.blend,
                     settings.colour_match, settings.colour_space)
