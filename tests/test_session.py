"""Sessions on ground truth: growth, artifacts, rejections, kills, undo and replay."""

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from exquisite.shared_core.errors import GenerationError, InputError, SessionError
from exquisite.shared_core.generators import MockGenerator
from exquisite.shared_core.geometry import DIRECTIONS, Contract, to_frontier_right
from exquisite.shared_core.pngio import read_png_into
from exquisite.shared_core.session import Session, StepSettings
from rulers import SMALL, SMALL_LEGACY, OracleGenerator, user_canvas, world

ARTIFACTS = [
    "prompt.txt",
    "conditioning_band.png",
    "canvas_before.png",
    "tile_full.png",
    "new_half.png",
    "canvas_after.png",
    "reference.png",
    "mask.png",
    "step.json",
    "committed.ok",
]


@pytest.mark.parametrize("contract", [SMALL, SMALL_LEGACY], ids=["contract2", "contract1"])
@pytest.mark.parametrize("blend", ["hard", "linear", "smooth", "mask"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_several_steps_rebuild_the_world_exactly(tmp_path, direction, blend, contract):
    """The oracle answers the true continuation: a correct contract reproduces the world to the pixel."""
    truth = world(64, 400)
    oracle = OracleGenerator(truth)
    with Session.create(tmp_path / "s", user_canvas(truth, 80, direction), contract, direction=direction) as session:
        results = session.extend(StepSettings(direction=direction, blend=blend), oracle, steps=5)
        assert [r.status for r in results] == ["committed"] * 5
        expected = user_canvas(truth, 80 + 5 * contract.advance, direction)
        np.testing.assert_array_equal(session.canvas(), expected)
        session.flush()
        on_disk = read_png_into(session.canvas_path())
        np.testing.assert_array_equal(on_disk, expected)
    assert oracle.calls == 5  # one generator call per step, no best-of-N


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_seed_invariants_on_the_default_contract(tmp_path, direction):
    """Report 13.1: 1024 tiles, 512 px bands, growth by exactly 512; canvas_before/after are the
    step's crops of the whole canvas before and after it (one tile behind the old frontier to the
    frontier), and canvas/NNNN.png is the whole state."""
    rng = np.random.default_rng(1)
    shape = (1024, 1700, 3) if direction.startswith("x") else (1700, 1024, 3)
    start = rng.integers(0, 255, shape, dtype=np.uint8)
    with Session.create(tmp_path / "s", start, direction=direction) as session:
        wholes = [session.canvas()]
        results = session.extend(
            StepSettings(direction=direction, prompt="a ruler"),
            MockGenerator(),
            steps=2,
            on_step=lambda _: wholes.append(session.canvas()),
        )
        session.flush()
        for _i, result in enumerate(results, 1):
            folder = Path(result.directory)
            for name in ARTIFACTS:
                assert (folder / name).exists(), name
            assert not (folder / "rejected.err").exists()
            tile = read_png_into(folder / "tile_full.png")
            band = read_png_into(folder / "conditioning_band.png")
            before = read_png_into(folder / "canvas_before.png")
            after = read_png_into(folder / "canvas_after.png")
            assert tile.shape == (1024, 1024, 3)
            assert to_frontier_right(band, direction).shape[:2] == (1024, 512)
            assert to_frontier_right(before, direction).shape[:2] == (1024, 1024)  # one tile, every row
            assert to_frontier_right(after, direction).shape[:2] == (1024, 1024 + 512)
            assert (folder / "prompt.txt").read_text() == "a ruler"
            record = json.loads((folder / "step.json").read_text())
            assert record["status"] == "committed" and record["backend"] == "mock"
            assert record["size_after"] == list(wholes[_i].shape[1::-1])
            np.testing.assert_array_equal(after, crop(wholes[_i], record["crops"]["canvas_after"]))
            np.testing.assert_array_equal(before, crop(wholes[_i - 1], record["crops"]["canvas_before"]))
        assert session.canvas_path() == tmp_path / "s" / "canvas" / "0002.png"
        np.testing.assert_array_equal(read_png_into(session.canvas_path()), session.canvas())
        assert not (tmp_path / "s" / "canvas" / "0001.png").exists()  # one whole canvas per command


def crop(image, box):
    x, y, w, h = box
    return image[y : y + h, x : x + w]


class FailingGenerator:
    name = "failing"

    def generate(self, request):
        raise GenerationError("the service refused the prompt (moderation)")


class WrongSizeGenerator:
    name = "wrong-size"

    def generate(self, request):
        return np.zeros((56, 64, 3), np.uint8)


class BuggyGenerator:
    name = "buggy"

    def generate(self, request):
        return {}["missing"]


@pytest.mark.parametrize(
    "generator, reason",
    [
        (FailingGenerator(), "refused the prompt"),
        (WrongSizeGenerator(), "returned a 64x56 tile; the contract needs 64x64"),
        (BuggyGenerator(), "the backend failed: KeyError"),
    ],
)
def test_rejection_leaves_the_canvas_exactly_as_it_was(tmp_path, generator, reason):
    truth = world(64, 300)
    with Session.create(tmp_path / "s", user_canvas(truth, 80, "x_ltr"), SMALL) as session:
        session.extend(StepSettings(), OracleGenerator(truth), steps=1)
        before = session.canvas()
        results = session.extend(StepSettings(), generator, steps=3)
        assert len(results) == 1 and results[0].status == "rejected" and reason in results[0].reason
        np.testing.assert_array_equal(session.canvas(), before)
        folder = Path(results[0].directory)
        assert reason in (folder / "rejected.err").read_text()
        assert not (folder / "committed.ok").exists() and not (folder / "canvas_after.png").exists()
        assert session.head == 1 and session.size == (112, 64)
    reopened = Session.open(tmp_path / "s")
    assert [s["status"] for s in reopened.history()] == ["committed", "rejected"]
    np.testing.assert_array_equal(reopened.canvas(), before)
    reopened.close()


def test_bad_settings_are_refused_before_anything_is_written(tmp_path):
    with Session.create(tmp_path / "s", world(64, 80), SMALL) as session:
        for settings, message in [
            (StepSettings(direction="sideways"), "unknown direction"),
            (StepSettings(blend="plaid"), "unknown blend"),
            (StepSettings(feather_px=99), "feather_px"),
            (StepSettings(seed=-1), "seed"),
        ]:
            with pytest.raises(Exception, match=message):
                session.extend(settings, MockGenerator())
        assert list((tmp_path / "s" / "steps").iterdir()) == []


def test_a_canvas_keeps_its_full_resolution_unless_fitted(tmp_path):
    image = np.zeros((100, 200, 3), np.uint8)
    with Session.create(tmp_path / "a", image, SMALL) as session:  # 100 px across: a frontier of 3 tiles
        assert session.size == (200, 100)
    with Session.create(tmp_path / "b", image, SMALL, fit=True) as session:
        assert session.size == (128, 64)


def test_nothing_saved_is_overwritten(tmp_path):
    Session.create(tmp_path / "s", world(64, 80), SMALL).close()
    with pytest.raises(SessionError, match="already holds a session"):
        Session.create(tmp_path / "s", world(64, 80), SMALL)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(SessionError, match="not empty"):
        Session.create(tmp_path / "other", world(64, 80), SMALL)
    assert (tmp_path / "other" / "keep.txt").read_text() == "mine"
    with Session.open(tmp_path / "s") as session:
        with pytest.raises(InputError, match="outside the session"):
            session.export(tmp_path / "s" / "source.png")


def test_undo_reverts_and_continuing_keeps_numbering(tmp_path):
    truth = world(64, 400)
    with Session.create(tmp_path / "s", user_canvas(truth, 80, "x_ltr"), SMALL) as session:
        wholes = []
        session.extend(
            StepSettings(), OracleGenerator(truth), steps=2, on_step=lambda _: wholes.append(session.canvas())
        )
        after_one = wholes[0]
        record = session.undo()
        assert record["number"] == 2 and record["status"] == "undone"
        np.testing.assert_array_equal(session.canvas(), after_one)
        assert session.step_dir(2).exists()  # undone steps keep their files
        session.extend(StepSettings(), OracleGenerator(truth), steps=1)
        assert session.head == 3
        assert json.loads((session.step_dir(3) / "step.json").read_text())["parent"] == 1
        session.undo()
        session.undo()
        with pytest.raises(SessionError, match="nothing to undo"):
            session.undo()
        np.testing.assert_array_equal(session.canvas(), user_canvas(truth, 80, "x_ltr"))


def test_reopen_replays_canvases_a_killed_process_did_not_write(tmp_path):
    truth = world(64, 400)
    blurred = lambda tile: (tile // 2 + 40).astype(np.uint8)  # disagreeing tiles: the blend matters
    with Session.create(tmp_path / "s", user_canvas(truth, 80, "y_ttb"), SMALL, direction="down") as session:
        session.extend(
            StepSettings(direction="down", blend="smooth", feather_px=20),
            OracleGenerator(truth, blurred, (80, SMALL)),
            steps=4,
        )
        expected = session.canvas()
        crops = {
            n: [read_png_into(session.step_dir(n) / f"canvas_{w}.png") for w in ("before", "after")] for n in (3, 4)
        }
    for n in (2, 3, 4):  # as if the process died before the background writer got to them
        (session.step_dir(n) / "canvas_after.png").unlink()
    (session.step_dir(4) / "canvas_before.png").unlink()
    for path in (tmp_path / "s" / "canvas").iterdir():  # ... and before the command's whole canvas
        path.unlink()
    with Session.open(tmp_path / "s") as reopened:
        np.testing.assert_array_equal(reopened.canvas(), expected)
        for n in (3, 4):
            for image, which in zip(crops[n], ("before", "after"), strict=True):
                np.testing.assert_array_equal(read_png_into(reopened.step_dir(n) / f"canvas_{which}.png"), image)
        assert any("steps/0004/canvas_before.png was not written" in note for note in reopened.repairs)
        assert (tmp_path / "s" / "canvas" / "0004.png").is_file()


KILLER = textwrap.dedent("""
    import os, signal, sys, time
    import numpy as np
    sys.path.insert(0, {tests!r})
    from exquisite.shared_core.session import Session, StepSettings
    from rulers import SMALL, OracleGenerator, user_canvas, world

    truth = world(64, 400)
    class KillOnThird(OracleGenerator):
        def generate(self, request):
            if self.calls == 2:
                os.kill(os.getpid(), signal.SIGKILL)  # dies in the middle of step 3
            return super().generate(request)
    session = Session.create({root!r}, user_canvas(truth, 80, "x_ltr"), SMALL)
    session.extend(StepSettings(), KillOnThird(truth), steps=5)
""")


def test_a_kill_in_the_middle_of_a_step_reopens_at_the_last_committed(tmp_path):
    root = tmp_path / "s"
    code = KILLER.format(tests=str(Path(__file__).parent), root=str(root))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    with Session.open(root) as session:
        statuses = [s["status"] for s in session.history()]
        assert statuses == ["committed", "committed", "rejected"]
        assert "interrupted" in (session.step_dir(3) / "rejected.err").read_text()
        truth = world(64, 400)
        np.testing.assert_array_equal(session.canvas(), user_canvas(truth, 144, "x_ltr"))
        result = session.extend(StepSettings(), OracleGenerator(truth), steps=1)[0]
        assert result.number == 4 and result.committed


def test_session_canvases_past_pillows_bomb_limit_still_open(tmp_path):
    """Past about 170 steps a panorama exceeds Pillow's limit; the session's own files still open."""
    contract = Contract()
    length = 1024 * 88  # 92 Mpx: over Pillow's 89.5 Mpx warning threshold
    image = np.zeros((1024, length, 3), np.uint8)
    image[:, ::97] = 200
    Session.create(tmp_path / "s", image, contract).close()
    del image
    with Session.open(tmp_path / "s") as session:
        assert session.size == (length, 1024)
        assert session.canvas()[5, 97 * 3, 0] == 200


def test_hostile_input_files_still_hit_pillows_limit(tmp_path):
    from PIL import Image

    big = tmp_path / "bomb.png"
    Image.new("1", (20000, 10000)).save(big)  # 200 Mpx claimed, tiny file
    with pytest.raises(InputError, match="too large to open safely"):
        Session.create(tmp_path / "s", big, Contract())
    assert not (tmp_path / "s").exists()


def test_a_session_open_twice_sees_the_other_handles_steps(tmp_path):
    """Two processes (here two handles) on one session: each step continues the latest canvas."""
    truth = world(64, 400)
    Session.create(tmp_path / "s", user_canvas(truth, 80, "x_ltr"), SMALL).close()
    first, second = Session.open(tmp_path / "s"), Session.open(tmp_path / "s")
    first.extend(StepSettings(), OracleGenerator(truth), steps=2)
    first.flush()
    result = second.extend(StepSettings(), OracleGenerator(truth), steps=1)[0]
    assert result.number == 3 and result.size == (80 + 3 * 32, 64)
    np.testing.assert_array_equal(second.canvas(), user_canvas(truth, 176, "x_ltr"))
    assert json.loads((second.step_dir(3) / "step.json").read_text())["parent"] == 2
    first.close()
    second.close()


def test_next_settings_precedence_is_the_same_for_every_face():
    from exquisite.shared_core.session import next_settings

    last = {
        "direction": "x_rtl",
        "prompt": "sea",
        "seed": 7,
        "blend": "mask",
        "blend_ramp_start": 4.0,
        "fill": "edge",
        "not_a_field_any_more": 1,
    }
    s = next_settings(last, {"prompt": None, "seed": None})
    assert (s.direction, s.prompt, s.seed, s.blend, s.blend_ramp_start, s.fill) == (
        "x_rtl",
        "sea",
        8,
        "mask",
        4.0,
        "edge",
    )
    s = next_settings(last, {"blend": "linear", "seed": 3})
    assert (s.blend, s.blend_ramp_start, s.seed) == ("linear", None, 3)  # a new blend drops the old ramp
    assert next_settings(last, {}, backend_blend="seam").blend == "seam"  # the backend's own blend
    assert next_settings(last, {"blend": "hard"}, backend_blend="mask").blend == "hard"  # the caller's wins
    s = next_settings(None, {})
    assert s == StepSettings()
    with pytest.raises(InputError, match="unknown step settings"):
        next_settings(None, {"colour": "red"})


def test_refresh_shows_another_handles_steps_and_touches_nothing_when_unchanged(tmp_path):
    truth = world(64, 400)
    Session.create(tmp_path / "s", user_canvas(truth, 80, "x_ltr"), SMALL).close()
    reader, writer = Session.open(tmp_path / "s"), Session.open(tmp_path / "s")
    before = sorted(p.name for p in (tmp_path / "s").iterdir())
    reader.refresh()
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == before
    writer.extend(StepSettings(), OracleGenerator(truth), steps=1)
    writer.flush()
    assert reader.history() == []
    reader.refresh()
    assert [s["status"] for s in reader.history()] == ["committed"] and reader.size == (112, 64)
    np.testing.assert_array_equal(reader.canvas(), writer.canvas())
    reader.close()
    writer.close()


def test_undo_and_any_step_walk_the_crops_not_the_tiles(tmp_path):
    """Right, down, left: undo (and canvas_at) reach each earlier canvas from the whole canvas by the
    steps' canvas_before crops, to the pixel, with every tile and the source gone (nothing is glued
    again), and each step's crops stay the size of one tile plus its advance, whatever the canvas."""
    truth = world(64, 400)
    root = tmp_path / "s"
    with Session.create(root, user_canvas(truth, 80, "x_ltr"), SMALL) as session:
        wholes = [session.canvas()]
        for direction in ("right", "down", "left"):
            session.extend(
                StepSettings(direction=direction, blend="smooth"),
                MockGenerator(),  # tiles that disagree with the canvas: a wrong walk would show
                steps=2,
                on_step=lambda _: wholes.append(session.canvas()),
            )
    for n in range(1, 7):
        record = json.loads((root / "steps" / f"{n:04d}" / "step.json").read_text())
        after = read_png_into(root / "steps" / f"{n:04d}" / "canvas_after.png")
        assert to_frontier_right(after, record["direction"]).shape[1] == SMALL.tile + SMALL.advance
    for path in [root / "source.png", *root.glob("steps/*/tile_full.png"), *root.glob("steps/*/tiles/*/tile.png")]:
        path.unlink()
    with Session.open(root, write=False) as reader:
        for n in range(7):
            np.testing.assert_array_equal(reader.canvas_at(n), wholes[n])
    with Session.open(root) as session:
        for n in range(5, -1, -1):
            session.undo()
            np.testing.assert_array_equal(session.canvas(), wholes[n])
            whole = root / ("source.png" if n == 0 else f"canvas/{n:04d}.png")  # written at each undo's end
            np.testing.assert_array_equal(read_png_into(whole), wholes[n])


def test_a_canvas_the_caller_holds_is_walked_on_from(tmp_path):
    """replay_canvas(known=(n, canvas)): a viewer following a run walks on from the head it showed
    last, even with no whole canvas and no tile left on disk."""
    from exquisite.shared_core.step_canvas import replay_canvas

    truth = world(64, 400)
    root = tmp_path / "s"
    with Session.create(root, user_canvas(truth, 80, "x_ltr"), SMALL) as session:
        wholes = [session.canvas()]
        for direction in ("right", "down"):
            session.extend(
                StepSettings(direction=direction),
                MockGenerator(),
                steps=3,
                on_step=lambda _: wholes.append(session.canvas()),
            )
        records, contract = session.history(), session.contract
    # no source, no whole canvas, no tile; step 4's crop (the whole canvas: it was one tile long) gone too
    for path in [root / "source.png", *root.glob("canvas/*"), *root.glob("steps/*/tile*.png")]:
        path.unlink()
    (root / "steps" / "0004" / "canvas_after.png").unlink()
    for start in (4, 5):
        canvas = replay_canvas(root, records, 6, contract, write=False, known=(start, wholes[start]))
        np.testing.assert_array_equal(canvas.user(), wholes[6])
    with pytest.raises(SessionError, match="source.png"):  # nothing else to start from
        replay_canvas(root, records, 6, contract, write=False)


def test_steps_inside_writing_end_as_one_command(tmp_path):
    """Single steps under `writing()` (as a face that plans, steps and exports under one lock): the
    whole canvas and the index are written when the block ends, once."""
    truth = world(64, 400)
    root = tmp_path / "s"
    with Session.create(root, user_canvas(truth, 80, "x_ltr"), SMALL) as session:
        with session.writing():
            for seed in range(3):
                assert session.step(StepSettings(seed=seed), OracleGenerator(truth)).committed
                assert not (root / "canvas").exists()  # not per step
        np.testing.assert_array_equal(read_png_into(root / "canvas" / "0003.png"), session.canvas())
        assert json.loads((root / "session.json").read_text())["head"] == 3
