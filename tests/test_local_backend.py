"""The offline "local" backend: a weight-free continuation of the band into the free half.

Tiles are small (128 px) so the whole file runs in a few seconds; the backend works at any size.
The picture is a real photo (scikit-image's cat, bundled with the package) when scikit-image is
installed, otherwise a procedural stand-in with a gradient, stripes and grain.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from exquisite.shared_core.backends import local_smooth
from exquisite.shared_core.backends.local import LocalGenerator
from exquisite.shared_core.errors import GenerationError, InputError
from exquisite.shared_core.generators import TileRequest, make_generator

T = 128
HALF = T // 2
DIRECTIONS = ("x_ltr", "x_rtl", "y_ttb", "y_btt")


def photo(size: int) -> np.ndarray:
    """A (size, size, 3) uint8 picture with texture and large colour areas."""
    try:
        from skimage import data

        cat = data.chelsea()  # 300 x 451
        square = Image.fromarray(cat[:, :300])
        return np.asarray(square.resize((size, size), Image.LANCZOS))
    except ImportError:
        rng = np.random.default_rng(7)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
        base = np.stack([120 + 80 * yy, 90 + 60 * xx, 150 - 70 * yy], axis=-1)
        stripes = 25 * np.sin(2 * np.pi * (3 * xx + 5 * yy))[..., None]
        grain = rng.normal(0, 12, (size, size, 1))
        return np.clip(base + stripes + grain, 0, 255).astype(np.uint8)


def turn(a: np.ndarray, direction: str) -> np.ndarray:
    """From "band on the left" to where `direction` puts the band."""
    return {
        "x_ltr": lambda z: z,
        "x_rtl": lambda z: z[:, ::-1],
        "y_ttb": lambda z: z.swapaxes(0, 1),
        "y_btt": lambda z: z.swapaxes(0, 1)[::-1],
    }[direction](a)


def unturn(a: np.ndarray, direction: str) -> np.ndarray:
    return {
        "x_ltr": lambda z: z,
        "x_rtl": lambda z: z[:, ::-1],
        "y_ttb": lambda z: z.swapaxes(0, 1),
        "y_btt": lambda z: z[::-1].swapaxes(0, 1),
    }[direction](a)


def request(direction: str = "x_ltr", seed: int = 0, progress=None) -> TileRequest:
    """The contract's tile: the band in one half, a flat fill in the other, the ramped mask."""
    reference = photo(T).copy()
    reference[:, HALF:] = 128
    mask = np.ones((T, T), np.float32)
    mask[:, :HALF] = np.linspace(0.0, 1.0, HALF, dtype=np.float32)
    return TileRequest(
        reference=np.ascontiguousarray(turn(reference, direction)),
        mask=np.ascontiguousarray(turn(mask, direction)),
        seed=seed,
        direction=direction,
        progress=progress,
    )


@pytest.fixture(scope="module")
def tiles() -> dict[str, np.ndarray]:
    return {d: LocalGenerator().generate(request(d, seed=3)) for d in DIRECTIONS}


def test_it_is_registered_as_local():
    assert isinstance(make_generator("local"), LocalGenerator)
    assert isinstance(make_generator("local", method="smooth"), LocalGenerator)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_shape_and_dtype(tiles, direction):
    tile = tiles[direction]
    assert tile.shape == (T, T, 3)
    assert tile.dtype == np.uint8
    assert tile.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_the_band_comes_back_unchanged(tiles, direction):
    req = request(direction)
    fixed = req.mask < 0.99
    assert np.array_equal(tiles[direction][fixed], req.reference[fixed])


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_the_new_half_has_texture_and_is_not_the_fill(tiles, direction):
    new = unturn(tiles[direction], direction)[:, HALF:].astype(np.float32)
    assert new.std(axis=(0, 1)).min() > 8.0  # not flat
    # local detail too, not only a smooth gradient: neighbouring pixels differ
    assert np.abs(np.diff(new, axis=1)).mean() > 1.0
    assert np.abs(new - 128).mean() > 10.0  # not the flat fill


def frontier_steps(tile: np.ndarray, half: int) -> tuple[float, float]:
    """(largest step of the mean colour, mean step along the frontier after 16 px smoothing)
    between the 6 lines either side of the frontier of a band-on-the-left tile."""
    tile = tile.astype(np.float32)
    band_edge = tile[:, half - 6 : half]
    new_edge = tile[:, half : half + 6]
    overall = np.abs(band_edge.mean(axis=(0, 1)) - new_edge.mean(axis=(0, 1))).max()
    kernel = np.ones(16, np.float32) / 16

    def along(a):
        return np.stack([np.convolve(a.mean(axis=1)[:, c], kernel, mode="valid") for c in range(3)])

    return float(overall), float(np.abs(along(band_edge) - along(new_edge)).mean())


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_the_new_half_continues_the_band_at_the_frontier(tiles, direction):
    overall, _ = frontier_steps(unturn(tiles[direction], direction), HALF)
    assert overall < 10.0  # the real photo itself steps by about 4 here


@pytest.mark.parametrize("direction", ["x_ltr", "y_btt"])
def test_a_smooth_sky_shows_no_seam_at_the_frontier(direction):
    """A colour gradient with grain: every copied patch has a slightly different colour, and the
    seam correction must leave no step (the true continuation steps by about 1 level here)."""
    size = 256
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    sky = np.stack([40 + 90 * yy + 30 * xx, 70 + 80 * yy, 150 + 60 * yy - 40 * xx], axis=-1)
    sky = np.clip(sky + np.random.default_rng(1).normal(0, 4, sky.shape), 0, 255).astype(np.uint8)
    sky[:, size // 2 :] = 128
    mask = np.ones((size, size), np.float32)
    mask[:, : size // 2] = np.linspace(0.0, 1.0, size // 2, dtype=np.float32)
    tile = LocalGenerator().generate(
        TileRequest(
            reference=np.ascontiguousarray(turn(sky, direction)),
            mask=np.ascontiguousarray(turn(mask, direction)),
            seed=0,
            direction=direction,
        )
    )
    tile = unturn(tile, direction)
    overall, along = frontier_steps(tile, size // 2)
    assert overall < 3.0 and along < 3.0
    assert tile[:, size // 2 :].std(axis=(0, 1)).min() > 10.0  # the gradient goes on


def test_blocks_meet_along_the_cheapest_path():
    """The cut between blocks (blend_seam.min_error_path) against every path, enumerated: none that
    moves at most one column per row is cheaper, also within a column range and with ties."""
    from itertools import pairwise, product

    from exquisite.shared_core.blend_seam import min_error_path

    rng = np.random.default_rng(2)
    for trial in range(40):
        cost = rng.integers(0, 4 if trial % 2 else 50, (6, 5)).astype(np.float64)
        lo, hi = (0, 5) if trial < 20 else (1, 4)
        path = min_error_path(cost, lo, hi)
        assert ((path >= lo) & (path < hi)).all() and (np.abs(np.diff(path)) <= 1).all()
        cheapest = min(
            cost[np.arange(6), list(p)].sum()
            for p in product(range(lo, hi), repeat=6)
            if all(abs(a - b) <= 1 for a, b in pairwise(p))
        )
        assert cost[np.arange(6), path].sum() == cheapest


def test_same_seed_same_bytes_and_other_seed_other_picture(tiles):
    again = LocalGenerator().generate(request("y_ttb", seed=3))
    assert again.tobytes() == tiles["y_ttb"].tobytes()
    other = LocalGenerator().generate(request("y_ttb", seed=4))
    assert other.tobytes() != tiles["y_ttb"].tobytes()
    assert np.abs(other.astype(int) - tiles["y_ttb"]).mean() > 1.0  # a different picture


def test_runs_without_opencv_and_paints_the_same(monkeypatch, tiles):
    monkeypatch.setattr(local_smooth, "cv2", None)
    tile = LocalGenerator().generate(request("x_rtl", seed=3))
    assert tile.shape == (T, T, 3) and tile.dtype == np.uint8
    # cv2 only speeds up exact pixel copies, so the picture is the same bit for bit
    assert tile.tobytes() == tiles["x_rtl"].tobytes()


@pytest.mark.parametrize("with_cv2", [True, False])
def test_smooth_method_continues_the_band(monkeypatch, with_cv2):
    if with_cv2:
        pytest.importorskip("cv2")
    else:
        monkeypatch.setattr(local_smooth, "cv2", None)
    req = request("y_btt")
    tile = LocalGenerator(method="smooth").generate(req)
    assert tile.shape == (T, T, 3) and tile.dtype == np.uint8
    fixed = req.mask < 0.99
    assert np.array_equal(tile[fixed], req.reference[fixed])
    flat = unturn(tile, "y_btt").astype(np.float32)
    assert np.abs(flat[:, HALF - 4 : HALF].mean() - flat[:, HALF : HALF + 4].mean()) < 10.0


def test_reports_progress():
    seen: list[tuple[float, str]] = []
    LocalGenerator().generate(request("x_ltr", progress=lambda f, m: seen.append((f, m))))
    fractions = [f for f, _ in seen]
    assert len(seen) >= 3
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_unknown_settings_are_named():
    with pytest.raises(InputError, match=r"colour.*strength|strength.*colour"):
        LocalGenerator(strength=2, colour="red")
    with pytest.raises(InputError, match="'sketch'"):
        LocalGenerator(method="sketch")


def test_a_mask_without_fixed_pixels_is_refused():
    req = request()
    with pytest.raises(GenerationError, match="fixed"):
        LocalGenerator().generate(
            TileRequest(reference=req.reference, mask=np.ones((T, T), np.float32), direction="x_ltr")
        )


def test_a_mask_on_the_wrong_side_is_refused():
    req = request("x_ltr")
    with pytest.raises(GenerationError, match="side"):
        LocalGenerator().generate(
            TileRequest(reference=req.reference, mask=req.mask[:, ::-1].copy(), direction="x_ltr")
        )


def test_mismatched_mask_and_reference_are_refused():
    req = request()
    with pytest.raises(GenerationError, match="mask"):
        LocalGenerator().generate(TileRequest(reference=req.reference, mask=req.mask[:64], direction="x_ltr"))


# ---------------------------------------------------------------------------------------------
# detail over chained steps, on real photos: the new part keeps the band's small bright points,
# its fine detail and its row-by-row colours, and a copy of a copy does not thin out


def bright_points(img: np.ndarray, above: float = 30.0) -> int:
    """Local maxima (5x5) of the grey picture that stand `above` levels over their 15x15 median."""
    from scipy import ndimage

    grey = img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    peak = grey == ndimage.maximum_filter(grey, size=5)
    return int((peak & (grey - ndimage.median_filter(grey, size=15) > above)).sum())


def mean_gradient(img: np.ndarray) -> float:
    grey = img.astype(np.float32).mean(axis=2)
    return float(np.hypot(np.diff(grey, axis=1)[:-1], np.diff(grey, axis=0)[:, :-1]).mean())


def chained_canvas(tmp_path, photo: np.ndarray, direction: str) -> np.ndarray:
    """Three local steps from `photo` (fitted to 256 px tiles) towards `direction`, exported and
    turned so that it grows to the right."""
    from exquisite.shared_core.geometry import Contract, to_frontier_right
    from exquisite.shared_core.session import Session, StepSettings

    contract = Contract(tile=256, band=128, overlap=128, advance=128)
    session = Session.create(tmp_path / "s", photo, contract, fit=True, direction=direction)
    results = session.extend(StepSettings(seed=5, direction=direction), LocalGenerator(), steps=3)
    assert all(r.committed for r in results)
    canvas = np.asarray(Image.open(session.export(tmp_path / "out.png")).convert("RGB"))
    return to_frontier_right(canvas, direction)


# The backend works in geometry's frontier-right frame, a quarter turn of the user's picture: x_ltr
# is the picture as it is; growing the mirrored rocket to the left (x_rtl) gives it the same band
# turned upside down (its ground strip at the top of the backend's frame)
@pytest.mark.parametrize("name, direction", [("hubble_deep_field", "x_ltr"), ("rocket", "x_ltr"), ("rocket", "x_rtl")])
def test_three_chained_steps_keep_the_detail_of_the_photo(tmp_path, name, direction):
    data = pytest.importorskip("skimage.data", reason="needs scikit-image (the test extra)")
    pytest.importorskip("scipy", reason="needs scipy (comes with scikit-image)")
    photo = getattr(data, name)()
    if direction == "x_rtl":
        photo = np.ascontiguousarray(photo[:, ::-1])
    canvas = chained_canvas(tmp_path, photo, direction)
    start = canvas.shape[1] - 3 * 128
    original = canvas[:, start - 128 : start]  # the photo's last band

    def row_difference(a, b):  # mean difference of the rows' mean colours
        return float(np.abs(a.mean(axis=1) - b.mean(axis=1).astype(np.float32)).mean())

    # yardsticks: the photo's own slice before its last band, and that band upside down
    natural = row_difference(canvas[:, start - 256 : start - 128], original)
    upside_down = row_difference(original[::-1], original)
    for k in range(3):
        new = canvas[:, start + 128 * k : start + 128 * (k + 1)]
        points = bright_points(new) / bright_points(original)
        detail = mean_gradient(new) / mean_gradient(original)
        assert 0.6 < points < 1.5, (k + 1, points)
        assert 0.6 < detail < 1.5, (k + 1, detail)
        # the rows keep their colours: a ground strip stays a ground strip
        rows = row_difference(new, original)
        assert rows < min(natural + 2.0, upside_down + 1.0), (k + 1, rows, natural, upside_down)


@pytest.mark.parametrize("direction", ["x_ltr", "y_ttb"])
def test_three_chained_steps_keep_the_brightness_of_a_star_field(tmp_path, direction):
    """The layout is a calm average of the band; if blocks were judged by it pixel by pixel, the
    empty (dark) sky would fit best and every step would come out darker than its band."""
    data = pytest.importorskip("skimage.data", reason="needs scikit-image (the test extra)")
    canvas = chained_canvas(tmp_path, data.hubble_deep_field(), direction)
    grey = canvas.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    start = canvas.shape[1] - 3 * 128
    for k in range(3):
        band = grey[:, start + 128 * (k - 1) : start + 128 * k].mean()
        new = grey[:, start + 128 * k : start + 128 * (k + 1)].mean()
        assert 0.92 < new / band < 1.08, (k + 1, new / band)
