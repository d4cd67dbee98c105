"""Clipped tile values filled by their depth in the clipped region: rulers whose answer is known."""

import ast
from pathlib import Path

import numpy as np
import pytest
from exquisite.shared_core import clipped_fill
from exquisite.shared_core.clipped_fill import depth_share
from exquisite.shared_core.colour import fit_colour_map, match_colour
from exquisite.shared_core.errors import InputError
from exquisite.shared_core.geometry import Contract
from exquisite.shared_core.step_settings import GLUE_REVISION, StepSettings, next_settings, recorded_settings
from test_colour import gained, scenery

CONTRACT = Contract(tile=256, band=128, overlap=128, advance=128)


@pytest.mark.parametrize("radius", [2, 4, 16])
def test_the_depth_of_a_half_plane_is_known_to_the_pixel(radius):
    """Rows from 50 on are clipped: a pixel d rows past the edge sees R + 1 + d clipped rows of 2R + 1."""
    clipped = np.zeros((100, 40), bool)
    clipped[50:] = True
    share = depth_share(clipped, radius)
    for d in range(-radius, radius + 1):
        np.testing.assert_array_equal(share[50 + d], (radius + 1 + d) / (2 * radius + 1))
    assert (share[: 50 - radius] == 0).all() and (share[50 + radius :] == 1).all()


def dark_scene() -> np.ndarray:
    """(256, 256) frontier-right truth of a tile whose band is its columns 0..127: scenery with thin
    near-black lines (value 6) all over, and a black background (value 0) that fills a 40-row strip of
    the overlap and most of the new half."""
    truth = scenery(CONTRACT.tile, CONTRACT.tile)
    truth[np.arange(256) % 12 < 2] = 6  # a thin dark line every 12 rows: rims, all of them
    truth[200:240, 40:128] = 0  # the background's heart in the overlap ...
    truth[60:240, 150:] = 0  # ... and in the new half
    return truth


def test_the_heart_of_a_black_background_maps_to_black_not_to_the_mean_of_the_thin_lines():
    """A tile 10 levels darker clips the lines (true 6) and the background (true 0) alike to 0. One
    value per clipped end (the mean under all of them in the overlap, mostly lines) greys the new
    half's background; by depth, its heart takes what the overlap's background heart showed: 0."""
    truth = dark_scene()
    band, tile = truth[:, :128], gained(truth, (1, 1, 1), (-10, -10, -10))
    assert (tile[200:240, 40:128] == 0).all() and (tile[0:2, :128] == 0).all()
    heart = (slice(80, 220), slice(170, 256))

    by_depth = match_colour(band, tile, CONTRACT)
    single = match_colour(band, tile, CONTRACT, by_depth=False)
    assert by_depth[heart].mean() <= 0.5, by_depth[heart].mean()
    assert single[heart].mean() >= 3.0, single[heart].mean()  # the lines' 6 and the background's 0, mixed
    lines = truth[:, 128:] == 6  # the new half's thin lines, outside the background
    assert abs(by_depth[:, 128:][lines].mean() - 6) <= 1.5  # a rim still takes the rims' value


def test_a_clipped_region_shades_from_rim_to_heart_without_terraces():
    """The fill interpolates between the depth bins: along the edge of the new half's background no
    two neighbouring pixels differ by more than a couple of levels, and the shade only deepens."""
    truth = dark_scene()
    band, tile = truth[:, :128], gained(truth, (1, 1, 1), (-10, -10, -10))
    out = match_colour(band, tile, CONTRACT)[60:140, 200, 0].astype(int)  # from its edge down into it
    assert np.abs(np.diff(out)).max() <= 2, out
    assert (np.diff(out) <= 0).all(), out


def test_a_map_without_depth_maps_every_clipped_value_alike():
    truth = dark_scene()
    band, tile = truth[:, :128], gained(truth[:, :128], (1, 1, 1), (-10, -10, -10))
    fit = fit_colour_map(band, tile, by_depth=False)
    assert fit.by_depth is None
    mapped = fit.apply(tile)
    assert len(np.unique(mapped[..., 0][tile[..., 0] == 0])) == 1
    assert fit_colour_map(band, tile).by_depth is not None


def test_a_step_recorded_before_glue_revision_1_replays_as_revision_0_and_the_next_step_is_1():
    old = {"direction": "x_ltr", "blend": "linear", "seed": 3, "register": True}
    assert recorded_settings(old).glue_revision == 0
    assert recorded_settings({**old, "glue_revision": 1}).glue_revision == 1
    assert next_settings(old, {}).glue_revision == GLUE_REVISION == 1
    assert next_settings({**old, "glue_revision": 0}, {}).glue_revision == 1  # never continued
    for bad in (2, -1, True, "1"):
        with pytest.raises(InputError, match="not one this exquisite knows"):
            StepSettings(glue_revision=bad).checked(CONTRACT)  # type: ignore[arg-type]


def test_clipped_fill_is_pure_numpy():
    tree = ast.parse(Path(clipped_fill.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"__future__", "numpy"}, imported
