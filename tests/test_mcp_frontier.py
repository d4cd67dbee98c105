"""extend_canvas on any picture in any direction (frontiers of several tiles), progress per tile, and
results that stay true when other clients act on the same session: changed_region is what this
call changed (checked against the pixels), and committed steps are never hidden behind an error.

"Another client" is a second Session handle on the same folder, used from another thread (as the
CLI or a second server would, through the session's lock).
"""

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from exquisite.mcp_server import present
from exquisite.mcp_server.extending import TileStarts
from exquisite.shared_core import session_steps as session_module  # where a step writes its files
from exquisite.shared_core.frontier_files import backend_fingerprint
from exquisite.shared_core.generators import MockGenerator, make_generator, register
from exquisite.shared_core.session import Session, StepSettings

from test_mcp import decode, image_of, make_app, make_place, ruler, run_with_client, text_of

MAX_BYTES, MAX_SIDE = 700_000, 1568


@pytest.fixture
def place(tmp_path):
    return make_place(tmp_path)


def another_client(folder: Path, action) -> None:
    """Run `action(session)` on a second handle of the session, in another thread, to its end."""
    failures = []

    def run():
        try:
            with Session.open(folder) as other:
                action(other)
        except BaseException as error:  # shown by the assertion below
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert failures == []


def grow(direction: str, seed: int = 100):
    return lambda other: other.extend(StepSettings(direction=direction, prompt="elsewhere", seed=seed), MockGenerator())


def assert_region_is_what_changed(before: np.ndarray, after: np.ndarray, shift: tuple[int, int], region: dict):
    """Every pixel outside `region` is the old pixel it was (`before` sits at `shift` = (dy, dx) in
    `after`), every new pixel is inside, and changes reach the region's whole extent across the
    growth axis and its far end."""
    dy, dx = shift
    height, width = before.shape[:2]
    inside = np.zeros(after.shape[:2], dtype=bool)
    inside[region["y"] : region["y"] + region["height"], region["x"] : region["x"] + region["width"]] = True
    old = np.zeros(after.shape[:2], dtype=bool)
    old[dy : dy + height, dx : dx + width] = True
    assert not (~inside & ~old).any(), "a new pixel lies outside changed_region"
    aligned = np.zeros_like(after)
    aligned[dy : dy + height, dx : dx + width] = before
    assert np.array_equal(after[~inside], aligned[~inside]), "a pixel outside changed_region changed"
    ys, xs = np.nonzero(inside & (~old | (after != aligned).any(-1)))
    changed = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    box = (region["x"], region["y"], region["x"] + region["width"], region["y"] + region["height"])
    assert all(changed[i] >= box[i] for i in (0, 1)) and all(changed[i] <= box[i] for i in (2, 3))
    assert sum(changed[i] == box[i] for i in range(4)) >= 3, (changed, box)  # tight but for the ramp's start


def canvas_of(result) -> np.ndarray:
    return decode(Path(result.structured_content["canvas_path"]).read_bytes())


def assert_preview_capped(result):
    data, _ = image_of(result)
    shown = decode(data)
    assert len(data) <= MAX_BYTES and max(shown.shape[:2]) <= MAX_SIDE, (len(data), shown.shape)
    assert result.structured_content["preview"]["bytes"] == len(data)


# ---- any picture, any direction ------------------------------------------------------------


def test_a_1500x1100_photo_grows_right_then_down_then_left_at_full_resolution(place):
    photo = np.random.default_rng(3).integers(0, 256, (1100, 1500, 3), dtype=np.uint8)
    Image.fromarray(photo).save(place["inputs"] / "wide.png")
    progress = []

    async def on_progress(value, total, message):
        progress.append((value, total, message))

    async def scenario(client):
        opened = await client.call_tool("open_canvas", {"image_path": "wide.png"})
        assert not opened.is_error, text_of(opened)
        out = opened.structured_content
        assert (out["width"], out["height"], out["fitted"]) == (1500, 1100, False)
        assert_preview_capped(opened)
        sid, before, results = out["session_id"], photo, []
        for direction, shift, progress_callback in (
            ("right", (0, 0), None),
            ("down", (0, 0), on_progress),
            ("left", (0, 512), None),
        ):
            grown = await client.call_tool(
                "extend_canvas", {"session_id": sid, "direction": direction}, progress_callback=progress_callback
            )
            assert not grown.is_error, text_of(grown)
            assert "tiles across the edge, one generator call each" in text_of(grown)
            assert_preview_capped(grown)
            after = canvas_of(grown)
            assert_region_is_what_changed(before, after, shift, grown.structured_content["changed_region"])
            results.append(grown.structured_content)
            before = after
        records = [
            json.loads((await client.read_resource(f"exquisite://sessions/{sid}/steps/{n}/step.json")).contents[0].text)
            for n in (1, 2, 3)
        ]
        return results, records

    results, records = run_with_client(make_app(place), scenario)
    assert [(r["width"], r["height"]) for r in results] == [(2012, 1100), (2012, 1612), (2524, 1612)]
    assert [r["changed_region"] for r in results] == [
        {"x": 988, "y": 0, "width": 1024, "height": 1100},
        {"x": 0, "y": 588, "width": 2012, "height": 1024},
        {"x": 0, "y": 0, "width": 1024, "height": 1612},
    ]
    assert [len(r["frontier"]) for r in records] == [2, 3, 2]  # tiles across 1100, 2012 and 1612 px
    assert [(r["steps"][0]["tiles"], r["steps"][0]["generator_calls"]) for r in results] == [(2, 2), (3, 3), (2, 2)]
    assert [r["generator_calls"] for r in records] == [2, 3, 2]  # one call per tile
    # the 3-tile step: each tile's start and end reached the client, in order, values rising
    messages = [m for _, _, m in progress]
    assert messages[0] == "step 1/1: generating (3 tiles)" and messages[-1] == "step 1/1 committed (3 tiles)"
    tiles = [m for m in messages if "tile " in m and "tiles" not in m]
    assert tiles == [f"step 1/1: tile {i}/3: {what}" for i in (1, 2, 3) for what in ("generating", "mock tile ready")]
    values = [v for v, _, _ in progress]
    assert values == sorted(set(values)) and values[-1] == 1 and all(t == 1 for _, t, _ in progress)


def test_the_descriptions_no_longer_ask_for_a_fitted_canvas(place):
    async def scenario(client):
        return (await client.list_tools()).tools, client.instructions

    tools, instructions = run_with_client(make_app(place), scenario)
    by_name = {t.name: t for t in tools}
    opened = by_name["open_canvas"]
    fit = opened.input_schema["properties"]["fit"]["description"]
    assert fit.startswith("optional") and "full resolution is kept" in fit
    assert "full resolution" in opened.description and "fit is optional" in opened.description
    assert "any direction" in by_name["extend_canvas"].description
    texts = [instructions] + [json.dumps(t.input_schema) + (t.description or "") for t in tools]
    for text in texts:
        assert "fit the canvas" not in text and "must be 1024" not in text and "unless the side" not in text
    assert "fit=true is optional" in instructions and "any direction after any other" in instructions


def test_the_tile_start_reporter_is_the_same_backend_to_the_session():
    class Declared(MockGenerator):
        name = "declared"

        def __init__(self) -> None:
            super().__init__()
            self.settings = {"model": "m-1", "quality": 0.5, "api_key": "sk-x", "retries": 3}

    for inner in (MockGenerator(), Declared(), make_generator("local")):
        wrapped = TileStarts(inner)
        assert backend_fingerprint(wrapped) == backend_fingerprint(inner)
        assert (wrapped.name, wrapped.default_blend, wrapped.paid) == (inner.name, inner.default_blend, inner.paid)


# ---- other clients acting on the same session ------------------------------------------------


class Interloper(MockGenerator):
    """A mock backend whose set-up (after the call read the session, before its first step) lets
    another client act on the session first."""

    name = "test-interloper"
    action = None

    def __init__(self) -> None:
        super().__init__()
        action, Interloper.action = Interloper.action, None
        if action is not None:
            action()


register(Interloper.name, Interloper)


def test_changed_region_is_right_when_another_client_grew_the_session_before_the_first_step(place):
    async def scenario(client):
        sid = (await client.call_tool("open_canvas", {"image_path": "photo.png"})).structured_content["session_id"]
        first = await client.call_tool("extend_canvas", {"session_id": sid, "direction": "right"})
        folder = place["sessions"] / sid
        Interloper.action = lambda: another_client(folder, grow("down"))  # 1536x1024 -> 1536x1536
        second = await client.call_tool(
            "extend_canvas", {"session_id": sid, "direction": "right", "steps": 2, "backend": "test-interloper"}
        )
        with Session.open(folder, write=False) as reader:
            before = reader.canvas_at(2)
        assert not first.is_error, text_of(first)
        return second, before

    second, before = run_with_client(make_app(place), scenario)
    assert not second.is_error, text_of(second)
    out = second.structured_content
    assert (out["width"], out["height"], out["committed_steps"]) == (2560, 1536, 2)
    assert [s["number"] for s in out["steps"]] == [3, 4]
    assert out["changed_region"] == {"x": 1024, "y": 0, "width": 1536, "height": 1536}
    assert before.shape == (1536, 1536, 3)
    assert_region_is_what_changed(before, canvas_of(second), (0, 0), out["changed_region"])
    assert out["preview"]["region"] == out["changed_region"]


def test_another_client_cannot_undo_in_the_middle_of_a_call_and_the_region_stays_right(place, monkeypatch):
    """One writer per session: a second handle's undo between two steps of a call is refused at once,
    naming why; the call goes on, and its changed_region is what it changed."""
    opened, refused = {}, []
    relay_step_done = present.ProgressRelay.step_done

    def then_try_undo(relay, outcome):  # right after this call's first step commits
        relay_step_done(relay, outcome)
        if outcome.number == 1:
            try:
                another_client(place["sessions"] / opened["sid"], lambda other: other.undo())
            except AssertionError as failed:
                refused.append(str(failed))

    monkeypatch.setattr(present.ProgressRelay, "step_done", then_try_undo)

    async def scenario(client):
        sid = (await client.call_tool("open_canvas", {"image_path": "photo.png"})).structured_content["session_id"]
        opened["sid"] = sid
        return await client.call_tool("extend_canvas", {"session_id": sid, "direction": "right", "steps": 3})

    extended = run_with_client(make_app(place), scenario)
    assert refused and "being changed by another" in refused[0]
    assert not extended.is_error, text_of(extended)
    out = extended.structured_content
    assert [(s["number"], s["status"]) for s in out["steps"]] == [(1, "committed"), (2, "committed"), (3, "committed")]
    assert (out["width"], out["height"]) == (2560, 1024)
    assert out["changed_region"] == {"x": 512, "y": 0, "width": 2048, "height": 1024}
    assert_region_is_what_changed(ruler(1024, 1024), canvas_of(extended), (0, 0), out["changed_region"])


def test_a_step_that_fails_after_committed_ones_is_reported_not_turned_into_an_error(place, monkeypatch):
    real_write_png = session_module.write_png

    def disk_full_at_step_2(path, *args, **kwargs):
        if Path(path).name == "conditioning_band.png" and Path(path).parent.name == "0002":
            raise OSError(28, "No space left on device")
        return real_write_png(path, *args, **kwargs)

    monkeypatch.setattr(session_module, "write_png", disk_full_at_step_2)

    async def scenario(client):
        sid = (await client.call_tool("open_canvas", {"image_path": "photo.png"})).structured_content["session_id"]
        partly = await client.call_tool("extend_canvas", {"session_id": sid, "direction": "down", "steps": 3})
        partly_canvas = canvas_of(partly)  # the next call that changes the session replaces this file
        monkeypatch.setattr(session_module, "write_png", real_write_png)  # the disk has room again
        again = await client.call_tool("extend_canvas", {"session_id": sid, "direction": "down"})
        history = await client.call_tool("session_history", {"session_id": sid})
        return partly, partly_canvas, again, history

    partly, partly_canvas, again, history = run_with_client(make_app(place), scenario)
    assert not partly.is_error, text_of(partly)
    out = partly.structured_content
    assert [(s["number"], s["status"]) for s in out["steps"]] == [(1, "committed"), (2, "rejected")]
    assert "No space left on device" in out["steps"][1]["reason"]
    assert "step 2 rejected: step 0002 could not be saved" in text_of(partly)
    assert "No space left on device" in text_of(partly)
    assert (out["width"], out["height"]) == (1024, 1536)
    assert out["changed_region"] == {"x": 0, "y": 512, "width": 1024, "height": 1024}
    assert_region_is_what_changed(ruler(1024, 1024), partly_canvas, (0, 0), out["changed_region"])
    assert not again.is_error and again.structured_content["height"] == 2048, text_of(again)
    statuses = {s["number"]: s["status"] for s in history.structured_content["steps"]}
    # step 2 died before its step.json was written: its folder is removed (its number is free again) or it
    # is listed as rejected; either way exactly one more step committed after step 1
    assert statuses.pop(1) == "committed"
    assert sorted(statuses.values()) in (["committed"], ["committed", "rejected"])


def test_changed_region_is_right_after_the_cli_grew_the_session_in_another_process(place):
    script = Path(sys.executable).parent / "exquisite"
    if not script.exists():
        pytest.skip("the exquisite console script is not installed (pip install -e .)")

    async def scenario(client):
        sid = (await client.call_tool("open_canvas", {"image_path": "photo.png"})).structured_content["session_id"]
        first = await client.call_tool("extend_canvas", {"session_id": sid, "direction": "right"})
        assert not first.is_error, text_of(first)  # the server now holds an open handle of the session
        folder = place["sessions"] / sid
        cli = subprocess.run(
            [
                str(script),
                "extend",
                str(folder),
                "-d",
                "down",
                "-b",
                "mock",
                "--out",
                str(place["outside"] / "cli.png"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cli.returncode == 0, cli.stderr
        grown = await client.call_tool("extend_canvas", {"session_id": sid, "direction": "left"})
        return grown, decode((place["outside"] / "cli.png").read_bytes())

    grown, before = run_with_client(make_app(place), scenario)
    assert not grown.is_error, text_of(grown)
    out = grown.structured_content
    assert before.shape == (1536, 1536, 3) and (out["width"], out["height"]) == (2048, 1536)
    assert out["changed_region"] == {"x": 0, "y": 0, "width": 1024, "height": 1536}
    assert_region_is_what_changed(before, canvas_of(grown), (0, 512), out["changed_region"])
