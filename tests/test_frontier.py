"""Frontiers of several tiles on ground truth: any edge, any direction after any other, atomic steps.

The world here is coded in the user's frame (R = x, G = y), so the oracle can find any reference's
place whatever the direction, and a canvas that grew right, then down, then left is compared with
the world to the pixel.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from exquisite.shared_core.errors import GenerationError, InputError
from exquisite.shared_core.generators import MockGenerator
from exquisite.shared_core.geometry import (
    DIRECTIONS,
    Contract,
    extract_band,
    frontier_tiles,
    from_frontier_right,
    pack_reference,
    to_frontier_right,
)
from exquisite.shared_core.glue import glue
from exquisite.shared_core.mask import frontier_mask, generation_mask
from exquisite.shared_core.pngio import read_png_into
from exquisite.shared_core.service import check_fits
from exquisite.shared_core.session import Session, StepSettings
from rulers import SMALL, SMALL_LEGACY, world

CONTRACTS = pytest.mark.parametrize("contract", [SMALL, SMALL_LEGACY], ids=["overlap512", "overlap256"])
GOLDEN = Path(__file__).parent / "fixtures" / "single_tile_golden.json"


def coded_world(height: int = 256, width: int = 256) -> np.ndarray:
    """User frame: R = x, G = y, B = 77 (so every pixel says where it is; up to 256 x 256)."""
    ys, xs = np.mgrid[0:height, 0:width]
    return np.dstack([xs, ys, np.full_like(xs, 77)]).astype(np.uint8)


class WorldOracle:
    """Answers every request with the world's true tile at the reference's place, in any direction.

    The reference's first pixel in the frontier-right frame is always a canvas pixel (the band's
    first row and column), so its code says where the tile lies. `mark(i, tile)` may change the
    i-th answer (counted over the oracle's life) so that tiles can be told apart.
    """

    name = "world-oracle"

    def __init__(self, user_world: np.ndarray, mark=None, fail_on=()) -> None:
        self.world = user_world
        self.mark = mark
        self.fail_on = set(fail_on)
        self.calls = 0

    def generate(self, request):
        self.calls += 1
        if self.calls in self.fail_on:
            raise GenerationError("the service refused the prompt (moderation)")
        turned = to_frontier_right(self.world, request.direction)
        first = to_frontier_right(request.reference, request.direction)[0, 0]
        rows, cols = np.nonzero(np.all(turned == first, axis=2))
        r, c = int(rows[0]), int(cols[0])
        size = request.reference.shape[0]
        tile = np.array(turned[r : r + size, c : c + size])
        assert tile.shape[:2] == (size, size), "the test world is too small for this tile"
        if self.mark is not None:
            tile = self.mark(self.calls, tile)
        return np.ascontiguousarray(from_frontier_right(tile, request.direction))


def region(user_world, box):
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(user_world[y0:y1, x0:x1])


def grown(box, direction, advance):
    x0, y0, x1, y1 = box
    return {
        "x_ltr": (x0, y0, x1 + advance, y1),
        "x_rtl": (x0 - advance, y0, x1, y1),
        "y_ttb": (x0, y0, x1, y1 + advance),
        "y_btt": (x0, y0 - advance, x1, y1),
    }[direction]


def cross_of(box, direction):
    x0, y0, x1, y1 = box
    return (y1 - y0) if direction.startswith("x") else (x1 - x0)


# ---- one tile: exactly the single-tile path -----------------------------------------------------


def _pixels_digest(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes() + str(array.shape).encode()).hexdigest()[:16]


@pytest.mark.parametrize("key", sorted(json.loads(GOLDEN.read_text())))
def test_a_canvas_one_tile_across_gives_the_recorded_single_tile_files(tmp_path, key):
    """Every step file's pixels equal those the single-tile code wrote before frontiers existed
    (recorded in fixtures/single_tile_golden.json, colour matching off so that work on colour.py
    does not move them, glue revision 0 as they were recorded: hard then cut at a fixed line)."""
    golden = json.loads(GOLDEN.read_text())[key]
    name, direction, blend, _ = key.split("/")
    contract = {"contract2": SMALL, "contract1": SMALL_LEGACY}[name]
    truth = ((world(64, 400).astype(int) * 3 + 17) % 256).astype(np.uint8)
    start = np.ascontiguousarray(from_frontier_right(truth[:, :80], direction))
    with Session.create(tmp_path / "s", start, contract, direction=direction) as session:
        wholes = [session.canvas()]
        session.extend(
            StepSettings(direction=direction, blend=blend, colour_match=False, seed=5, prompt="p", glue_revision=0),
            MockGenerator(),
            steps=3,
            on_step=lambda _: wholes.append(session.canvas()),
        )
        session.flush()
        files = {
            f"{n}/{f.name}": _pixels_digest(read_png_into(f))
            for n in (1, 2, 3)
            for f in sorted(session.step_dir(n).glob("*.png"))
        }
        for n in (1, 2, 3):  # the step files hold crops of the whole canvases the golden recorded
            crops = json.loads((session.step_dir(n) / "step.json").read_text())["crops"]
            for which, canvas in (("before", wholes[n - 1]), ("after", wholes[n])):
                x, y, w, h = crops[f"canvas_{which}"]
                assert files[f"{n}/canvas_{which}.png"] == _pixels_digest(canvas[y : y + h, x : x + w])
                files[f"{n}/canvas_{which}.png"] = _pixels_digest(canvas)
        assert not (session.step_dir(1) / "tiles").exists()
    assert files == golden


@pytest.mark.parametrize("blend", ["hard", "linear", "smooth", "mask", "seam", "multiband"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_a_canvas_one_tile_across_matches_the_single_tile_glue(tmp_path, direction, blend):
    """With colour matching on too: a session step equals band -> reference -> one call -> glue."""
    truth = ((world(64, 400).astype(int) * 5 + 3) % 256).astype(np.uint8)
    canvas = np.ascontiguousarray(from_frontier_right(truth[:, :80], direction))
    settings = StepSettings(direction=direction, blend=blend, seed=11, prompt="q")
    generator = MockGenerator()
    with Session.create(tmp_path / "s", canvas, SMALL, direction=direction) as session:
        results = session.extend(settings, generator, steps=2)
        for step in range(2):
            turned = to_frontier_right(canvas, direction)
            reference = from_frontier_right(pack_reference(extract_band(turned, SMALL), SMALL, "gray"), direction)
            mask = from_frontier_right(generation_mask(SMALL), direction)
            from exquisite.shared_core.generators import TileRequest

            tile = generator.generate(
                TileRequest(np.ascontiguousarray(reference), np.ascontiguousarray(mask), "q", 11 + step, direction)
            )
            canvas, seam = glue(
                canvas,
                tile,
                direction,
                SMALL,
                blend,
                mask=mask if blend in ("mask", "seam", "multiband") else None,
                colour_match=True,
                report=True,
            )
            assert results[step].seam == seam.to_dict()  # the step's seam report is the single tile's
        np.testing.assert_array_equal(session.canvas(), canvas)


# ---- several tiles on the oracle -------------------------------------------------------------------


@CONTRACTS
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("across", [208, 150, 40], ids=["k4", "k3", "shorter"])
def test_a_frontier_of_several_tiles_rebuilds_the_world(tmp_path, direction, across, contract):
    """Hard blend, oracle tiles: the world to the pixel; k calls a step; the interior never moves."""
    truth = coded_world()
    x_span = (24, 24 + across) if direction.startswith("y") else (100, 180)
    y_span = (24, 24 + across) if direction.startswith("x") else (100, 180)
    box = (x_span[0], y_span[0], x_span[1], y_span[1])
    oracle = WorldOracle(truth)
    k = len(frontier_tiles(across, contract))
    assert k == {208: 4, 150: 3, 40: 1}[across]
    with Session.create(tmp_path / "s", region(truth, box), contract, direction=direction) as session:
        for step in range(2):
            before = to_frontier_right(session.canvas(), direction)
            result = session.extend(StepSettings(direction=direction, blend="hard", seed=step), oracle)[0]
            assert result.committed, result.reason
            assert oracle.calls == k * (step + 1)  # exactly one call per tile
            box = grown(box, direction, contract.advance)
            after = to_frontier_right(session.canvas(), direction)
            np.testing.assert_array_equal(session.canvas(), region(truth, box))
            interior = before.shape[1] - contract.overlap
            np.testing.assert_array_equal(after[:, :interior], before[:, :interior])
            assert after.shape[0] == before.shape[0] == across  # no growth sideways
            record = json.loads((Path(result.directory) / "step.json").read_text())
            assert record["generator_calls"] == k and len(record["frontier"]) == k
        session.flush()
        np.testing.assert_array_equal(read_png_into(session.canvas_path()), region(truth, box))


@CONTRACTS
def test_right_then_down_along_the_whole_new_edge_then_left_then_up(tmp_path, contract):
    truth = coded_world()
    box = (100, 40, 180, 120)
    oracle = WorldOracle(truth)
    with Session.create(tmp_path / "s", region(truth, box), contract) as session:
        for direction in ("right", "right", "down", "down", "left", "left", "up"):
            direction = {"right": "x_ltr", "down": "y_ttb", "left": "x_rtl", "up": "y_btt"}[direction]
            calls = oracle.calls
            result = session.extend(StepSettings(direction=direction, blend="hard"), oracle)[0]
            assert result.committed, result.reason
            assert oracle.calls - calls == len(frontier_tiles(cross_of(box, direction), contract))
            box = grown(box, direction, contract.advance)
            np.testing.assert_array_equal(session.canvas(), region(truth, box))
        assert box == (36, 8, 244, 184)
        expected = session.canvas()
    for number in range(1, 8):  # replay every step from the committed tiles
        for name in ("canvas_after.png", "canvas_before.png"):
            (tmp_path / "s" / "steps" / f"{number:04d}" / name).unlink()
    with Session.open(tmp_path / "s") as reopened:
        np.testing.assert_array_equal(reopened.canvas(), expected)


def _owner_marks(calls, tile):
    tile = np.array(tile)
    tile[..., 2] = 100 + (calls - 1) % 4  # B says which tile of the step this pixel came from
    return tile


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_cross_joints_lie_where_the_contract_says(tmp_path, direction):
    """The fixed hard cut (glue revision 0, as steps recorded before the steered cut replay): rows
    from s_i + X_i // 2 on (up to the next joint) are tile i's, over the whole patch, so the joint is
    in the middle of the cross overlap of geometry's table."""
    truth = coded_world()
    across = 208
    box = (24, 100, 24 + across, 180) if direction.startswith("y") else (100, 24, 180, 24 + across)
    oracle = WorldOracle(truth, mark=_owner_marks)
    with Session.create(tmp_path / "s", region(truth, box), SMALL, direction=direction) as session:
        fixed = StepSettings(direction=direction, blend="hard", colour_match=False, glue_revision=0)
        result = session.extend(fixed, oracle)[0]
        assert result.committed, result.reason
        after = to_frontier_right(session.canvas(), direction)
    tiles = frontier_tiles(across, SMALL)
    owner = np.zeros(across, int)
    for tile in tiles:
        owner[tile.cross_start + tile.joint // 2 :] = tile.index
    patch = after[:, -(SMALL.overlap + SMALL.advance) :, 2]
    np.testing.assert_array_equal(patch, np.broadcast_to((100 + owner)[:, None], patch.shape))
    np.testing.assert_array_equal(after[:, : -(SMALL.overlap + SMALL.advance), 2], 77)  # the interior


# ---- atomic steps, kept tiles, no second payment ----------------------------------------------------


class CountingMock(MockGenerator):
    name = "mock"

    def __init__(self, fail_on=()) -> None:
        super().__init__()
        self.calls = 0
        self.fail_on = set(fail_on)

    def generate(self, request):
        self.calls += 1
        if self.calls in self.fail_on:
            raise GenerationError("the service timed out")
        return super().generate(request)


def test_a_rejected_tile_rejects_the_step_and_a_retry_pays_only_for_the_rest(tmp_path):
    truth = coded_world()
    start = region(truth, (24, 24, 104, 232))  # 208 rows across: 4 tiles
    settings = StepSettings(blend="linear", seed=3, prompt="hills")
    with Session.create(tmp_path / "clean", start, SMALL) as clean:
        clean.extend(settings, CountingMock())
        expected = clean.canvas()
    failing = CountingMock(fail_on={3})
    with Session.create(tmp_path / "s", start, SMALL) as session:
        result = session.extend(settings, failing)[0]
        assert not result.committed and result.reason == "tile 3 of 4: the service timed out"
        np.testing.assert_array_equal(session.canvas(), start)
        folder = Path(result.directory)
        assert (folder / "rejected.err").read_text().strip() == result.reason
        for kk in ("01", "02"):
            assert {p.name for p in (folder / "tiles" / kk).iterdir()} >= {
                "reference.png",
                "mask.png",
                "tile.png",
                "position.json",
            }
        assert not (folder / "tiles" / "03" / "tile.png").exists() and (folder / "tiles" / "03" / "mask.png").exists()
        assert not (folder / "tiles" / "04").exists()
        calls = failing.calls
        retry = session.extend(settings, failing)[0]
        assert retry.committed and failing.calls - calls == 2  # tiles 3 and 4 only
        positions = [
            json.loads((Path(retry.directory) / "tiles" / kk / "position.json").read_text())
            for kk in ("01", "02", "03", "04")
        ]
        assert [p["reused_from"] for p in positions] == ["steps/0001/tiles/01", "steps/0001/tiles/02", None, None]
        np.testing.assert_array_equal(session.canvas(), expected)
    with Session.open(tmp_path / "s") as reopened:
        assert [s["status"] for s in reopened.history()] == ["rejected", "committed"]
        np.testing.assert_array_equal(reopened.canvas(), expected)


def test_multi_tile_steps_replay_bit_identically_from_their_tiles(tmp_path):
    """Disagreeing tiles (the mock), colour matching and a soft blend: replay is still exact."""
    truth = coded_world()
    with Session.create(tmp_path / "s", region(truth, (30, 20, 120, 200)), SMALL) as session:
        for direction, blend in (("x_ltr", "linear"), ("y_ttb", "smooth"), ("x_rtl", "mask"), ("y_btt", "seam")):
            assert session.extend(StepSettings(direction=direction, blend=blend, prompt=direction), MockGenerator())[
                0
            ].committed
        expected = session.canvas()
        folder = session.step_dir(2)
        assert len(list((folder / "tiles").iterdir())) == len(frontier_tiles(126, SMALL))
        for name in ("reference.png", "mask.png", "tile_full.png", "new_half.png", "conditioning_band.png"):
            assert (folder / name).exists(), name
        seam = json.loads((folder / "step.json").read_text())["seam"]
        assert len(seam["tiles"]) == 3 and [j["between"] for j in seam["joints"]] == [[1, 2], [2, 3]]
        assert json.loads((folder / "tiles" / "02" / "seam.json").read_text())["box_after"]["width"] == 64
    for number in (2, 3, 4):
        (tmp_path / "s" / "steps" / f"{number:04d}" / "canvas_after.png").unlink()
    for path in (tmp_path / "s" / "canvas").iterdir():  # no whole canvas either: every step is glued again
        path.unlink()
    with Session.open(tmp_path / "s") as reopened:
        np.testing.assert_array_equal(reopened.canvas(), expected)
        for number in (2, 3, 4):
            assert (reopened.step_dir(number) / "canvas_after.png").exists()


def test_later_tiles_see_their_neighbour_fixed_to_free():
    tile = frontier_tiles(150, SMALL)[1]
    mask = frontier_mask(SMALL, tile.joint, tile.rows)
    np.testing.assert_array_equal(mask[0, SMALL.band :], 0.0 * mask[0, SMALL.band :] + mask[0, -1])
    assert mask[0, -1] < 0.05 and mask[tile.joint, -1] == 1.0 and np.all(np.diff(mask[: tile.joint + 1, -1]) > 0)
    np.testing.assert_array_equal(mask[tile.joint :], generation_mask(SMALL)[tile.joint :])
    short = frontier_mask(SMALL, 0, 40)
    np.testing.assert_array_equal(short[40:], 1.0)  # padding is free
    np.testing.assert_array_equal(frontier_mask(SMALL), generation_mask(SMALL))


# ---- what the service refuses ---------------------------------------------------------------------


def test_only_what_cannot_grow_is_refused_and_the_size_limit_is_checked_first(monkeypatch):
    contract = Contract()
    check_fits("down", (3075, 1024), contract)  # the "now extend it downwards"
    check_fits("right", (4000, 3000), contract, steps=10)
    with pytest.raises(InputError, match="cannot grow right: .*shorter than the 512 px band"):
        check_fits("right", (300, 2000), contract)
    with pytest.raises(InputError, match=r"over the 179 Mpx canvas limit: ask for at most 6 step\(s\)"):
        check_fits("down", (40000, 1024), contract, steps=20)
    monkeypatch.setenv("EXQUISITE_MAX_CANVAS_PIXELS", "1000000000")
    check_fits("down", (40000, 1024), contract, steps=20)
    monkeypatch.setenv("EXQUISITE_MAX_CANVAS_PIXELS", "lots")
    with pytest.raises(InputError, match="EXQUISITE_MAX_CANVAS_PIXELS must be a whole number"):
        check_fits("down", (4000, 1024), contract)


def test_a_thin_strip_opened_with_fit_is_refused_before_anything_is_made(tmp_path):
    strip = np.zeros((4, 2000, 3), np.uint8)
    with pytest.raises(Exception, match="canvas limit: open it without fit"):
        Session.create(tmp_path / "s", strip, Contract(), fit=True)
    assert not (tmp_path / "s").exists()


def test_the_offline_local_backend_grows_a_frontier_of_several_tiles(tmp_path):
    """Later tiles have their neighbour's rows fixed-to-free across the new half and padding rows free:
    the local backend still finds the band and continues it, one call per tile."""
    from exquisite.shared_core.generators import make_generator

    rng = np.random.default_rng(4)
    texture = rng.integers(60, 200, (150, 96, 3), dtype=np.uint8)
    local = make_generator("local")
    with Session.create(tmp_path / "s", texture, SMALL) as session:
        for direction in ("x_ltr", "y_ttb"):
            result = session.extend(StepSettings(direction=direction), local)[0]
            assert result.committed, result.reason
            record = json.loads((Path(result.directory) / "step.json").read_text())
            assert record["generator_calls"] == len(record["frontier"]) > 1
        assert session.size == (128, 182)
    with Session.create(tmp_path / "short", texture[:40], SMALL) as session:  # shorter than a tile
        assert session.extend(StepSettings(), local)[0].committed and session.size == (128, 40)


def _casts(calls, tile):
    """Tile 2 of each step comes back 18 levels brighter, tile 3 12 darker: a model's colour cast."""
    offset = {2: 18, 3: -12}.get((calls - 1) % 3 + 1, 0)
    return np.clip(tile.astype(int) + offset, 0, 255).astype(np.uint8)


def test_cast_tiles_are_colour_matched_and_their_joints_reported(tmp_path):
    truth = coded_world()
    box = (100, 40, 180, 190)  # 150 rows across: 3 tiles
    with Session.create(tmp_path / "s", region(truth, box), SMALL) as session:
        matched = session.extend(StepSettings(blend="linear"), WorldOracle(truth, mark=_casts))[0]
        np.testing.assert_array_equal(session.canvas(), region(truth, grown(box, "x_ltr", 32)))
    joints = matched.seam["joints"]
    assert [j["at_row"] for j in joints] == [43, 86] and all(j["seam_step"] < 0.5 for j in joints)
    assert [round(t["drift_raw"]) for t in matched.seam["tiles"]][1:] != [0, 0]  # the casts were there
    with Session.create(tmp_path / "u", region(truth, box), SMALL) as session:
        fixed = StepSettings(blend="hard", colour_match=False, glue_revision=0)  # the joint's cut at its middle
        raw = session.extend(fixed, WorldOracle(truth, mark=_casts))[0]
    worst = max(raw.seam["joints"], key=lambda j: j["seam_step"])
    assert worst["seam_step"] > 5 and worst["seam_at_px"] == frontier_tiles(150, SMALL)[1].joint // 2


def test_cli_grows_a_full_resolution_canvas_right_then_down_and_exports_any_step(tmp_path, capsys):
    from exquisite.shared_core.cli import main

    truth = coded_world()
    photo = tmp_path / "photo.png"
    from PIL import Image

    Image.fromarray(np.ascontiguousarray(np.repeat(np.repeat(truth[:90, :100], 12, 0), 12, 1))).save(photo)
    session = tmp_path / "s"
    assert (
        main(["extend", str(photo), "--backend", "mock", "--session", str(session), "--out", str(tmp_path / "a.png")])
        == 0
    )
    assert Image.open(tmp_path / "a.png").size == (1200 + 512, 1080)  # full resolution: 2 tiles across
    assert (
        main(["extend", str(session), "--direction", "down", "--backend", "mock", "--out", str(tmp_path / "b.png")])
        == 0
    )
    assert Image.open(tmp_path / "b.png").size == (1712, 1080 + 512)  # the whole new bottom edge: 2 tiles
    steps = sorted((session / "steps").iterdir())
    assert [len(list((s / "tiles").iterdir())) for s in steps] == [2, 2]
    after_one = np.asarray(Image.open(tmp_path / "a.png"))
    assert main(["export", str(session), "--step", "1", "--out", str(tmp_path / "one.png")]) == 0  # walked back
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "one.png")), after_one)
    (steps[1] / "canvas_before.png").unlink()  # no way back from step 2: forward from the source
    (steps[0] / "canvas_after.png").unlink()  # ... and step 1 glued again from its tiles
    assert main(["export", str(session), "--step", "1", "--out", str(tmp_path / "one.png"), "--force"]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "one.png")), after_one)
    assert main(["export", str(session), "--step", "0", "--out", str(tmp_path / "zero.png")]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "zero.png")), np.asarray(Image.open(photo)))
    assert main(["export", str(session), "--step", "9", "--out", str(tmp_path / "nine.png")]) == 2
    assert "step 9 has no canvas" in capsys.readouterr().err and not (tmp_path / "nine.png").exists()


KILL_ON_THIRD_TILE = """
import os, signal, sys
import numpy as np
sys.path.insert(0, {tests!r})
from exquisite.shared_core.generators import MockGenerator
from exquisite.shared_core.session import Session, StepSettings
from rulers import SMALL

class KillOnThird(MockGenerator):
    calls = 0
    def generate(self, request):
        KillOnThird.calls += 1
        if KillOnThird.calls == 3:
            os.kill(os.getpid(), signal.SIGKILL)  # dies while tile 3 of 4 is being generated
        return super().generate(request)

start = np.random.default_rng(1).integers(0, 255, (208, 80, 3), dtype=np.uint8)
Session.create({root!r}, start, SMALL).extend(StepSettings(seed=9), KillOnThird())
"""


def test_a_kill_during_tile_3_of_4_reopens_unchanged_and_the_retry_reuses_tiles_1_and_2(tmp_path):
    import signal
    import subprocess
    import sys

    root = tmp_path / "s"
    code = KILL_ON_THIRD_TILE.format(tests=str(Path(__file__).parent), root=str(root))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    start = np.random.default_rng(1).integers(0, 255, (208, 80, 3), dtype=np.uint8)
    generator = CountingMock()
    with Session.open(root) as session:
        assert [s["status"] for s in session.history()] == ["rejected"]
        assert "interrupted" in session.history()[0]["reason"]
        np.testing.assert_array_equal(session.canvas(), start)
        assert session.extend(StepSettings(seed=9), generator)[0].committed
        assert generator.calls == 2  # tiles 1 and 2 were paid for before the kill
        resumed = session.canvas()
    with Session.create(tmp_path / "clean", start, SMALL) as clean:
        clean.extend(StepSettings(seed=9), MockGenerator())
        np.testing.assert_array_equal(resumed, clean.canvas())


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("across", [150, 40])
def test_the_changed_box_of_a_frontier_step_holds_everything_that_changed(tmp_path, direction, across):
    """preview.changed_box (the whole edge: every tile's rows) covers every changed pixel."""
    from exquisite.shared_core.preview import changed_box

    rng = np.random.default_rng(3)
    start = np.ascontiguousarray(from_frontier_right(rng.integers(0, 255, (across, 80, 3), dtype=np.uint8), direction))
    with Session.create(tmp_path / "s", start, SMALL, direction=direction) as session:
        size_before = session.size
        session.extend(StepSettings(direction=direction), MockGenerator(), steps=2)
        after = session.canvas()
    box = changed_box(SMALL, direction, size_before, 2)
    kept = np.ones(after.shape[:2], bool)  # outside the box
    kept[box.y : box.y + box.height, box.x : box.x + box.width] = False
    turned_kept = to_frontier_right(kept, direction)
    assert turned_kept.shape == (across, 80 + 2 * SMALL.advance)
    assert turned_kept[:, : 80 - SMALL.overlap].all() and not turned_kept[:, 80 - SMALL.overlap :].any()
    turned_after, turned_start = to_frontier_right(after, direction), to_frontier_right(start, direction)
    np.testing.assert_array_equal(turned_after[:, : 80 - SMALL.overlap], turned_start[:, : 80 - SMALL.overlap])
    assert (turned_after[:, 80 - SMALL.overlap : 80] != turned_start[:, 80 - SMALL.overlap :]).any()


def wide_world(height: int, width: int) -> np.ndarray:
    """User frame, up to 4096 x 4096: R = x % 256, G = y % 256, B = x // 256 + 16 * (y // 256)."""
    ys, xs = np.mgrid[0:height, 0:width]
    return np.dstack([xs % 256, ys % 256, xs // 256 + 16 * (ys // 256)]).astype(np.uint8)


@pytest.mark.parametrize("contract", [Contract(), Contract.legacy()], ids=["overlap512", "overlap256"])
def test_the_default_contracts_grow_a_photo_sized_canvas_right_then_down(tmp_path, contract):
    """At full size: a 1500x1100 canvas, right (2 tiles across 1100 rows), then down along the whole
    2012 px bottom edge (3 tiles); the world to the pixel."""
    truth = wide_world(1700, 2100)
    box = (0, 0, 1500, 1100)
    oracle = WorldOracle(truth)
    with Session.create(tmp_path / "s", region(truth, box), contract) as session:
        for direction, k in (("x_ltr", 2), ("y_ttb", 3)):
            calls = oracle.calls
            result = session.extend(StepSettings(direction=direction, blend="hard"), oracle)[0]
            assert result.committed, result.reason
            assert oracle.calls - calls == k
            box = grown(box, direction, contract.advance)
            np.testing.assert_array_equal(session.canvas(), region(truth, box))
