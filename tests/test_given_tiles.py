"""A frontier's tiles made elsewhere (a graph's batch): positions, glue and journal, against the core's step."""

import json

import numpy as np
import pytest
from rulers import SMALL, SMALL_LEGACY, world

from exquisite.shared_core.errors import InputError
from exquisite.shared_core.frontier_positions import frontier_positions, read_positions
from exquisite.shared_core.frontier_files import tile_seed
from exquisite.shared_core.generators import MockGenerator, TileRequest
from exquisite.shared_core.geometry import (
    DIRECTIONS,
    frontier_right_shape,
    frontier_tiles,
    from_frontier_right,
    pack_reference,
)
from exquisite.shared_core.given_tiles import GivenTiles, glue_given_tiles, journal_frontier_glue
from exquisite.shared_core.glue import glue
from exquisite.shared_core.mask import frontier_mask
from exquisite.shared_core.sequential_batch import generate_in_order
from exquisite.shared_core.session import Session, StepSettings
from exquisite.shared_core.viewer_data import read_session


def user_world(cross, length, direction):
    return np.ascontiguousarray(from_frontier_right(world(cross, length), direction))


def random_tiles(k, contract, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (contract.tile, contract.tile, 3), dtype=np.uint8) for _ in range(k)]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_positions_record_the_cores_tiles_and_where_each_lands(direction):
    canvas = user_world(150, 96, direction)
    positions = frontier_positions(canvas.shape[:2], direction, SMALL)
    tiles = frontier_tiles(150, SMALL)
    assert [{k: v for k, v in t.items() if k != "box"} for t in positions["tiles"]] == [t.to_dict() for t in tiles]
    grown_h, grown_w = (
        (canvas.shape[0], canvas.shape[1] + 32) if direction[0] == "x" else (canvas.shape[0] + 32, canvas.shape[1])
    )
    covered = np.zeros((grown_h, grown_w), bool)
    for t in positions["tiles"]:
        box = t["box"]
        assert (box["width"], box["height"]) == ((64, 64))
        covered[box["y"] : box["y"] + box["height"], box["x"] : box["x"] + box["width"]] = True
    cross_axis = 0 if direction[0] == "x" else 1
    assert covered.any(axis=1 - cross_axis).all()  # the tiles cover the whole edge
    assert read_positions(json.dumps(positions), canvas.shape[:2], direction) == (SMALL, tiles)


def test_positions_of_another_canvas_or_direction_are_refused():
    positions = json.dumps(frontier_positions((150, 96), "x_ltr", SMALL))
    with pytest.raises(InputError, match="made for a 96x150 canvas growing x_ltr"):
        read_positions(positions, (150, 128), "x_ltr")
    with pytest.raises(InputError, match="growing x_ltr"):
        read_positions(positions, (150, 96), "x_rtl")
    with pytest.raises(InputError, match="not JSON"):
        read_positions("", (150, 96), "x_ltr")
    edited = json.loads(positions)
    edited["tiles"][1]["cross_start"] += 1
    with pytest.raises(InputError, match="unchanged"):
        read_positions(edited, (150, 96), "x_ltr")


@pytest.mark.parametrize("direction", ["x_ltr", "y_ttb", "y_btt"])
@pytest.mark.parametrize("contract", [SMALL, SMALL_LEGACY])
def test_given_tiles_glue_as_a_session_step_with_the_same_tiles(tmp_path, direction, contract):
    canvas = user_world(150, 96, direction)
    tiles = random_tiles(3, contract)
    settings = StepSettings(direction=direction, blend="linear", seed=5)
    glued, seam = glue_given_tiles(canvas, tiles, settings, contract)
    with Session.create(tmp_path / "s", canvas, contract, direction=direction) as session:
        result = session.step(settings, GivenTiles(tiles, settings.seed))
        assert result.committed, result.reason
        np.testing.assert_array_equal(glued, session.canvas())
        assert seam == result.seam and len(seam["joints"]) == 2


def test_one_tile_is_the_single_tile_glue_and_a_short_edge_keeps_its_rows():
    canvas = world(64, 96)
    tile = random_tiles(1, SMALL)
    settings = StepSettings(blend="smooth")
    glued, _ = glue_given_tiles(canvas, tile, settings, SMALL)
    np.testing.assert_array_equal(glued, glue(canvas, tile[0], "x_ltr", SMALL, "smooth", colour_match=True))
    short, _ = glue_given_tiles(world(40, 96), tile, StepSettings(blend="hard", colour_match=False), SMALL)
    assert short.shape == (40, 128, 3)
    np.testing.assert_array_equal(short[:, 96:], tile[0][:40, 32:])


def test_a_wrong_number_or_size_of_tiles_is_refused_before_any_session_is_made(tmp_path):
    canvas = world(150, 96)
    with pytest.raises(InputError, match="has 3 tiles but 2 were given"):
        journal_frontier_glue(tmp_path, "s", canvas, random_tiles(2, SMALL), StepSettings(), SMALL)
    with pytest.raises(InputError, match="tile 2 is 32x32"):
        journal_frontier_glue(
            tmp_path,
            "s",
            canvas,
            [random_tiles(1, SMALL)[0], np.zeros((32, 32, 3), np.uint8), random_tiles(1, SMALL)[0]],
            StepSettings(),
            SMALL,
        )
    assert not any(tmp_path.iterdir())


def test_journaled_frontier_steps_chain_and_the_viewer_reads_them(tmp_path):
    canvas = user_world(150, 96, "y_ttb")
    settings = StepSettings(direction="y_ttb")
    first, r1, after1 = journal_frontier_glue(tmp_path, "run", canvas, random_tiles(3, SMALL, 1), settings, SMALL)
    second, r2, after2 = journal_frontier_glue(tmp_path, "run", after1, random_tiles(3, SMALL, 2), settings, SMALL)
    assert first == second == tmp_path / "run" and (r1.number, r2.number) == (1, 2)
    expected, _ = glue_given_tiles(after1, random_tiles(3, SMALL, 2), settings, SMALL)
    np.testing.assert_array_equal(after2, expected)
    assert frontier_right_shape(after2.shape, "y_ttb")[:2] == (150, 160)
    viewed = read_session(first, "run")
    assert [s["status"] for s in viewed["steps"]] == ["committed", "committed"]


def test_generate_in_order_asks_for_exactly_what_a_session_step_asks_for(tmp_path):
    """From parallel references (each from its own band), the sequential order rebuilds the core's
    requests: joint rows of later tiles carry their neighbour, their masks ramp from fixed to free."""
    canvas = world(150, 96)
    tiles = frontier_tiles(150, SMALL)
    references = [pack_reference(canvas[t.cross_start : t.cross_start + t.rows, 64:], SMALL) for t in tiles]
    masks = [frontier_mask(SMALL, 0, t.rows) for t in tiles]
    mock, asked = MockGenerator(), []

    def make(i, reference, mask):
        asked.append((reference, mask))
        return mock.generate(TileRequest(reference, mask, "", tile_seed(3, i), "x_ltr"))

    made = generate_in_order(references, masks, tiles, SMALL, StepSettings(seed=3), make)
    seen = []

    class Recording(MockGenerator):
        def generate(self, request):
            seen.append((np.array(request.reference), np.array(request.mask)))
            return super().generate(request)

    with Session.create(tmp_path / "s", canvas, SMALL) as session:
        assert session.step(StepSettings(seed=3), Recording()).committed
    for (reference, mask), (core_reference, core_mask) in zip(asked, seen, strict=True):
        np.testing.assert_array_equal(reference, core_reference)
        np.testing.assert_array_equal(mask, core_mask)
    assert len(made) == 3 and not np.array_equal(asked[1][0], references[1])
