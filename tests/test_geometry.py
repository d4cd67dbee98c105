"""The growth contract on rulers: sizes, band, packing, paste origin, for every direction."""

import re

import numpy as np
import pytest

from exquisite.shared_core.errors import ContractError
from exquisite.shared_core.geometry import (
    DIRECTIONS, Contract, check_canvas, extract_band, fit_canvas, from_frontier_right,
    frontier_right_shape, pack_reference, parse_direction, to_frontier_right, user_box,
)
from rulers import SMALL, world


def test_default_is_contract_2_and_legacy_is_a_parameter():
    c2 = Contract()
    assert (c2.tile, c2.band, c2.overlap, c2.advance) == (1024, 512, 512, 512)
    assert c2.patch_start == 0  # the whole tile is pasted: no trimming
    assert c2.paste_origin(2000) == 2000 - 512
    assert c2.next_length(2000) == 2512
    c1 = Contract.legacy()
    assert c1.overlap == 256 and c1.patch_start == 256  # the 768 px patch tile[256:]
    assert c1.paste_origin(2000) == 2000 - 256


@pytest.mark.parametrize("fields, rule", [
    (dict(tile=1024, band=512, overlap=512, advance=256), "band + advance must equal tile"),
    (dict(overlap=600), "overlap must be between 0 and the band"),
    (dict(overlap=-1), "overlap must be between 0 and the band"),
    (dict(tile=0, band=0, advance=0), "must be positive"),
    (dict(tile=1024.0), "whole number"),
])
def test_impossible_contracts_name_the_rule(fields, rule):
    with pytest.raises(ContractError, match=re.escape(rule)):
        Contract(**fields)


@pytest.mark.parametrize("alias, name", [("right", "x_ltr"), ("left", "x_rtl"), ("down", "y_ttb"),
                                         ("up", "y_btt"), ("X_LTR", "x_ltr")])
def test_direction_aliases(alias, name):
    assert parse_direction(alias) == name


def test_unknown_direction_lists_the_choices():
    with pytest.raises(ContractError, match="x_ltr \\(right\\)"):
        parse_direction("sideways")


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_turning_puts_the_frontier_on_the_right_and_back(direction):
    image = np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3)
    norm = to_frontier_right(image, direction)
    assert np.shares_memory(norm, image)  # a view, not a copy
    assert norm.shape == frontier_right_shape(image.shape, direction)
    np.testing.assert_array_equal(from_frontier_right(norm, direction), image)
    # the frontier edge of the user's image is the right edge of the turned one
    frontier = {"x_ltr": image[:, -1], "x_rtl": image[:, 0], "y_ttb": image[-1], "y_btt": image[0]}[direction]
    assert sorted(map(tuple, frontier)) == sorted(map(tuple, norm[:, -1]))


def test_turning_never_mirrors():
    """A quarter turn keeps handedness: the corner order (clockwise) is the same after turning."""
    image = np.zeros((4, 6), dtype=np.uint8)
    image[0, 0], image[0, -1], image[-1, -1], image[-1, 0] = 1, 2, 3, 4
    for direction in DIRECTIONS:
        norm = to_frontier_right(image, direction)
        corners = [norm[0, 0], norm[0, -1], norm[-1, -1], norm[-1, 0]]
        i = corners.index(1)
        assert corners[i:] + corners[:i] == [1, 2, 3, 4]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_user_box_matches_numpy(direction):
    shape = (7, 11)
    norm = np.zeros(shape, dtype=np.uint8)
    norm[2:5, 6:9] = 1
    user = from_frontier_right(norm, direction)
    r0, r1, c0, c1 = user_box((2, 5, 6, 9), shape, direction)
    expected = np.zeros_like(user)
    expected[r0:r1, c0:c1] = 1
    np.testing.assert_array_equal(user, expected)


def test_band_is_the_last_band_columns():
    w = world(64, 100)
    band = extract_band(w, SMALL)
    assert band.shape == (64, 32, 3)
    assert band[0, 0, 0] == 100 - 32 and band[0, -1, 0] == 99


def test_reference_packs_band_into_conditioning_half():
    band = extract_band(world(64, 100), SMALL)
    for fill in ("gray", "edge", "mirror", "black", "white"):
        tile = pack_reference(band, SMALL, fill)
        assert tile.shape == (64, 64, 3)
        np.testing.assert_array_equal(tile[:, :32], band)
    np.testing.assert_array_equal(pack_reference(band, SMALL, "gray")[:, 32:], 128)
    np.testing.assert_array_equal(pack_reference(band, SMALL, "edge")[:, 32:], np.repeat(band[:, -1:], 32, 1))
    np.testing.assert_array_equal(pack_reference(band, SMALL, "mirror")[:, 32:], band[:, ::-1])
    with pytest.raises(ContractError, match="unknown fill"):
        pack_reference(band, SMALL, "plaid")


def test_canvas_that_does_not_fit_is_refused_with_the_fix():
    with pytest.raises(ContractError, match="fit the canvas first"):
        check_canvas((60, 100, 3), SMALL)
    with pytest.raises(ContractError, match="shorter than the 32 px band"):
        check_canvas((64, 20, 3), SMALL)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_fit_scales_the_cross_dimension_keeping_aspect(direction):
    image = np.zeros((128, 300, 3), dtype=np.uint8) if direction.startswith("x") else np.zeros((300, 128, 3), np.uint8)
    fitted = fit_canvas(image, direction, SMALL)
    assert frontier_right_shape(fitted.shape, direction)[:2] == (64, 150)


def test_next_user_size():
    assert Contract().next_user_size(1000, 1024, "x_rtl") == (1512, 1024)
    assert Contract().next_user_size(1024, 1000, "up") == (1024, 1512)
