"""A step's canvases on disk, at a cost that does not grow with the canvas: crops, checkpoints, walks.

Crops. A step changes only the canvas's last `overlap` columns and adds `advance` new ones (in the
frontier-right frame), so its canvas_before.png and canvas_after.png are crops of the same columns
across the whole edge: from one tile behind the old frontier (the band and some context) to the
frontier, before and after the step. Their size is fixed by the contract and the edge, not by the
canvas's length; where each sits on its whole canvas is the step's `crops` (user coordinates
[x, y, width, height]). A session made before crops has whole canvases there (no `crops`), and
everything below treats a whole canvas as the crop that covers everything.

Checkpoints. The whole canvas is written as canvas/NNNN.png (NNNN the step it shows; the source is
source.png) once per command, at its end (Session writes it), never per step; only the newest is
kept. Readers that want a whole canvas (export, show, the viewer) ask for it.

The walk. The canvas after any step is rebuilt from the nearest whole canvas (a checkpoint, the
source, or an old session's whole canvas_after) by pasting crops: canvas_after crops forward,
canvas_before crops backward (a checkpoint of a later step, e.g. after an undo). A forward crop that
is missing or damaged is replaced by gluing the step's committed tiles again (exact: the glue is a
pure function of the canvas and the tiles) and, for a writer, written again; so a kill at any moment
leaves a session that opens at its last committed step. Every crop and checkpoint is checked
against the checksum file written beside it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from .canvas import GrowingCanvas
from .errors import ExquisiteError, SessionError
from .geometry import Contract, from_frontier_right, frontier_right_shape, user_box
from .journal import COMMITTED, READING_ONLY, SOURCE_FILE, UNDONE, apply_committed_step, step_dir
from .pngio import png_size, read_png_into
from .session_files import canvas_verified, checksum_file, relative, write_canvas

CHECKPOINT_DIR = "canvas"
BEFORE, AFTER = "canvas_before", "canvas_after"


class _Unusable(Exception):
    """A start or a crop the walk cannot use (missing or damaged): it tries the next way."""


# ---- where a step's crops sit ---------------------------------------------------------------


def crop_boxes(direction: str, size_before, size_after, contract: Contract) -> dict[str, list[int]]:
    """Where canvas_before.png and canvas_after.png of a step sit on the whole canvas before and
    after it: user [x, y, width, height], every row of the edge, from one tile behind the old
    frontier (or the canvas's start) to the frontier."""
    cross, before = _turned_size(size_before, direction)
    after = _turned_size(size_after, direction)[1]
    start = max(0, before - contract.tile)
    return {
        BEFORE: _xywh(user_box((0, cross, start, before), (cross, before), direction)),
        AFTER: _xywh(user_box((0, cross, start, after), (cross, after), direction)),
    }


def step_crops(record: dict) -> dict[str, list[int]]:
    """The step's crop boxes; a step from before crops has whole canvases."""
    crops = record.get("crops")
    if isinstance(crops, dict) and BEFORE in crops and AFTER in crops:
        return crops
    return {BEFORE: [0, 0, *record["size_before"]], AFTER: [0, 0, *record["size_after"]]}


def _turned_size(size, direction: str) -> tuple[int, int]:
    cross, length = frontier_right_shape((int(size[1]), int(size[0])), direction)[:2]
    return cross, length


def _xywh(box) -> list[int]:
    r0, r1, c0, c1 = (int(v) for v in box)
    return [c0, r0, c1 - c0, r1 - r0]


def cut_crop(canvas: GrowingCanvas, box: list[int]) -> np.ndarray:
    """A copy of the crop `box` (user coordinates, ending at the frontier) of a canvas turned to the
    step's direction, in the user's orientation."""
    start, stop = _columns(canvas, box)
    return np.array(from_frontier_right(canvas.frontier_right[:, start:stop], canvas.direction))


def _columns(canvas: GrowingCanvas, box: list[int]) -> tuple[int, int]:
    """The frontier-right columns [start, stop) of a crop that ends at the canvas's frontier."""
    extent = _turned_size(box[2:], canvas.direction)[1]
    return canvas.length - extent, canvas.length


def _paste(canvas: GrowingCanvas, path: Path, box: list[int], length: int) -> None:
    """Set the canvas to `length` columns and read the crop file into its last columns."""
    canvas.resize(length)
    start, stop = _columns(canvas, box)
    read_png_into(path, from_frontier_right(canvas.frontier_right[:, start:stop], canvas.direction))


def crop_intact(path: Path, box: list[int]) -> bool:
    return canvas_verified(path, box[2:])


# ---- checkpoints ----------------------------------------------------------------------------


def checkpoint_path(root: Path, number: int) -> Path:
    """The whole canvas after step `number` (the source for 0)."""
    return root / SOURCE_FILE if number == 0 else root / CHECKPOINT_DIR / f"{number:04d}.png"


def checkpoints(root: Path) -> list[tuple[int, Path]]:
    """The checkpoint files present (step number, path), newest step first."""
    found = []
    with contextlib.suppress(OSError):
        for path in (root / CHECKPOINT_DIR).glob("*.png"):
            if path.stem.isdigit():
                found.append((int(path.stem), path))
    return sorted(found, reverse=True)


def write_checkpoint(root: Path, number: int, image: np.ndarray) -> Path:
    """Write the whole canvas after step `number` (for 0, source.png if it is missing or damaged),
    then remove the older checkpoints (the new one is complete, checksum included, before any other
    goes)."""
    path = checkpoint_path(root, number)
    if number == 0:  # the source, rewritten only if it was lost (the walk back rebuilt it from crops)
        if not canvas_verified(path, [image.shape[1], image.shape[0]]):
            write_canvas(path, image)
        remove_checkpoints(root)
        return path
    path.parent.mkdir(exist_ok=True)
    write_canvas(path, image)
    remove_checkpoints(root, keep=number)
    return path


def remove_checkpoints(root: Path, keep: int | None = None) -> None:
    for number, path in checkpoints(root):
        if number != keep:
            checksum_file(path).unlink(missing_ok=True)
            path.unlink(missing_ok=True)


# ---- the walk ---------------------------------------------------------------------------------


def replay_canvas(
    root: Path,
    records: list[dict],
    number: int,
    contract: Contract,
    source_size: list | None = None,
    write: bool = True,
    notes: list | None = None,
    known: tuple[int, np.ndarray] | None = None,
) -> GrowingCanvas:
    """The canvas after step `number`, from the nearest whole canvas and the steps' crops (see the
    module docstring). With `write`, crops found missing or damaged on the way are written again,
    and `notes` says which. `known`: (step, its whole canvas in the user's orientation) that the
    caller already holds (a viewer following a run), one more start to walk from."""
    by_number = {r["number"]: r for r in records}
    line = _line(by_number, number)
    for start, back, forward in _starts(root, by_number, line, known):
        path, start_number = start
        checkpoint = start_number != 0 and isinstance(path, Path) and path == checkpoint_path(root, start_number)
        if isinstance(path, Path) and not whole_intact(
            path, by_number.get(start_number), source_size if start_number == 0 else None
        ):
            if notes is not None and checkpoint:  # an old session's canvas_after is noted when the walk passes it
                notes.append(
                    f"{relative(path, root)} {_why(path)}: rebuilt from the steps" + ("" if write else READING_ONLY)
                )
            continue
        try:
            canvas = _open_start(start, by_number, forward, contract)
            for step in back:
                canvas = _step_back(root, canvas, by_number[step])
        except _Unusable:
            continue
        for step in forward:
            canvas = _step_forward(root, canvas, by_number[step], contract, write, notes)
        read_whole = (checkpoint or start_number == 0) and not back and not forward and isinstance(path, Path)
        canvas.read_whole = start_number if read_whole else None  # not a step's crop that covers all
        return canvas
    path = root / SOURCE_FILE
    raise SessionError(
        f"{path} is missing or damaged and no later canvas is intact to rebuild from: restore {path.name} from a backup"
    )


def _line(by_number: dict, number: int) -> list[int]:
    """number, its parent, ... down to 0 (the source)."""
    line = [number]
    while line[-1] != 0:
        line.append(by_number[line[-1]]["parent"])
    return line


def _starts(root: Path, by_number: dict, line: list[int], known=None):
    """Ways to reach line[0], cheapest first: (whole canvas path and its step, steps to walk back
    from it, steps to walk forward)."""
    on_line = {n: i for i, n in enumerate(line)}
    ways = []
    whole: list[tuple[int, Path | np.ndarray]] = list(checkpoints(root))
    if known is not None and known[0] in by_number:
        whole.append(known)
    for number, path in whole:
        record = by_number.get(number)
        if record is None or record["status"] not in (COMMITTED, UNDONE):
            continue
        mine = _line(by_number, number)
        meet = next(i for i, n in enumerate(mine) if n in on_line)
        ways.append(((path, number), mine[:meet], list(reversed(line[: on_line[mine[meet]]]))))
    for i, number in enumerate(line):  # an old session's whole canvas_after, or the source
        if number == 0:
            ways.append(((root / SOURCE_FILE, 0), [], list(reversed(line[:i]))))
            break
        record = by_number[number]
        if step_crops(record)[AFTER][2:] == list(record["size_after"]):
            ways.append(((step_dir(root, number) / "canvas_after.png", number), [], list(reversed(line[:i]))))
    ways.sort(key=lambda way: len(way[1]) + len(way[2]))
    return ways


def whole_intact(path: Path, record: dict | None, source_size) -> bool:
    """A whole canvas file (a checkpoint, source.png, an old session's canvas_after.png) matches its
    checksum (sessions older than checksums: its recorded size). `record`: the step's (None for the
    source, checked against `source_size`)."""
    size = record["size_after"] if record is not None else source_size
    if canvas_verified(path, size):
        return True
    if checksum_file(path).exists() or (record is not None and record.get("tile_sha256") is not None):
        return False
    try:
        return size is None or list(png_size(path)) == list(size)
    except (OSError, ExquisiteError):
        return False


def _open_start(start, by_number: dict, forward: list, contract: Contract) -> GrowingCanvas:
    path, number = start
    if number:
        direction = by_number[number]["direction"]
    else:  # the source, turned the way its first step grows (no copy then)
        direction = by_number[forward[0]]["direction"] if forward else "x_ltr"
    if not isinstance(path, Path):  # a canvas the caller holds
        return GrowingCanvas.from_image(path, direction, room=(len(forward) + 4) * contract.advance)
    try:
        width, height = png_size(path)
        cross, length = frontier_right_shape((height, width), direction)[:2]
        # room for the replayed steps and a few more, so a following step need not grow the buffer
        canvas = GrowingCanvas(cross, length, direction, room=(len(forward) + 4) * contract.advance)
        read_png_into(path, canvas.user())
    except (OSError, ExquisiteError):  # removed or replaced since it was checked
        raise _Unusable() from None
    return canvas


def _step_back(root: Path, canvas: GrowingCanvas, record: dict) -> GrowingCanvas:
    """The canvas before a step, from the canvas after it and the step's canvas_before crop."""
    if "crops" not in record:
        raise _Unusable()  # an old session's canvas_before is a link without a checksum of its own
    box = record["crops"][BEFORE]
    path = step_dir(root, record["number"]) / "canvas_before.png"
    if not crop_intact(path, box):
        raise _Unusable()
    canvas = canvas.turned(record["direction"])
    _paste(canvas, path, box, _turned_size(record["size_before"], canvas.direction)[1])
    return canvas


def _step_forward(
    root: Path, canvas: GrowingCanvas, record: dict, contract: Contract, write: bool, notes: list | None
) -> GrowingCanvas:
    """The canvas after a step, from its parent's: its canvas_after crop pasted, or (missing or
    damaged) its tiles glued again."""
    folder = step_dir(root, record["number"])
    canvas = canvas.turned(record["direction"])
    crops = step_crops(record)
    before, after = folder / "canvas_before.png", folder / "canvas_after.png"
    if (write or notes is not None) and "crops" in record and not crop_intact(before, crops[BEFORE]):
        if notes is not None:
            why = f"{relative(before, root)} {_why(before)}: rebuilt from the canvas before the step"
            notes.append(why + ("" if write else READING_ONLY))
        if write:
            write_canvas(before, cut_crop(canvas, crops[BEFORE]))
    length = _turned_size(record["size_after"], canvas.direction)[1]
    if crop_intact(after, crops[AFTER]):
        _paste(canvas, after, crops[AFTER], length)
        return canvas
    canvas = apply_committed_step(canvas, folder, record, contract)
    if notes is not None:
        notes.append(
            f"{relative(after, root)} {_why(after)}: rebuilt from the committed tiles" + ("" if write else READING_ONLY)
        )
    if write:
        write_canvas(after, cut_crop(canvas, crops[AFTER]))
    return canvas


def _why(path: Path) -> str:
    if not path.exists():
        return "was not written before the process stopped"
    return "did not match its checksum" if checksum_file(path).exists() else "had no checksum"


def damaged_crops(root: Path, records: list[dict]) -> list[int]:
    """The committed (or undone) steps whose canvas_before or canvas_after crop is missing or does
    not match its checksum (steps from before crops have no crops of their own to check)."""
    damaged = []
    for record in records:
        if record["status"] in (COMMITTED, UNDONE) and "crops" in record and record.get("crops"):
            folder = step_dir(root, record["number"])
            if not all(crop_intact(folder / f"{name}.png", box) for name, box in record["crops"].items()):
                damaged.append(record["number"])
    return damaged


def rebuild_crops(root: Path, records: list[dict], contract: Contract, source_size, notes: list) -> None:
    """Write again every crop damaged_crops finds, from its step's parent canvas (a writer only)."""
    by_number = {r["number"]: r for r in records}
    for number in damaged_crops(root, records):
        record = by_number[number]
        canvas = replay_canvas(root, records, record["parent"], contract, source_size, True, notes)
        _step_forward(root, canvas, record, contract, True, notes)
