"""The multi-band and seam blends: what they keep exactly, where they cut, what they need."""

import subprocess
import sys

import numpy as np
import pytest

from exquisite.shared_core.blend_seam import disagreement, min_error_path
from exquisite.shared_core.errors import InputError
from exquisite.shared_core.geometry import DIRECTIONS, from_frontier_right, to_frontier_right
from exquisite.shared_core.glue import BLENDS, glue, blend_alpha, overlap_blend
from exquisite.shared_core.mask import generation_mask
from exquisite.shared_core.session import Session, StepSettings
from rulers import SMALL, SMALL_LEGACY, marked_tile, OracleGenerator, user_canvas, world

NEW = ("multiband", "seam", "seam_multiband")


@pytest.mark.parametrize("contract", [SMALL, SMALL_LEGACY], ids=["contract2", "contract1"])
@pytest.mark.parametrize("blend", BLENDS)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_only_the_overlap_and_the_new_half_change_in_every_mode(direction, blend, contract):
    length = 90
    canvas_norm = world(64, length)
    tile_norm = marked_tile(contract)
    canvas = np.ascontiguousarray(from_frontier_right(canvas_norm, direction))
    out = glue(canvas, np.ascontiguousarray(from_frontier_right(tile_norm, direction)), direction, contract, blend)
    out_norm = to_frontier_right(out, direction)
    origin = length - contract.overlap
    np.testing.assert_array_equal(out_norm[:, :origin], canvas_norm[:, :origin])
    np.testing.assert_array_equal(out_norm[:, length:], tile_norm[:, contract.band :])


@pytest.mark.parametrize("blend", BLENDS)
def test_a_tile_equal_to_the_truth_changes_nothing(blend):
    truth = world(64, 200)
    out = glue(truth[:, :90], truth[:, 90 - 32 : 90 + 32], "x_ltr", SMALL, blend, colour_match=True)
    np.testing.assert_array_equal(out, truth[:, :122])


@pytest.mark.parametrize("blend", NEW)
def test_outside_a_narrow_compositing_ramp_old_and_tile_are_kept_exactly(blend):
    canvas = world(64, 90)
    tile = marked_tile(SMALL)
    mask = generation_mask(SMALL, ramp_start=8, ramp_end=24)
    out = glue(canvas, tile, "x_ltr", SMALL, blend, mask=mask)
    np.testing.assert_array_equal(out[:, : 90 - 32 + 8], canvas[:, : 90 - 32 + 8])
    np.testing.assert_array_equal(out[:, 90 - 32 + 24 :], tile[:, 24:])
    assert not np.array_equal(out[:, 90 - 24 : 90 - 8], canvas[:, 90 - 24 : 90 - 8])


def test_the_seam_runs_where_canvas_and_tile_agree():
    old = np.full((64, 32, 3), 100, np.uint8)
    new = old.copy()
    new[:, :20] = 200  # the tile disagrees on the left of the overlap, agrees on the right
    path = min_error_path(disagreement(old, new), 0, 32)
    assert (path >= 20).all() and (np.abs(np.diff(path)) <= 1).all()
    alpha = blend_alpha(SMALL, "seam", mask=generation_mask(SMALL))[:, :32]
    out = overlap_blend("seam")(old, new, alpha)
    np.testing.assert_array_equal(out[:, :20], old[:, :20])  # the disagreeing part never shows


def test_the_hard_cut_mixes_no_pixel_and_runs_where_canvas_and_tile_agree():
    """hard: every pixel is the canvas's or the tile's, and the cut lies where they agree, so the
    disagreeing left part never shows; the fixed cut of steps recorded before (steered off) puts the
    tile's whole overlap in, disagreement and all."""
    rng = np.random.default_rng(6)
    old = np.clip(100 + rng.normal(0, 3, (64, 32, 3)), 0, 255).astype(np.uint8)
    new = old.copy()
    new[:, :20] = 200
    new[:, 20:] += rng.integers(0, 2, new[:, 20:].shape, dtype=np.uint8)  # agrees within noise
    ones = np.ones((64, 32), np.float32)  # hard's alpha: 1 over the whole patch
    out = overlap_blend("hard")(old, new, ones)
    assert ((out == old) | (out == new)).all(axis=2).all()
    np.testing.assert_array_equal(out[:, :20], old[:, :20])
    np.testing.assert_array_equal(overlap_blend("hard", steered=False)(old, new, ones), new)


def test_the_seam_follows_a_diagonal_agreement():
    old = np.zeros((64, 64, 3), np.uint8)
    new = np.full_like(old, 255)
    rows = np.arange(64)
    for r in rows:  # they agree only along a diagonal band
        new[r, 10 + r // 2 : 14 + r // 2] = 0
    path = min_error_path(disagreement(old, new, radius=0), 0, 64)
    assert ((path >= 10 + rows // 2) & (path < 14 + rows // 2)).all()


@pytest.mark.parametrize("blend", ["seam", "seam_multiband", "hard", "multiband"])
def test_where_every_cut_crosses_a_repainted_patch_the_seam_fades_instead(blend):
    """Rows 48-80 of the tile were repainted across the whole overlap: no path avoids them. There the
    seam blends take the ramp's own fade (the step across any column stays a fraction of the patch's
    difference); far from the patch they cut along the path as before, to the pixel."""
    from exquisite.shared_core.blend_seam import fade_where_the_cut_shows, path_weight

    rng = np.random.default_rng(4)
    old = np.clip(128 + rng.normal(0, 3, (128, 64, 3)), 0, 255).astype(np.uint8)
    new = np.clip(old.astype(int) + rng.normal(0, 2, old.shape), 0, 255).astype(np.uint8)
    new[48:80] = 230  # repainted, every column of the zone
    ramp = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (128, 1))
    cost = disagreement(old, new)
    path = min_error_path(cost, 2, 62)
    cut = path_weight(path, 64, 4.0)
    weight = fade_where_the_cut_shows(cut, ramp, path, cost)
    np.testing.assert_array_equal(weight[:20], cut[:20])
    np.testing.assert_array_equal(weight[108:], cut[108:])
    np.testing.assert_allclose(weight[56:72], ramp[56:72], atol=1e-6)
    out = overlap_blend(blend)(old, new, ramp).astype(float)
    step = np.abs(np.diff(out[56:72].mean(axis=2), axis=1))  # every row's step from column to column
    assert step.max() < 0.1 * (230 - 128), step.max()  # a fade: no row jumps by the patch's difference (a cut: 13-41)


def test_a_patch_at_the_bottom_does_not_fade_the_top_rows():
    """The fade's share is widened over neighbouring rows; the rows do not wrap around."""
    from exquisite.shared_core.blend_seam import fade_where_the_cut_shows, path_weight

    rng = np.random.default_rng(4)
    old = np.clip(128 + rng.normal(0, 3, (128, 64, 3)), 0, 255).astype(np.uint8)
    new = np.clip(old.astype(int) + rng.normal(0, 2, old.shape), 0, 255).astype(np.uint8)
    new[100:] = 230  # repainted to the last row, every column of the zone
    ramp = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (128, 1))
    cost = disagreement(old, new)
    path = min_error_path(cost, 2, 62)
    cut = path_weight(path, 64, 4.0)
    weight = fade_where_the_cut_shows(cut, ramp, path, cost)
    np.testing.assert_allclose(weight[110:], ramp[110:], atol=1e-6)
    np.testing.assert_array_equal(weight[:60], cut[:60])


def test_the_seam_keeps_its_feather_off_a_repainted_patch_beside_the_best_cut():
    """Canvas and tile agree exactly on columns 146-149, right beside a patch repainted from column
    150 on; elsewhere they differ a little. The cheapest single column lies next to the patch, but
    the seam's feather (16 px here) would then half-mix the patch in. The path is steered by the
    disagreement over the feather's width, so the patch is the tile's, whole, and never a blend."""
    rng = np.random.default_rng(5)
    old = np.clip(120 + rng.normal(0, 3, (96, 256, 3)), 0, 255).astype(np.uint8)
    new = np.clip(old.astype(int) + rng.normal(0, 6, old.shape), 0, 255).astype(np.uint8)
    new[:, 146:150] = old[:, 146:150]
    new[:, 150:] = 220  # the repainted patch
    ramp = np.tile(np.linspace(0, 1, 256, dtype=np.float32), (96, 1))
    out = overlap_blend("seam")(old, new, ramp)
    np.testing.assert_array_equal(out[:, 150:255], new[:, 150:255])


def test_multiband_spreads_a_colour_step_but_keeps_the_ends():
    old = np.full((64, 32, 3), 80, np.uint8)
    new = np.full((64, 32, 3), 160, np.uint8)
    alpha = blend_alpha(SMALL, "multiband", mask=generation_mask(SMALL))[:, :32]
    out = overlap_blend("multiband")(old, new, alpha).astype(int)
    profile = out[32, :, 0]
    assert (np.diff(profile) >= 0).all()  # monotone: no ringing past either colour
    assert np.abs(np.diff(profile)).max() < 80 / 3  # the 80-level step is spread over several columns
    assert profile[0] == 80 and profile[-1] == 160


@pytest.mark.parametrize("blend", NEW)
def test_new_blends_are_deterministic(blend):
    rng = np.random.default_rng(3)
    old, new = rng.integers(0, 256, (2, 64, 32, 3), dtype=np.uint8)
    alpha = blend_alpha(SMALL, blend, mask=generation_mask(SMALL))[:, :32]
    np.testing.assert_array_equal(overlap_blend(blend)(old, new, alpha), overlap_blend(blend)(old, new, alpha))


def test_missing_opencv_is_named_and_the_core_still_works(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    for blend in ("multiband", "seam_multiband"):
        with pytest.raises(InputError, match="local extra"):
            overlap_blend(blend)
        with pytest.raises(InputError, match="local extra"):
            StepSettings(blend=blend).checked(SMALL)
    truth = world(64, 200)
    assert glue(truth[:, :90], truth[:, 58:122], "x_ltr", SMALL, "seam").shape == (64, 122, 3)


def test_the_core_imports_and_glues_without_opencv_or_scikit_image():
    code = (
        "import sys; sys.modules['cv2'] = None; sys.modules['skimage'] = None\n"
        "import numpy as np\n"
        "from exquisite.shared_core import session, cli, seam_report, colour\n"
        "from exquisite.shared_core.glue import glue\n"
        "from exquisite.shared_core.geometry import Contract\n"
        "c = Contract(tile=64, band=32, overlap=32, advance=32)\n"
        "img = np.zeros((64, 90, 3), np.uint8)\n"
        "for b in ('hard', 'linear', 'smooth', 'mask', 'seam'):\n"
        "    glue(img, np.zeros((64, 64, 3), np.uint8), 'x_ltr', c, b, colour_match=True)\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr


@pytest.mark.parametrize("blend", ["linear", "mask", *NEW])
def test_replay_gives_identical_pixels_with_colour_matching_and_each_blend(tmp_path, blend):
    truth = world(64, 400)
    cast = lambda tile: np.clip(tile.astype(int) * [0.9, 1.0, 1.1] + 5, 0, 255).astype(np.uint8)
    settings = StepSettings(
        direction="down", blend=blend, colour_match=True, blend_ramp_start=4.0 if blend != "linear" else None
    )
    with Session.create(tmp_path / "s", user_canvas(truth, 80, "y_ttb"), SMALL, direction="down") as session:
        results = session.extend(settings, OracleGenerator(truth, cast, (80, SMALL)), steps=3)
        assert all(r.committed for r in results)
        expected = session.canvas()
    for n in (2, 3):
        (session.step_dir(n) / "canvas_after.png").unlink()
    with Session.open(tmp_path / "s") as reopened:
        np.testing.assert_array_equal(reopened.canvas(), expected)


@pytest.mark.parametrize("blend", ["hard", "multiband"])
def test_a_step_recorded_before_the_steered_cuts_replays_with_its_fixed_cut(tmp_path, blend):
    """Steps recorded before glue revision 1 were cut at a fixed line and replay so; the next step
    steers. A session glued with the fixed cut replays to the same pixels, and they differ from the
    steered cut's on the same tiles (so the recorded choice decides)."""
    from exquisite.shared_core.step_settings import next_settings, recorded_settings

    record = {"direction": "x_ltr", "blend": blend, "seed": 3}
    assert recorded_settings(record).glue_revision == 0
    assert next_settings(record, {}).glue_revision == 1
    truth = world(64, 400)
    rows = (np.arange(64) >= 20) & (np.arange(64) < 40)
    repaint = lambda tile: np.where(rows[:, None, None], 255 - tile, tile).astype(np.uint8)  # across every cut
    canvases = {}
    for steered in (False, True):
        settings = StepSettings(blend=blend, colour_match=False, glue_revision=int(steered))
        folder = tmp_path / f"s{steered}"
        with Session.create(folder, truth[:, :80], SMALL) as session:
            assert all(r.committed for r in session.extend(settings, OracleGenerator(truth, repaint, (80, SMALL)), 2))
            canvases[steered] = session.canvas()
        for n in (1, 2):
            (session.step_dir(n) / "canvas_after.png").unlink()
        with Session.open(folder) as reopened:
            np.testing.assert_array_equal(reopened.canvas(), canvases[steered])
    assert not np.array_equal(canvases[False], canvases[True])
