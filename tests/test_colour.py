"""Colour matching on synthetic cases where the right answer is known."""

import numpy as np
import pytest

from exquisite.shared_core.colour import MAX_GAIN, lab_to_rgb, match_colour, rgb_to_lab
from exquisite.shared_core.errors import InputError
from exquisite.shared_core.geometry import Contract
from exquisite.shared_core.session import Session, StepSettings
from rulers import SMALL, OracleGenerator

BIG = Contract(tile=128, band=64, overlap=64, advance=64)


def scenery(cross: int, length: int) -> np.ndarray:
    """A smooth, colourful frontier-right picture with detail at several scales (values 30..225)."""
    rows, cols = np.mgrid[0:cross, 0:length].astype(np.float64)
    r = 128 + 60 * np.sin(cols / 23.0) + 30 * np.cos(rows / 11.0)
    g = 120 + 50 * np.sin((cols + rows) / 17.0) + 20 * np.sin(cols / 5.0)
    b = 110 + 70 * np.cos(cols / 41.0 - rows / 29.0)
    return np.clip(np.dstack([r, g, b]), 0, 255).round().astype(np.uint8)


def gained(image: np.ndarray, gain, offset=(0, 0, 0)) -> np.ndarray:
    return np.clip(image * np.array(gain) + np.array(offset), 0, 255).round().astype(np.uint8)


def test_lab_reference_values_and_exact_round_trip():
    np.testing.assert_allclose(rgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], np.uint8)),
                               [[100, 0, 0], [0, 0, 0], [53.24, 80.09, 67.20]], atol=0.05)
    grid = np.stack(np.meshgrid(*[np.arange(0, 256, 5)] * 3), -1).reshape(-1, 3).astype(np.uint8)
    np.testing.assert_array_equal(lab_to_rgb(rgb_to_lab(grid)), grid)


def test_a_pure_gain_error_is_removed_from_the_whole_tile():
    truth = scenery(BIG.tile, 400)
    band = truth[:, 200 - BIG.band:200]
    true_tile = truth[:, 200 - BIG.band:200 - BIG.band + BIG.tile]
    tile = gained(true_tile, (0.82, 0.93, 1.12))
    before = np.abs(tile.astype(int) - true_tile).mean()
    matched = match_colour(band, tile, BIG)
    after = np.abs(matched.astype(int) - true_tile).mean()
    after_new_half = np.abs(matched[:, BIG.band:].astype(int) - true_tile[:, BIG.band:]).mean()
    assert before > 10 and after < 1.5 and after_new_half < 2.0, (before, after, after_new_half)
    assert np.abs(rgb_to_lab(matched).mean((0, 1)) - rgb_to_lab(true_tile).mean((0, 1))).max() < 0.5


def _gained_tile_with_patch(fill):
    """A tile with a pure gain error and a 40 x 40 patch (a fifth of the overlap) where its content
    disagrees with the canvas; `fill(region)` gives the patch. Returns band, tile, truth, outside-patch."""
    truth = scenery(BIG.tile, 400)
    band = truth[:, 200 - BIG.band:200]
    true_tile = truth[:, 200 - BIG.band:200 - BIG.band + BIG.tile]
    tile = gained(true_tile, (0.82, 0.93, 1.12))
    patch = (slice(40, 80), slice(BIG.band - BIG.overlap + 20, BIG.band - BIG.overlap + 60))
    tile[patch] = fill(tile[patch])
    outside = np.ones(tile.shape[:2], bool)
    outside[patch] = False
    return band, tile, true_tile, outside


@pytest.mark.parametrize("fill", [
    pytest.param(lambda region: np.array([235, 40, 60], np.uint8), id="repainted"),
    pytest.param(lambda region: region.mean((0, 1)).round().astype(np.uint8), id="blurred-flat"),
])
def test_a_patch_that_disagrees_does_not_bias_the_gain_correction(fill):
    """Robust statistics: the patch's blocks are trimmed, so everything else is corrected as if it
    were not there (plain mean/std over the overlap leaves several grey levels of error here)."""
    band, tile, true_tile, outside = _gained_tile_with_patch(fill)
    matched = match_colour(band, tile, BIG)
    error = np.abs(matched.astype(int) - true_tile)[outside].mean()
    plain = np.abs(match_colour(band, tile, BIG, robust=False).astype(int) - true_tile)[outside].mean()
    assert error < 0.5 and plain > 3 * error + 1, (error, plain)
    new_half = np.abs(matched[:, BIG.band:].astype(int) - true_tile[:, BIG.band:]).mean()
    assert new_half < 0.5, new_half


def test_matching_is_deterministic_and_ignores_memory_layout():
    """Sessions replay tiles to rebuild canvases: the same pixels must give the same bytes, whether
    the band is a strided view of the canvas (a live step) or a fresh copy (a replay)."""
    band, tile, _, _ = _gained_tile_with_patch(lambda region: 255 - region)
    canvas = np.ascontiguousarray(np.concatenate([np.zeros((BIG.tile, 7, 3), np.uint8), band], axis=1))
    view = canvas[:, 7:]
    first = match_colour(view, tile, BIG)
    for again in (match_colour(band.copy(), tile.copy(), BIG), match_colour(view, np.asfortranarray(tile), BIG)):
        assert again.tobytes() == first.tobytes()
    assert match_colour(band, tile, BIG, "lab").tobytes() == match_colour(band.copy(), tile.copy(), BIG, "lab").tobytes()


def test_a_tile_that_already_matches_is_returned_unchanged():
    truth = scenery(BIG.tile, 300)
    tile = truth[:, 100:100 + BIG.tile]
    np.testing.assert_array_equal(match_colour(truth[:, 100:100 + BIG.band], tile, BIG), tile)


def test_statistics_come_from_the_overlap_only():
    """A legacy contract pastes the last O band columns: what lies before them must not matter."""
    legacy = Contract(tile=128, band=64, overlap=16, advance=64)
    truth = scenery(128, 300)
    band = truth[:, 100:164].copy()
    tile = gained(truth[:, 100:228], (0.9, 0.9, 0.9))
    band_scribbled = band.copy()
    band_scribbled[:, :48] = 255 - band_scribbled[:, :48]  # outside the overlap
    np.testing.assert_array_equal(match_colour(band, tile, legacy), match_colour(band_scribbled, tile, legacy))


def test_a_flat_overlap_cannot_blow_up_the_tiles_contrast():
    band = np.full((BIG.tile, BIG.band, 3), 120, np.uint8)
    tile = scenery(BIG.tile, BIG.tile)
    tile[:, BIG.band - BIG.overlap:BIG.band] = 118 + (np.arange(BIG.tile) % 2)[:, None, None] * 4
    matched = match_colour(band, tile, BIG)
    ratio = rgb_to_lab(matched[:, BIG.band:]).std((0, 1)) / rgb_to_lab(tile[:, BIG.band:]).std((0, 1))
    assert (ratio >= 1 / MAX_GAIN - 0.05).all() and (ratio <= MAX_GAIN + 0.05).all(), ratio


def test_bad_sizes_say_what_is_needed():
    with pytest.raises(InputError, match="colour matching needs"):
        match_colour(np.zeros((64, 10, 3), np.uint8), np.zeros((64, 64, 3), np.uint8), SMALL)


def _drifting(gain):
    """A model that reproduces its band's colours and adds its own cast on top (drift compounds)."""
    def disturb(tile):
        return gained(tile, gain)
    return disturb


class FollowingOracle(OracleGenerator):
    """Continues the band it is shown: true tile, per-channel affine-fitted to the given band, then cast."""

    def __init__(self, world_norm, start, contract, gain):
        super().__init__(world_norm, counted_from=(start, contract))
        self.gain = np.array(gain)

    def generate(self, request):
        length, contract = self.counted_from
        start = length + self.calls * contract.advance - contract.band
        truth = self.world[:, start:start + contract.tile].astype(np.float64)
        band = np.asarray(request.reference)[:, :contract.band].astype(np.float64)
        for ch in range(3):
            a, b = np.polyfit(truth[:, :contract.band, ch].ravel(), band[..., ch].ravel(), 1)
            truth[..., ch] = a * truth[..., ch] + b
        self.calls += 1
        return np.clip(truth * self.gain, 0, 255).round().astype(np.uint8)


def test_colour_matching_stops_drift_compounding_over_steps(tmp_path):
    truth = scenery(BIG.tile, 64 * 12)
    drift = {}
    for on in (False, True):
        oracle = FollowingOracle(truth, 128, BIG, (0.95, 0.97, 1.0))
        with Session.create(tmp_path / f"s{on}", truth[:, :128], BIG) as session:
            session.extend(StepSettings(colour_match=on), oracle, steps=8)
            canvas = session.canvas()
        last = slice(128 + 7 * 64, 128 + 8 * 64)
        drift[on] = float(np.linalg.norm(rgb_to_lab(canvas[:, last]).mean((0, 1)) -
                                         rgb_to_lab(truth[:, last]).mean((0, 1))))
    assert drift[False] > 8 and drift[True] < 1.0, drift


def test_lab_space_removes_a_lightness_and_chroma_shift():
    truth = scenery(BIG.tile, 300)
    true_tile = truth[:, 100:100 + BIG.tile]
    tile = lab_to_rgb(rgb_to_lab(true_tile) + np.array([-8.0, 4.0, -3.0], np.float32))
    matched = match_colour(truth[:, 100:100 + BIG.band], tile, BIG, "lab")
    assert np.abs(matched.astype(int) - true_tile).mean() < 1.0
    with pytest.raises(InputError, match="unknown colour space"):
        match_colour(truth[:, 100:100 + BIG.band], tile, BIG, "hsv")
