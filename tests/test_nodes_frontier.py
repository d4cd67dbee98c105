"""The nodes on a canvas of any size (a frontier of k tiles as one batch) and Feather Glue's session.

Called as plain functions, the way ComfyUI calls them (see tests/test_nodes.py). Ground truth is the
core: the same tiles glued by a session step, and the core's own sequential path with the mock
backend, which differs from the batch (parallel) variant exactly on the joint rows of later tiles.
"""

import json

import numpy as np
import pytest
import torch
from rulers import SMALL, world

from exquisite.nodes import feather_glue as feather_glue_module
from exquisite.nodes.band_extract import SPEC as BandExtract
from exquisite.nodes.feather_glue import SPEC as FeatherGlue
from exquisite.nodes.generate_tile import SPEC as GenerateTile
from exquisite.nodes.reference_mask import SPEC as ReferenceMask
from exquisite.nodes.tensors import images_to_uint8
from exquisite.shared_core.errors import InputError
from exquisite.shared_core.generators import MockGenerator
from exquisite.shared_core.geometry import frontier_tiles, from_frontier_right, to_frontier_right
from exquisite.shared_core.given_tiles import GivenTiles
from exquisite.shared_core.mask import frontier_mask
from exquisite.shared_core.pngio import read_png_into
from exquisite.shared_core.session import Session, StepSettings
from exquisite.shared_core.viewer_data import read_session

WIDGETS = {"band_px": SMALL.band, "tile_px": SMALL.tile}  # cross_overlap: a quarter tile = 16 px


def as_image(*arrays) -> torch.Tensor:
    return torch.from_numpy(np.stack(arrays).astype(np.float32) / 255.0)


def pixels(image) -> np.ndarray:
    return images_to_uint8(image, "test image")


def user_world(cross, length, direction):
    return np.ascontiguousarray(from_frontier_right(world(cross, length), direction))


def node_step(
    canvas: np.ndarray,
    direction: str,
    seed: int = 7,
    blend: str = "linear",
    colour_match=True,
    session: str = "",
    frontier: str = "parallel",
):
    """Band Extract -> Reference Mask -> Generate Tile (mock) -> Feather Glue with positions linked."""
    bands, _, _, positions = BandExtract(canvas=as_image(canvas), direction=direction, **WIDGETS)
    references, masks = ReferenceMask(band=bands, direction=direction, overlap_px=SMALL.overlap, positions=positions)
    (tiles,) = GenerateTile(
        reference=references,
        mask=masks,
        backend="mock",
        seed=seed,
        direction=direction,
        positions=positions,
        frontier=frontier,
    )
    grown, report = FeatherGlue(
        canvas=as_image(canvas),
        tile=tiles,
        direction=direction,
        band_px=SMALL.band,
        overlap_px=SMALL.overlap,
        blend=blend,
        colour_match=colour_match,
        mask=masks,
        positions=positions,
        session=session,
    )
    return {
        "bands": bands,
        "positions": json.loads(positions),
        "references": pixels(references),
        "masks": masks.numpy(),
        "tiles": pixels(tiles),
        "grown": pixels(grown)[0],
        "report": json.loads(report),
    }


class Recording(MockGenerator):
    """The mock backend, keeping what the core's sequential path asked and got."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = []

    def generate(self, request):
        tile = super().generate(request)
        self.asked.append((np.array(request.reference), np.array(request.mask), tile))
        return tile


@pytest.mark.parametrize("direction", ["x_ltr", "y_ttb", "x_rtl"])
def test_three_tiles_through_the_nodes_glue_as_the_cores_step_with_the_same_tiles(tmp_path, direction):
    canvas = user_world(150, 96, direction)
    got = node_step(canvas, direction)
    assert len(got["tiles"]) == 3 and [t["index"] for t in got["positions"]["tiles"]] == [0, 1, 2]
    settings = StepSettings(direction=direction, blend="linear", seed=7)
    with Session.create(tmp_path / "s", canvas, SMALL, direction=direction) as session:
        result = session.step(settings, GivenTiles(list(got["tiles"]), settings.seed))
        assert result.committed, result.reason
        np.testing.assert_array_equal(got["grown"], session.canvas())
    assert got["report"] == result.seam and len(got["report"]["joints"]) == 2


@pytest.mark.parametrize("direction", ["x_ltr", "y_ttb", "x_rtl", "y_btt"])
def test_generate_tile_sequential_is_the_cores_step_to_the_pixel(tmp_path, direction):
    """With a backend, Generate Tile's sequential variant asks for exactly the tiles a session step
    asks for (tile i's reference carries tile i-1's rows), so the whole graph equals the CLI step."""
    canvas = user_world(150, 96, direction)
    got = node_step(canvas, direction, frontier="sequential")
    core = Recording()
    with Session.create(tmp_path / "s", canvas, SMALL, direction=direction) as session:
        [result] = session.extend(StepSettings(direction=direction, seed=7), core)
        np.testing.assert_array_equal(got["grown"], session.canvas())
    for node_tile, (_, _, made) in zip(got["tiles"], core.asked, strict=True):
        np.testing.assert_array_equal(node_tile, made)
    assert got["report"] == result.seam


@pytest.mark.parametrize("direction", ["x_ltr", "y_btt"])
def test_the_batch_differs_from_the_cores_sequential_path_exactly_on_later_tiles_joints(tmp_path, direction):
    """Parallel (a batch) vs sequential (the core): tile 0 is the same; tile i > 0 sees fill, not tile
    i-1's rows, in its joint, so its reference, mask and (mock) tile differ there and only there;
    without colour matching the grown canvases differ only on those joint rows."""
    canvas = user_world(150, 96, direction)
    got = node_step(canvas, direction, blend="linear", colour_match=False)
    core = Recording()
    settings = StepSettings(direction=direction, blend="linear", seed=7, colour_match=False)
    with Session.create(tmp_path / "s", canvas, SMALL, direction=direction) as session:
        assert session.step(settings, core).committed
        sequential = session.canvas()
    tiles = frontier_tiles(150, SMALL)
    assert [t.joint for t in tiles] == [0, 21, 21]
    for tile, (ref, mask, made), node_ref, node_mask, node_tile in zip(
        tiles, core.asked, got["references"], got["masks"], got["tiles"]
    ):
        ref, mask, made, node_ref, node_mask, node_tile = (
            to_frontier_right(a, direction) for a in (ref, mask, made, node_ref, node_mask, node_tile)
        )
        j = tile.joint
        np.testing.assert_array_equal(node_ref[j:], ref[j:])
        np.testing.assert_array_equal(node_ref[:j, : SMALL.band], ref[:j, : SMALL.band])
        np.testing.assert_array_equal(node_mask, frontier_mask(SMALL, 0, tile.rows))
        np.testing.assert_array_equal(mask, frontier_mask(SMALL, j, tile.rows))
        np.testing.assert_array_equal(node_tile[j:], made[j:])
        assert (j == 0) == np.array_equal(node_tile, made)
    differs = np.any(to_frontier_right(got["grown"] != sequential, direction), axis=(1, 2))
    joint_rows = np.zeros(150, bool)
    for tile in tiles[1:]:
        joint_rows[tile.cross_start : tile.cross_start + tile.joint] = True
    assert differs.any() and not differs[~joint_rows].any()


@pytest.mark.parametrize("direction", ["x_ltr", "y_ttb"])
def test_an_edge_shorter_than_a_tile_is_exactly_the_cores_step(tmp_path, direction):
    """One tile, no joint: the batch and the sequential path are the same thing, to the pixel."""
    canvas = user_world(40, 96, direction)
    got = node_step(canvas, direction)
    assert got["references"].shape == (1, 64, 64, 3) and got["bands"].shape[0] == 1
    with Session.create(tmp_path / "s", canvas, SMALL, direction=direction) as session:
        [result] = session.extend(StepSettings(direction=direction, seed=7), MockGenerator())
        np.testing.assert_array_equal(got["grown"], session.canvas())
    assert got["report"] == result.seam
    assert to_frontier_right(got["grown"], direction).shape[:2] == (40, 128)


def test_frontier_inputs_that_do_not_belong_together_are_refused():
    canvas = user_world(150, 96, "x_ltr")
    bands, _, _, positions = BandExtract(canvas=as_image(canvas), **WIDGETS)
    references, masks = ReferenceMask(band=bands, overlap_px=32, positions=positions)
    tiles = references[:2]
    with pytest.raises(InputError, match="has 3 tiles but 2 were given"):
        FeatherGlue(canvas=as_image(canvas), tile=tiles, band_px=32, overlap_px=32, positions=positions)
    with pytest.raises(InputError, match="made for a 96x150 canvas"):
        FeatherGlue(
            canvas=as_image(user_world(150, 128, "x_ltr")),
            tile=references,
            band_px=32,
            overlap_px=32,
            positions=positions,
        )
    with pytest.raises(InputError, match="Band Extract cut 32 px bands"):
        FeatherGlue(canvas=as_image(canvas), tile=references, band_px=20, overlap_px=20, positions=positions)
    with pytest.raises(InputError, match="list 3 tiles but 2 bands"):
        ReferenceMask(band=bands[:2], overlap_px=32, positions=positions)
    _, custom_masks = ReferenceMask(band=bands, overlap_px=32, positions=positions, ramp="custom", ramp_end=20.0)
    with pytest.raises(InputError, match="automatic ramp"):
        FeatherGlue(
            canvas=as_image(canvas),
            tile=references,
            band_px=32,
            overlap_px=32,
            positions=positions,
            blend="mask",
            mask=custom_masks,
        )
    FeatherGlue(
        canvas=as_image(canvas),
        tile=references,
        band_px=32,
        overlap_px=32,
        positions=positions,
        blend="mask",
        mask=masks,
    )  # the automatic ramp: accepted


# ---- Feather Glue's session -------------------------------------------------------------------------


@pytest.fixture
def sessions(tmp_path, monkeypatch):
    """Where the node journals: ComfyUI's output/exquisite-sessions, here a temporary folder."""
    folder = tmp_path / "output" / "exquisite-sessions"
    monkeypatch.setattr(feather_glue_module, "_sessions_dir", lambda: folder)
    return folder


def test_two_chained_glues_with_a_session_are_two_committed_steps_the_viewer_lists(sessions):
    start = world(64, 96)
    rng = np.random.default_rng(3)
    tiles = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)]
    canvas, plain, reports = as_image(start), as_image(start), []
    for tile in tiles:
        canvas, report = FeatherGlue(canvas=canvas, tile=as_image(tile), band_px=32, overlap_px=32, session="my run")
        plain, plain_report = FeatherGlue(canvas=plain, tile=as_image(tile), band_px=32, overlap_px=32)
        np.testing.assert_array_equal(pixels(canvas), pixels(plain))  # the session changes no pixel
        assert json.loads(report) == json.loads(plain_report)
        reports.append(json.loads(report))
    with Session.open(sessions / "my run") as session:
        history = session.history()
        assert session.head == 2 and [s["status"] for s in history] == ["committed", "committed"]
        assert [s["seam"] for s in history] == reports
        np.testing.assert_array_equal(session.canvas(), pixels(canvas)[0])
    viewed = read_session(sessions / "my run", "my run")
    assert [(s["number"], s["status"]) for s in viewed["steps"]] == [(1, "committed"), (2, "committed")]


def test_a_frontier_glued_with_a_session_is_journaled_with_its_tiles(sessions):
    canvas = user_world(150, 96, "y_ttb")
    plain = node_step(canvas, "y_ttb")
    journaled = node_step(canvas, "y_ttb", session="photo")
    np.testing.assert_array_equal(journaled["grown"], plain["grown"])
    assert journaled["report"] == plain["report"]
    step = sessions / "photo" / "steps" / "0001"
    assert sorted(p.name for p in (step / "tiles").iterdir()) == ["01", "02", "03"]
    for i, tile in enumerate(plain["tiles"]):
        np.testing.assert_array_equal(read_png_into(step / "tiles" / f"{i + 1:02d}" / "tile.png"), tile)


def test_a_session_name_that_is_a_path_or_a_batch_of_canvases_is_refused(sessions):
    tile = as_image(np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(InputError, match="plain name"):
        FeatherGlue(canvas=as_image(world(64, 96)), tile=tile, band_px=32, overlap_px=32, session="../x")
    with pytest.raises(InputError, match="batch of 2 canvases"):
        FeatherGlue(canvas=as_image(world(64, 96), world(64, 96)), tile=tile, band_px=32, overlap_px=32, session="x")
    assert not sessions.exists()
