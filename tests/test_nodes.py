"""The ComfyUI nodes, called the way ComfyUI calls them, against the core on the same pixels.

`run` calls a node's function the way ComfyUI's executor does through the V3 layer: every widget
at its declared default, linked inputs as tensors in ComfyUI's shapes (IMAGE [B, H, W, 3] float
0..1, MASK [B, H, W]). The V3 classes themselves run in tests/test_comfyui_integration.py.
"""

import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from exquisite.nodes import SPECS, comfy_hooks
from exquisite.nodes.band_extract import SPEC as BandExtract
from exquisite.nodes.feather_glue import SPEC as FeatherGlue
from exquisite.nodes.generate_tile import SPEC as GenerateTile
from exquisite.nodes.reference_mask import SPEC as ReferenceMask
from exquisite.nodes.tensors import images_to_uint8, uint8_to_images
from exquisite.shared_core import generators
from exquisite.shared_core.errors import (
    ContractError,
    ExquisiteError,
    GenerationError,
    InputError,
)
from exquisite.shared_core.generators import MockGenerator, TileRequest
from exquisite.shared_core.geometry import (
    DIRECTIONS,
    Contract,
    extract_band,
    from_frontier_right,
    pack_reference,
    to_frontier_right,
)
from exquisite.shared_core.glue import BLENDS, MASK_BLENDS, glue
from exquisite.shared_core.mask import default_ramp_span, generation_mask_for
from exquisite.shared_core.session import Session, StepSettings
from rulers import SMALL, SMALL_LEGACY, user_canvas, world

REPO = Path(__file__).resolve().parent.parent


def run(spec, **inputs):
    return spec(**inputs)


def as_image(*arrays) -> torch.Tensor:
    """uint8 (H, W, 3) arrays as a ComfyUI IMAGE batch, the way LoadImage builds it."""
    return torch.from_numpy(np.stack(arrays).astype(np.float32) / 255.0)


def pixels(image: torch.Tensor) -> np.ndarray:
    return images_to_uint8(image, "test image")


def small_widgets(contract: Contract) -> dict:
    return {"band_px": contract.band, "overlap_px": contract.overlap}


# ---- import hygiene and the node contract ComfyUI reads ------------------------------------------


def test_importing_the_package_imports_neither_torch_nor_comfyui():
    code = textwrap.dedent("""
        import sys
        import exquisite
        from exquisite.nodes import SPECS
        assert callable(exquisite.comfy_entrypoint) and exquisite.WEB_DIRECTORY
        for spec in SPECS.values():
            spec.object_info()
        assert "torch" not in sys.modules, "importing the nodes imported torch"
        assert not any(m == "comfy" or m.startswith(("comfy.", "comfy_api")) for m in sys.modules)
        print(sorted(SPECS))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert "ExquisiteBandExtract" in out.stdout


def test_ids_names_short_descriptions_and_tooltips_and_a_help_page_each():
    """ComfyUI shows the description and each tooltip on hover: one or two lines each. The long
    help is the node's page in the node library (web/docs/<id>/en.md, served at /extensions/...)."""
    assert set(SPECS) == {
        "ExquisiteBandExtract",
        "ExquisiteReferenceMask",
        "ExquisiteGenerateTile",
        "ExquisiteFeatherGlue",
    }
    for node_id, spec in SPECS.items():
        assert spec.node_id == node_id and node_id.startswith("Exquisite")
        assert spec.display_name.endswith(" (exquisite)")
        assert 40 < len(spec.description) <= 200, (node_id, len(spec.description))
        for item in (*spec.inputs, *spec.outputs):
            assert 10 < len(item.tooltip) <= 130, (node_id, item.name, len(item.tooltip))
        for p in (p.now() for p in spec.inputs):
            if p.kind == "COMBO":
                assert p.default in p.options
            if p.kind in ("INT", "FLOAT"):
                assert p.min <= p.default <= p.max, (node_id, p.name)
        page = REPO / "nodes" / "web" / "docs" / node_id / "en.md"  # the first path the frontend asks for
        assert page.read_text().startswith(f"# {spec.display_name}\n")
        assert len(page.read_text()) > 3 * len(spec.description)


def test_automatic_is_a_visible_choice_not_a_hidden_minus_one():
    ramp = {p.name: p for p in ReferenceMask.inputs}
    assert ramp["ramp"].options == ("overlap", "custom") and ramp["ramp"].default == "overlap"
    feather = {p.name: p for p in FeatherGlue.inputs}
    assert feather["feather"].options == ("overlap", "custom") and feather["feather"].default == "overlap"
    numbers = [p for spec in SPECS.values() for p in spec.inputs if p.kind in ("INT", "FLOAT")]
    assert all(p.min >= 0 and p.default >= 0 for p in numbers)


def test_generate_tile_offers_every_registered_backend(monkeypatch):
    [backend] = [p for p in GenerateTile.inputs if p.name == "backend"]
    assert list(backend.now().options) == generators.backend_names()
    assert {"mock", "local"} <= set(backend.now().options)
    monkeypatch.setitem(generators._REGISTRY, "registered-later", MockGenerator)
    assert "registered-later" in GenerateTile.object_info()["input"]["required"]["backend"][1]["options"]
    [seed] = [p for p in GenerateTile.inputs if p.name == "seed"]
    assert seed.control_after_generate is True


# ---- each node against the core on the same pixels -----------------------------------------------


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_band_extract_is_the_cores_band_for_every_canvas_of_a_batch(direction):
    truth = world(64, 200)
    canvases = [user_canvas(truth, 80, direction), user_canvas(truth, 80, direction)[::-1, ::-1].copy()]
    band, width, height, _ = run(BandExtract, canvas=as_image(*canvases), direction=direction, band_px=32, tile_px=64)
    assert band.dtype == torch.float32 and band.shape[0] == 2
    for got, canvas in zip(pixels(band), canvases):
        expected = from_frontier_right(extract_band(to_frontier_right(canvas, direction), SMALL), direction)
        np.testing.assert_array_equal(got, expected)
    assert (height, width) == canvases[0].shape[:2]


def test_band_extract_refuses_what_cannot_grow_and_says_what_to_change():
    """A canvas of any size across grows (tests/test_nodes_frontier.py); a batch of them cannot."""
    with pytest.raises(InputError, match=r"batch of 2 canvases .* one canvas at a time"):
        run(BandExtract, canvas=as_image(*[np.zeros((900, 1200, 3), np.uint8)] * 2))
    with pytest.raises(ContractError, match="shorter than the 512 px band"):
        run(BandExtract, canvas=as_image(np.zeros((1024, 300, 3), np.uint8)))
    with pytest.raises(ContractError, match="unknown direction 'sideways'"):
        run(BandExtract, canvas=as_image(np.zeros((64, 80, 3), np.uint8)), direction="sideways")
    with pytest.raises(ContractError, match="band_px .* smaller than tile_px"):
        run(BandExtract, canvas=as_image(np.zeros((64, 80, 3), np.uint8)), band_px=64, tile_px=64)


@pytest.mark.parametrize("fill", ["gray", "edge", "mirror"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_reference_mask_is_the_cores_reference_and_soft_mask(direction, fill):
    truth = world(64, 200)
    band_user = from_frontier_right(truth[:, 48:80], direction)
    reference, mask = run(
        ReferenceMask,
        band=as_image(band_user, band_user),
        direction=direction,
        overlap_px=16,
        fill=fill,
        ramp_shape="smooth",
    )
    expected = from_frontier_right(pack_reference(truth[:, 48:80], SMALL_LEGACY, fill), direction)
    assert reference.shape == (2, 64, 64, 3) and mask.shape == (2, 64, 64)
    np.testing.assert_array_equal(pixels(reference)[1], expected)
    expected_mask = generation_mask_for(direction, SMALL_LEGACY, shape="smooth")
    np.testing.assert_array_equal(mask[0].numpy(), expected_mask)  # soft values, not rounded
    turned = to_frontier_right(mask[0].numpy(), direction)
    assert turned[0, 15] == 0 and 0 < turned[0, 24] < 1 and turned[0, 40] == 1  # fixed, ramp, new half
    assert len(np.unique(mask[0].numpy())) > 3


def test_reference_mask_ramp_widgets_and_a_wrong_direction():
    band = as_image(world(64, 32))
    _, mask = run(ReferenceMask, band=band, overlap_px=32, ramp="custom", ramp_start=8.0, ramp_end=24.0)
    row = mask[0, 0].numpy()
    assert row[7] == 0 and row[24] == 1 and 0 < row[16] < 1
    with pytest.raises(ContractError, match="same direction as BandExtract"):
        run(ReferenceMask, band=band, direction="y_ttb", overlap_px=32)
    with pytest.raises(ContractError, match="overlap must be between 0 and the band"):
        run(ReferenceMask, band=band, overlap_px=40)
    _, ignored = run(ReferenceMask, band=band, overlap_px=32, ramp_start=8.0, ramp_end=24.0)  # ramp: overlap
    np.testing.assert_array_equal(ignored[0].numpy(), generation_mask_for("x_ltr", SMALL))
    with pytest.raises(InputError, match="ramp must be one of overlap, custom"):
        run(ReferenceMask, band=band, ramp="auto")


def test_generate_tile_mock_is_the_mock_generator_and_item_i_uses_seed_plus_i():
    rng = np.random.default_rng(3)
    reference = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    mask = generation_mask_for("y_btt", SMALL)
    (tile,) = run(
        GenerateTile,
        reference=as_image(reference, reference),
        mask=torch.from_numpy(mask[None]),
        prompt="rulers",
        backend="mock",
        seed=41,
        direction="y_btt",
    )
    assert tile.shape == (2, 64, 64, 3) and tile.dtype == torch.float32
    for i in range(2):
        expected = MockGenerator().generate(TileRequest(reference, mask, "rulers", 41 + i, "y_btt"))
        np.testing.assert_array_equal(pixels(tile)[i], expected)


def test_generate_tile_local_is_the_local_backend():
    from exquisite.shared_core.backends.local import LocalGenerator

    truth = world(64, 200)
    reference = pack_reference(truth[:, 48:80], SMALL, "gray")
    mask = generation_mask_for("x_ltr", SMALL)
    (tile,) = run(
        GenerateTile, reference=as_image(reference), mask=torch.from_numpy(mask[None]), backend="local", seed=5
    )
    expected = LocalGenerator().generate(TileRequest(reference, mask, "", 5, "x_ltr"))
    np.testing.assert_array_equal(pixels(tile)[0], expected)


class _Backend:
    """A stand-in backend registered for one test: answers `answer(request)` and counts calls."""

    def __init__(self, answer, **settings):
        self.name = "stand-in"
        self.answer = answer
        self.settings = settings

    def generate(self, request):
        return self.answer(request)


@pytest.fixture
def stand_in(monkeypatch):
    """Register backends under test names; the registry is restored afterwards."""

    def add(name, answer):
        made = []

        def factory(**settings):
            made.append(settings)
            return _Backend(answer, **settings)

        monkeypatch.setitem(generators._REGISTRY, name, factory)
        return made

    return add


def test_generate_tile_failures_name_their_cause_and_never_give_a_blank_tile(stand_in):
    reference = as_image(np.zeros((64, 64, 3), np.uint8))
    mask = torch.ones(1, 64, 64)

    def refuse(request):
        raise GenerationError("refused by the service: moderation_blocked")

    stand_in("refuses", refuse)
    stand_in("too-small", lambda request: np.zeros((56, 56, 3), np.uint8))
    with pytest.raises(GenerationError, match="moderation_blocked"):
        run(GenerateTile, reference=reference, mask=mask, backend="refuses")
    with pytest.raises(GenerationError, match="56x56 tile; the contract needs 64x64"):
        run(GenerateTile, reference=reference, mask=mask, backend="too-small")
    with pytest.raises(InputError, match="unknown backend 'nope'"):
        run(GenerateTile, reference=reference, mask=mask, backend="nope")
    with pytest.raises(InputError, match="the mock backend takes no settings"):
        run(GenerateTile, reference=reference, mask=mask, backend="mock", backend_settings='{"x": 1}')
    with pytest.raises(InputError, match="not valid JSON"):
        run(GenerateTile, reference=reference, mask=mask, backend="mock", backend_settings="{model:")
    with pytest.raises(InputError, match="must be a JSON object"):
        run(GenerateTile, reference=reference, mask=mask, backend="mock", backend_settings="[1]")
    with pytest.raises(InputError, match="square"):
        run(GenerateTile, reference=as_image(np.zeros((64, 32, 3), np.uint8)), mask=mask, backend="mock")
    with pytest.raises(InputError, match="the mask is 32x32 but the tile is 64x64"):
        run(GenerateTile, reference=reference, mask=torch.ones(1, 32, 32), backend="mock")
    with pytest.raises(InputError, match="mask values must lie in 0..1"):
        run(GenerateTile, reference=reference, mask=torch.full((1, 64, 64), 2.0), backend="mock")
    with pytest.raises(InputError, match="reference 2, mask 3 cannot be paired"):
        run(
            GenerateTile,
            reference=as_image(*[np.zeros((64, 64, 3), np.uint8)] * 2),
            mask=torch.ones(3, 64, 64),
            backend="mock",
        )


def test_backend_settings_reach_the_backend(stand_in):
    made = stand_in("settings", lambda request: np.asarray(request.reference))
    run(
        GenerateTile,
        reference=as_image(np.zeros((64, 64, 3), np.uint8)),
        mask=torch.ones(1, 64, 64),
        backend="settings",
        backend_settings='{"model": "m-1", "quality": "high"}',
    )
    assert made == [{"model": "m-1", "quality": "high"}]


def test_inside_comfyui_the_comfyui_backend_on_this_server_is_refused_before_any_call(monkeypatch):
    monkeypatch.delenv("COMFYUI_URL", raising=False)
    monkeypatch.setattr(comfy_hooks, "own_server", lambda: (["127.0.0.1"], 8188))
    from exquisite.nodes import generate_tile

    monkeypatch.setattr(generate_tile, "own_server", comfy_hooks.own_server)
    with pytest.raises(InputError, match="http://127.0.0.1:8188, which is this ComfyUI server itself"):
        run(
            GenerateTile,
            reference=as_image(np.zeros((64, 64, 3), np.uint8)),
            mask=torch.ones(1, 64, 64),
            backend="comfyui",
        )


def test_the_no_key_error_says_where_the_key_goes_in_comfyui(monkeypatch):
    pytest.importorskip("openai")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(
        InputError,
        match=r"set OPENAI_API_KEY in the environment of the ComfyUI server "
        r"\(restart it after setting\)",
    ):
        run(
            GenerateTile,
            reference=as_image(np.zeros((64, 64, 3), np.uint8)),
            mask=torch.ones(1, 64, 64),
            backend="openai",
        )


def test_outside_comfyui_the_node_knows_no_server_of_its_own():
    assert comfy_hooks.own_server() == ([], None)


def test_progress_and_cancel_go_through_comfyuis_hooks(monkeypatch):
    """Inside ComfyUI the node drives comfy.utils.ProgressBar and honours the Cancel button."""
    updates, cancel = [], {"now": False}

    class ProgressBar:
        def __init__(self, total):
            self.total = total

        def update_absolute(self, value, total=None, preview=None):
            updates.append(value / (total or self.total))

    class Interrupted(Exception):
        pass

    def throw_if_interrupted():
        if cancel["now"]:
            raise Interrupted("processing interrupted")

    comfy = types.ModuleType("comfy")
    comfy.utils = types.SimpleNamespace(ProgressBar=ProgressBar)
    comfy.model_management = types.SimpleNamespace(throw_exception_if_processing_interrupted=throw_if_interrupted)
    monkeypatch.setitem(sys.modules, "comfy", comfy)
    monkeypatch.setitem(sys.modules, "comfy.utils", comfy.utils)
    monkeypatch.setitem(sys.modules, "comfy.model_management", comfy.model_management)

    reference = pack_reference(world(64, 200)[:, 48:80], SMALL, "gray")
    inputs = {
        "reference": as_image(reference, reference),
        "mask": torch.from_numpy(generation_mask_for("x_ltr", SMALL)[None]),
        "backend": "local",
    }
    run(GenerateTile, **inputs)
    assert updates[-1] == 1.0 and updates == sorted(updates) and len(updates) > 4
    assert any(0.5 < u < 1 for u in updates)  # the second item of the batch reports its own progress
    cancel["now"] = True
    with pytest.raises(Interrupted):
        run(GenerateTile, **inputs)


@pytest.mark.parametrize("contract", [SMALL, SMALL_LEGACY], ids=["contract2", "contract1"])
@pytest.mark.parametrize("blend", BLENDS)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_feather_glue_is_the_cores_glue(direction, blend, contract):
    truth = world(64, 200)
    canvas = user_canvas(truth, 90, direction)
    start = 90 - contract.band  # the true tile, with a colour cast and noise a model might add
    noise = np.random.default_rng(4).integers(-6, 7, (64, 64, 3))
    tile = np.clip(from_frontier_right(truth[:, start : start + 64].astype(int) + 25 + noise, direction), 0, 255)
    tile = tile.astype(np.uint8)
    mask = generation_mask_for(direction, contract, ramp_start=4.0, ramp_end=30.0)
    colour_match = blend != "linear"  # both settings, across the blends
    grown, report = run(
        FeatherGlue,
        canvas=as_image(canvas),
        tile=as_image(tile),
        direction=direction,
        blend=blend,
        mask=torch.from_numpy(mask[None]),
        colour_match=colour_match,
        **small_widgets(contract),
    )
    expected, expected_report = glue(
        canvas,
        tile,
        direction,
        contract,
        blend,
        None,
        mask if blend in MASK_BLENDS else None,
        colour_match=colour_match,
        report=True,
    )
    np.testing.assert_array_equal(pixels(grown)[0], expected)
    np.testing.assert_array_equal(
        expected,
        glue(
            canvas,
            tile,
            direction,
            contract,
            blend,
            None,
            mask if blend in MASK_BLENDS else None,
            colour_match=colour_match,
        ),
    )
    assert json.loads(report) == expected_report.to_dict()
    measured = json.loads(report)
    assert measured["drift_raw"] > 5  # the +25 cast, as the generator returned it
    assert (measured["drift"] < 1) == colour_match  # removed only when colour matching is on


def test_feather_glue_colour_match_changes_the_tile_and_can_be_switched_off():
    canvas = np.full((64, 90, 3), 100, np.uint8)
    cast = np.full((64, 64, 3), 130, np.uint8)  # the band re-rendered 30 levels too bright
    matched, matched_report = run(FeatherGlue, canvas=as_image(canvas), tile=as_image(cast), **small_widgets(SMALL))
    raw, raw_report = run(
        FeatherGlue, canvas=as_image(canvas), tile=as_image(cast), colour_match=False, **small_widgets(SMALL)
    )
    assert abs(int(pixels(matched)[0, 5, -1, 0]) - 100) <= 1
    assert pixels(raw)[0, 5, -1, 0] == 130
    # the report says what colour matching removed: a 30-level cast is ~10 ΔE in L, gone when matched
    matched_report, raw_report = json.loads(matched_report), json.loads(raw_report)
    assert matched_report["drift"] < 0.5 and matched_report["drift_raw"] > 8
    assert matched_report["drift_raw"] == raw_report["drift_raw"]
    assert raw_report["drift"] == raw_report["drift_raw"] and raw_report["drift_lab"][0] > 8


def test_feather_glue_batches_broadcast_a_single_canvas_or_tile():
    canvas = world(64, 90)
    tiles = [np.full((64, 64, 3), v, np.uint8) for v in (10, 200, 90)]
    grown, reports = run(
        FeatherGlue,
        canvas=as_image(canvas),
        tile=as_image(*tiles),
        feather="custom",
        feather_px=8,
        **small_widgets(SMALL),
    )
    assert grown.shape == (3, 64, 90 + 32, 3)
    reports = json.loads(reports)
    assert isinstance(reports, list) and len(reports) == 3  # a batch reports a list, in batch order
    for got, report, tile in zip(pixels(grown), reports, tiles):
        expected, expected_report = glue(canvas, tile, "x_ltr", SMALL, "linear", 8, colour_match=True, report=True)
        np.testing.assert_array_equal(got, expected)
        assert report == expected_report.to_dict()
    assert len({r["drift_raw"] for r in reports}) == 3
    canvases = (canvas, canvas[::-1].copy())
    one_tile_each, reports = run(
        FeatherGlue, canvas=as_image(*canvases), tile=as_image(tiles[0]), **small_widgets(SMALL)
    )
    assert one_tile_each.shape[0] == 2
    assert json.loads(reports) == [
        glue(c, tiles[0], "x_ltr", SMALL, colour_match=True, report=True)[1].to_dict() for c in canvases
    ]
    _, single = run(FeatherGlue, canvas=as_image(canvas), tile=as_image(tiles[0]), **small_widgets(SMALL))
    assert json.loads(single) == json.loads(reports)[0]  # one item: one object, not a list of one
    with pytest.raises(InputError, match="canvas 2, tile 3 cannot be paired"):
        run(FeatherGlue, canvas=as_image(canvas, canvas), tile=as_image(*tiles), **small_widgets(SMALL))


def test_feather_glue_refuses_what_does_not_fit_and_says_what_to_change():
    canvas = as_image(np.zeros((1024, 700, 3), np.uint8))
    off_by_vae = as_image(np.zeros((1016, 1016, 3), np.uint8))
    with pytest.raises(
        InputError,
        match=r"1016x1016 .* must be 1024x1024\. FeatherGlue refuses it rather "
        r"than resizing .* multiple of 8",
    ):
        run(FeatherGlue, canvas=canvas, tile=off_by_vae)
    tile = as_image(np.zeros((1024, 1024, 3), np.uint8))
    with pytest.raises(InputError, match="700 px wide, so the tile must be 700x700"):
        run(FeatherGlue, canvas=canvas, tile=tile, direction="y_ttb")
    with pytest.raises(ContractError, match="unknown direction 'north'"):
        run(FeatherGlue, canvas=canvas, tile=tile, direction="north")
    with pytest.raises(ContractError, match="shorter than the 512 px band"):
        run(FeatherGlue, canvas=as_image(np.zeros((1024, 300, 3), np.uint8)), tile=tile)
    with pytest.raises(InputError, match="hard blend has no feather: set feather to overlap"):
        run(FeatherGlue, canvas=canvas, tile=tile, blend="hard", feather="custom", feather_px=40)
    run(FeatherGlue, canvas=canvas, tile=tile, blend="hard", feather_px=40)  # feather: overlap ignores it
    with pytest.raises(InputError, match="feather_px must be between 0 and the overlap"):
        run(FeatherGlue, canvas=canvas, tile=tile, overlap_px=256, feather="custom", feather_px=300)
    with pytest.raises(InputError, match="feather must be one of overlap, custom"):
        run(FeatherGlue, canvas=canvas, tile=tile, feather=-1)
    with pytest.raises(InputError, match="RGB IMAGE"):
        run(FeatherGlue, canvas=torch.zeros(1, 1024, 700, 4), tile=tile)


def test_float_to_uint8_rounds_and_round_trips():
    every_byte = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    as_tensor = uint8_to_images([every_byte])
    np.testing.assert_array_equal(pixels(as_tensor), every_byte[None])
    # SaveImage and ComfyUI's PIL resizers TRUNCATE (clip(255 * x).astype(uint8)): still the same bytes.
    np.testing.assert_array_equal(np.clip(255.0 * as_tensor.numpy(), 0, 255).astype(np.uint8), every_byte[None])
    just_below = torch.tensor([[[[0.4 / 255, 0.6 / 255, 254.5001 / 255]]]], dtype=torch.float32)
    assert pixels(just_below).tolist() == [[[[0, 1, 255]]]]  # rounded, not truncated
    assert pixels(torch.tensor([[[[-0.2, 1.7, 0.5]]]])).tolist() == [[[[0, 255, 128]]]]


def test_every_error_a_node_raises_on_purpose_is_an_exquisite_error():
    with pytest.raises(ExquisiteError):
        run(GenerateTile, reference=as_image(np.zeros((8, 8, 3), np.uint8)), mask=torch.ones(1, 8, 8), backend="nope")


# ---- the graph equals the CLI's session step -----------------------------------------------------


def node_graph_steps(
    canvas: torch.Tensor, steps: int, direction: str, settings: StepSettings, contract: Contract
) -> tuple[torch.Tensor, list[dict]]:
    """BandExtract -> ReferenceMask -> GenerateTile(mock) -> FeatherGlue, chained `steps` times;
    the grown canvas and each step's seam report."""
    reports = []
    ramp = {"ramp": "overlap"}
    if settings.ramp_start is not None or settings.ramp_end is not None:  # the session's None = automatic
        start, end = default_ramp_span(contract)
        ramp = {
            "ramp": "custom",
            "ramp_start": start if settings.ramp_start is None else settings.ramp_start,
            "ramp_end": end if settings.ramp_end is None else settings.ramp_end,
        }
    for i in range(steps):
        band, _, _, _ = run(
            BandExtract, canvas=canvas, direction=direction, band_px=contract.band, tile_px=contract.tile
        )
        reference, mask = run(
            ReferenceMask,
            band=band,
            direction=direction,
            overlap_px=contract.overlap,
            ramp_shape=settings.ramp_shape,
            fill=settings.fill,
            **ramp,
        )
        (tile,) = run(
            GenerateTile,
            reference=reference,
            mask=mask,
            prompt=settings.prompt,
            backend="mock",
            seed=settings.seed + i,
            direction=direction,
        )
        canvas, report = run(
            FeatherGlue,
            canvas=canvas,
            tile=tile,
            direction=direction,
            band_px=contract.band,
            overlap_px=contract.overlap,
            blend=settings.blend,
            feather="overlap" if settings.feather_px is None else "custom",
            feather_px=settings.feather_px or 0,
            colour_match=settings.colour_match,
            mask=mask,
        )
        reports.append(json.loads(report))
    return canvas, reports


def test_the_graph_with_default_widgets_equals_a_cli_session_step(tmp_path):
    """The default contract (1024 tiles, 512 bands) and every widget at its default."""
    rng = np.random.default_rng(11)
    start = rng.integers(0, 256, (1024, 700, 3), dtype=np.uint8)
    band, width, height, _ = run(BandExtract, canvas=as_image(start))
    reference, mask = run(ReferenceMask, band=band)
    (tile,) = run(GenerateTile, reference=reference, mask=mask, backend="mock")
    grown, report = run(FeatherGlue, canvas=as_image(start), tile=tile)
    with Session.create(tmp_path / "s", start) as session:
        [result] = session.extend(StepSettings(), MockGenerator())
        assert result.committed
        np.testing.assert_array_equal(pixels(grown)[0], session.canvas())
    step_json = json.loads((Path(result.directory) / "step.json").read_text())
    assert json.loads(report) == step_json["seam"] == result.seam and step_json["seam"]["drift_raw"] is not None
    assert (width, height) == (700, 1024) and grown.shape == (1, 1024, 1212, 3)


@pytest.mark.parametrize(
    "direction, contract, settings",
    [
        ("x_ltr", SMALL, StepSettings(prompt="a", seed=3, blend="linear", feather_px=20)),
        ("x_rtl", SMALL_LEGACY, StepSettings(prompt="b", seed=9, blend="mask", ramp_start=20.0, ramp_shape="smooth")),
        ("y_ttb", SMALL, StepSettings(seed=0, blend="smooth", fill="mirror", colour_match=False)),
        ("y_btt", SMALL_LEGACY, StepSettings(prompt="d", seed=5, blend="hard", fill="edge", ramp_end=28.0)),
        ("x_ltr", SMALL, StepSettings(prompt="e", seed=2, blend="seam_multiband", ramp_start=4.0)),
    ],
    ids=DIRECTIONS + ("x_ltr-seam_multiband",),
)
def test_three_chained_graph_steps_equal_three_session_steps(tmp_path, direction, contract, settings):
    settings = StepSettings(**{**settings.__dict__, "direction": direction})
    start = user_canvas(world(64, 300), 70, direction)
    grown, reports = node_graph_steps(as_image(start), 3, direction, settings, contract)
    with Session.create(tmp_path / "s", start, contract, direction=direction) as session:
        results = session.extend(settings, MockGenerator(), steps=3)
        assert all(r.committed for r in results)
        np.testing.assert_array_equal(pixels(grown)[0], session.canvas())
    recorded = [json.loads((Path(r.directory) / "step.json").read_text())["seam"] for r in results]
    assert reports == recorded


def test_a_choice_outside_its_options_is_named_for_comfyuis_validation():
    """comfy_v3's validate_inputs returns this when a graph is queued (V3 combos are not checked otherwise)."""
    assert FeatherGlue.refused_choice(direction="x_ltr", blend="mask", feather="overlap") is None
    assert (
        FeatherGlue.refused_choice(direction="sideways")
        == "direction 'sideways' is not one of x_ltr, x_rtl, y_ttb, y_btt"
    )
    assert ReferenceMask.refused_choice(direction=None, ramp="auto") == "ramp 'auto' is not one of overlap, custom"
    assert GenerateTile.refused_choice(backend="nope") == "backend 'nope' is not one of " + ", ".join(
        generators.backend_names()
    )
