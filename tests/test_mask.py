"""The freedom ramp and every converter's polarity."""

import numpy as np
import pytest

from exquisite.shared_core.errors import ContractError, InputError
from exquisite.shared_core.geometry import DIRECTIONS, Contract, to_frontier_right
from exquisite.shared_core.mask import (
    from_comfy_mask,
    generation_mask,
    generation_mask_for,
    ramp,
    to_comfy_load_image_rgba,
    to_comfy_mask,
    to_openai_mask,
    to_sd_mask,
)
from rulers import SMALL


def test_ramp_is_pixel_centred_and_exact_outside():
    r = ramp(8, 2, 6)
    np.testing.assert_allclose(r, [0, 0, 0.125, 0.375, 0.625, 0.875, 1, 1])
    assert r.dtype == np.float32


def test_smooth_ramp_is_smoothstep_and_symmetric():
    r = ramp(10, 0, 10, "smooth")
    t = (np.arange(10) + 0.5) / 10
    np.testing.assert_allclose(r, t * t * (3 - 2 * t), rtol=1e-6)
    np.testing.assert_allclose(r + r[::-1], 1.0, rtol=1e-6)


def test_zero_width_ramp_is_a_step_and_bad_shapes_are_refused():
    np.testing.assert_array_equal(ramp(4, 2, 2), [0, 0, 1, 1])
    with pytest.raises(ContractError, match="unknown ramp shape"):
        ramp(4, 0, 2, "cubic")


def test_contract2_mask_fixed_inner_edge_free_frontier_new_half_free():
    m = generation_mask(Contract())
    assert m.shape == (1024, 1024) and m.dtype == np.float32
    assert m[:, 0].max() < 0.001  # the band's inner edge is fixed
    assert m[:, 511].min() > 0.998  # the frontier is almost free
    assert (m[:, 512:] == 1).all()  # the new half is fully free
    assert (np.diff(m[0, :512]) > 0).all()  # strictly growing: soft values, not rounded
    assert len(np.unique(m[0, :512])) == 512
    assert (m == m[:1]).all()  # the same in every row


def test_legacy_mask_keeps_the_part_that_is_never_pasted_fixed():
    m = generation_mask(Contract.legacy())
    assert (m[:, :256] == 0).all()
    assert 0 < m[0, 256] < m[0, 511] < 1


def test_ramp_position_and_shape_are_parameters():
    m = generation_mask(SMALL, ramp_start=8, ramp_end=24, shape="smooth")[0]
    assert (m[:8] == 0).all() and (m[24:] == 1).all() and 0 < m[16] < 1
    with pytest.raises(ContractError, match="conditioning half"):
        generation_mask(SMALL, ramp_start=10, ramp_end=40)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_user_orientation_mask_is_free_on_the_new_side(direction):
    m = generation_mask_for(direction, SMALL)
    np.testing.assert_array_equal(to_frontier_right(m, direction), generation_mask(SMALL))
    side = {"x_ltr": m[:, -1], "x_rtl": m[:, 0], "y_ttb": m[-1], "y_btt": m[0]}[direction]
    assert (side == 1).all()


def test_comfy_mask_polarity_is_ours():
    m = generation_mask(SMALL)
    np.testing.assert_array_equal(to_comfy_mask(m), m)  # 1 = inpaint here, soft values kept
    np.testing.assert_array_equal(from_comfy_mask(m), m)


def test_openai_mask_alpha_zero_where_free():
    m = generation_mask(SMALL)
    reference = np.full((64, 64, 3), 77, np.uint8)
    rgba = to_openai_mask(m, reference, threshold=0.5)
    assert rgba.shape == (64, 64, 4)
    np.testing.assert_array_equal(rgba[:, :, :3], reference)
    assert (rgba[:, :, 3][m >= 0.5] == 0).all()  # transparent = edit
    assert (rgba[:, :, 3][m < 0.5] == 255).all()
    assert (rgba[:, 32:, 3] == 0).all() and (rgba[:, 0, 3] == 255).all()
    soft = to_openai_mask(m, reference, threshold=None)[:, :, 3]
    np.testing.assert_array_equal(soft, np.rint(255 * (1 - m)))


def test_comfy_load_image_rgba_round_trips_through_loadimage_formula():
    m = generation_mask(SMALL)
    rgba = to_comfy_load_image_rgba(m, np.zeros((64, 64, 3), np.uint8))
    loaded = 1.0 - rgba[:, :, 3].astype(np.float32) / 255.0  # what LoadImage computes
    assert np.abs(loaded - m).max() <= 0.5 / 255 + 1e-6


def test_sd_mask_white_is_inpaint():
    m = generation_mask(SMALL)
    sd = to_sd_mask(m)
    assert sd.dtype == np.uint8 and (sd[:, 32:] == 255).all()
    np.testing.assert_array_equal(sd, np.rint(255 * m))
    assert set(np.unique(to_sd_mask(m, threshold=0.5))) == {0, 255}


def test_bad_masks_are_refused():
    with pytest.raises(InputError, match="0..1"):
        to_comfy_mask(np.full((4, 4), 2.0))
    with pytest.raises(InputError, match="2-D"):
        to_comfy_mask(np.zeros((1, 4, 4)))
    with pytest.raises(InputError, match="threshold"):
        to_openai_mask(np.zeros((4, 4)), np.zeros((4, 4, 3), np.uint8), threshold=0)
