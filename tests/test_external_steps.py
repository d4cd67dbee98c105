"""Glues of tiles made elsewhere (a ComfyUI graph) journaled as session steps, pixel for pixel."""

import numpy as np
import pytest
from rulers import SMALL, marked_tile, world

from exquisite.shared_core.errors import InputError
from exquisite.shared_core.external_steps import check_session_name, journal_glue
from exquisite.shared_core.glue import glue
from exquisite.shared_core.session import Session
from exquisite.shared_core.step_settings import StepSettings


@pytest.mark.parametrize("direction", ["x_ltr", "y_btt"])
def test_a_journaled_glue_is_the_pure_glue_and_a_committed_step(tmp_path, direction):
    canvas = np.ascontiguousarray(np.rot90(world(64, 96), {"x_ltr": 0, "y_btt": -3}[direction]))
    tile = np.ascontiguousarray(np.rot90(marked_tile(SMALL), {"x_ltr": 0, "y_btt": -3}[direction]))
    settings = StepSettings(direction=direction, blend="linear", colour_match=True)
    folder, result, after = journal_glue(tmp_path, "run", canvas, tile, settings, SMALL)
    expected = glue(canvas, tile, direction, SMALL, "linear", colour_match=True)
    assert np.array_equal(after, expected)
    assert result.committed and folder == tmp_path / "run"
    step = folder / "steps" / "0001"
    assert (step / "committed.ok").exists() and (step / "tile_full.png").exists()
    with Session.open(folder) as session:
        assert session.history()[0]["backend"] == "external"
        assert np.array_equal(session.canvas(), expected)


def test_a_chain_continues_the_session_and_a_new_run_starts_the_next_one(tmp_path):
    canvas, tile = world(64, 96), marked_tile(SMALL)
    settings = StepSettings(blend="hard", colour_match=False)
    first, _, after1 = journal_glue(tmp_path, "graph", canvas, tile, settings, SMALL)
    second, result, after2 = journal_glue(tmp_path, "graph", after1, tile, settings, SMALL)
    assert first == second and result.number == 2 and after2.shape[1] == 96 + 2 * SMALL.advance
    again, result, _ = journal_glue(tmp_path, "graph", canvas, tile, settings, SMALL)  # queued again
    assert again == tmp_path / "graph-2" and result.number == 1
    with Session.open(first) as session:  # the first run is untouched
        assert session.head == 2 and np.array_equal(session.canvas(), after2)


def test_a_tile_of_the_wrong_size_is_refused_before_any_session_is_made(tmp_path):
    with pytest.raises(InputError, match="tile"):
        journal_glue(tmp_path, "bad", world(64, 96), np.zeros((32, 32, 3), np.uint8), StepSettings(), SMALL)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["", "../up", "a/b", "/abs", "." * 3, "x" * 81])
def test_session_names_are_plain_names(name):
    with pytest.raises(InputError, match="plain name"):
        check_session_name(name)
