"""Gluing only the frontier gives the whole canvas's glue, pixel for pixel and report for report."""

import numpy as np
import pytest
from exquisite.shared_core.frontier_regions import frontier_regions, glue_reach
from exquisite.shared_core.geometry import DIRECTIONS, Contract, from_frontier_right
from exquisite.shared_core.glue import glue
from exquisite.shared_core.mask import generation_mask
from rulers import SMALL, SMALL_LEGACY, world


def textured(cross: int, length: int, seed: int) -> np.ndarray:
    """A frontier-right canvas with structure (the coordinate world) and noise, like a photo's."""
    rng = np.random.default_rng(seed)
    noisy = world(cross, length).astype(np.int16) + rng.integers(-20, 21, (cross, length, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("blend", ["hard", "linear", "smooth", "mask", "seam"])
@pytest.mark.parametrize("contract", [SMALL, SMALL_LEGACY], ids=["full", "legacy"])
def test_glueing_the_tail_equals_glueing_the_whole_canvas(direction, blend, contract):
    canvas = np.ascontiguousarray(from_frontier_right(textured(contract.tile, 300, 1), direction))
    rng = np.random.default_rng(2)
    tile = np.ascontiguousarray(
        from_frontier_right(
            np.clip(textured(contract.tile, contract.tile, 3).astype(np.int16) + 17, 0, 255).astype(np.uint8)
            + rng.integers(0, 2, (contract.tile, contract.tile, 3), dtype=np.uint8),
            direction,
        )
    )
    mask = from_frontier_right(generation_mask(contract), direction) if blend in ("mask", "seam") else None
    settings = {"contract": contract, "blend": blend, "mask": mask, "colour_match": True, "report": True}
    whole, whole_report = glue(canvas, tile, direction, **settings)

    regions = frontier_regions(canvas.shape[:2], direction, contract)
    tail, tail_report = glue(canvas[regions.tail], tile, direction, **settings)
    assert whole.shape[:2] == regions.grown_hw
    np.testing.assert_array_equal(whole[regions.kept_in_grown], canvas[regions.kept])
    np.testing.assert_array_equal(whole[regions.grown_tail], tail)
    assert tail_report == whole_report


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_regions_cover_the_grown_canvas_once(direction):
    contract = Contract(tile=64, band=32, overlap=16, advance=32)
    canvas_hw = (64, 200) if direction.startswith("x") else (200, 64)
    regions = frontier_regions(canvas_hw, direction, contract)
    covered = np.zeros(regions.grown_hw, np.int8)
    covered[regions.kept_in_grown] += 1
    covered[regions.grown_tail] += 1
    assert (covered == 1).all()
    assert np.zeros(canvas_hw)[regions.tail].size == 64 * glue_reach(contract)


def test_a_canvas_shorter_than_the_reach_is_all_tail():
    regions = frontier_regions((64, 33), "x_ltr", SMALL)
    assert glue_reach(SMALL) > 33
    assert np.zeros((64, 33))[regions.kept].size == 0
    assert np.zeros((64, 33))[regions.tail].shape == (64, 33)
