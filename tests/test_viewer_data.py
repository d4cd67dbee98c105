"""The viewer's data and server without a browser: what the reader says about real sessions, that
reading writes nothing, the deep-zoom tiles on a ruler, and every refusal of the HTTP server."""

import http.client
import json
import os
import socket
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from exquisite.shared_core.errors import GenerationError, InputError
from exquisite.shared_core.generators import MockGenerator
from exquisite.shared_core.geometry import Contract
from exquisite.shared_core.pngio import decode_image_bytes, png_bytes, write_png
from exquisite.shared_core.session import Session, StepSettings
from exquisite.shared_core.viewer_data import (
    list_sessions,
    read_session,
    stamp,
    tile_box,
)
from exquisite.shared_core.viewer_api import ViewerApi
from exquisite.shared_core.viewer_server import serve
from exquisite.shared_core.viewer_tiles import TILE_SIZE, Pyramid, max_level
from PIL import Image

CONTRACT = Contract(tile=256, band=128, overlap=128, advance=128)
REASON = "content policy refused the prompt: the seagulls\nline two of the reason"


class Refusing:
    name = "test-refuse"

    def generate(self, request):
        raise GenerationError(REASON)


def make_session(root: Path, direction: str = "x_ltr", width: int = 300) -> Path:
    """A real session: step 1 committed, 2 rejected (reason of two lines), 3 committed; the whole
    canvas written at the end (canvas/0003.png), as a command does."""
    rng = np.random.default_rng(7)
    shape = (256, width, 3) if direction.startswith("x") else (width, 256, 3)
    image = rng.integers(0, 255, shape, dtype=np.uint8)
    with Session.create(root, image, CONTRACT, direction=direction) as session:
        session.step(StepSettings(direction=direction, prompt="sea", seed=1), MockGenerator())
        session.step(StepSettings(direction=direction, prompt="gulls", seed=2), Refusing())
        session.step(StepSettings(direction=direction, prompt="more sea", seed=3), MockGenerator())
        session.canvas_path()
    return root


def make_long_session(root: Path, directions: list[str], width: int = 300) -> Path:
    """A session of one committed step per direction given, with no whole canvas of its head (as
    during a run: canvas/NNNN.png is written only when the command ends)."""
    rng = np.random.default_rng(11)
    first = directions[0]
    shape = (256, width, 3) if first.startswith("x") else (width, 256, 3)
    with Session.create(root, rng.integers(0, 255, shape, dtype=np.uint8), CONTRACT, direction=first) as session:
        for seed, direction in enumerate(directions, 1):
            session.step(StepSettings(direction=direction, prompt="sea", seed=seed), MockGenerator())
        session.flush()
    for path in (root / "canvas").glob("*"):
        path.unlink()
    return root


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(root.rglob("*"))}


def test_reader_reports_status_reason_boxes_and_images(tmp_path):
    folder = make_session(tmp_path / "s")
    data = read_session(folder, "s")
    steps = data["steps"]
    assert [s["status"] for s in steps] == ["committed", "rejected", "committed"]
    assert steps[1]["reason"] == REASON  # in full, both lines
    assert data["head"] == 3 and data["size"] == [300 + 2 * 128, 256]
    assert data["canvas"]["file"] == "canvas/0003.png" and data["canvas"]["width"] == 556
    assert data["canvas"]["query"].startswith("step=3&v=") and data["canvas"]["rendered"] is False
    # tile column c lies on canvas column L - band + c: step 1 had L = 300, step 3 had L = 428
    assert steps[0]["tile_box"] == [172, 0, 256, 256] and steps[2]["tile_box"] == [300, 0, 256, 256]
    assert steps[0]["head_box"] == steps[0]["tile_box"] and steps[1]["head_box"] is None
    assert {"canvas_before", "canvas_after", "reference", "mask", "tile_full"} <= set(steps[0]["images"])
    assert "tile_full" not in steps[1]["images"] and "canvas_before" in steps[1]["images"]
    assert steps[0]["images"]["mask"]["url"].startswith("files/s/steps/0001/mask.png?v=")
    assert steps[0]["seam"]["seam_step"] >= 0 and steps[0]["duration_s"] > 0
    # the step images are crops: one tile behind the old frontier to the frontier, every row
    assert steps[0]["images"]["canvas_before"]["box"] == [300 - 256, 0, 256, 256]
    assert steps[0]["images"]["canvas_after"]["box"] == [300 - 256, 0, 256 + 128, 256]
    assert steps[1]["images"]["canvas_before"]["box"] == [428 - 256, 0, 256, 256]  # rejected: no crops recorded
    assert steps[0]["canvas_query"].startswith("step=1&v=") and steps[1]["canvas_query"] is None  # nothing glued


def test_growth_to_the_left_moves_earlier_tiles_on_the_current_canvas(tmp_path):
    data = read_session(make_session(tmp_path / "s", "x_rtl"), "s")
    first, _, third = data["steps"]
    assert first["tile_box"] == [0, 0, 256, 256] and third["tile_box"] == [0, 0, 256, 256]
    assert first["head_box"] == [128, 0, 256, 256]  # step 3 grew the canvas 128 px to the left
    assert tile_box("y_btt", [256, 300], [256, 428], CONTRACT.to_dict()) == [0, 0, 256, 256]
    assert tile_box("y_ttb", [256, 300], [256, 428], CONTRACT.to_dict()) == [0, 172, 256, 256]


def test_reading_writes_nothing_even_with_an_interrupted_step_and_undo(tmp_path):
    folder = make_session(tmp_path / "s")
    with Session.open(folder) as session:
        session.undo()
    interrupted = folder / "steps" / "0004"  # what a killed process leaves: step.json, no marker
    interrupted.mkdir()
    record = json.loads((folder / "steps" / "0003" / "step.json").read_text())
    (interrupted / "step.json").write_text(json.dumps({**record, "number": 4, "status": "running", "novel": 1}))
    before = snapshot(folder)
    data = read_session(folder, "s")
    assert snapshot(folder) == before
    assert [s["status"] for s in data["steps"]] == ["committed", "rejected", "undone", "running"]
    assert data["head"] == 1 and data["steps"][3]["extra"] == {"novel": 1}
    assert data["steps"][2]["head_box"] is None  # an undone tile is not on the current canvas


def whole_canvas(api: ViewerApi, session_id: str, step: int, size) -> np.ndarray:
    """The whole canvas after `step` as the viewer serves it (its deep zoom's full-size level)."""
    info = json.loads(api.handle(f"api/sessions/{session_id}/canvas", {"step": str(step)}).body)
    assert [info["width"], info["height"]] == list(size), info
    reply = api.handle(f"crop/{session_id}", {"step": str(step), "box": f"0,0,{size[0]},{size[1]}"})
    assert reply.status == 200, reply.body
    return decode_image_bytes(reply.body)


@pytest.mark.parametrize("directions", [["x_ltr"] * 4, ["y_btt", "x_rtl", "y_ttb", "x_ltr"]])
def test_a_head_without_a_whole_canvas_is_rendered_without_writing(tmp_path, directions):
    folder = make_long_session(tmp_path / "s", directions)
    assert not list((folder / "canvas").glob("*.png"))  # as during a run, or after a crash
    before = snapshot(folder)
    data = read_session(folder, "s")
    assert data["head"] == 4 and data["canvas"]["file"] is None and data["canvas"]["rendered"] is True
    api = ViewerApi([folder])
    try:
        shown = whole_canvas(api, "s", 4, data["size"])
        with Session.open(folder, write=False) as reader:
            assert np.array_equal(shown, reader.canvas())
        assert api.handle("tiles/s/0/0_0.jpg", {"step": "4"}).status == 200
        # any committed step's canvas, by the same path: step 2's is step 3's canvas_before crop's source
        record = json.loads((folder / "steps" / "0003" / "step.json").read_text())
        x, y, w, h = record["crops"]["canvas_before"]
        crop = decode_image_bytes((folder / "steps" / "0003" / "canvas_before.png").read_bytes())
        assert np.array_equal(whole_canvas(api, "s", 2, record["size_before"])[y : y + h, x : x + w], crop)
        assert api.handle("api/sessions/s/canvas", {"step": "9"}).status == 404
        assert api.handle("api/sessions/s/canvas", {"step": "x"}).status == 404
        scratch = api.canvases._root
        assert scratch is not None and list(scratch.rglob("0.npy"))  # rendered into the viewer's own folder
    finally:
        api.close()
    assert snapshot(folder) == before  # nothing written into the session
    assert not scratch.exists()  # and the viewer's folder is gone when it stops


def test_a_whole_canvas_on_disk_is_served_and_a_damaged_one_is_rendered(tmp_path):
    folder = make_session(tmp_path / "s")
    with Session.open(folder, write=False) as reader:
        expected = reader.canvas()
    api = ViewerApi([folder])
    try:
        assert np.array_equal(whole_canvas(api, "s", 3, [556, 256]), expected)
    finally:
        api.close()
    checkpoint = folder / "canvas" / "0003.png"
    image = np.array(decode_image_bytes(checkpoint.read_bytes()))
    image[:, :10] = 0
    checkpoint.write_bytes(png_bytes(image))  # damaged: its checksum no longer matches
    before = snapshot(folder)
    api = ViewerApi([folder])
    try:
        assert np.array_equal(whole_canvas(api, "s", 3, [556, 256]), expected)
    finally:
        api.close()
    assert snapshot(folder) == before


def test_a_session_made_before_crops_has_whole_step_canvases(tmp_path):
    """Steps without `crops` hold whole canvases in canvas_before/after.png: their box is everything."""
    folder = make_session(tmp_path / "s")
    with Session.open(folder, write=False) as reader:
        head = reader.canvas()
    step3 = folder / "steps" / "0003"
    for name in ("step.json", "committed.ok"):
        record = json.loads((step3 / name).read_text())
        record.pop("crops")
        (step3 / name).write_text(json.dumps(record))
    write_png(step3 / "canvas_after.png", head)
    for path in [*step3.glob("*.sha256"), *(folder / "canvas").glob("*")]:
        path.unlink()
    data = read_session(folder, "s")
    assert data["steps"][2]["images"]["canvas_after"]["box"] == [0, 0, 556, 256]
    assert data["canvas"]["file"] == "steps/0003/canvas_after.png"
    api = ViewerApi([folder])
    try:
        assert np.array_equal(whole_canvas(api, "s", 3, [556, 256]), head)
    finally:
        api.close()


def test_many_tile_frontiers_and_unknown_files_pass_through(tmp_path):
    folder = make_session(tmp_path / "s")
    tile_dir = folder / "steps" / "0003" / "tiles" / "1"
    tile_dir.mkdir(parents=True)
    write_png(tile_dir / "reference.png", np.zeros((8, 8, 3), np.uint8))
    (tile_dir / "position.json").write_text(json.dumps({"x": 5, "y": 6}))
    write_png(folder / "steps" / "0003" / "overlap_heatmap.png", np.zeros((4, 4), np.uint8))
    step = read_session(folder, "s")["steps"][2]
    assert step["tiles"] == [
        {
            "index": "1",
            "position": {"x": 5, "y": 6},
            "images": {"reference": {"url": step["tiles"][0]["images"]["reference"]["url"], "width": 8, "height": 8}},
        }
    ]
    assert "overlap_heatmap" in step["images"]


def test_stamp_changes_when_a_step_lands(tmp_path):
    folder = make_session(tmp_path / "s")
    first = stamp(folder)
    assert stamp(folder) == first
    with Session.open(folder) as session:
        session.step(StepSettings(prompt="again", seed=9), MockGenerator())
    assert stamp(folder) != first


def test_list_sessions_takes_a_session_or_a_folder_of_them(tmp_path):
    make_session(tmp_path / "a")
    (tmp_path / "not-a-session").mkdir()
    assert list(list_sessions(tmp_path)) == ["a"]
    assert list(list_sessions(tmp_path / "a")) == ["a"]


def test_pyramid_tiles_and_crops_are_the_canvas(tmp_path):
    rows, cols = np.mgrid[0:300, 0:700]
    ruler = np.dstack([cols % 256, rows % 256, (cols // 256) * 60]).astype(np.uint8)
    write_png(tmp_path / "r.png", ruler)
    (tmp_path / "cache").mkdir()
    pyramid = Pyramid(tmp_path / "r.png", tmp_path / "cache")
    top = pyramid.max_level
    assert top == max_level(700, 300) == 10
    crop = decode_image_bytes(pyramid.crop((650, 280, 100, 100)))
    assert crop.shape == (20, 50, 3) and np.array_equal(crop, ruler[280:, 650:])  # clipped, exact
    tile = np.asarray(Image.open(BytesIO(pyramid.tile(top, 2, 1))))
    assert tile.shape == (300 - TILE_SIZE, 700 - 2 * TILE_SIZE, 3)
    assert np.abs(tile.astype(int) - ruler[256:, 512:]).mean() < 3  # JPEG of the right pixels
    half = pyramid.level(1)
    assert half.shape == (150, 350, 3) and abs(int(half[10, 100, 0]) - 200.5) <= 1  # mean of 200 and 201
    assert pyramid.level(top).shape[:2] == (1, 1)
    with pytest.raises(InputError):
        pyramid.tile(top, 3, 0)


# ---- the HTTP server ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("served")
    make_session(tmp_path / "sessions" / "s")
    (tmp_path / "secret.png").write_bytes(b"TOP-SECRET-CONTENT")
    os.symlink(tmp_path / "secret.png", tmp_path / "sessions" / "s" / "steps" / "0001" / "escape.png")
    srv = serve([tmp_path / "sessions"])
    srv.start()
    yield srv
    srv.stop()


def get(srv, path, host=None, origin=None, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.putrequest(method, path, skip_host=True)
    conn.putheader("Host", host or f"127.0.0.1:{srv.port}")
    if origin:
        conn.putheader("Origin", origin)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def test_server_serves_the_session_json_page_and_files(server):
    status, body = get(server, "/api/sessions")
    assert status == 200 and [s["id"] for s in json.loads(body)["sessions"]] == ["s"]
    status, body = get(server, "/api/sessions/s")
    data = json.loads(body)
    assert status == 200 and data["steps"][1]["reason"] == REASON
    status, body = get(server, "/" + data["steps"][0]["images"]["mask"]["url"])
    assert status == 200 and body.startswith(b"\x89PNG")
    assert get(server, "/")[1].startswith(b"<!doctype html>")
    assert get(server, "/static/vendor/openseadragon/LICENSE.txt")[0] == 200
    assert get(server, "/", host=f"localhost:{server.port}")[0] == 200


@pytest.mark.parametrize(
    "path",
    [
        "/files/s/../../secret.png",
        "/files/s/%2e%2e/%2e%2e/secret.png",
        "/files/s//etc/passwd",
        "/files/s/steps/0001/escape.png",
        "/files/s/.lock",
        "/files/s/steps/0001/prompt.txt/../../../../secret.png",
        "/static/../shared_core/paths.py",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/files/s/steps/0001/step.py",
        "/tiles/s/10/0_0.jpg?file=../../secret.png",
        "/crop/s?file=/etc/passwd&box=0,0,1,1",
    ],
)
def test_server_refuses_paths_outside_the_session(server, path):
    status, body = get(server, path)
    assert status in (403, 404) and b"TOP-SECRET" not in body


def test_server_refuses_foreign_hosts_origins_and_writes(server):
    assert get(server, "/api/sessions", host="evil.example:80")[0] == 403
    assert get(server, "/api/sessions", host=f"evil.example:{server.port}")[0] == 403
    assert get(server, "/api/sessions", origin="http://evil.example")[0] == 403
    assert get(server, "/api/sessions", origin=f"http://localhost:{server.port}")[0] == 200
    assert get(server, "/api/sessions", method="POST")[0] == 405
    assert get(server, "/api/sessions/nope")[0] == 404


def test_exquisite_view_prints_its_url_and_serves(tmp_path):
    make_session(tmp_path / "s")
    process = subprocess.Popen(
        [sys.executable, "-m", "exquisite.shared_core.cli", "view", str(tmp_path), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert "1 session(s) under" in line and "http://127.0.0.1:" in line, line
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/sessions/s")
        assert json.loads(conn.getresponse().read())["head"] == 3
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_exquisite_view_says_when_its_port_is_taken(tmp_path, capsys):
    from exquisite.shared_core.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["view", str(tmp_path), "--port", str(port), "--no-browser"]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_exquisite_view_refuses_a_missing_folder(tmp_path, capsys):
    from exquisite.shared_core.cli import main

    assert main(["view", str(tmp_path / "missing"), "--no-browser"]) == 2
    assert "is not a folder" in capsys.readouterr().err
