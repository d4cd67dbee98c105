"""Colour matching on synthetic cases where the right answer is known."""

import numpy as np
import pytest
from exquisite.shared_core.colour import (
    MAX_GAIN,
    fit_colour_map,
    lab_to_rgb,
    match_colour,
    rgb_to_lab,
)
from exquisite.shared_core.clipped_fill import depth_radius
from exquisite.shared_core.registration import register
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


def contrasty(cross: int, length: int) -> np.ndarray:
    """scenery with 1.5x the contrast: a few percent of its values sit at 0 or 255 already."""
    return gained(scenery(cross, length).astype(np.float64) - 128, (1.5, 1.5, 1.5), (128, 128, 128))


def _clipped_case(gain, offset, shift=(0, 0)):
    """band, tile's overlap, the tile, and the true tile, for a tile with a known gain and offset
    (and a whole-tile shift of `shift` px), clipped to 0..255 like any 8-bit answer."""
    dy, dx = shift
    truth = contrasty(BIG.tile + 4, 400)
    band = truth[2 : 2 + BIG.tile, 200 - BIG.band : 200]
    true_tile = truth[2 : 2 + BIG.tile, 200 - BIG.band : 200 - BIG.band + BIG.tile]
    moved = truth[2 + dy : 2 + dy + BIG.tile, 200 - BIG.band + dx : 200 - BIG.band + dx + BIG.tile]
    tile = gained(moved, gain, offset)
    return band, tile[:, : BIG.band], tile, true_tile


@pytest.mark.parametrize(
    ("gain", "offset"),
    [
        pytest.param((0.9, 0.92, 0.9), (-12, -10, -12), id="dark-clipped"),
        pytest.param((1.1, 1.08, 1.1), (12, 10, 8), id="bright-clipped"),
    ],
)
def test_a_gain_is_recovered_when_a_fifth_of_the_values_clip(gain, offset):
    """Clipped values say only "at most 0" / "at least 255": with clipping=True the gain comes from
    the blocks no clip touched, so it is exact; fitted as if exact (the default fit) they bend it."""
    band, overlap, tile, true_tile = _clipped_case(gain, offset)
    clipped = ((overlap == 0) | (overlap == 255)).mean(axis=(0, 1))
    assert 0.15 < clipped.max() < 0.35, clipped  # the case is what its name says
    fit = fit_colour_map(band, overlap, clipping=True)
    np.testing.assert_allclose(fit.gain, 1 / np.array(gain), atol=0.002)
    np.testing.assert_allclose(fit.offset, -np.array(offset) / np.array(gain), atol=0.3)
    unclipped = (tile > 0) & (tile < 255) & (true_tile > 0) & (true_tile < 255)
    assert np.abs(fit.apply(tile).astype(int) - true_tile)[unclipped].mean() < 0.1
    if gain[0] < 1:  # dark clip: the moments fit's blue gain is off by 3%, its colours by most of a level
        old = fit_colour_map(band, overlap, method="moments")
        assert np.abs(old.gain - 1 / np.array(gain)).max() > 0.02, old.gain
        assert np.abs(old.apply(tile).astype(int) - true_tile)[unclipped].mean() > 0.5


def texture(cross: int, length: int, amplitude: float = 45.0) -> np.ndarray:
    """Seeded noise smoothed over 8 px, mean 128: detail at every place, so a window's statistics
    hardly depend on where exactly it is (unlike scenery's slow waves across a 64 px overlap)."""
    noise = np.random.default_rng(7).uniform(0, 1, (cross + 8, length + 8, 3)).cumsum(0).cumsum(1)
    box = (noise[8:, 8:] - noise[:-8, 8:] - noise[8:, :-8] + noise[:-8, :-8])[:cross, :length]
    box = (box - box.mean((0, 1))) / box.std((0, 1))
    return np.clip(128 + amplitude * box, 0, 255).round().astype(np.uint8)


def _shifted_case(gain, offset, shift, amplitude=45.0):
    """band, the tile (content moved by `shift` px, then the gain and offset), and the tile's true
    content (moved, without the colour error)."""
    dy, dx = shift
    truth = texture(BIG.tile + 4, 400, amplitude)
    band = truth[2 : 2 + BIG.tile, 200 - BIG.band : 200]
    moved = truth[2 + dy : 2 + dy + BIG.tile, 200 - BIG.band + dx : 200 - BIG.band + dx + BIG.tile]
    return band, gained(moved, gain, offset), moved


@pytest.mark.parametrize("shift", [(2, -2), (0, 2), (-2, 1)])
def test_a_shifted_tile_is_corrected_as_well_as_an_aligned_one(shift):
    """A tile up to 2 px off: block statistics barely move, so the gain and the new half's colour are
    as right as the overlap's own sampling allows (a 2 px shift renews 3% of a 64 px overlap)."""
    band, tile, moved = _shifted_case((0.88, 0.95, 1.08), (6, -9, 4), shift)
    fit = fit_colour_map(band, tile[:, : BIG.band])
    np.testing.assert_allclose(fit.gain, 1 / np.array([0.88, 0.95, 1.08]), atol=0.025)
    new_half = slice(BIG.band, None)
    error = rgb_to_lab(fit.apply(tile)[:, new_half]).mean((0, 1)) - rgb_to_lab(moved[:, new_half]).mean((0, 1))
    assert np.linalg.norm(error) < 1.0, error


@pytest.mark.parametrize("shift", [(1, 2), (-2, -2)])
def test_clipping_a_shift_and_a_repainted_patch_together(shift):
    """A 512 tile, 18% of its blue overlap clipped at 0, shifted, with a repainted patch: the gain
    stays within 2% and the offset within 2.5 levels with clipping=True (the plain moments fit: 4% and 5)."""
    error_gain, error_offset, (dy, dx) = np.array([0.9, 0.92, 0.9]), np.array([-12, -10, -12]), shift
    gain, offset = 1 / error_gain, -error_offset / error_gain  # the map that undoes the error
    truth = contrasty(516, 1536)
    band = truth[2:514, 768:1024]
    moved = truth[2 + dy : 514 + dy, 768 + dx : 1280 + dx]
    tile = gained(moved, error_gain, error_offset)
    tile[160:240, 60:140] = (235, 40, 60)
    assert ((tile[:, :256] == 0).mean(axis=(0, 1)) > 0.15).any()
    fit = fit_colour_map(band, tile[:, :256], clipping=True)
    np.testing.assert_allclose(fit.gain, gain, atol=0.02)
    np.testing.assert_allclose(fit.offset, offset, atol=2.5)
    old = fit_colour_map(band, tile[:, :256], method="moments")
    assert np.abs(old.gain - gain).max() > 0.03 and np.abs(old.offset - offset).max() > 4, (old.gain, old.offset)


@pytest.mark.parametrize("shift", [(0, 0), (3, -4), (-4, 1), (2, 2)])
def test_registration_finds_the_tiles_shift(shift):
    """The registered fit compares pixel pairs, so it must find the shift first: up to 4 px each way
    (a tile 2 px off a band that is itself 2 px off), with a colour error and noise on top."""
    dy, dx = shift
    truth = texture(260, 400)
    band = truth[4 : 260 - 4, 100:228]
    tile = gained(truth[4 + dy : 260 - 4 + dy, 100 + dx : 228 + dx], (1.1, 0.9, 1.05), (8, -6, 0))
    noisy = np.clip(tile + np.random.default_rng(3).normal(0, 2, tile.shape), 0, 255).round().astype(np.uint8)
    assert register(band, noisy) == (-dy, -dx)  # the tile's pixel (y - dy, x - dx) shows the band's (y, x)


@pytest.mark.parametrize("shift", [(1, 2), (-2, -2), (0, 0)])
def test_the_default_fit_is_exact_under_clipping_a_shift_noise_and_a_repainted_patch(shift):
    """The bench's disturbance on synthetic ground truth: a fifth of the blue overlap clipped at 0,
    a 2 px shift, noise sigma 2, a repainted patch. The registered fit recovers gain and offset
    within 0.5% and half a level; the moments fit is off by several percent and levels."""
    error_gain, error_offset, (dy, dx) = np.array([0.9, 0.92, 0.9]), np.array([-12, -10, -12]), shift
    gain, offset = 1 / error_gain, -error_offset / error_gain
    truth = contrasty(516, 1536)
    band = truth[2:514, 768:1024]
    moved = truth[2 + dy : 514 + dy, 768 + dx : 1280 + dx].astype(np.float64)
    noise = np.random.default_rng(5).normal(0, 2, moved.shape)
    tile = np.clip(moved * error_gain + error_offset + noise, 0, 255).round().astype(np.uint8)
    tile[160:240, 60:140] = (235, 40, 60)
    assert ((tile[:, :256] == 0).mean(axis=(0, 1)) > 0.15).any()
    fit = fit_colour_map(band, tile[:, :256])
    np.testing.assert_allclose(fit.gain, gain, atol=0.005 * gain.max())
    np.testing.assert_allclose(fit.offset, offset, atol=0.5)
    moments = fit_colour_map(band, tile[:, :256], method="moments")
    assert np.abs(moments.gain - gain).max() > 0.03, moments.gain


def test_clipped_highlights_map_to_what_the_canvas_shows_under_them():
    """A tile value of 255 says only "at least 255": where the canvas is white under the clipped
    highlight, the map sends 255 to white, not to the line's 255 / 1.1 (a grey highlight); only its
    rim shades towards the line, as the overlap's other clipped rims do."""
    truth = contrasty(BIG.tile, 400)
    truth[:40] = 255  # a white sky, clipped in the photo itself
    band = truth[:, 200 - BIG.band : 200]
    tile = gained(truth[:, 200 - BIG.band : 200 - BIG.band + BIG.tile], (1.1, 1.1, 1.1), (4, 4, 4))
    fit = fit_colour_map(band, tile[:, : BIG.band])
    np.testing.assert_allclose(fit.gain, 1 / 1.1, atol=0.005)
    assert (fit.table()[255] >= 250).all(), fit.table()[250:]  # the mean under the clipped values
    assert (fit.table()[254] < 236).all()  # the line itself: (254 - 4) / 1.1
    radius = depth_radius(BIG.tile)  # the sky's rim, shaded as the overlap's rims are (clipped_fill.py)
    assert (fit.apply(tile)[: 40 - radius] >= 250).all()
    assert (fit.apply(tile)[40 - radius : 40] >= 236).all()  # never below the line
    moments = fit_colour_map(band, tile[:, : BIG.band], method="moments")
    assert (moments.table()[255] < fit.table()[255]).all(), moments.table()[255]  # a greyer highlight


def test_the_fitted_overlap_keeps_the_canvas_mean_colour():
    """Drift is a mean colour: whatever the clip took, the mapped overlap's mean is the canvas's."""
    truth = contrasty(256, 600)
    band = truth[:, 300:428]
    tile = gained(truth[:, 301:429].astype(np.float64), (1.08, 0.9, 1.1), (10, -12, 6))
    assert ((tile == 0) | (tile == 255)).mean((0, 1)).max() > 0.1  # a tenth of the red clipped
    mapped = fit_colour_map(band, tile).apply(tile)  # tile column c shows band column c + 1
    np.testing.assert_allclose(mapped[4:-4, 3:-5].mean((0, 1)), band[4:-4, 4:-4].mean((0, 1)), atol=0.3)


@pytest.mark.parametrize("shape", [(8, 8), (3, 64), (64, 3), (1, 1)])
def test_small_regions_fall_back_without_failing(shape):
    """A thin joint between frontier tiles: too small to register, still a sane map."""
    band = scenery(*shape)
    fit = fit_colour_map(band, gained(band, (0.9, 0.9, 0.9)))
    assert np.isfinite(fit.gain).all() and np.isfinite(fit.offset).all()
    assert ((fit.gain >= 1 / MAX_GAIN) & (fit.gain <= MAX_GAIN)).all()


def test_an_unknown_fit_method_says_which_exist():
    with pytest.raises(InputError, match="registered, moments"):
        fit_colour_map(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8), method="quantile")


def test_a_colour_fit_needs_two_aligned_regions():
    with pytest.raises(InputError, match="two aligned uint8 RGB regions"):
        fit_colour_map(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(InputError, match="two aligned uint8 RGB regions"):
        fit_colour_map(np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 3), np.float32))


def test_lab_reference_values_and_exact_round_trip():
    np.testing.assert_allclose(
        rgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], np.uint8)),
        [[100, 0, 0], [0, 0, 0], [53.24, 80.09, 67.20]],
        atol=0.05,
    )
    grid = np.stack(np.meshgrid(*[np.arange(0, 256, 5)] * 3), -1).reshape(-1, 3).astype(np.uint8)
    np.testing.assert_array_equal(lab_to_rgb(rgb_to_lab(grid)), grid)


def test_a_pure_gain_error_is_removed_from_the_whole_tile():
    truth = scenery(BIG.tile, 400)
    band = truth[:, 200 - BIG.band : 200]
    true_tile = truth[:, 200 - BIG.band : 200 - BIG.band + BIG.tile]
    tile = gained(true_tile, (0.82, 0.93, 1.12))
    before = np.abs(tile.astype(int) - true_tile).mean()
    matched = match_colour(band, tile, BIG)
    after = np.abs(matched.astype(int) - true_tile).mean()
    after_new_half = np.abs(matched[:, BIG.band :].astype(int) - true_tile[:, BIG.band :]).mean()
    assert before > 10 and after < 1.5 and after_new_half < 2.0, (before, after, after_new_half)
    assert np.abs(rgb_to_lab(matched).mean((0, 1)) - rgb_to_lab(true_tile).mean((0, 1))).max() < 0.5


def _gained_tile_with_patch(fill):
    """A tile with a pure gain error and a 40 x 40 patch (a fifth of the overlap) where its content
    disagrees with the canvas; `fill(region)` gives the patch. Returns band, tile, truth, outside-patch."""
    truth = scenery(BIG.tile, 400)
    band = truth[:, 200 - BIG.band : 200]
    true_tile = truth[:, 200 - BIG.band : 200 - BIG.band + BIG.tile]
    tile = gained(true_tile, (0.82, 0.93, 1.12))
    patch = (slice(40, 80), slice(BIG.band - BIG.overlap + 20, BIG.band - BIG.overlap + 60))
    tile[patch] = fill(tile[patch])
    outside = np.ones(tile.shape[:2], bool)
    outside[patch] = False
    return band, tile, true_tile, outside


@pytest.mark.parametrize(
    "fill",
    [
        pytest.param(lambda region: np.array([235, 40, 60], np.uint8), id="repainted"),
        pytest.param(lambda region: region.mean((0, 1)).round().astype(np.uint8), id="blurred-flat"),
    ],
)
def test_a_patch_that_disagrees_does_not_bias_the_gain_correction(fill):
    """Robust statistics: the patch's blocks are trimmed, so everything else is corrected as if it
    were not there (plain mean/std over the overlap leaves several grey levels of error here)."""
    band, tile, true_tile, outside = _gained_tile_with_patch(fill)
    matched = match_colour(band, tile, BIG)
    error = np.abs(matched.astype(int) - true_tile)[outside].mean()
    plain = np.abs(match_colour(band, tile, BIG, robust=False).astype(int) - true_tile)[outside].mean()
    assert error < 0.5 and plain > 3 * error + 1, (error, plain)
    new_half = np.abs(matched[:, BIG.band :].astype(int) - true_tile[:, BIG.band :]).mean()
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
    assert (
        match_colour(band, tile, BIG, "lab").tobytes() == match_colour(band.copy(), tile.copy(), BIG, "lab").tobytes()
    )


def test_a_tile_that_already_matches_is_returned_unchanged():
    truth = scenery(BIG.tile, 300)
    tile = truth[:, 100 : 100 + BIG.tile]
    np.testing.assert_array_equal(match_colour(truth[:, 100 : 100 + BIG.band], tile, BIG), tile)


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
    tile[:, BIG.band - BIG.overlap : BIG.band] = 118 + (np.arange(BIG.tile) % 2)[:, None, None] * 4
    matched = match_colour(band, tile, BIG)
    ratio = rgb_to_lab(matched[:, BIG.band :]).std((0, 1)) / rgb_to_lab(tile[:, BIG.band :]).std((0, 1))
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
        truth = self.world[:, start : start + contract.tile].astype(np.float64)
        band = np.asarray(request.reference)[:, : contract.band].astype(np.float64)
        for ch in range(3):
            a, b = np.polyfit(truth[:, : contract.band, ch].ravel(), band[..., ch].ravel(), 1)
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
        drift[on] = float(
            np.linalg.norm(rgb_to_lab(canvas[:, last]).mean((0, 1)) - rgb_to_lab(truth[:, last]).mean((0, 1)))
        )
    assert drift[False] > 8 and drift[True] < 1.0, drift


def test_lab_space_removes_a_lightness_and_chroma_shift():
    truth = scenery(BIG.tile, 300)
    true_tile = truth[:, 100 : 100 + BIG.tile]
    tile = lab_to_rgb(rgb_to_lab(true_tile) + np.array([-8.0, 4.0, -3.0], np.float32))
    matched = match_colour(truth[:, 100 : 100 + BIG.band], tile, BIG, "lab")
    assert np.abs(matched.astype(int) - true_tile).mean() < 1.0
    with pytest.raises(InputError, match="unknown colour space"):
        match_colour(truth[:, 100 : 100 + BIG.band], tile, BIG, "hsv")


def test_an_unshifted_ruler_is_not_given_a_false_shift():
    """Phase correlation alone found a 2 px shift in an unshifted ruler tile (tests/rulers.py: stripes
    and a vertical gradient, clipped by a +25 cast), which turned into an 8-level offset error; a
    peak that agrees no better than no shift is refused, and the cast is recovered."""
    from rulers import SMALL, world

    truth = world(64, 200)
    band = truth[:, 90 - SMALL.band : 90]
    noise = np.random.default_rng(4).integers(-6, 7, (64, SMALL.band, 3))
    tile = np.clip(truth[:, 90 - SMALL.band : 90].astype(int) + 25 + noise, 0, 255).astype(np.uint8)
    assert register(band, tile, 4) == (0, 0)
    fitted = fit_colour_map(band, tile)
    assert abs(fitted.offset[0] + 25) < 1.5 and abs(fitted.offset[2] + 25) < 1.5, fitted.offset
