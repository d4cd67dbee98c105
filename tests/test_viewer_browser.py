"""The viewer page in a real browser (headless Chromium driven by playwright): a rejected step's
reason, the blink comparator, live steps from another process, the deep-zoom canvas, no console
errors. Screenshots of each view land in screenshots/ (ignored by git) for people to look at."""

import contextlib
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import json
import urllib.request

import numpy as np
import pytest
from exquisite.shared_core.pngio import decode_image_bytes
from exquisite.shared_core.session import Session
from exquisite.shared_core.step_canvas import replay_canvas
from exquisite.shared_core.viewer_data import read_session
from exquisite.shared_core.viewer_server import serve
from test_viewer_data import REASON, make_long_session, make_session

WIDE = {"width": 1400, "height": 1000}
"""The page size of most views (a wide timeline, comparator and zoom side by side)."""
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need the playwright package")
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("the browser tests need Chromium at /usr/bin/chromium (Debian package `chromium`)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Console:
    """Every console error and uncaught exception of a page."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))


@contextlib.contextmanager
def viewer_page(browser, root: Path, viewport: dict | None = WIDE):
    """A viewer server on `root` and a page of the browser, both closed afterwards: (server, page,
    console)."""
    server = serve([root])
    server.start()
    page = browser.new_page(viewport=viewport) if viewport else browser.new_page()
    console = Console(page)
    try:
        yield server, page, console
    finally:
        page.close()
        server.stop()


@pytest.fixture
def viewer(tmp_path, browser):
    make_session(tmp_path / "sessions" / "demo")
    with viewer_page(browser, tmp_path / "sessions") as (server, page, console):
        yield server, page, console, tmp_path / "sessions" / "demo"


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_rejected_step_shows_its_reason_in_full(viewer):
    server, page, console, folder = viewer
    page.goto(server.url + "?session=demo&step=2")
    card = page.locator('#timeline .step[data-step="2"]')
    card.wait_for()
    assert card.get_attribute("data-status") == "rejected"
    assert card.locator(".step-reason").inner_text() == REASON
    assert page.locator("#reason pre").inner_text() == REASON
    assert page.locator("#reason").is_visible()
    banner = page.locator("#banner")
    assert "1 earlier step rejected" in banner.inner_text()  # the last step committed; the banner still says
    # nothing glued: the canvas before the step at its frontier, cut from its canvas_before crop
    caption = page.locator(".frontier figcaption").inner_text()
    assert (
        caption
        == "canvas_before.png (a 256×256 crop of the whole canvas), pixels 172–428 × 0–256 of 428×256 (the growth frontier)"
    )
    page.wait_for_function("() => document.querySelector('.frontier img').naturalWidth > 0")
    with urllib.request.urlopen(page.locator(".frontier img").evaluate("e => e.src"), timeout=10) as response:
        shown = decode_image_bytes(response.read())
    with Session.open(folder, write=False) as reader:
        step1 = replay_canvas(folder, reader.meta["steps"], 1, reader.contract, write=False).user()
    assert np.array_equal(shown, step1[:, 172:428])
    shot(page, "viewer-rejected-step")
    assert console.errors == []


def test_the_blink_comparator_changes_the_displayed_image(viewer):
    server, page, console, _ = viewer
    page.goto(server.url + "?session=demo&step=3")
    compare = page.locator("#compare")
    compare.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#compare img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    page.keyboard.press("b")  # stop the timer: from here on only Space flips
    first = compare.get_attribute("data-showing")
    stage_first = page.locator(".compare-stage").screenshot()
    page.keyboard.press(" ")
    second = compare.get_attribute("data-showing")
    stage_second = page.locator(".compare-stage").screenshot()
    assert {first, second} == {"before", "after"}
    assert stage_first != stage_second  # the pixels on screen changed, not only a label
    page.keyboard.press(" ")
    assert compare.get_attribute("data-showing") == first
    assert page.locator(".compare-stage").screenshot() == stage_first
    page.keyboard.press("b")  # blinking again: the timer flips it by itself
    page.wait_for_function(f"() => document.querySelector('#compare').dataset.showing !== '{first}'")
    page.locator('button[data-mode="wipe"]').click()
    assert compare.get_attribute("data-showing") == "wipe"
    assert page.locator(".tile-outline").count() == 1
    shot(page, "viewer-compare-wipe")
    assert console.errors == []


def test_growth_to_the_left_puts_the_old_canvas_right_of_the_new_tile(tmp_path, browser):
    make_session(tmp_path / "left", "x_rtl")
    with viewer_page(browser, tmp_path / "left") as (server, page, console):
        page.goto(server.url + "?session=left&step=3")
        page.locator("#compare .layer.before").wait_for(state="attached")
        # window: canvas columns 0-384 of 556 (the tile and as much before it, clipped to the step's
        # canvas_after crop); the old 428 px canvas starts 128 px in (556 - 428), and its crop, the
        # 256 columns at its frontier, covers columns 128-384
        assert page.locator(".compare-stage").get_attribute("data-window") == "0,0,384,256"
        before = page.locator("#compare .layer.before").evaluate("e => [e.style.left, e.style.width]")
        assert before == ["33.3333%", "66.6667%"]
        outline = page.locator(".tile-outline").evaluate("e => [e.getAttribute('x'), e.getAttribute('width')]")
        assert outline == ["0", "256"]
        shot(page, "viewer-growing-left")
        assert console.errors == []


def test_a_step_committed_by_another_process_appears_without_reload(viewer):
    server, page, console, folder = viewer
    page.goto(server.url + "?session=demo")
    page.locator('#timeline .step[data-step="3"]').wait_for()
    page.locator('.step-box[data-step="3"]').wait_for()
    page.evaluate(
        "() => { const v = EV.canvasView.viewer; v.viewport.zoomTo(v.viewport.getHomeZoom() * 4, null, true); }"
    )
    region = page.evaluate("() => { const r = EV.canvasView.visibleRegion(); return [r.x, r.y, r.width, r.height]; }")
    page.evaluate("() => { window.__sameDocument = true; }")
    script = textwrap.dedent(f"""
        from exquisite.shared_core.generators import MockGenerator
        from exquisite.shared_core.session import Session, StepSettings
        with Session.open({str(folder)!r}) as session:
            session.step(StepSettings(prompt="from elsewhere", seed=11), MockGenerator())
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    # The page polls once a second (the goal is under 2 s); the wait only bounds a broken poll.
    page.locator('#timeline .step[data-step="4"]').wait_for(timeout=15_000)
    assert page.evaluate("() => window.__sameDocument") is True  # no reload happened
    assert "from elsewhere" in page.locator('#timeline .step[data-step="4"]').inner_text()
    page.wait_for_function("() => document.querySelector('#banner').textContent.includes('#0004: committed')")
    page.locator('.step-box[data-step="4"]').wait_for(timeout=15_000)  # the zoom view follows too
    after = page.evaluate("() => { const r = EV.canvasView.visibleRegion(); return [r.x, r.y, r.width, r.height]; }")
    assert after == pytest.approx(region, abs=1.0)  # the zoomed-in view stayed on the same pixels
    assert page.evaluate("() => EV.canvasView.viewer.world.getItemAt(0).getContentSize().x") == 556 + 128
    assert console.errors == []


def test_a_session_created_after_the_page_opened_appears(tmp_path, browser):
    (tmp_path / "empty").mkdir()
    with viewer_page(browser, tmp_path / "empty", viewport=None) as (server, page, console):
        page.goto(server.url)
        page.wait_for_function("() => document.querySelector('#banner').textContent.includes('No sessions yet')")
        assert page.locator("#empty").is_visible()
        make_session(tmp_path / "empty" / "late")
        page.locator('#timeline .step[data-step="3"]').wait_for(timeout=15_000)
        assert page.locator("#session-picker").input_value() == "late" and page.locator("#empty").is_hidden()
        assert console.errors == []


def test_the_whole_canvas_is_tiled_and_outlines_every_step(viewer):
    server, page, console, _ = viewer
    tiles = []
    page.on("request", lambda r: tiles.append(r.url) if "/tiles/" in r.url else None)
    page.goto(server.url + "?session=demo")
    page.locator('.step-box[data-step="3"]').wait_for()
    assert page.locator(".step-box").count() == 2  # the committed steps 1 and 3; the rejected one glued nothing
    page.wait_for_function("() => document.querySelectorAll('#osd canvas').length > 0")
    page.locator('.step-box[data-step="1"] .step-label').click()
    page.wait_for_function("() => document.querySelector('#timeline .step.selected').dataset.step === '1'")
    assert tiles and all(".jpg?step=3&v=" in url for url in tiles)
    shot(page, "viewer-whole-canvas")
    assert console.errors == []


def test_a_path_outside_the_session_is_refused_from_the_page(viewer):
    server, page, _, _ = viewer
    page.goto(server.url)
    status = page.evaluate("async () => (await fetch('files/demo/..%2F..%2Fsecret.png')).status")
    assert status in (403, 404)


def shown_pixels(page, selector: str, window: list[int]) -> tuple[list[float], np.ndarray]:
    """Where a comparator layer sits (whole-canvas pixels of the canvas after the step, from its
    style and the window) and the image it shows, fetched from its own URL."""
    layer = page.locator(selector)
    left, top, width, height, src, natural = layer.evaluate(
        "e => [e.style.left, e.style.top, e.style.width, e.style.height, e.src, [e.naturalWidth, e.naturalHeight]]"
    )
    x, y, w, h = window
    at = [
        x + float(left[:-1]) * w / 100,
        y + float(top[:-1]) * h / 100,
        float(width[:-1]) * w / 100,
        float(height[:-1]) * h / 100,
    ]
    with urllib.request.urlopen(src, timeout=10) as response:
        image = decode_image_bytes(response.read())
    assert [image.shape[1], image.shape[0]] == natural
    return at, image


@pytest.mark.parametrize("directions", [["x_rtl"] * 4, ["y_ttb"] * 4, ["x_ltr", "y_btt", "x_rtl", "y_ttb"]])
def test_the_blink_layers_show_the_right_pixels_of_a_long_session(tmp_path, browser, directions):
    """Every step of a 4-step session: the after layer is the canvas after the step at its place,
    the before layer the canvas before it (shifted where the step grew left or up), the outline on
    the tile; the step images are crops, so this checks the translation into their pixels."""
    folder = make_long_session(tmp_path / "long", directions)
    records = json.loads((folder / "session.json").read_text())["steps"]
    canvases = {0: decode_image_bytes((folder / "source.png").read_bytes())}
    with Session.open(folder, write=False) as reader:
        for record in records:
            canvases[record["number"]] = (
                replay_canvas(folder, reader.meta["steps"], record["number"], reader.contract, write=False)
                .user()
                .copy()
            )
    with viewer_page(browser, folder) as (server, page, console):
        for record in records:
            number, direction = record["number"], record["direction"]
            page.goto(server.url + f"?session=long&step={number}")
            page.wait_for_function(
                "() => { const i = [...document.querySelectorAll('#compare img')]; "
                "return i.length === 2 && i.every(e => e.complete && e.naturalWidth > 0); }"
            )
            window = [int(v) for v in page.locator(".compare-stage").get_attribute("data-window").split(",")]
            (wb, hb), (wa, ha) = record["size_before"], record["size_after"]
            dx, dy = (wa - wb if direction == "x_rtl" else 0), (ha - hb if direction == "y_btt" else 0)
            at, image = shown_pixels(page, "#compare .layer.after", window)
            assert at == pytest.approx(window, abs=0.01)
            x, y, w, h = window
            assert np.array_equal(image, canvases[number][y : y + h, x : x + w]), (direction, number)
            at, image = shown_pixels(page, "#compare .layer.before", window)
            x, y, w, h = (round(v) for v in at)
            assert at == pytest.approx([x, y, w, h], abs=0.01) and w > 0 and h > 0
            expected = canvases[record["parent"]][y - dy : y - dy + h, x - dx : x - dx + w]
            assert np.array_equal(image, expected), (direction, number)
            tx, ty, tw, th = page.locator(".tile-outline").evaluate(
                "e => ['x', 'y', 'width', 'height'].map(k => Number(e.getAttribute(k)))"
            )
            step = next(s for s in read_session(folder, "long")["steps"] if s["number"] == number)
            assert [tx + window[0], ty + window[1], tw, th] == step["tile_box"]
            cropped = step["images"]["canvas_after"]["box"] != [0, 0, wa, ha]  # the first steps' crops are whole
            hint = page.locator("#compare .hint").inner_text()
            assert f"of {wa}×{ha}" + (", from the step's crops of the whole canvas" if cropped else ".") in hint
        shot(page, "viewer-compare-long-" + "-".join(directions))
        assert console.errors == []


def test_the_zoom_view_renders_a_head_with_no_whole_canvas_and_any_steps_canvas(tmp_path, browser):
    """During a run no whole canvas of the head is on disk: the zoom view still shows it (the
    server renders it); the toggle shows the canvas after the selected step instead."""
    folder = make_long_session(tmp_path / "long", ["x_ltr", "y_btt", "x_rtl", "y_ttb"])
    steps = read_session(folder, "long")["steps"]
    tiles = []
    size = "() => { const i = EV.canvasView.viewer.world.getItemAt(0); return i ? [i.getContentSize().x, i.getContentSize().y] : null; }"
    with viewer_page(browser, folder) as (server, page, console):
        page.on("request", lambda r: tiles.append(r.url) if "/tiles/long/" in r.url else None)
        page.goto(server.url + "?session=long&step=2")
        page.locator('.step-box[data-step="4"]').wait_for()
        assert page.evaluate(size) == steps[3]["size_after"]
        assert "(rendered from the steps)" in page.locator(".canvas-status").inner_text()
        assert tiles and all("step=4&v=" in url for url in tiles)
        page.locator("#canvas-at-step").check()
        page.wait_for_function(
            f"() => JSON.stringify(({size})()) === '{json.dumps(steps[1]['size_after'], separators=(',', ':'))}'"
        )
        assert page.locator(".step-box").count() == 1 and page.locator('.step-box[data-step="2"]').count() == 1
        assert "Canvas after step 2" in page.locator(".canvas-status").inner_text()
        page.wait_for_function("() => [...document.querySelectorAll('#osd canvas')].length > 0")
        page.wait_for_timeout(500)
        assert any("step=2&v=" in url for url in tiles)
        shot(page, "viewer-canvas-after-step")
        page.locator("#canvas-at-step").uncheck()
        page.wait_for_function(
            f"() => JSON.stringify(({size})()) === '{json.dumps(steps[3]['size_after'], separators=(',', ':'))}'"
        )
        assert console.errors == []


def test_a_tile_moved_back_onto_its_band_says_so_in_the_seam_table(tmp_path, browser):
    """Registration's shift is shown with the seam numbers, along and across the growth axis."""
    from test_registration import CONTRACT, ShiftingModel, texture
    from exquisite.shared_core.registration import SEARCH_PX
    from exquisite.shared_core.session import StepSettings

    truth = texture(CONTRACT.tile + 2 * SEARCH_PX, 600)
    source = np.ascontiguousarray(truth[SEARCH_PX : SEARCH_PX + CONTRACT.tile, :200])
    with Session.create(tmp_path / "sessions" / "moved", source, CONTRACT) as session:
        session.extend(StepSettings(colour_match=False), ShiftingModel(truth, 200, [(2, -1)]), steps=1)
    with viewer_page(browser, tmp_path / "sessions") as (server, page, console):
        page.goto(server.url + "?session=moved&step=1")
        row = page.locator("table.seam tr.shift")
        row.wait_for()
        assert row.locator("th").inner_text() == "tile off its band (px; moved back before the glue)"
        assert row.locator("td").inner_text() == "-1 along the growth, +2 across"
        assert console.errors == []
