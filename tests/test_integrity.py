"""A session's files damaged from outside: each case is rebuilt from what is still true or refused
with the damaged file named, never extended from a wrong canvas, and a reader writes nothing."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from exquisite.shared_core.errors import SessionError
from exquisite.shared_core.pngio import read_image, write_png
from exquisite.shared_core.session import Session, StepSettings
from PIL import Image
from rulers import SMALL, OracleGenerator, user_canvas, world

TRUTH = world(64, 400)


def made(tmp_path, steps=3, rejected=False):
    """A session of `steps` committed steps (and one rejected one after them if asked)."""
    root = tmp_path / "s"
    with Session.create(root, user_canvas(TRUTH, 80, "x_ltr"), SMALL) as session:
        session.extend(StepSettings(), OracleGenerator(TRUTH), steps=steps)
        if rejected:
            session.extend(StepSettings(), Refusing(), steps=1)
    return root


class Refusing:
    name = "refusing"

    def generate(self, request):
        from exquisite.shared_core.errors import GenerationError

        raise GenerationError("no")


def snapshot(root: Path) -> dict:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def other_png(path: Path, size=(176, 64)) -> None:
    Image.fromarray(np.full((size[1], size[0], 3), 7, np.uint8)).save(path)


def step(root, n):
    return root / "steps" / f"{n:04d}"


def whole(root):
    """The whole canvas after the last command (step 3)."""
    return root / "canvas" / "0003.png"


# (damage, what the repair note says) -- each is rebuilt at step 3 with the true canvas
REBUILT = {
    "whole canvas replaced by a PNG of another size": (
        lambda r: other_png(whole(r), (100, 64)),
        "canvas/0003.png did not match its checksum",
    ),
    "whole canvas replaced by a PNG of the same size": (
        lambda r: other_png(whole(r), (176, 64)),
        "canvas/0003.png did not match its checksum",
    ),
    "whole canvas cut to 20 bytes": (
        lambda r: whole(r).write_bytes(whole(r).read_bytes()[:20]),
        "canvas/0003.png did not match its checksum",
    ),
    "whole canvas and the crops of the middle and head steps deleted": (
        lambda r: [p.unlink() for p in (whole(r), *(step(r, n) / "canvas_after.png" for n in (2, 3)))],
        "steps/0003/canvas_after.png was not written",
    ),
    "whole canvas deleted and a crop replaced by a PNG of the same size": (
        lambda r: [whole(r).unlink(), other_png(step(r, 2) / "canvas_after.png", (64, 64))],
        "steps/0002/canvas_after.png did not match its checksum",
    ),
    "whole canvas and a canvas_before crop deleted": (
        lambda r: [whole(r).unlink(), (step(r, 3) / "canvas_before.png").unlink()],
        "steps/0003/canvas_before.png was not written",
    ),
    "head step.json deleted": (lambda r: (step(r, 3) / "step.json").unlink(), "restored from committed.ok"),
    "head step.json garbage": (lambda r: (step(r, 3) / "step.json").write_bytes(os.urandom(64)), "restored"),
    "head step.json is []": (lambda r: (step(r, 3) / "step.json").write_text("[]"), "restored"),
    "committed.ok removed from a middle step": (
        lambda r: (step(r, 2) / "committed.ok").unlink(),
        "steps/0002/committed.ok was missing",
    ),
    "committed.ok removed from the head step": (
        lambda r: (step(r, 3) / "committed.ok").unlink(),
        "steps/0003/committed.ok was missing",
    ),
    "session.json random bytes": (lambda r: (r / "session.json").write_bytes(os.urandom(300)), "session.json"),
    "session.json is []": (lambda r: (r / "session.json").write_text("[]"), "session.json"),
    "session.json is {format: 1}": (lambda r: (r / "session.json").write_text('{"format": 1}'), "session.json"),
    "session.json deleted": (lambda r: (r / "session.json").unlink(), "session.json"),
    "session.json and created.json damaged": (
        lambda r: [(r / "session.json").write_text("[]"), (r / "created.json").unlink()],
        "session.json",
    ),
    "source.png deleted (the head canvas is intact)": (lambda r: (r / "source.png").unlink(), None),
}


@pytest.mark.parametrize("case", list(REBUILT))
def test_damage_is_rebuilt_from_the_committed_tiles(tmp_path, case):
    damage, note = REBUILT[case]
    root = made(tmp_path)
    expected = user_canvas(TRUTH, 80 + 3 * 32, "x_ltr")
    damage(root)
    before = snapshot(root)
    with Session.open(root, write=False) as reader:  # a reader sees the truth and writes nothing
        assert reader.head == 3
        np.testing.assert_array_equal(reader.canvas(), expected)
        assert not note or any(note in n for n in reader.repairs), reader.repairs
    assert snapshot(root) == before
    with Session.open(root) as writer:
        assert writer.head == 3 and [s["status"] for s in writer.history()] == ["committed"] * 3
        np.testing.assert_array_equal(writer.canvas(), expected)
        assert not note or any(note in n for n in writer.repairs), writer.repairs
        result = writer.extend(StepSettings(), OracleGenerator(TRUTH), steps=1)[0]
        assert result.committed and result.number == 4
        np.testing.assert_array_equal(writer.canvas(), user_canvas(TRUTH, 80 + 4 * 32, "x_ltr"))
    with Session.open(root) as again:  # everything was put right: nothing left to repair
        assert again.repairs == [] and again.head == 4


# (damage, the file the refusal names)
REFUSED = {
    "steps/ deleted": (lambda r: shutil.rmtree(r / "steps"), "steps/0003 is missing"),
    "source.png and every canvas deleted": (
        lambda r: [p.unlink() for p in [r / "source.png", whole(r), *r.glob("steps/*/canvas_after.png")]],
        "source.png",
    ),
    "head tile damaged and its canvas deleted": (
        lambda r: [
            whole(r).unlink(),
            (step(r, 3) / "canvas_after.png").unlink(),
            write_png(step(r, 3) / "tile_full.png", np.zeros((64, 64, 3), np.uint8)),
        ],
        "steps/0003/tile_full.png is missing or damaged",
    ),
    "a committed step's record lost everywhere": (
        lambda r: [(step(r, 2) / "step.json").unlink(), (step(r, 2) / "committed.ok").write_text("committed\n")],
        "steps/0002/step.json is missing or damaged",
    ),
    "a middle step folder deleted": (lambda r: shutil.rmtree(step(r, 2)), "steps/0002 is missing"),
    "session.json from a newer version": (
        lambda r: (r / "session.json").write_text('{"format": 99}'),
        "update exquisite",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_damage_that_cannot_be_rebuilt_is_refused_naming_the_file(tmp_path, case):
    damage, named = REFUSED[case]
    root = made(tmp_path)
    damage(root)
    before = snapshot(root)
    for write in (False, True):
        with pytest.raises(SessionError, match=named.replace("/", r"[/\\]")):
            Session.open(root, write=write)
    assert {k: v for k, v in snapshot(root).items() if k != ".lock"} == {
        k: v for k, v in before.items() if k != ".lock"
    }  # nothing more was changed


def test_a_rejected_step_with_a_damaged_record_stays_rejected(tmp_path):
    root = made(tmp_path, steps=2, rejected=True)
    (step(root, 3) / "step.json").write_text("{not json")
    with Session.open(root) as session:
        assert [s["status"] for s in session.history()] == ["committed", "committed", "rejected"]
        assert "step.json is damaged" in session.history()[-1]["reason"]
        assert session.head == 2


def test_leftovers_are_removed_by_a_writer_not_by_a_reader(tmp_path):
    root = made(tmp_path, steps=1)
    stale = step(root, 1) / ".canvas_after.png.999999999.tmp"  # a pid that cannot be running
    stale.write_bytes(b"x" * 1000)
    ours = step(root, 1) / f".canvas_after.png.{os.getpid()}.tmp"  # a live process's write: kept
    ours.write_bytes(b"y")
    (step(root, 7)).mkdir()
    (step(root, 7) / "prompt.txt").write_text("never began")
    with Session.open(root, write=False) as reader:
        assert stale.exists() and step(root, 7).exists()
        assert any("steps/0007" in n for n in reader.repairs)
    with Session.open(root) as writer:
        assert not stale.exists() and not step(root, 7).exists() and ours.exists()
        assert any("temp file" in n for n in writer.repairs) and any("steps/0007" in n for n in writer.repairs)
        assert [s["number"] for s in writer.history()] == [1]


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    values = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode == "I;16"
    rgb = read_image(tmp_path / "g16.png")
    expected = np.rint(values / 257).astype(np.uint8)
    assert rgb.shape == (64, 64, 3) and (rgb == expected[:, :, None]).all()
    grey8 = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(grey8).save(tmp_path / "g8.png")
    assert (read_image(tmp_path / "g8.png")[:, :, 1] == grey8).all()
    palette = Image.fromarray(grey8).convert("P")
    palette.save(tmp_path / "p.png")
    assert (read_image(tmp_path / "p.png")[:, :, 0] == grey8).all()


def test_creating_the_same_folder_twice_at_once_leaves_one_whole_session(tmp_path):
    from exquisite.shared_core.session_folder import move_into_place

    a, b = tmp_path / ".s.1.creating", tmp_path / ".s.2.creating"
    for folder, value in ((a, 10), (b, 200)):
        folder.mkdir()
        (folder / "source.png").write_bytes(bytes([value]))
    move_into_place(a, tmp_path / "s")
    with pytest.raises(SessionError, match="created by another process at the same moment"):
        move_into_place(b, tmp_path / "s")
    assert (tmp_path / "s" / "source.png").read_bytes() == bytes([10])


def test_a_killed_creation_leaves_nothing_but_is_cleaned_by_the_next(tmp_path):
    dead = tmp_path / ".s.999999999.1.creating"
    dead.mkdir()
    (dead / "source.png").write_bytes(b"half")
    with Session.create(tmp_path / "t", user_canvas(TRUTH, 80, "x_ltr"), SMALL):
        pass
    assert not dead.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


def test_a_second_writer_is_refused_naming_the_holder_while_readers_still_read(tmp_path):
    root = made(tmp_path, steps=1)
    with Session.open(root) as first:
        with first._exclusive():  # as during a long run of steps
            with pytest.raises(
                SessionError, match=f"being changed by (process {os.getpid()}|another handle or thread)"
            ):
                Session.open(root)
            with Session.open(root, write=False) as reader:
                assert reader.head == 1
        second = Session.open(root)  # free again
        second.close()


def test_a_session_from_before_checksums_opens_without_a_replay(tmp_path):
    root = made(tmp_path)
    expected = user_canvas(TRUTH, 80 + 3 * 32, "x_ltr")
    for checksum in root.rglob("*.sha256"):
        checksum.unlink()
    (root / "created.json").unlink()
    for n in (1, 2, 3):
        record = json.loads((step(root, n) / "step.json").read_text())
        del record["tile_sha256"]
        (step(root, n) / "step.json").write_text(json.dumps(record))
        (step(root, n) / "committed.ok").write_text("committed 2026-01-01T00:00:00\n")
    with Session.open(root) as session:
        assert session.repairs == [] and session.head == 3
        np.testing.assert_array_equal(session.canvas(), expected)
    other_png(whole(root), (100, 64))  # the size still guards such a canvas
    with Session.open(root) as session:
        assert any("canvas/0003.png had no checksum" in n for n in session.repairs)
        np.testing.assert_array_equal(session.canvas(), expected)


def test_every_tile_of_a_frontier_step_is_checked_not_only_the_first(tmp_path):
    """A step of three tiles records each tile's checksum: a later tile replaced, with the canvas to
    rebuild from it gone, is refused by name (by writers and readers), and `repair` lists it."""
    from exquisite.shared_core.generators import MockGenerator
    from exquisite.shared_core.journal import damaged_tiles

    root = tmp_path / "wide"
    with Session.create(root, world(150, 80), SMALL) as session:
        session.extend(StepSettings(), MockGenerator(), steps=2)
        assert len(session.history()[0]["tiles_sha256"]) == 3
    second_tile = step(root, 2) / "tiles" / "02" / "tile.png"
    write_png(second_tile, np.zeros((64, 64, 3), np.uint8))
    (step(root, 2) / "canvas_after.png").unlink()
    (root / "canvas" / "0002.png").unlink()
    for write in (False, True):
        with pytest.raises(SessionError, match=r"steps[/\\]0002[/\\]tiles[/\\]02[/\\]tile.png is missing or damaged"):
            Session.open(root, write=write)
    assert damaged_tiles(root, [{"number": 2, "status": "committed", **_record(root, 2)}]) == [second_tile]


def _record(root: Path, number: int) -> dict:
    return json.loads((step(root, number) / "step.json").read_text())


def test_a_session_from_before_crops_opens_undoes_and_continues(tmp_path):
    """Sessions made before crops hold whole canvases in every step's canvas_after.png (and a link to
    the parent's as canvas_before.png) and no `crops`: they open from those whole canvases, undo
    to one, and new steps write crops and whole-canvas checkpoints."""
    from exquisite.shared_core.session_files import write_canvas

    root = tmp_path / "s"
    with Session.create(root, user_canvas(TRUTH, 80, "x_ltr"), SMALL) as session:
        wholes = [session.canvas()]
        session.extend(
            StepSettings(), OracleGenerator(TRUTH), steps=3, on_step=lambda _: wholes.append(session.canvas())
        )
    shutil.rmtree(root / "canvas")
    for n in (1, 2, 3):
        folder = step(root, n)
        write_canvas(folder / "canvas_after.png", wholes[n])
        for name in ("canvas_before.png", "canvas_before.sha256"):
            (folder / name).unlink()
        os.link(step(root, n - 1) / "canvas_after.png" if n > 1 else root / "source.png", folder / "canvas_before.png")
        for name in ("step.json", "committed.ok"):
            record = json.loads((folder / name).read_text())
            del record["crops"]
            (folder / name).write_text(json.dumps(record))
    with Session.open(root) as session:
        assert session.repairs == [] and session.head == 3
        np.testing.assert_array_equal(session.canvas(), wholes[3])
        session.undo()  # no canvas_before crop to walk back with: step 2's whole canvas is read
        np.testing.assert_array_equal(session.canvas(), wholes[2])
        session.extend(StepSettings(), OracleGenerator(TRUTH), steps=1)
        assert "crops" in _record(root, 4) and (root / "canvas" / "0004.png").is_file()
    with Session.open(root, write=False) as reader:
        assert reader.repairs == []
        np.testing.assert_array_equal(reader.canvas(), user_canvas(TRUTH, 80 + 3 * 32, "x_ltr"))
