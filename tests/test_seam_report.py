"""The seam report on cases whose answer is known: a truthful tile, a pure offset, a hard cut."""

import json
from pathlib import Path

import numpy as np
import pytest

from exquisite.shared_core.cli import main
from exquisite.shared_core.colour import match_colour, rgb_to_lab
from exquisite.shared_core.errors import InputError
from exquisite.shared_core.geometry import DIRECTIONS, Contract, from_frontier_right
from exquisite.shared_core.glue import BLENDS, glue
from exquisite.shared_core.mask import generation_mask
from exquisite.shared_core.seam_report import report_grown, seam_report, tail_before, tail_columns
from exquisite.shared_core.session import Session, StepSettings
from rulers import SMALL, SMALL_LEGACY, OracleGenerator, user_canvas, world

BIG = Contract(tile=128, band=64, overlap=64, advance=64)


def smooth(cross, length):
    rows, cols = np.mgrid[0:cross, 0:length].astype(np.float64)
    return (
        np.dstack([100 + 40 * np.sin(cols / 19), 110 + 30 * np.cos(rows / 13), 90 + cols * 0.1])
        .round()
        .astype(np.uint8)
    )


def report_for(truth, length, tile, contract, blend, **kw):
    after = glue(truth[:, :length], tile, "x_ltr", contract, blend, **kw)
    w = min(length, tail_columns(contract))
    return seam_report(truth[:, length - w : length], after[:, length - w :], tile, contract)


@pytest.mark.parametrize("contract", [SMALL, SMALL_LEGACY, BIG], ids=["contract2", "contract1", "big"])
@pytest.mark.parametrize("blend", BLENDS)
def test_a_tile_equal_to_the_truth_reports_no_seam_in_every_mode(blend, contract):
    truth = smooth(contract.tile, 600)
    length = 3 * contract.band
    tile = truth[:, length - contract.band : length - contract.band + contract.tile]
    report = report_for(truth, length, tile, contract, blend)
    assert report.seam_step < 1e-6 and report.drift < 1e-6 and report.gradient_discontinuity < 1e-6, report


def test_an_offset_tile_cut_in_at_the_paste_edge_shows_its_step_there():
    """A fixed cut (linear feather 0) at the overlap's inner edge: the report finds the step there."""
    truth = smooth(BIG.tile, 400)
    length = 200
    tile = truth[:, length - BIG.band : length - BIG.band + BIG.tile].astype(int)
    tile = np.clip(tile + 25, 0, 255).astype(np.uint8)  # brighter everywhere
    expected = float(
        np.linalg.norm(
            rgb_to_lab(tile[:, : BIG.band]).mean((0, 1)) - rgb_to_lab(truth[:, length - BIG.band : length]).mean((0, 1))
        )
    )
    hard = report_for(truth, length, tile, BIG, "linear", feather_px=0)
    linear = report_for(truth, length, tile, BIG, "linear")
    assert hard.seam_at_px == 0 and abs(hard.seam_step - expected) < 0.25 * expected, (hard, expected)
    assert abs(hard.gradient_discontinuity - expected) < 0.35 * expected
    assert linear.seam_step < 0.2 * hard.seam_step and linear.gradient_discontinuity < 1.0, linear
    for report in (hard, linear):  # the cast is the tile's, whatever the blend
        assert abs(report.drift - expected) < 0.05 and report.drift_lab[0] > 0


def test_colour_matching_removes_the_drift_the_report_measures():
    truth = smooth(BIG.tile, 400)
    length = 200
    true_tile = truth[:, length - BIG.band : length - BIG.band + BIG.tile]
    tile = np.clip(true_tile * np.array([0.8, 0.9, 1.0]), 0, 255).astype(np.uint8)
    after = glue(truth[:, :length], tile, "x_ltr", BIG, "linear", colour_match=True)
    matched = match_colour(truth[:, length - BIG.band : length], tile, BIG)
    report = seam_report(truth[:, length - 68 : length], after[:, length - 68 :], matched, BIG, raw_tile=tile)
    assert report.drift_raw > 5 and report.drift < 0.3, report
    assert report.drift_lab[0] == pytest.approx(0, abs=0.3)


def test_bad_tails_are_refused():
    with pytest.raises(InputError, match="seam report needs"):
        seam_report(
            np.zeros((64, 10, 3), np.uint8), np.zeros((64, 42, 3), np.uint8), np.zeros((64, 64, 3), np.uint8), SMALL
        )


def test_every_step_records_and_returns_its_report(tmp_path, capsys):
    truth = world(64, 400)
    darker = lambda tile: (tile * 0.8).astype(np.uint8)
    with Session.create(tmp_path / "s", truth[:, :80], SMALL) as session:
        [result] = session.extend(
            StepSettings(blend="hard", colour_match=False), OracleGenerator(truth, darker, (80, SMALL)), steps=1
        )
    record = json.loads((Path(result.directory) / "step.json").read_text())
    assert record["seam"] == result.seam and result.seam["seam_step"] > 1 and result.seam["drift"] > 1
    assert set(result.seam) == {
        "seam_step",
        "seam_at_px",
        "drift",
        "drift_lab",
        "drift_raw",
        "gradient_discontinuity",
        "shift_px",
    }
    assert Session.open(tmp_path / "s").history()[0]["seam"] == result.seam
    assert main(["show", str(tmp_path / "s")]) == 0
    assert "seam step" in capsys.readouterr().out


def test_the_cli_prints_the_report_and_takes_the_new_options(tmp_path, capsys):
    from PIL import Image

    photo = tmp_path / "p.png"
    Image.fromarray(smooth(1024, 700)).save(photo)
    code = main(
        [
            "extend",
            str(photo),
            "--backend",
            "mock",
            "--session",
            str(tmp_path / "s"),
            "--blend",
            "seam",
            "--no-colour-match",
            "--blend-ramp-start",
            "128",
            "--out",
            str(tmp_path / "o.png"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "seam step" in out and "drift" in out, out
    settings = json.loads((tmp_path / "s" / "steps" / "0001" / "step.json").read_text())["settings"]
    assert settings["blend"] == "seam" and settings["colour_match"] is False and settings["blend_ramp_start"] == 128


# ---- one measurement for every face: the session's step and the pure glue (the ComfyUI node) -------


def test_tail_before_is_a_copy_of_the_last_columns_or_the_whole_short_canvas():
    canvas = world(64, 100)
    tail = tail_before(canvas, SMALL)
    np.testing.assert_array_equal(tail, canvas[:, 100 - tail_columns(SMALL) :])
    canvas[:, -1] = 0  # a step glues into the same buffer; the tail must keep what was there
    assert tail[0, -1, 0] == 99
    short = world(64, 33)  # shorter than band + window: all of it
    np.testing.assert_array_equal(tail_before(short, SMALL), short)


def test_report_grown_cuts_the_after_tail_from_the_grown_canvas_and_refuses_a_short_one():
    truth = smooth(BIG.tile, 400)
    length = 200
    tile = np.clip(truth[:, length - BIG.band : length - BIG.band + BIG.tile].astype(int) + 25, 0, 255)
    tile = tile.astype(np.uint8)
    after = glue(truth[:, :length], tile, "x_ltr", BIG, "hard")
    w = tail_columns(BIG)
    by_hand = seam_report(truth[:, length - w : length], after[:, length - w :], tile, BIG, tile)
    assert report_grown(tail_before(truth[:, :length], BIG), after, tile, BIG, tile) == by_hand
    assert by_hand.seam_step > 5  # a real step, so equality is not 0 == 0
    with pytest.raises(InputError, match=f"at least {w + BIG.advance} columns"):
        report_grown(tail_before(truth[:, :length], BIG), after[:, :w], tile, BIG)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_glue_is_glue_plus_the_report_of_the_tile_as_glued(direction):
    truth = smooth(BIG.tile, 400)
    length = 200
    true_tile = truth[:, length - BIG.band : length - BIG.band + BIG.tile]
    tile = np.clip(true_tile * np.array([0.8, 0.9, 1.0]), 0, 255).astype(np.uint8)
    canvas = user_canvas(truth, length, direction)
    grown, report = glue(
        canvas, from_frontier_right(tile, direction), direction, BIG, "linear", colour_match=True, report=True
    )
    np.testing.assert_array_equal(
        grown, glue(canvas, from_frontier_right(tile, direction), direction, BIG, "linear", colour_match=True)
    )
    # the same numbers in every direction: measured in the frontier-right frame, on the tile as glued
    matched = match_colour(truth[:, length - BIG.band : length], tile, BIG)
    after = glue(truth[:, :length], tile, "x_ltr", BIG, "linear", colour_match=True)
    w = tail_columns(BIG)
    assert report == seam_report(truth[:, length - w : length], after[:, length - w :], matched, BIG, raw_tile=tile)
    assert report.drift_raw > 5 and report.drift < 0.3


@pytest.mark.parametrize("blend, colour_match", [("hard", False), ("mask", True), ("seam", True)])
def test_a_session_step_and_glue_measure_the_same(tmp_path, blend, colour_match):
    truth = world(64, 400)
    darker = lambda tile: (tile * 0.8).astype(np.uint8)
    settings = StepSettings(blend=blend, colour_match=colour_match)
    with Session.create(tmp_path / "s", truth[:, :80], SMALL) as session:
        [result] = session.extend(settings, OracleGenerator(truth, darker, (80, SMALL)), steps=1)
        grown_by_session = session.canvas()
    tile = darker(truth[:, 80 - SMALL.band : 80 - SMALL.band + SMALL.tile])
    mask = generation_mask(SMALL, settings.ramp_start, settings.ramp_end, settings.ramp_shape)
    grown, report = glue(truth[:, :80], tile, "x_ltr", SMALL, blend, None, mask, colour_match=colour_match, report=True)
    np.testing.assert_array_equal(grown, grown_by_session)
    assert report.to_dict() == result.seam and result.seam["drift_raw"] > 1
