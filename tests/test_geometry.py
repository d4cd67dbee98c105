"""The growth contract on rulers: sizes, band, packing, paste origin, for every direction."""

import re

import numpy as np
import pytest

from exquisite.shared_core.errors import ContractError
from exquisite.shared_core.geometry import (
    DIRECTIONS,
    Contract,
    check_canvas,
    extract_band,
    fit_canvas,
    from_frontier_right,
    frontier_cross_starts,
    frontier_right_shape,
    frontier_tiles,
    pack_reference,
    parse_direction,
    to_frontier_right,
    user_box,
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


@pytest.mark.parametrize(
    "fields, rule",
    [
        (dict(tile=1024, band=512, overlap=512, advance=256), "band + advance must equal tile"),
        (dict(overlap=600), "overlap must be between 0 and the band"),
        (dict(overlap=-1), "overlap must be between 0 and the band"),
        (dict(tile=0, band=0, advance=0), "must be positive"),
        (dict(tile=1024.0), "whole number"),
    ],
)
def test_impossible_contracts_name_the_rule(fields, rule):
    with pytest.raises(ContractError, match=re.escape(rule)):
        Contract(**fields)


@pytest.mark.parametrize(
    "alias, name", [("right", "x_ltr"), ("left", "x_rtl"), ("down", "y_ttb"), ("up", "y_btt"), ("X_LTR", "x_ltr")]
)
def test_direction_aliases(alias, name):
    assert parse_direction(alias) == name


def test_unknown_direction_lists_the_choices():
    with pytest.raises(ContractError, match="x_ltr \\(right\\)"):
        parse_direction("sideways")


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_turning_puts_the_frontier_on_the_right_and_back(direction):
    image = np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3)
    turned = to_frontier_right(image, direction)
    assert np.shares_memory(turned, image)  # a view, not a copy
    assert turned.shape == frontier_right_shape(image.shape, direction)
    np.testing.assert_array_equal(from_frontier_right(turned, direction), image)
    # the frontier edge of the user's image is the right edge of the turned one
    frontier = {"x_ltr": image[:, -1], "x_rtl": image[:, 0], "y_ttb": image[-1], "y_btt": image[0]}[direction]
    assert sorted(map(tuple, frontier)) == sorted(map(tuple, turned[:, -1]))


def test_turning_never_mirrors():
    """A quarter turn keeps handedness: the corner order (clockwise) is the same after turning."""
    image = np.zeros((4, 6), dtype=np.uint8)
    image[0, 0], image[0, -1], image[-1, -1], image[-1, 0] = 1, 2, 3, 4
    for direction in DIRECTIONS:
        turned = to_frontier_right(image, direction)
        corners = [turned[0, 0], turned[0, -1], turned[-1, -1], turned[-1, 0]]
        i = corners.index(1)
        assert corners[i:] + corners[:i] == [1, 2, 3, 4]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_user_box_matches_numpy(direction):
    shape = (7, 11)
    turned = np.zeros(shape, dtype=np.uint8)
    turned[2:5, 6:9] = 1
    user = from_frontier_right(turned, direction)
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


def test_only_an_edge_shorter_than_the_band_along_growth_is_refused():
    for shape in ((60, 100, 3), (64, 32, 3), (1, 40, 3), (500, 100, 3)):
        check_canvas(shape, SMALL)  # any length across grows (a frontier of several tiles)
    with pytest.raises(ContractError, match="shorter than the 32 px band"):
        check_canvas((64, 20, 3), SMALL)


def test_the_frontier_table_on_the_default_contract():
    """The module docstring's table: k the fewest tiles, s_0 = 0, s_k-1 = C - T, even spread."""
    contract = Contract()
    assert contract.cross_overlap == 256
    assert frontier_cross_starts(1024, contract) == [0]  # exactly today's single tile
    assert frontier_cross_starts(700, contract) == [0]  # shorter than a tile: one, padded
    assert frontier_cross_starts(1100, contract) == [0, 76]
    assert frontier_cross_starts(1500, contract) == [0, 476]  # ceil((1500 - 256) / 768) = 2
    assert frontier_cross_starts(1792, contract) == [0, 768]  # exactly X = 256 shared
    assert frontier_cross_starts(1793, contract) == [0, 384, 769]
    assert frontier_cross_starts(3075, contract) == [0, 683, 1367, 2051]
    tiles = frontier_tiles(3075, contract)
    assert [(t.index, t.count, t.cross_start, t.rows, t.joint) for t in tiles] == [
        (0, 4, 0, 1024, 0),
        (1, 4, 683, 1024, 341),
        (2, 4, 1367, 1024, 340),
        (3, 4, 2051, 1024, 340),
    ]
    assert [(t.rows, t.joint) for t in frontier_tiles(700, contract)] == [(700, 0)]


@pytest.mark.parametrize(
    "contract",
    [
        SMALL,
        Contract(tile=64, band=32, overlap=16, advance=32, cross_overlap=0),
        Contract(tile=64, band=32, overlap=32, advance=32, cross_overlap=63),
    ],
)
def test_frontier_tiles_cover_every_edge_with_the_fewest_overlapping_tiles(contract):
    t, x = contract.tile, contract.cross_overlap
    for cross in range(1, 400):
        starts = frontier_cross_starts(cross, contract)
        k = len(starts)
        assert starts[0] == 0
        if cross <= t:
            assert starts == [0]
            continue
        assert starts[-1] == cross - t  # the last tile ends on the edge's end: no growth sideways
        assert all(b - a <= t - x for a, b in zip(starts, starts[1:]))  # neighbours share >= X rows
        assert all(b > a for a, b in zip(starts, starts[1:]))
        assert (k - 1) * t - (k - 2) * x < cross  # one tile fewer could not cover the edge
        covered = np.zeros(cross, bool)
        for s in starts:
            covered[s : s + t] = True
        assert covered.all()


def test_cross_overlap_is_a_contract_field_and_old_sessions_still_load():
    assert Contract().to_dict() == {"tile": 1024, "band": 512, "overlap": 512, "advance": 512, "cross_overlap": 256}
    assert Contract.from_dict({"tile": 1024, "band": 512, "overlap": 256, "advance": 512}) == Contract.legacy()
    custom = Contract(cross_overlap=128)
    assert Contract.from_dict(custom.to_dict()) == custom
    assert SMALL.cross_overlap == 16  # tile // 4 unless given
    for bad in (-1, 1024, 2.5):
        with pytest.raises(ContractError, match="cross_overlap"):
            Contract(cross_overlap=bad)


@pytest.mark.parametrize("fill", ["gray", "edge", "mirror", "black", "white"])
def test_a_band_shorter_than_a_tile_is_padded_across_with_the_fill(fill):
    band = extract_band(world(40, 100), SMALL)
    assert band.shape == (40, 32, 3)
    reference = pack_reference(band, SMALL, fill)
    assert reference.shape == (64, 64, 3)
    np.testing.assert_array_equal(reference[:40, :32], band)
    padding = reference[40:, :32]
    expected = {
        "gray": np.full_like(padding, 128),
        "black": np.zeros_like(padding),
        "white": np.full_like(padding, 255),
        "edge": np.repeat(band[-1:], 24, axis=0),
        "mirror": band[::-1][:24],
    }[fill]
    np.testing.assert_array_equal(padding, expected)


def test_fit_refuses_a_strip_that_would_become_a_giant_canvas():
    strip = np.zeros((4, 2000, 3), np.uint8)  # 2000x4: fitted to 1024 across it would be 512,000 px long
    with pytest.raises(ContractError, match="over the 179 Mpx canvas limit: open it without fit"):
        fit_canvas(strip, "right", Contract(), max_pixels=178_956_970)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_fit_scales_the_cross_dimension_keeping_aspect(direction):
    image = np.zeros((128, 300, 3), dtype=np.uint8) if direction.startswith("x") else np.zeros((300, 128, 3), np.uint8)
    fitted = fit_canvas(image, direction, SMALL)
    assert frontier_right_shape(fitted.shape, direction)[:2] == (64, 150)


def test_next_user_size():
    assert Contract().next_user_size(1000, 1024, "x_rtl") == (1512, 1024)
    assert Contract().next_user_size(1024, 1000, "up") == (1024, 1512)
