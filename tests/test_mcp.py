"""The MCP server driven by the SDK's own client in process (test_mcp_process.py runs it as a real
`exquisite-mcp` over stdio and HTTP; its helpers here are shared by the other test_mcp_* files).

Tiles are the contract's 1024 px, so steps are few: the mock backend and a few test backends
registered here (refusing, flaky, slow, meeting at a barrier) show each behaviour.
"""

import base64
import hashlib
import io
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import anyio
import numpy as np
import pytest
from PIL import Image

from mcp import Client
from exquisite.mcp_server.server import create_app
from exquisite.mcp_server.settings import ServerSettings
from exquisite.shared_core.errors import GenerationError
from exquisite.shared_core.generators import MockGenerator, register
from exquisite.shared_core.session import Session

if sys.version_info < (3, 11):  # anyio's dependency on 3.10
    from exceptiongroup import BaseExceptionGroup

SECRET = "sk-test-DO-NOT-SHOW-4242"
TOOLS = {
    "open_canvas",
    "extend_canvas",
    "view_canvas",
    "session_history",
    "undo_step",
    "export_canvas",
    "list_sessions",
}


# ---- test backends ---------------------------------------------------------------------------


class Refusing:
    """Always refuses, quoting its key the way a careless backend might."""

    name = "test-refuse"

    def __init__(self, api_key: str = "") -> None:
        self.api_key = api_key

    def generate(self, request):
        raise GenerationError(f"content policy refused the prompt (key {self.api_key})")


class BrokenSetup:
    name = "test-broken"

    def __init__(self, api_key: str = "") -> None:
        raise RuntimeError(f"could not log in with {api_key}")


class Flaky(MockGenerator):
    """Commits its first tile, refuses every later one."""

    name = "test-flaky"
    calls = 0

    def __init__(self) -> None:
        super().__init__()

    def generate(self, request):
        Flaky.calls += 1
        if Flaky.calls > 1:
            raise GenerationError("the backend is rate limited: try again later")
        return super().generate(request)


class Recording(MockGenerator):
    """Records the prompt of every tile it makes, and takes a moment over each."""

    name = "test-recording"
    order: ClassVar[list] = []

    def __init__(self) -> None:
        super().__init__()

    def generate(self, request):
        Recording.order.append(request.prompt)
        time.sleep(0.05)
        return super().generate(request)


class Meeting(MockGenerator):
    """Each tile waits until a second tile is being generated at the same time."""

    name = "test-meeting"
    barrier = threading.Barrier(2, timeout=20)

    def __init__(self) -> None:
        super().__init__()

    def generate(self, request):
        Meeting.barrier.wait()
        return super().generate(request)


for backend in (Refusing, BrokenSetup, Flaky, Recording, Meeting):
    register(backend.name, backend)


# ---- helpers ---------------------------------------------------------------------------------


def ruler(height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([xx % 256, yy % 256, (xx // 256 * 40 + yy // 256 * 7) % 256], -1).astype(np.uint8)


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def snapshot(*roots: Path) -> dict:
    """Every file and folder under the roots with a hash of its content: equal snapshots mean
    nothing on disk changed."""
    state = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames:
                state[os.path.join(dirpath, name)] = "dir"
            for name in filenames:
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    state[path] = "link:" + os.readlink(path)
                else:
                    state[path] = hashlib.sha1(Path(path).read_bytes()).hexdigest()
    return state


def text_of(result) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def image_of(result):
    images = [block for block in result.content if block.type == "image"]
    assert len(images) == 1
    return base64.b64decode(images[0].data), images[0].mime_type


def make_place(tmp_path: Path) -> dict:
    """Input, export, session and outside folders, with a 1024x1024 ruler photo.png to open."""
    dirs = {name: tmp_path / name for name in ("inputs", "exports", "sessions", "outside")}
    for folder in dirs.values():
        folder.mkdir()
    Image.fromarray(ruler(1024, 1024)).save(dirs["inputs"] / "photo.png")
    return dirs


@pytest.fixture
def place(tmp_path):
    return make_place(tmp_path)


def make_app(place, **overrides):
    settings = ServerSettings(
        sessions_dir=place["sessions"],
        input_dirs=[place["inputs"]],
        export_dirs=[place["exports"]],
        backend="mock",
        **overrides,
    )
    return create_app(settings)


def run_with_client(app, scenario):
    async def main():
        async with Client(app.mcp) as client:
            return await scenario(client)

    try:
        return anyio.run(main)
    except BaseExceptionGroup as group:  # show the failed assertion, not the task group around it
        raise first_leaf(group) from None
    finally:
        app.close()


def first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


# ---- in process ------------------------------------------------------------------------------


def test_tools_say_what_they_do_and_what_they_return(place):
    async def scenario(client):
        return (await client.list_tools()).tools, (await client.list_resource_templates()).resource_templates

    tools, templates = run_with_client(make_app(place), scenario)
    assert {t.name for t in tools} == TOOLS
    for tool in tools:
        assert len(tool.description) > 40
        assert "\n " not in tool.description, f"{tool.name}: docstring indentation leaked into the description"
        hints = tool.annotations
        assert None not in (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint, hints.open_world_hint)
        assert tool.output_schema and tool.output_schema["properties"]
    by_name = {t.name: t for t in tools}
    assert by_name["view_canvas"].annotations.read_only_hint and by_name["list_sessions"].annotations.read_only_hint
    assert by_name["undo_step"].annotations.destructive_hint
    assert by_name["extend_canvas"].annotations.open_world_hint
    assert {t.uri_template for t in templates} >= {
        "exquisite://sessions/{session_id}/canvas.png",
        "exquisite://sessions/{session_id}/steps/{number}/{artifact}.png",
    }


def test_open_extend_view_history_undo_export_in_process(place):
    progress = []

    async def on_progress(value, total, message):
        progress.append((value, total, message))

    async def scenario(client):
        opened = await client.call_tool("open_canvas", {"image_path": "photo.png"})
        assert not opened.is_error, text_of(opened)
        sid = opened.structured_content["session_id"]
        assert (opened.structured_content["width"], opened.structured_content["height"]) == (1024, 1024)
        data, mime = image_of(opened)
        assert mime == "image/png" and np.array_equal(decode(data), ruler(1024, 1024))

        extended = await client.call_tool(
            "extend_canvas",
            {"session_id": sid, "direction": "right", "steps": 3, "prompt": "a stormy sky"},
            progress_callback=on_progress,
        )
        assert not extended.is_error, text_of(extended)
        out = extended.structured_content
        assert [s["status"] for s in out["steps"]] == ["committed"] * 3
        assert (out["width"], out["height"], out["committed_steps"]) == (2560, 1024, 3)
        assert out["changed_region"] == {"x": 512, "y": 0, "width": 2048, "height": 1024}
        data, _ = image_of(extended)
        assert len(data) <= 700_000 and decode(data).shape == (784, 1568, 3)
        assert out["preview"]["bytes"] == len(data)

        canvas = decode(Path(out["canvas_path"]).read_bytes())
        assert canvas.shape == (1024, 2560, 3)
        region = await client.call_tool(
            "view_canvas",
            {"session_id": sid, "what": "region", "region": {"x": 2300, "y": 700, "width": 260, "height": 300}},
        )
        assert np.array_equal(decode(image_of(region)[0]), canvas[700:1000, 2300:2560])
        whole = await client.call_tool("view_canvas", {"session_id": sid})
        assert whole.structured_content["preview"]["region"] == {"x": 0, "y": 0, "width": 2560, "height": 1024}
        last = await client.call_tool("view_canvas", {"session_id": sid, "what": "last_step", "format": "png"})
        assert last.structured_content["preview"]["region"] == {"x": 1536, "y": 0, "width": 1024, "height": 1024}
        assert np.array_equal(decode(image_of(last)[0]), canvas[:, 1536:])

        history = (await client.call_tool("session_history", {"session_id": sid})).structured_content
        assert [(s["number"], s["status"], s["prompt"], s["seed"]) for s in history["steps"]] == [
            (1, "committed", "a stormy sky", 0),
            (2, "committed", "a stormy sky", 1),
            (3, "committed", "a stormy sky", 2),
        ]
        assert [s["size_after"] for s in history["steps"]] == [[1536, 1024], [2048, 1024], [2560, 1024]]

        undone = await client.call_tool("undo_step", {"session_id": sid})
        assert (undone.structured_content["undone_step"], undone.structured_content["head"]) == (3, 2)
        assert (undone.structured_content["width"], undone.structured_content["height"]) == (2048, 1024)
        after_two = decode(Path(undone.structured_content["canvas_path"]).read_bytes())
        assert undone.structured_content["canvas_path"].endswith("canvas/0002.png")  # the whole canvas, written
        assert np.array_equal(after_two[:, :1536], canvas[:, :1536])  # step 3 changed only x >= 1536

        exported = await client.call_tool("export_canvas", {"session_id": sid, "path": "out/pano.png"})
        assert not exported.is_error, text_of(exported)
        written = Path(exported.structured_content["path"])
        assert written == (place["exports"] / "out" / "pano.png").resolve()
        assert np.array_equal(decode(written.read_bytes()), after_two)

        resource = await client.read_resource(f"exquisite://sessions/{sid}/canvas.png")
        assert np.array_equal(decode(base64.b64decode(resource.contents[0].blob)), after_two)
        tile = await client.read_resource(f"exquisite://sessions/{sid}/steps/3/tile_full.png")
        assert decode(base64.b64decode(tile.contents[0].blob)).shape == (1024, 1024, 3)
        record = await client.read_resource(f"exquisite://sessions/{sid}/steps/2/step.json")
        assert json.loads(record.contents[0].text)["status"] == "committed"

        listed = (await client.call_tool("list_sessions", {})).structured_content
        assert [(s["session_id"], s["head"], s["committed_steps"]) for s in listed["sessions"]] == [(sid, 2, 2)]
        assert listed["input_dirs"] == [str(place["inputs"])] and "mock" in listed["backends"]
        resources = [
            r
            for r in (await client.list_resources()).resources  # a client browsing resources/list
            if str(r.uri).startswith("exquisite://")
        ]  # sees the canvas (ui:// apps aside)
        assert [(str(r.uri), r.mime_type) for r in resources] == [
            (f"exquisite://sessions/{sid}/canvas.png", "image/png")
        ]
        assert "2048x1024 at step 2" in resources[0].description
        return sid

    sid = run_with_client(make_app(place), scenario)
    values = [p[0] for p in progress]
    assert values == sorted(values) and values[-1] == 3 and all(p[1] == 3 for p in progress)
    assert sum(1 for p in progress if "committed" in p[2]) == 3
    assert (place["sessions"] / sid / "steps" / "0003" / "canvas_after.png").exists()  # a crop


def test_open_from_base64_with_fit_and_from_blank(place):
    small = ruler(256, 512)
    buffer = io.BytesIO()
    Image.fromarray(small).save(buffer, format="PNG")
    payload = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

    async def scenario(client):
        fitted = await client.call_tool("open_canvas", {"image_base64": payload, "fit": True})
        assert not fitted.is_error, text_of(fitted)
        out = fitted.structured_content
        assert (out["width"], out["height"], out["original_width"], out["fitted"]) == (2048, 1024, 512, True)
        blank = await client.call_tool(
            "open_canvas",
            {"blank": True, "blank_width": 1024, "blank_height": 512, "blank_color": "#102030", "direction": "down"},
        )
        assert not blank.is_error, text_of(blank)
        assert np.all(decode(image_of(blank)[0]) == (16, 32, 48))

    run_with_client(make_app(place), scenario)


def test_every_bad_argument_is_a_tool_error_that_changes_nothing(place):
    Image.fromarray(ruler(600, 300)).save(place["inputs"] / "narrow.png")  # shorter than the band
    (place["exports"] / "taken.png").write_bytes(b"keep me")
    big = base64.b64encode(b"\x89PNG" + b"0" * 60_000).decode()
    app = make_app(
        place,
        max_upload_bytes=50_000,
        backend_settings={"mock": {"api_key": SECRET}, "test-broken": {"api_key": SECRET}},
    )

    async def scenario(client):
        square = (await client.call_tool("open_canvas", {"image_path": "photo.png"})).structured_content["session_id"]
        wide = (
            await client.call_tool("open_canvas", {"blank": True, "blank_width": 1536, "blank_height": 300})
        ).structured_content["session_id"]
        cases = [
            ("extend_canvas", {"session_id": "nosuch-123456", "direction": "right"}, "unknown session"),
            ("view_canvas", {"session_id": "../../etc"}, "not a session id"),
            ("extend_canvas", {"session_id": square, "direction": "sideways"}, "direction: Input should be 'right'"),
            ("extend_canvas", {"session_id": wide, "direction": "down"}, "cannot grow down"),
            (
                "extend_canvas",
                {"session_id": square, "direction": "right", "steps": 0},
                "steps: Input should be greater than or equal to 1",
            ),
            (
                "extend_canvas",
                {"session_id": square, "direction": "right", "steps": 99},
                "steps: Input should be less than or equal to 8",
            ),
            (
                "extend_canvas",
                {"session_id": square, "direction": "right", "steps": True},
                "steps: Input should be a valid integer",
            ),
            (
                "extend_canvas",
                {"session_id": square, "direction": "right", "steps": "2"},
                "steps: Input should be a valid integer",
            ),
            (
                "extend_canvas",
                {"session_id": square, "direction": "right", "seed": "7"},
                "seed: Input should be a valid integer",
            ),
            (
                "extend_canvas",
                {"session_id": square, "direction": "right", "prompt": "x" * 2001},
                "at most 2000 characters",
            ),
            (
                "extend_canvas",
                {"session_id": square, "direction": "right", "backend": "nope"},
                "backend: Input should be",
            ),
            ("extend_canvas", {"session_id": square, "direction": "right"}, "not configured"),
            ("extend_canvas", {"session_id": square, "direction": "right", "backend": "test-broken"}, "not configured"),
            (
                "extend_canvas",
                {"session_id": square, "direction": "right", "backend": "test-refuse", "blend": "wobbly"},
                "blend: Input should be",
            ),
            (
                "extend_canvas",
                {"session_id": square, "direction": "right", "backend": "test-refuse", "fill": "plaid"},
                "fill: Input should be",
            ),
            ("open_canvas", {"image_path": "/etc/hostname"}, "outside the allowed directories"),
            ("open_canvas", {"image_path": "/etc/nonexistent.png"}, "outside the allowed directories"),
            ("open_canvas", {"image_path": "narrow.png"}, "shorter than the 512 px band"),
            ("open_canvas", {"image_path": "missing.png"}, "no input image"),
            ("open_canvas", {}, "exactly one"),
            ("open_canvas", {"image_path": "photo.png", "blank": True}, "exactly one"),
            ("open_canvas", {"image_base64": "not base64!!"}, "not valid base64"),
            ("open_canvas", {"image_base64": big}, "over the 50000-byte limit"),
            ("open_canvas", {"image_base64": base64.b64encode(b"hello").decode()}, "not a readable image"),
            ("open_canvas", {"blank": True, "blank_color": "ultraviolet"}, "unknown colour"),
            ("open_canvas", {"blank": True, "overlap": 600}, "overlap: Input should be 512 or 256"),
            ("open_canvas", {"blank": True, "overlap": "512"}, "overlap: must be a whole number"),
            ("open_canvas", {"blank": "true"}, "blank: Input should be a valid boolean"),
            ("open_canvas", {"image_path": "photo.png", "fit": 1}, "fit: Input should be a valid boolean"),
            ("open_canvas", {"image_path": "photo.png", "direction": "diagonal"}, "direction: Input should be"),
            ("view_canvas", {"session_id": square, "what": "last_step"}, "no step is committed"),
            ("view_canvas", {"session_id": square, "what": "region"}, "needs a region"),
            (
                "view_canvas",
                {"session_id": square, "what": "region", "region": {"x": 1000, "y": 0, "width": 100, "height": 10}},
                "not inside",
            ),
            (
                "view_canvas",
                {"session_id": square, "what": "region", "region": {"x": "10", "y": 0, "width": 100, "height": 10}},
                "region.x: Input should be",
            ),
            (
                "view_canvas",
                {"session_id": square, "max_side": 8},
                "max_side: Input should be greater than or equal to 16",
            ),
            ("view_canvas", {"session_id": square, "what": "everything"}, "what"),
            ("undo_step", {"session_id": square}, "nothing to undo"),
            ("export_canvas", {"session_id": square, "path": "pano.jpg"}, "PNG"),
            ("export_canvas", {"session_id": square, "path": "taken.png"}, "already exists"),
            ("export_canvas", {"session_id": square, "path": "../outside/x.png"}, "outside the allowed"),
            ("export_canvas", {"session_id": square, "path": str(place["sessions"] / "x.png")}, "outside"),
            ("export_canvas", {"session_id": "nosuch-123456", "path": "x.png"}, "unknown session"),
        ]
        for tool, arguments, expected in cases:
            before = snapshot(*place.values())
            outcome = await client.call_tool(tool, arguments)
            message = text_of(outcome)
            assert outcome.is_error, (tool, arguments)
            assert expected in message, (tool, arguments, message)
            assert "\n" not in message and " at 0x" not in message, message  # one line, no Python object
            assert SECRET not in message
            assert snapshot(*place.values()) == before, (tool, arguments)

    run_with_client(app, scenario)
    assert (place["exports"] / "taken.png").read_bytes() == b"keep me"


def test_a_call_whose_steps_were_all_rejected_is_an_error_with_its_reasons(place):
    app = make_app(place, backend_settings={"test-refuse": {"api_key": SECRET}})

    async def scenario(client):
        sid = (await client.call_tool("open_canvas", {"image_path": "photo.png"})).structured_content["session_id"]
        refused = await client.call_tool(
            "extend_canvas", {"session_id": sid, "direction": "left", "steps": 2, "backend": "test-refuse"}
        )
        history = await client.call_tool("session_history", {"session_id": sid})
        return sid, refused, history

    _, refused, history = run_with_client(app, scenario)
    assert refused.is_error
    out = refused.structured_content
    assert out["committed_steps"] == 0 and (out["width"], out["height"]) == (1024, 1024)
    assert [s["status"] for s in out["steps"]] == ["rejected"]  # a rejection stops the call
    assert "content policy refused" in out["steps"][0]["reason"] and "[redacted]" in out["steps"][0]["reason"]
    assert out["preview"] is None and out["changed_region"] is None
    everything = json.dumps(out) + text_of(refused) + json.dumps(history.structured_content) + text_of(history)
    assert SECRET not in everything
    assert history.structured_content["steps"][0]["status"] == "rejected"
    assert np.array_equal(decode(Path(out["canvas_path"]).read_bytes()), ruler(1024, 1024))


def test_a_partly_rejected_call_is_a_result_and_a_session_changed_elsewhere_is_reread(place):
    Flaky.calls = 0

    async def scenario(client):
        sid = (await client.call_tool("open_canvas", {"image_path": "photo.png"})).structured_content["session_id"]
        partly = await client.call_tool(
            "extend_canvas", {"session_id": sid, "direction": "up", "steps": 3, "backend": "test-flaky"}
        )
        with Session.open(place["sessions"] / sid) as elsewhere:  # e.g. the CLI, in another process
            elsewhere.undo()
        history = await client.call_tool("session_history", {"session_id": sid})
        return partly, history

    partly, history = run_with_client(make_app(place), scenario)
    assert not partly.is_error
    out = partly.structured_content
    assert [s["status"] for s in out["steps"]] == ["committed", "rejected"]
    assert out["steps"][1]["reason"] == "the backend is rate limited: try again later"
    assert (out["width"], out["height"]) == (1024, 1536)
    assert out["changed_region"] == {"x": 0, "y": 0, "width": 1024, "height": 1024}
    assert "rejected: the backend is rate limited" in text_of(partly)
    steps = history.structured_content["steps"]
    assert [s["status"] for s in steps] == ["undone", "rejected"]
    assert history.structured_content["head"] == 0 and history.structured_content["height"] == 1024


def test_two_calls_on_one_session_never_interleave_their_steps(place):
    Recording.order = []

    async def scenario(client):
        sid = (await client.call_tool("open_canvas", {"image_path": "photo.png"})).structured_content["session_id"]
        results = {}

        async def extend(prompt, steps):
            results[prompt] = await client.call_tool(
                "extend_canvas",
                {
                    "session_id": sid,
                    "direction": "right",
                    "steps": steps,
                    "prompt": prompt,
                    "backend": "test-recording",
                },
            )

        async with anyio.create_task_group() as group:
            group.start_soon(extend, "A", 2)
            group.start_soon(extend, "B", 1)
        history = await client.call_tool("session_history", {"session_id": sid})
        return results, history

    results, history = run_with_client(make_app(place), scenario)
    assert Recording.order in (["A", "A", "B"], ["B", "A", "A"])  # never A, B, A
    assert all(not r.is_error for r in results.values())
    prompts = [s["prompt"] for s in history.structured_content["steps"]]
    assert prompts == Recording.order
    assert history.structured_content["width"] == 1024 + 3 * 512


def test_calls_on_two_sessions_run_at_the_same_time(place):
    # Each tile waits at a barrier for a second tile being generated at once: if the server ran
    # the two sessions one after the other, the barrier would time out and both steps would fail.
    Meeting.barrier.reset()

    async def scenario(client):
        ids = [
            (await client.call_tool("open_canvas", {"image_path": "photo.png"})).structured_content["session_id"]
            for _ in range(2)
        ]
        results = []

        async def extend(sid):
            results.append(
                await client.call_tool(
                    "extend_canvas", {"session_id": sid, "direction": "down", "backend": "test-meeting"}
                )
            )

        async with anyio.create_task_group() as group:
            for sid in ids:
                group.start_soon(extend, sid)
        return results

    results = run_with_client(make_app(place), scenario)
    assert [r.structured_content["committed_steps"] for r in results] == [1, 1], [text_of(r) for r in results]


def test_the_preview_of_a_1024x8192_canvas_stays_under_the_cap(place):
    noise = np.random.default_rng(7).integers(0, 256, (8192, 1024, 3), dtype=np.uint8)
    Image.fromarray(noise).save(place["inputs"] / "tall.png", compress_level=0)

    async def scenario(client):
        opened = await client.call_tool("open_canvas", {"image_path": "tall.png", "direction": "down"})
        assert not opened.is_error, text_of(opened)
        sid = opened.structured_content["session_id"]
        views = [opened] + [
            await client.call_tool("view_canvas", {"session_id": sid, "format": fmt}) for fmt in ("auto", "png", "jpeg")
        ]
        small = await client.call_tool("view_canvas", {"session_id": sid, "max_side": 300})
        return views, small

    views, small = run_with_client(make_app(place), scenario)
    for result in views:
        data, mime = image_of(result)
        shown = decode(data)
        assert len(data) <= 700_000 and max(shown.shape[:2]) <= 1568, (mime, len(data), shown.shape)
        assert result.structured_content["preview"]["bytes"] == len(data)
    assert image_of(views[2])[1] == "image/png" and image_of(views[3])[1] == "image/jpeg"
    assert decode(image_of(small)[0]).shape == (300, 38, 3)


def test_resources_refuse_what_is_not_a_session_artifact(place):
    async def scenario(client):
        sid = (await client.call_tool("open_canvas", {"image_path": "photo.png"})).structured_content["session_id"]
        failures = []
        for uri in (
            f"exquisite://sessions/{sid}/steps/1/tile_full.png",  # no step 1 yet
            f"exquisite://sessions/{sid}/steps/0001/secrets.png",  # not an artifact name
            f"exquisite://sessions/{sid}/steps/..%2F..%2Fx/step.json",
            "exquisite://sessions/..%2F..%2Fetc/canvas.png",
            "exquisite://sessions/nosuch-000000/canvas.png",
        ):
            try:
                await client.read_resource(uri)
            except Exception as error:  # the SDK raises MCPError for a failed read
                failures.append(str(error))
        return failures

    failures = run_with_client(make_app(place), scenario)
    assert len(failures) == 5
    assert "has no steps/0001/tile_full.png" in failures[0] and "unknown step image" in failures[1]
    assert "unknown session" in failures[4]
