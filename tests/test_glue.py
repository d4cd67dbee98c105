"""Glue on rulers: where the tile lands, what each blend does, what stays untouched."""

import numpy as np
import pytest

from exquisite.shared_core.errors import ContractError, InputError
from exquisite.shared_core.geometry import DIRECTIONS, from_frontier_right, to_frontier_right
from exquisite.shared_core.glue import glue, blend_alpha, mix, overlap_blend
from exquisite.shared_core.mask import generation_mask, ramp
from rulers import SMALL, SMALL_LEGACY, marked_tile, world

BLENDS = ("hard", "linear", "smooth", "mask")


@pytest.mark.parametrize("contract", [SMALL, SMALL_LEGACY], ids=["contract2", "contract1"])
@pytest.mark.parametrize("blend", BLENDS)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_tile_lands_where_the_contract_says(direction, blend, contract):
    length = 90
    canvas_norm = world(64, length)
    tile_norm = marked_tile(contract)
    canvas = np.ascontiguousarray(from_frontier_right(canvas_norm, direction))
    tile = np.ascontiguousarray(from_frontier_right(tile_norm, direction))
    before = canvas.copy()
    out = glue(canvas, tile, direction, contract, blend)
    np.testing.assert_array_equal(canvas, before)  # pure: inputs untouched
    out_norm = to_frontier_right(out, direction)
    assert out_norm.shape == (64, length + contract.advance, 3)
    origin = length - contract.overlap
    # interior outside the overlap: bit-identical
    np.testing.assert_array_equal(out_norm[:, :origin], canvas_norm[:, :origin])
    # the new half: exactly the tile's new half
    np.testing.assert_array_equal(out_norm[:, length:], tile_norm[:, contract.band :])
    # the overlap: the blend of the canvas's last overlap columns and the tile's conditioning half lying
    # on the band (old + (tile - old) * alpha for the alpha blends)
    alpha = blend_alpha(contract, blend)[:, contract.patch_start : contract.band]
    expected = overlap_blend(blend)(canvas_norm[:, origin:], tile_norm[:, contract.patch_start : contract.band], alpha)
    np.testing.assert_array_equal(out_norm[:, origin:length], expected)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_a_fixed_cut_lies_exactly_at_the_overlap_edge(direction):
    """A linear feather of 0 is a fixed cut (hard before glue revision 1): the tile's conditioning
    half covers the band from its first column on, to the pixel."""
    length = 90
    canvas_norm = world(64, length)
    tile_norm = marked_tile(SMALL)
    out = glue(
        np.ascontiguousarray(from_frontier_right(canvas_norm, direction)),
        np.ascontiguousarray(from_frontier_right(tile_norm, direction)),
        direction,
        SMALL,
        "linear",
        feather_px=0,
    )
    out_norm = to_frontier_right(out, direction)
    changed = (out_norm[:, :length] != canvas_norm).any(axis=(0, 2))
    assert changed.argmax() == length - SMALL.band  # the first changed column is the band's first
    np.testing.assert_array_equal(out_norm[:, length - 32 :], tile_norm)  # whole tile, no trimming


def test_linear_with_full_feather_equals_mask_blend_with_default_ramp():
    assert np.array_equal(blend_alpha(SMALL, "linear"), blend_alpha(SMALL, "mask"))
    np.testing.assert_array_equal(blend_alpha(SMALL, "linear")[0, :32], ramp(32, 0, 32))


def test_feather_zero_is_hard_and_partial_feather_ends_early():
    assert (blend_alpha(SMALL, "linear", 0) == blend_alpha(SMALL, "hard")).all()
    a = blend_alpha(SMALL, "linear", 8)[0]
    assert (a[8:] == 1).all() and 0 < a[0] < a[7] < 1


def test_mask_blend_uses_the_given_mask_so_fixed_pixels_survive():
    canvas = world(64, 90)
    repainted = np.zeros((64, 64, 3), np.uint8)  # a model that repainted everything black
    mask = generation_mask(SMALL, ramp_start=16, ramp_end=32)
    out = glue(canvas, repainted, "x_ltr", SMALL, "mask", mask=mask)
    np.testing.assert_array_equal(out[:, : 90 - 16], canvas[:, : 90 - 16])  # fixed pixels kept exactly


def test_identical_tile_changes_nothing_in_any_blend():
    canvas = world(64, 90)
    truth = world(64, 200)[:, 90 - 32 : 90 + 32]
    for blend in BLENDS:
        out = glue(canvas, truth, "x_ltr", SMALL, blend)
        np.testing.assert_array_equal(out, world(64, 122))


def test_glue_is_deterministic_uint8():
    canvas = world(64, 90)
    tile = marked_tile(SMALL)
    a = glue(canvas, tile, "x_ltr", SMALL, "smooth")
    b = glue(canvas, tile, "x_ltr", SMALL, "smooth")
    assert a.dtype == np.uint8 and np.array_equal(a, b)


def test_bad_glue_inputs_say_what_to_change():
    canvas = world(64, 90)
    with pytest.raises(InputError, match="needs 64x64"):
        glue(canvas, np.zeros((56, 64, 3), np.uint8), "x_ltr", SMALL)
    with pytest.raises(InputError, match="feather_px must be between 0 and the overlap"):
        glue(canvas, marked_tile(SMALL), "x_ltr", SMALL, "linear", feather_px=40)
    with pytest.raises(InputError, match="hard blend has no feather"):
        blend_alpha(SMALL, "hard", 8)
    with pytest.raises(ContractError, match="unknown blend"):
        blend_alpha(SMALL, "sideways")
    with pytest.raises(ContractError, match="fit the canvas"):
        glue(world(60, 90), marked_tile(SMALL), "x_ltr", SMALL)
    with pytest.raises(InputError, match="RGB uint8"):
        glue(canvas.astype(np.float32), marked_tile(SMALL), "x_ltr", SMALL)


def test_joint_alpha_follows_the_blend_family():
    from exquisite.shared_core.glue import joint_alpha

    np.testing.assert_array_equal(joint_alpha(10, "hard"), [0] * 5 + [1] * 5)  # the cut in the middle
    np.testing.assert_array_equal(joint_alpha(7, "hard"), [0] * 3 + [1] * 4)  # rows from joint // 2 on
    np.testing.assert_allclose(joint_alpha(8, "linear"), (np.arange(8) + 0.5) / 8)
    np.testing.assert_allclose(joint_alpha(8, "smooth"), ramp(8, 0, 8, "smooth"))
    np.testing.assert_allclose(joint_alpha(8, "mask", "smooth"), ramp(8, 0, 8, "smooth"))
    np.testing.assert_allclose(joint_alpha(8, "seam"), ramp(8, 0, 8))
    with pytest.raises(ContractError, match="unknown blend"):
        joint_alpha(8, "plaid")


@pytest.mark.parametrize("blend", ["hard", "linear", "seam", "multiband"])
def test_a_joint_is_blended_across_rows_with_the_overlap_blends(blend):
    """blend_joint lays an overlap blend across: the first row stays the neighbours', the last is the
    new tile's, and for the alpha blends every row is mix(old, new, alpha of that row)."""
    from exquisite.shared_core.glue import blend_joint, joint_alpha, overlap_blend

    rng = np.random.default_rng(2)
    old = rng.integers(0, 255, (16, 40, 3), dtype=np.uint8)
    new = rng.integers(0, 255, (16, 40, 3), dtype=np.uint8)
    alpha = joint_alpha(16, blend)
    out = blend_joint(old, new, alpha, overlap_blend(blend, steered=False))
    assert out.shape == old.shape and out.dtype == np.uint8
    if blend in ("hard", "linear"):
        np.testing.assert_array_equal(out, mix(old, new, np.broadcast_to(alpha[:, None], (16, 40))))
    if blend == "hard":
        np.testing.assert_array_equal(out[:8], old[:8])
        np.testing.assert_array_equal(out[8:], new[8:])


def test_one_tile_glue_refuses_an_edge_that_is_not_one_tile_across():
    with pytest.raises(ContractError, match="a frontier of several tiles"):
        glue(world(150, 90), marked_tile(SMALL), "x_ltr", SMALL)
