"""A session folder as the JSON the viewer page shows: read-only, tolerant, in one place.

Why its own reader instead of `Session.open`: opening a session finishes what a killed process
left (it marks interrupted steps rejected and writes missing canvases), and a viewer must never
write into what it looks at, least of all while another process is extending the session. So this
reads the files (the truth) directly: a step folder without a commit or rejection marker is shown
as `running`; a missing image is simply absent from the step's `images`; fields this version does
not know are passed through under `extra`, and `steps/NNNN/tiles/K/` folders (frontiers of several
tiles) are listed with their images and JSON files. When the journal's layout changes, this is the
one module to adapt.

Coordinates: `tile_box` is where the step's tile landed on the canvas after that step, as
[x, y, width, height]; `head_box` is the same region on the current canvas (later steps that grow
left or up move it), or null for a step whose tile is not part of the current canvas. A step's
canvas_before.png / canvas_after.png are crops of the whole canvas before / after it (step_canvas.py);
their `box` is where each sits on that whole canvas (the whole of it for a session made before
crops). The whole current canvas (`canvas`) is a checkpoint file when one holds it, else the server
renders it from the steps (viewer_canvas.py).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from urllib.parse import quote

from .errors import ExquisiteError, InputError
from .geometry import Contract
from .journal import INDEX_FIELDS
from .pngio import png_size
from .session_folder import json_object
from .step_canvas import AFTER, BEFORE, crop_boxes
from .viewer_canvas import canvas_version, whole_file

SESSION_FILE = "session.json"
SOURCE_FILE = "source.png"
KNOWN_IMAGES = ("canvas_before", "canvas_after", "reference", "mask", "tile_full", "conditioning_band", "new_half")
KNOWN_FIELDS = (*INDEX_FIELDS, "contract", "frontier", "generator_calls")
"""The step.json fields the page shows; any other lands in a step's `extra`."""
SERVED_SUFFIXES = (".png", ".json", ".txt")
RUNNING = "running"


def is_session(folder: Path) -> bool:
    return (folder / SESSION_FILE).is_file()


def list_sessions(root: Path) -> dict[str, Path]:
    """Session id -> folder: the root itself if it is a session, else its direct sub-folders that are."""
    root = Path(root)
    if is_session(root):
        return {root.name: root}
    found: dict[str, Path] = {}
    try:
        children = sorted(root.iterdir())
    except OSError:
        return {}
    for child in children:
        if child.is_dir() and not child.name.startswith(".") and is_session(child):
            found[child.name] = child
    return found


def stamp(folder: Path) -> str:
    """A cheap token that changes whenever a step starts, ends, or writes a file (the live poll).

    Three stats: the index, the steps folder (a new step) and the newest step folder (any file
    created in it, e.g. canvas_after.png written late by the background writer, or an undo marker).
    """
    parts = []
    steps = folder / "steps"
    newest = None
    try:
        numbers = [name for name in os.listdir(steps) if name.isdigit()]
        newest = steps / max(numbers) if numbers else None
    except OSError:
        pass
    for path in (folder / SESSION_FILE, steps, newest):
        try:
            st = path.stat() if path is not None else None
        except OSError:
            st = None
        parts.append("-" if st is None else f"{st.st_mtime_ns:x}.{st.st_size:x}")
    return "_".join(parts)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return None


def _image(folder: Path, name: str, url_prefix: str) -> dict | None:
    path = folder / name
    try:
        width, height = png_size(path)
        version = path.stat().st_mtime_ns
    except (OSError, ValueError, InputError, struct.error):  # absent, being written, not a PNG: not shown
        return None
    return {"url": f"{url_prefix}/{name}?v={version:x}", "width": int(width), "height": int(height)}


def _images(folder: Path, url_prefix: str) -> dict:
    """Every PNG in a step folder (the known ones and any new artifact), by name without .png."""
    found: dict[str, dict] = {}
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".png") and not n.startswith("."))
    except OSError:
        return found
    for name in names:
        info = _image(folder, name, url_prefix)
        if info is not None:
            found[name[:-4]] = info
    return found


def _tiles(folder: Path, url_prefix: str) -> list[dict]:
    """steps/NNNN/tiles/K/: one entry per tile of a many-tile frontier, with its images and JSON."""
    tiles_dir = folder / "tiles"
    if not tiles_dir.is_dir():
        return []
    entries = []
    for sub in sorted(tiles_dir.iterdir(), key=lambda p: (len(p.name), p.name)):
        if not sub.is_dir() or sub.name.startswith("."):
            continue
        info = {}
        for path in sorted(sub.glob("*.json")):
            data = json_object(path)
            if data is not None:
                info[path.stem] = data
        entries.append({"index": sub.name, "images": _images(sub, f"{url_prefix}/tiles/{sub.name}"), **info})
    return entries


def _status(folder: Path, record: dict) -> tuple[str, str]:
    """The status the files say (markers beat step.json), and the rejection reason in full."""
    if (folder / "committed.ok").exists():
        return ("undone" if (folder / "undone").exists() else "committed"), ""
    if (folder / "rejected.err").exists():
        return "rejected", _read_text(folder / "rejected.err") or record.get("reason") or ""
    return RUNNING, ""


def _crop_boxes(images: dict, record: dict, contract) -> None:
    """Give canvas_before / canvas_after their `box`: where the image sits on the whole canvas
    before / after the step, [x, y, w, h]. A committed step records its crops; an image of the
    recorded size is whole (a session made before crops); a rejected step's canvas_before is the
    crop a step would cut (step_canvas.crop_boxes, no growth)."""
    recorded = record.get("crops")
    crops: dict = recorded if isinstance(recorded, dict) else {}
    for name, size_key in ((BEFORE, "size_before"), (AFTER, "size_after")):
        info, size = images.get(name), record.get(size_key)
        if info is None:
            continue
        box = crops.get(name)
        if box is None and isinstance(size, list) and [info["width"], info["height"]] == size:
            box = [0, 0, *size]
        elif box is None and name == BEFORE and isinstance(size, list):
            try:
                box = crop_boxes(str(record.get("direction")), size, size, Contract.from_dict(contract))[BEFORE]
            except (ExquisiteError, TypeError, ValueError, KeyError):
                box = None
        if box is not None and list(box[2:]) == [info["width"], info["height"]]:
            info["box"] = [int(v) for v in box]


def tile_box(direction: str, size_before, size_after, contract: dict) -> list[int] | None:
    """[x, y, w, h] of the tile on the canvas after the step (frontier-right: tile column c lies on
    canvas column L - band + c, L the length before); None when the record lacks what it needs."""
    try:
        wb, hb = (int(v) for v in size_before)
        wa, ha = (int(v) for v in size_after)
        tile, band = int(contract["tile"]), int(contract["band"])
    except (TypeError, ValueError, KeyError):
        return None
    if direction == "x_ltr":
        return [wb - band, 0, tile, ha]
    if direction == "x_rtl":
        return [wa - (wb - band) - tile, 0, tile, ha]
    if direction == "y_ttb":
        return [0, hb - band, wa, tile]
    if direction == "y_btt":
        return [0, ha - (hb - band) - tile, wa, tile]
    return None


def _place_on_head(steps: list[dict], head: int) -> None:
    """Set `head_box` for the steps on the chain from the source to the head: later steps that grow
    left or up shift earlier content right or down."""
    by_number = {s["number"]: s for s in steps}
    chain, number = [], head
    while number and number in by_number and by_number[number]["status"] == "committed":
        chain.append(by_number[number])
        number = by_number[number].get("parent") or 0
    dx = dy = 0
    for step in chain:  # newest first
        box = step.get("tile_box")
        if box is not None:
            step["head_box"] = [box[0] + dx, box[1] + dy, box[2], box[3]]
        try:
            (wb, hb), (wa, ha) = step["size_before"], step["size_after"]
        except (TypeError, ValueError):
            continue
        if step.get("direction") == "x_rtl":
            dx += int(wa) - int(wb)
        elif step.get("direction") == "y_btt":
            dy += int(ha) - int(hb)


def _duration(timings) -> float | None:
    """Wall time of the step: the generator's time plus everything else (the session records both)."""
    if not isinstance(timings, dict):
        return None
    if isinstance(timings.get("generate_s"), (int, float)) and isinstance(timings.get("overhead_s"), (int, float)):
        return round(timings["generate_s"] + timings["overhead_s"], 3)
    values = [v for v in timings.values() if isinstance(v, (int, float))]
    return round(sum(values), 3) if values else None


def read_step(folder: Path, url_prefix: str, contract: dict) -> dict | None:
    """One step folder as JSON, or None when it has no step.json yet (a step being created)."""
    record = json_object(folder / "step.json")
    if record is None:
        return None
    status, reason = _status(folder, record)
    step = {key: record.get(key) for key in KNOWN_FIELDS}
    step["number"] = int(folder.name)  # the folder's number is the step's (step.json repeats it)
    step["status"], step["reason"] = status, reason or record.get("reason") or ""
    step["extra"] = {k: v for k, v in record.items() if k not in KNOWN_FIELDS}
    step["duration_s"] = _duration(record.get("timings"))
    step["images"] = images = _images(folder, url_prefix)
    _crop_boxes(images, record, record.get("contract") or contract or {})
    step["tiles"] = _tiles(folder, url_prefix)
    step["tile_box"] = (
        tile_box(
            str(record.get("direction")),
            record.get("size_before"),
            record.get("size_after"),
            record.get("contract") or contract,
        )
        if status in ("committed", "undone")
        else None
    )
    step["head_box"] = None
    number = int(folder.name)
    version = canvas_version(folder.parent.parent, number) if step["tile_box"] is not None else None
    step["canvas_query"] = f"step={number}&v={version}" if version else None  # its whole canvas after
    prompt_file = _read_text(folder / "prompt.txt")
    if not step["prompt"] and prompt_file:
        step["prompt"] = prompt_file
    return step


def read_session(folder: Path, session_id: str, url_root: str = "files") -> dict:
    """The whole session as the viewer's JSON (see docs/viewer.md for the fields)."""
    folder = Path(folder)
    token = stamp(folder)  # before reading: a change while reading makes the next poll read again
    meta = json_object(folder / SESSION_FILE) or {}
    contract = meta.get("contract") or {}
    base = f"{url_root}/{quote(session_id, safe='')}"
    steps = []
    steps_dir = folder / "steps"
    try:
        names = sorted(n for n in os.listdir(steps_dir) if n.isdigit())
    except OSError:
        names = []
    for name in names:
        step = read_step(steps_dir / name, f"{base}/steps/{name}", contract)
        if step is not None:
            steps.append(step)
    head = max((s["number"] for s in steps if s["status"] == "committed"), default=0)
    _place_on_head(steps, head)
    canvas = head_canvas(folder, head, steps_by_number(steps).get(head), meta, base)
    return {
        "id": session_id,
        "name": folder.name,
        "contract": contract,
        "source": meta.get("source") or {},
        "created": meta.get("created"),
        "head": head,
        "stamp": token,
        "size": (steps_by_number(steps)[head]["size_after"] if head else (meta.get("source") or {}).get("size")),
        "canvas": canvas,
        "canvas_pending": canvas is None,
        "steps": steps,
        "source_image": _image(folder, SOURCE_FILE, base),
    }


def head_canvas(folder: Path, head: int, step: dict | None, meta: dict, base: str) -> dict | None:
    """The whole canvas after the head, for the deep zoom: `query` names it to the server (step=N
    and a version for the browser's cache), `file` is the session file that holds it, or null
    while none does (a run in progress, a crash): then the server renders it (viewer_canvas.py)."""
    version = canvas_version(folder, head)
    size = step.get("size_after") if step is not None else (meta.get("source") or {}).get("size")
    if version is None or not size:
        return None
    relative = whole_file(folder, head, step)
    return {
        "step": head,
        "width": int(size[0]),
        "height": int(size[1]),
        "file": relative,
        "url": f"{base}/{relative}?v={version}" if relative else None,
        "rendered": relative is None,
        "query": f"step={head}&v={version}",
    }


def steps_by_number(steps: list[dict]) -> dict[int, dict]:
    return {s["number"]: s for s in steps}


def summary(folder: Path, session_id: str) -> dict:
    """One line of the session list: cheap (the index, not every step)."""
    meta = json_object(folder / SESSION_FILE) or {}
    records = meta.get("steps") or []
    return {
        "id": session_id,
        "name": folder.name,
        "created": meta.get("created"),
        "size": meta.get("size"),
        "head": meta.get("head"),
        "steps_tried": len(records),
        "committed": sum(1 for r in records if r.get("status") == "committed"),
        "rejected": sum(1 for r in records if r.get("status") == "rejected"),
        "stamp": stamp(folder),
    }
