"""The journal: a session's step folders read back and verified, and its canvases replayed from them.

The step folders are the truth (see session.py); everything else (session.json, the canvas files)
is derived from them and rebuilt when it is missing or damaged. `read_steps` reads every folder and
checks it against the commit protocol (a committed step's record is also copied into its
committed.ok; a step with committed children was committed); what it finds wrong is either put
right by `Journal.fixes` (run only by a writer) or refused with the damaged file named.
`apply_committed_step` glues a committed step's tiles again (the glue is a pure function of the
parent canvas, the tiles and the recorded settings, so a replay is exact); step_canvas.py walks the
canvas from step to step with it and with the steps' crops.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


from .canvas import GrowingCanvas
from .errors import ExquisiteError, SessionError
from .frontier_files import replay_step
from .geometry import Contract
from .session_files import (
    file_digest,
    touch_atomic,
    write_json,
)
from .step_settings import recorded_settings

SOURCE_FILE = "source.png"
COMMITTED, REJECTED, UNDONE, RUNNING = "committed", "rejected", "undone", "running"
INTERRUPTED = "interrupted: the process stopped during this step; the canvas was not changed"
READING_ONLY = " (in what is shown; the files stay as they are until `exquisite repair` or the next extend/undo)"

INDEX_FIELDS = (
    "number", "parent", "status", "reason", "direction", "backend", "seed", "prompt", "size_before", "size_after",
    "settings", "timings", "started", "finished", "seam", "tile_sha256", "tiles_sha256", "crops",
)  # fmt: skip
"""The fields of a step's record that session.json keeps (the index every face lists)."""


def step_dir(root: Path, number: int) -> Path:
    return root / "steps" / f"{number:04d}"


@dataclass
class Journal:
    """What the step folders say: every step's record (oldest first), the repairs a writer should
    make (description, action) and notes for the user."""

    records: list[dict]
    fixes: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    def apply_fixes(self) -> list[str]:
        """Make the repairs (a writer only); returns what was done, for the user."""
        for _, action in self.fixes:
            action()
        done, self.fixes = [d for d, _ in self.fixes], []
        return done


def commit_step(folder: Path, record: dict) -> None:
    """The commit: the record (with its tiles' checksums) in step.json, then a copy of it in
    committed.ok, whose existence is the commit (the copy lets a damaged step.json be restored)."""
    record["tile_sha256"] = file_digest(folder / "tile_full.png")
    record["tiles_sha256"] = {
        path.relative_to(folder).as_posix(): file_digest(path) for path in _frontier_tiles(folder)
    }
    write_json(folder / "step.json", record)
    touch_atomic(folder / "committed.ok", json.dumps(record))


def read_steps(root: Path, writer_pid: int | None = None, known_committed: set | frozenset = frozenset()) -> Journal:
    """Every step folder's record with its status as its marker files say, verified.

    A step with no verdict was interrupted (or, while `writer_pid` holds the session, is running).
    `known_committed`: the steps the last index listed as committed; their folders must still be
    there, and a lost committed.ok of one of them is restored.
    """
    journal = Journal([])
    steps = root / "steps"
    for folder in sorted(steps.iterdir()) if steps.is_dir() else []:
        if folder.name.isdigit() and folder.is_dir():
            record = _read_folder(folder, writer_pid, journal)
            if record is not None:
                journal.records.append(record)
    _restore_lost_commits(root, journal, known_committed)
    return journal


def _read_folder(folder: Path, writer_pid: int | None, journal: Journal) -> dict | None:
    number = int(folder.name)
    record = _record_in(folder / "step.json", number)
    if (folder / "committed.ok").exists():
        copy = _record_in(folder / "committed.ok", number)
        if copy is not None and copy != record:
            what = f"{_name(folder)}/step.json was missing or damaged: restored from committed.ok"
            journal.fixes.append((what, lambda: write_json(folder / "step.json", copy)))
            record = copy
        if record is None:
            raise SessionError(
                f"{folder / 'step.json'} is missing or damaged and step {number} is committed: "
                f"restore it from a backup (nothing else records how the step was made)"
            )
        record["status"] = UNDONE if (folder / "undone").exists() else COMMITTED
        return record
    if (folder / "rejected.err").exists():
        reason = (folder / "rejected.err").read_text(errors="replace").strip()
        if record is None:
            return _stand_in(number, f"{reason} (its step.json is damaged)")
        record.update(status=REJECTED, reason=reason)
        return record
    if record is None and writer_pid is not None:  # the writer is beginning this step
        return None
    if record is None:  # the process stopped before the step had a record: nothing to keep
        what = f"{_name(folder)} has no record (the process stopped before the step began): removed"
        journal.fixes.append((what, lambda: shutil.rmtree(folder, ignore_errors=True)))
        return None
    record["stored_status"] = record.get("status")
    if writer_pid is not None:
        record.update(status=RUNNING, reason=f"being made by process {writer_pid}")
        return record
    record.update(status=REJECTED, reason=INTERRUPTED)
    journal.fixes.append((f"{_name(folder)} was interrupted: marked rejected", lambda: _seal(folder, record)))
    return record


def _restore_lost_commits(root: Path, journal: Journal, known_committed) -> None:
    """A step that committed children build on (or that the index listed as committed) was
    committed, even if its committed.ok is gone; a committed step whose folder is gone is refused."""
    by_number = {r["number"]: r for r in journal.records}
    for number in sorted(known_committed, reverse=True):
        if number not in by_number:
            raise SessionError(
                f"{step_dir(root, number)} is missing but the session index lists it as a "
                f"committed step: restore that folder from a backup"
            )
        _restore_commit(root, journal, by_number[number], "the session index lists it as committed")
    for record in sorted(journal.records, key=lambda r: -r["number"]):
        if record["status"] not in (COMMITTED, UNDONE) or not record.get("parent"):
            continue
        parent = by_number.get(record["parent"])
        if parent is None:
            raise SessionError(
                f"{step_dir(root, record['parent'])} is missing but committed step "
                f"{record['number']} builds on it: restore that folder from a backup"
            )
        _restore_commit(root, journal, parent, f"step {record['number']} builds on it")


def _restore_commit(root: Path, journal: Journal, record: dict, evidence: str) -> None:
    if record["status"] in (COMMITTED, UNDONE):
        return
    folder = step_dir(root, record["number"])
    if record.get("stored_status") != COMMITTED:
        raise SessionError(
            f"{folder} is not committed but {evidence}: the session is damaged; restore {folder} from a backup"
        )
    journal.fixes = [(d, a) for d, a in journal.fixes if not d.startswith(f"{_name(folder)} was interrupted")]
    record.update(status=COMMITTED, reason="")
    record.pop("stored_status", None)
    journal.fixes.append(
        (f"{_name(folder)}/committed.ok was missing though {evidence}: restored", _marker_restorer(folder, record))
    )


def _marker_restorer(folder: Path, record: dict):
    def restore() -> None:
        (folder / "rejected.err").unlink(missing_ok=True)
        touch_atomic(folder / "committed.ok", json.dumps(_clean(record)))

    return restore


def _seal(folder: Path, record: dict) -> None:
    write_json(folder / "step.json", _clean(record))
    touch_atomic(folder / "rejected.err", record["reason"] + "\n")


def _clean(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "stored_status"}


def _record_in(path: Path, number: int) -> dict | None:
    """A step record from a JSON file, or None when it is missing, not JSON or not this step's."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if (
        not isinstance(record, dict)
        or record.get("number") != number
        or not isinstance(record.get("parent"), int)
        or not isinstance(record.get("settings"), dict)
        or not isinstance(record.get("direction"), str)
    ):
        return None
    return record


def _stand_in(number: int, reason: str) -> dict:
    return {
        "number": number,
        "parent": None,
        "status": REJECTED,
        "reason": reason,
        "direction": "",
        "seed": None,
        "prompt": "",
        "size_before": None,
        "size_after": None,
        "settings": {},
    }


def _name(folder: Path) -> str:
    return f"steps/{folder.name}"


def head_of(records: list[dict]) -> int:
    """The current step: the newest committed (not undone) one, 0 for the source."""
    return max((r["number"] for r in records if r["status"] == COMMITTED), default=0)


def apply_committed_step(canvas: GrowingCanvas, folder: Path, record: dict, contract: Contract) -> GrowingCanvas:
    """Apply one committed step (its tiles, checked against their checksums, glued as its recorded
    settings say) to its parent's canvas."""
    settings = recorded_settings(record["settings"])
    canvas = canvas.turned(settings.direction)
    damaged = unmatched_tiles(folder, record)
    try:
        if not damaged:
            replay_step(canvas, folder, settings, contract)  # the step's own tiles (all k), as the step glued them
    except ExquisiteError:
        damaged = [folder / "tile_full.png"]
    if damaged:
        raise SessionError(
            f"{damaged[0]} is missing or damaged and the canvas after step {record['number']} "
            f"must be rebuilt from it: restore the file from a backup"
        )
    return canvas


def unmatched_tiles(folder: Path, record: dict) -> list[Path]:
    """The tiles of a step that are missing or differ from the checksums its commit recorded (a step
    from before checksums is checked for presence only)."""
    expected = {"tile_full.png": record.get("tile_sha256"), **(record.get("tiles_sha256") or {})}
    unmatched = []
    for name, digest in expected.items():
        path = folder / name
        try:
            intact = path.is_file() and (digest is None or file_digest(path) == digest)
        except OSError:
            intact = False
        if not intact:
            unmatched.append(path)
    return unmatched


def _frontier_tiles(folder: Path) -> list[Path]:
    """tiles/KK/tile.png of a step of several tiles (none for a single-tile step)."""
    return sorted((folder / "tiles").glob("*/tile.png"))


def damaged_tiles(root: Path, records: list[dict]) -> list[Path]:
    """The tiles of committed (or undone) steps that no longer match the checksums their step
    recorded: a canvas that has to be rebuilt from one of them would be refused."""
    damaged = []
    for record in records:
        if record["status"] in (COMMITTED, UNDONE) and record.get("tile_sha256"):
            damaged += unmatched_tiles(step_dir(root, record["number"]), record)
    return damaged
