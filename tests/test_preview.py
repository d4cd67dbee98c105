"""Previews stay under their byte and pixel caps, show exactly the box asked for, and the changed
box of a run of steps covers every pixel the steps changed and nothing else."""

import io

import numpy as np
import pytest
from PIL import Image

from exquisite.shared_core.errors import InputError, SessionError
from exquisite.shared_core.generators import MockGenerator
from exquisite.shared_core.geometry import Contract
from exquisite.shared_core.preview import (
    Box,
    changed_box,
    check_box,
    crop,
    downscale,
    fit_size,
    render_preview,
    steps_region,
)
from exquisite.shared_core.session import Session, StepSettings

SMALL = Contract(tile=64, band=32, overlap=32, advance=32)


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def ruler(height: int, width: int) -> np.ndarray:
    """Each pixel names its own position: R = x mod 256, G = y mod 256, B = (x // 256 + y // 256)."""
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([xx % 256, yy % 256, (xx // 256 + yy // 256) % 256], axis=-1).astype(np.uint8)


def noise(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_a_small_image_is_shown_exactly_as_png():
    image = ruler(40, 70)
    preview = render_preview(image)
    assert (preview.format, preview.width, preview.height, preview.scale) == ("png", 70, 40, 1.0)
    assert np.array_equal(decode(preview.data), image)


def test_a_region_preview_is_the_exact_crop():
    image = ruler(300, 700)
    box = Box(513, 17, 120, 90)
    preview = render_preview(image, box)
    assert preview.box == box and (preview.width, preview.height) == (120, 90)
    assert np.array_equal(decode(preview.data), image[17:107, 513:633])


def test_a_1024x8192_canvas_stays_under_both_caps():
    image = noise(8192, 1024)
    preview = render_preview(image, max_side=1568, max_bytes=700_000)
    assert max(preview.width, preview.height) <= 1568 and len(preview.data) <= 700_000
    assert preview.height == 1568 and preview.width == 196
    shown = decode(preview.data)
    assert shown.shape == (1568, 196, 3)
    tight = render_preview(image, max_side=1568, max_bytes=20_000)
    assert len(tight.data) <= 20_000 and tight.format == "jpeg"
    png_only = render_preview(image, max_side=1568, max_bytes=20_000, fmt="png")
    assert len(png_only.data) <= 20_000 and png_only.format == "png"
    assert png_only.width < 196  # noise does not compress: a lossless preview must be smaller


def test_a_very_long_canvas_keeps_its_aspect():
    image = np.zeros((1024, 32768, 3), dtype=np.uint8)
    preview = render_preview(image)
    assert (preview.width, preview.height) == (1568, 49)


def test_downscale_by_a_whole_factor_is_a_box_average():
    blocks = np.arange(16 * 16 * 3, dtype=np.uint8).reshape(16, 16, 3)
    image = np.repeat(np.repeat(blocks, 4, axis=0), 4, axis=1)
    assert np.array_equal(downscale(image, 16, 16), blocks)


def test_downscale_reads_a_turned_view_like_a_copy():
    image = noise(200, 600, seed=3)
    view = np.rot90(image)  # not contiguous
    assert np.array_equal(downscale(view, 50, 150), downscale(np.ascontiguousarray(view), 50, 150))


def test_fit_size_never_enlarges():
    assert fit_size(100, 50, 1568) == (100, 50)
    assert fit_size(3136, 1024, 1568) == (1568, 512)


@pytest.mark.parametrize(
    "box", [Box(-1, 0, 5, 5), Box(0, 0, 0, 5), Box(60, 0, 11, 5), Box(0, 36, 5, 5), Box(0, 0, 2.5, 5)]
)
def test_boxes_outside_the_canvas_are_refused(box):
    with pytest.raises(InputError):
        check_box(box, (70, 40))


def test_bad_caps_and_formats_are_refused():
    image = ruler(10, 10)
    with pytest.raises(InputError, match="format"):
        render_preview(image, fmt="gif")
    with pytest.raises(InputError, match="at least 16"):
        render_preview(image, max_side=4)
    with pytest.raises(InputError, match="byte cap"):
        render_preview(image, max_bytes=100)


@pytest.mark.parametrize(
    "direction, size_before, expected",
    [
        ("x_ltr", (96, 64), Box(64, 0, 64, 64)),  # frontier at x=96: overlap [64, 96) + new [96, 128)
        ("x_rtl", (96, 64), Box(0, 0, 64, 64)),  # new [0, 32) + overlap [32, 64) of the grown canvas
        ("y_ttb", (64, 96), Box(0, 64, 64, 64)),
        ("y_btt", (64, 96), Box(0, 0, 64, 64)),
    ],
)
def test_changed_box_of_one_step(direction, size_before, expected):
    assert changed_box(SMALL, direction, size_before, 1) == expected


def test_changed_box_of_three_steps_and_of_legacy_overlap():
    assert changed_box(SMALL, "right", (96, 64), 3) == Box(64, 0, 128, 64)
    legacy = Contract(tile=64, band=32, overlap=16, advance=32)
    assert changed_box(legacy, "left", (96, 64), 2) == Box(0, 0, 80, 64)


@pytest.mark.parametrize("direction", ["x_ltr", "x_rtl", "y_ttb", "y_btt"])
def test_changed_box_covers_every_changed_pixel(tmp_path, direction):
    horizontal = direction.startswith("x")
    image = ruler(64, 80) if horizontal else ruler(80, 64)
    session = Session.create(tmp_path / "s", image, SMALL, direction=direction)
    before = session.canvas()
    session.extend(StepSettings(direction=direction, prompt="p"), MockGenerator(), steps=2)
    after = session.canvas()
    box = changed_box(SMALL, direction, (before.shape[1], before.shape[0]), 2)
    grown = 2 * SMALL.advance
    dy, dx = {"x_ltr": (0, 0), "x_rtl": (0, grown), "y_ttb": (0, 0), "y_btt": (grown, 0)}[direction]
    outside = np.ones(after.shape[:2], dtype=bool)
    outside[box.y : box.y + box.height, box.x : box.x + box.width] = False
    old_place = np.zeros(after.shape[:2], dtype=bool)
    old_place[dy : dy + before.shape[0], dx : dx + before.shape[1]] = True
    assert not (outside & ~old_place).any()  # every new pixel is inside the box
    aligned = np.zeros_like(after)
    aligned[dy : dy + before.shape[0], dx : dx + before.shape[1]] = before
    assert np.array_equal(after[outside], aligned[outside])  # nothing outside the box changed
    assert not np.array_equal(crop(after, box)[..., 0], crop(aligned, box)[..., 0])
    session.close()


def test_auto_keeps_png_when_it_fits_and_turns_to_jpeg_for_grain():
    stripes = np.zeros((1024, 1024, 3), dtype=np.uint8)
    stripes[:, ::7] = (200, 40, 90)
    flat = render_preview(stripes)
    assert flat.format == "png" and np.array_equal(decode(flat.data), stripes)
    half = stripes.copy()
    half[:300] = noise(300, 1024, seed=5)  # its PNG is near the cap: it must still be tried
    mixed = render_preview(half, max_bytes=1_200_000)
    assert mixed.format == "png" and np.array_equal(decode(mixed.data), half)
    grainy = render_preview(noise(1024, 1024, seed=6))
    assert grainy.format == "jpeg" and len(grainy.data) <= 700_000 and grainy.width == 1024


def _record(number, parent, direction, before, after):
    return {
        "number": number,
        "parent": parent,
        "status": "committed",
        "direction": direction,
        "size_before": list(before),
        "size_after": list(after),
    }


def test_steps_region_follows_the_chain_through_other_clients_steps():
    records = [
        _record(1, 0, "x_ltr", (96, 64), (128, 64)),  # ours
        _record(2, 1, "x_rtl", (128, 64), (160, 64)),  # another client's: shifts ours right by 32
        _record(3, 2, "y_btt", (160, 64), (160, 96)),
    ]  # ours again: shifts everything down by 32
    assert steps_region(SMALL, records, 1, {1}) == changed_box(SMALL, "x_ltr", (96, 64), 1)
    assert steps_region(SMALL, records, 3, {1}) == Box(96, 32, 64, 64)
    assert steps_region(SMALL, records, 3, {3}) == Box(0, 0, 160, 64)
    assert steps_region(SMALL, records, 3, {1, 3}) == Box(0, 0, 160, 96)
    assert steps_region(SMALL, records, 3, set()) is None
    undone = [*records[:2], {**records[2], "status": "undone"}, _record(4, 2, "x_ltr", (160, 64), (192, 64))]
    assert steps_region(SMALL, undone, 4, {3}) is None  # step 3 was undone: nothing of it is in the canvas
    assert steps_region(SMALL, undone, 4, {3, 4}) == Box(128, 0, 64, 64)
    with pytest.raises(SessionError, match="step 7 is not in the session's history"):
        steps_region(SMALL, records, 7, {1})


def test_steps_region_is_what_changed_when_another_handle_grew_the_canvas_first(tmp_path):
    ours = Session.create(tmp_path / "s", ruler(64, 80), SMALL)
    ours.extend(StepSettings(direction="x_ltr", prompt="a"), MockGenerator())
    stale_size = ours.size
    with Session.open(tmp_path / "s") as other:  # another client grows it down in between
        other.extend(StepSettings(direction="y_ttb", prompt="b"), MockGenerator())
        before = other.canvas()
    results = ours.extend(StepSettings(direction="x_ltr", prompt="c", seed=5), MockGenerator(), steps=2)
    after = ours.canvas()
    box = steps_region(SMALL, ours.history(), ours.head, {r.number for r in results})
    assert box != changed_box(SMALL, "x_ltr", stale_size, 2)  # what a size read before the call gives
    inside = np.zeros(after.shape[:2], dtype=bool)
    inside[box.y : box.y + box.height, box.x : box.x + box.width] = True
    old = np.zeros(after.shape[:2], dtype=bool)
    old[: before.shape[0], : before.shape[1]] = True
    assert not (~inside & ~old).any()  # every new pixel is inside
    assert np.array_equal(after[~inside], before[~inside[:, : before.shape[1]]])  # nothing else changed
    assert (box.y, box.height) == (0, after.shape[0])
    ours.close()
