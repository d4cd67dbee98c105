"""Registration: a tile that came back shifted is moved onto the band it was shown, to the pixel."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from exquisite.shared_core import registration as registration_module
from exquisite.shared_core.errors import InputError
from exquisite.shared_core.geometry import Contract, from_frontier_right, to_frontier_right
from exquisite.shared_core.registration import SEARCH_PX, register_tile, registration
from exquisite.shared_core.seam_report import brief
from exquisite.shared_core.session import Session, StepSettings
from exquisite.shared_core.step_settings import next_settings, recorded_settings
from rulers import SMALL, world
from test_colour import texture

CONTRACT = Contract(tile=128, band=64, overlap=64, advance=64)


def reflected(t: int, dy: int, dx: int) -> np.ndarray:
    """(t, t) True where a tile moved back by (dy, dx) shows its own edge reflected (no pixel of its own)."""
    out = np.zeros((t, t), bool)
    if dy > 0:
        out[t - dy :] = True
    if dy < 0:
        out[:-dy] = True
    if dx > 0:
        out[:, t - dx :] = True
    if dx < 0:
        out[:, :-dx] = True
    return out


@pytest.mark.parametrize("shift", [(2, 0), (0, -2), (1, 2), (-2, -1), (4, -4), (-3, 3)])
def test_a_shifted_tile_is_moved_back_onto_its_band(shift):
    """The conditioning half is then the band itself, to the pixel (what the move uncovers there is
    the band's own); the new half is the truth except a reflected strip of |shift| px at its edges."""
    dy, dx = shift
    m, t, b = SEARCH_PX, CONTRACT.tile, CONTRACT.band
    truth = texture(t + 2 * m, 400)
    band = truth[m : m + t, 100 : 100 + b]
    tile = truth[m - dy : m - dy + t, 100 - dx : 100 - dx + t]  # its picture lies (dy, dx) off the band's
    moved, found = register_tile(band, tile, CONTRACT)
    assert found == shift
    np.testing.assert_array_equal(moved[:, :b], band)
    own = ~reflected(t, dy, dx)[:, b:]
    np.testing.assert_array_equal(moved[:, b:][own], truth[m : m + t, 100 + b : 100 + t][own])


def test_a_colour_cast_and_noise_do_not_hide_the_shift():
    truth = texture(140, 400)
    band = truth[6:134, 100:164]
    tile = truth[8:136, 99:227].astype(np.float64) * (1.1, 0.9, 1.05) + (8, -6, 0)
    noisy = np.clip(tile + np.random.default_rng(3).normal(0, 2, tile.shape), 0, 255).round().astype(np.uint8)
    assert register_tile(band, noisy, CONTRACT)[1] == (-2, 1)


def test_a_tile_that_already_lies_on_its_band_is_returned_as_it_is():
    truth = texture(128, 400)
    tile = truth[:, 100:228]
    moved, found = register_tile(tile[:, :64], tile, CONTRACT)
    assert found == (0, 0) and moved is tile


@pytest.mark.parametrize("contract", [SMALL, CONTRACT])
def test_a_ruler_half_repainted_by_a_model_is_not_moved(contract):
    """The mock model's answer: the band kept where the mask is fixed, stripes where it is free. Every
    shift agrees about as well as none on a coordinate ruler, so no peak is clear enough to move it."""
    t, b = contract.tile, contract.band
    ruler = world(t, 400)[:, 100 : 100 + t]
    rows, cols = np.mgrid[0:t, 0:t]
    stripes = (((rows + cols) // 24 % 2) * 60 + 90)[..., None].repeat(3, axis=2)
    free = np.clip((cols - b // 2) / b, 0, 1)[..., None]
    answer = np.rint(ruler * (1 - free) + stripes * free).astype(np.uint8)
    moved, found = register_tile(ruler[:, :b], answer, contract)
    assert found == (0, 0) and moved is answer
    assert not registration(ruler[:, :b], answer[:, :b]).clear


class ShiftingModel:
    """Answers the truth's tile at each step with its picture (dy, dx) px off (frontier-right)."""

    name = "shifting"

    def __init__(self, truth: np.ndarray, start: int, shifts) -> None:
        self.truth, self.start, self.shifts, self.calls = truth, start, list(shifts), 0

    def generate(self, request):
        (dy, dx), m = self.shifts[self.calls], SEARCH_PX
        x0 = self.start + self.calls * CONTRACT.advance - CONTRACT.band
        self.calls += 1
        tile = self.truth[m - dy : m - dy + CONTRACT.tile, x0 - dx : x0 - dx + CONTRACT.tile]
        return np.ascontiguousarray(from_frontier_right(tile, request.direction))


@pytest.mark.parametrize("direction", ["x_ltr", "y_btt"])
def test_a_session_glues_a_shifted_tile_where_the_truth_is_and_replays_it(tmp_path, direction):
    """Two steps of tiles shifted (2, -1) then (-1, 2): the canvas is the truth everywhere but the
    reflected strips, step.json records each shift, and a replay from the tiles alone gives the
    same pixels. Without registration the overlap shows every detail twice."""
    m, shifts = SEARCH_PX, [(2, -1), (-1, 2)]
    truth = texture(CONTRACT.tile + 2 * m, 600)
    whole = truth[m : m + CONTRACT.tile]
    source = np.ascontiguousarray(from_frontier_right(whole[:, :200], direction))
    settings = StepSettings(direction=direction, colour_match=False)
    with Session.create(tmp_path / "s", source, CONTRACT, direction=direction) as session:
        results = session.extend(settings, ShiftingModel(truth, 200, shifts), steps=2)
        grown = to_frontier_right(session.canvas(), direction)
    assert [tuple(r.seam["shift_px"]) for r in results] == shifts
    assert json.loads((tmp_path / "s/steps/0002/step.json").read_text())["seam"]["shift_px"] == [-1, 2]
    assert "tile was -1 px along the growth, +2 across off its band (moved back)" in brief(results[0].seam)
    kept = np.ones(grown.shape[:2], bool)
    kept[:, 200:264] = ~reflected(CONTRACT.tile, *shifts[0])[:, 64:]  # step 1's new half (step 2's band)
    kept[:, 264:] = ~reflected(CONTRACT.tile, *shifts[1])[:, 64:]
    assert grown.shape[1] == 328 and kept.mean() > 0.95
    np.testing.assert_array_equal(grown[kept], whole[:, : grown.shape[1]][kept])

    for name in ("canvas", "steps/0002/canvas_after.png", "steps/0001/canvas_after.png"):
        path = tmp_path / "s" / name
        if path.is_dir():
            for f in path.iterdir():
                f.unlink()
        else:
            path.unlink()
    with Session.open(tmp_path / "s") as again:
        np.testing.assert_array_equal(to_frontier_right(again.canvas(), direction), grown)

    plain = StepSettings(direction=direction, colour_match=False, register=False)
    with Session.create(tmp_path / "p", source, CONTRACT, direction=direction) as session:
        session.extend(plain, ShiftingModel(truth, 200, shifts), steps=2)
        unmoved = to_frontier_right(session.canvas(), direction)
    assert (unmoved[:, 136:200] != whole[:, 136:200]).mean() > 0.5


def test_a_step_recorded_before_registration_replays_without_it_and_the_next_step_registers():
    old = {"direction": "x_ltr", "blend": "linear", "seed": 3}
    assert recorded_settings(old).register is False
    assert recorded_settings({**old, "register": True}).register is True
    assert next_settings(old, {}).register is True
    assert next_settings({**old, "register": False}, {}).register is False


def test_register_must_be_true_or_false():
    with pytest.raises(InputError, match="register is true or false"):
        StepSettings(register="yes").checked(CONTRACT)  # type: ignore[arg-type]


def test_registration_is_pure_numpy():
    """No image library, no torch, no I/O: the module imports only numpy and the geometry contract."""
    tree = ast.parse(Path(registration_module.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"__future__", "dataclasses", "numpy", "geometry"}, imported


def test_the_cli_turns_registration_off_and_the_next_step_keeps_that(tmp_path):
    from exquisite.shared_core.cli import main
    from PIL import Image

    Image.fromarray(texture(1024, 1100)).save(tmp_path / "in.png")
    common = ["-b", "mock", "--out", str(tmp_path / "out.png"), "--force"]
    assert (
        main(
            ["extend", str(tmp_path / "in.png"), "-n", "1", "--session", str(tmp_path / "s"), "--no-register", *common]
        )
        == 0
    )
    assert main(["extend", str(tmp_path / "s"), "-n", "1", *common]) == 0
    recorded = [
        json.loads((tmp_path / f"s/steps/000{n}/step.json").read_text())["settings"]["register"] for n in (1, 2)
    ]
    assert recorded == [False, False]
    assert main(["extend", str(tmp_path / "s"), "-n", "1", "--register", *common]) == 0
    assert json.loads((tmp_path / "s/steps/0003/step.json").read_text())["settings"]["register"] is True


class CastShiftingModel(ShiftingModel):
    """ShiftingModel with a strong colour cast (gain and offset per channel) on every tile."""

    def generate(self, request):
        tile = to_frontier_right(super().generate(request), request.direction).astype(np.float64)
        cast = np.clip(tile * (1.1, 0.9, 1.05) + (8, -6, 3), 0, 255).round().astype(np.uint8)
        return np.ascontiguousarray(from_frontier_right(cast, request.direction))


@pytest.mark.parametrize(("revision", "same"), [(1, True), (0, False)])
def test_what_a_move_uncovers_is_the_bands_own_pixels_after_colour_matching(tmp_path, revision, same):
    """A tile 3 px off with a strong cast: the 3 rows the move uncovers in its overlap are the band's
    own pixels on the canvas (glue revision 1), not the band mapped by the inverse of the tile's cast
    (revision 0, replayed as recorded): that strip showed as a seam at the cut blends."""
    m = SEARCH_PX
    truth = texture(CONTRACT.tile + 2 * m, 600)
    whole = truth[m : m + CONTRACT.tile]
    settings = StepSettings(blend="hard", glue_revision=revision, colour_match=True)
    with Session.create(tmp_path / "s", np.ascontiguousarray(whole[:, :200]), CONTRACT) as session:
        result = session.extend(settings, CastShiftingModel(truth, 200, [(3, 0)]), steps=1)[0]
        grown = session.canvas()
    assert tuple(result.seam["shift_px"]) == (3, 0)
    strip = (slice(CONTRACT.tile - 3, CONTRACT.tile), slice(200 - CONTRACT.overlap, 200))
    assert np.array_equal(grown[strip], whole[strip]) is same
    if not same:
        assert np.abs(grown[strip].astype(int) - whole[strip]).mean() > 4
