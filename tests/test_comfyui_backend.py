"""The comfyui backend against a fake ComfyUI on 127.0.0.1 (and a real one when COMFYUI_ROOT is set).

The fake speaks the endpoints the backend uses: POST /upload/image, POST /prompt, GET /history/{id},
GET /queue, GET /view, POST /queue (delete), POST /interrupt. It "runs" a workflow by reading the
uploaded RGBA PNG the way LoadImage does (mask = 1 - alpha/255) and painting the free pixels, so the
tile that comes back depends on the reference and the mask that went up.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from exquisite.shared_core.backends import comfyui_backend
from fake_http import LocalServer, QuietHandler, parse_multipart
from exquisite.shared_core.errors import InputError
from exquisite.shared_core.generators import TileRequest, make_generator
from exquisite.shared_core.geometry import Contract
from exquisite.shared_core.mask import generation_mask_for
from exquisite.shared_core.session import Session, StepSettings

SMALL = Contract(tile=64, band=32, overlap=32, advance=32)
PAINT = np.array([250, 20, 200], np.float64)


def run_like_comfy(uploaded_png: bytes, out_size: int | None = None) -> bytes:
    """What a well-behaved inpainting workflow returns: the free pixels painted PAINT."""
    rgba = np.asarray(Image.open(io.BytesIO(uploaded_png)))
    mask = 1.0 - rgba[:, :, 3:4] / 255.0
    out = np.clip(np.rint(rgba[:, :, :3] * (1 - mask) + PAINT * mask), 0, 255).astype(np.uint8)
    if out_size is not None:
        out = out[:out_size, :out_size]
    buffer = io.BytesIO()
    Image.fromarray(out).save(buffer, format="PNG")
    return buffer.getvalue()


class FakeComfy(LocalServer):
    """mode: finish | never | invalid | error | wrong_size."""

    def __init__(self, mode: str = "finish", polls_before_done: int = 2):
        self.mode = mode
        self.polls_before_done = polls_before_done
        self.calls: list[tuple[str, str]] = []
        self.uploads: dict[str, bytes] = {}
        self.prompts: dict[str, dict] = {}
        self.deleted: list[str] = []
        self.interrupted: list[str] = []
        self.polls = 0
        self.outputs: dict[str, bytes] = {}
        fake = self

        class Handler(QuietHandler):
            def _send(self, status: int, payload, content_type="application/json"):
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_POST(self):
                fake.calls.append(("POST", self.path))
                body = self._body()
                if self.path == "/upload/image":
                    form, filenames = parse_multipart(self.headers["Content-Type"], body)
                    name, data = filenames["image"], form["image"]
                    fake.uploads[f"{form['subfolder']}/{name}"] = data
                    return self._send(200, {"name": name, "subfolder": form["subfolder"], "type": form["type"]})
                payload = json.loads(body or b"{}")
                if self.path == "/prompt":
                    return self._send(*fake.queue_prompt(payload["prompt"]))
                if self.path == "/queue":
                    fake.deleted += payload.get("delete", [])
                    return self._send(200, b"", "text/plain")
                if self.path == "/interrupt":
                    fake.interrupted.append(payload.get("prompt_id"))
                    return self._send(200, b"", "text/plain")
                self._send(404, b"", "text/plain")

            def do_GET(self):
                fake.calls.append(("GET", self.path))
                url = urllib.parse.urlsplit(self.path)
                if url.path.startswith("/history/"):
                    return self._send(200, fake.history(url.path.rsplit("/", 1)[1]))
                if url.path == "/queue":
                    running = [[0, pid, {}, {}, []] for pid in fake.prompts if pid not in fake.deleted]
                    return self._send(200, {"queue_running": running, "queue_pending": []})
                if url.path == "/view":
                    query = urllib.parse.parse_qs(url.query)
                    return self._send(200, fake.outputs[query["filename"][0]], "image/png")
                self._send(404, b"", "text/plain")

        super().__init__(Handler)

    def queue_prompt(self, prompt: dict):
        if self.mode == "invalid":
            return 400, {
                "error": {
                    "type": "prompt_outputs_failed_validation",
                    "message": "Prompt outputs failed validation",
                    "details": "",
                    "extra_info": {},
                },
                "node_errors": {
                    "1": {
                        "class_type": "CheckpointLoaderSimple",
                        "dependent_outputs": ["9"],
                        "errors": [
                            {
                                "type": "value_not_in_list",
                                "message": "Value not in list",
                                "details": "ckpt_name: 'missing.safetensors' not in ['a.safetensors']",
                                "extra_info": {},
                            }
                        ],
                    }
                },
            }
        prompt_id = f"p{len(self.prompts) + 1}"
        self.prompts[prompt_id] = prompt
        return 200, {"prompt_id": prompt_id, "number": len(self.prompts), "node_errors": {}}

    def history(self, prompt_id: str) -> dict:
        self.polls += 1
        if self.mode == "never" or self.polls <= self.polls_before_done:
            return {}
        prompt = self.prompts[prompt_id]
        if self.mode == "error":
            status = {
                "status_str": "error",
                "completed": False,
                "messages": [
                    ["execution_start", {"prompt_id": prompt_id}],
                    [
                        "execution_error",
                        {
                            "prompt_id": prompt_id,
                            "node_id": "7",
                            "node_type": "KSampler",
                            "exception_type": "torch.OutOfMemoryError",
                            "exception_message": "CUDA out of memory. Tried to allocate 2.00 GiB",
                        },
                    ],
                ],
            }
            return {prompt_id: {"prompt": [], "outputs": {}, "status": status}}
        loader = next(n for n in prompt.values() if n["class_type"] == "LoadImage")
        uploaded = self.uploads[loader["inputs"]["image"]]
        name = f"tile_{prompt_id}.png"
        self.outputs[name] = run_like_comfy(uploaded, 48 if self.mode == "wrong_size" else None)
        output_id = next(i for i, n in prompt.items() if n["class_type"] == "SaveImage")
        return {
            prompt_id: {
                "prompt": [],
                "status": {"status_str": "success", "completed": True, "messages": []},
                "outputs": {output_id: {"images": [{"filename": name, "subfolder": "exquisite", "type": "output"}]}},
            }
        }

    @property
    def url(self) -> str:
        return self.origin


def ruler(height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.dstack([(xx * 7) % 256, (yy * 5) % 256, ((xx // 4 + yy // 4) % 2) * 200]).astype(np.uint8)


def write_workflow(tmp_path: Path, workflow: dict, name: str = "wf.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(workflow))
    return path


def shipped() -> dict:
    return json.loads(comfyui_backend.DEFAULT_WORKFLOW.read_text())


# ---- the workflow, checked before anything is sent -------------------------------------------


def test_shipped_workflow_nodes_are_found_by_title_and_by_class():
    workflow = shipped()
    expected = comfyui_backend.WorkflowNodes("2", "9", "3", "4", ("7",))
    assert comfyui_backend.find_nodes(workflow) == expected
    for node in workflow.values():  # the same nodes without titles: class_type and links decide
        node.pop("_meta", None)
    assert comfyui_backend.find_nodes(workflow) == expected
    assert workflow["5"]["class_type"] == "InpaintModelConditioning" and workflow["5"]["inputs"]["noise_mask"] is True
    assert workflow["5"]["inputs"]["mask"] == ["2", 1]  # LoadImage's MASK = 1 - alpha = our freedom
    assert workflow["7"]["inputs"]["model"] == ["6", 0] and workflow["6"]["class_type"] == "DifferentialDiffusion"


def test_default_workflow_is_found_through_the_package():
    assert comfyui_backend.DEFAULT_WORKFLOW.is_file()
    assert make_generator("comfyui").workflow_path == comfyui_backend.DEFAULT_WORKFLOW


@pytest.mark.parametrize(
    "change,message",
    [
        (
            lambda w: (
                w.update({"10": {"class_type": "LoadImage", "inputs": {"image": "b.png"}}})
                or [n.pop("_meta", None) for n in w.values()]
            ),
            "several candidates for the reference node",
        ),
        (lambda w: w.pop("2") and [n.pop("_meta", None) for n in w.values()], "no reference node"),
        (lambda w: w.pop("9"), "no output node"),
        (lambda w: w["2"]["inputs"].pop("image"), "no `image` input"),
    ],
)
def test_workflows_that_do_not_fit_are_refused(change, message, tmp_path):
    workflow = shipped()
    change(workflow)
    with FakeComfy() as fake:
        with pytest.raises(InputError, match=message):
            make_generator("comfyui", server=fake.url, workflow=write_workflow(tmp_path, workflow))
    assert fake.calls == []


def test_a_title_settles_which_node_is_meant(tmp_path):
    workflow = shipped()
    workflow["10"] = {"class_type": "LoadImage", "inputs": {"image": "other.png"}}
    assert comfyui_backend.find_nodes(workflow).reference == "2"


def test_ui_format_and_bad_settings_are_refused(tmp_path):
    ui = write_workflow(tmp_path, {"last_node_id": 3, "nodes": [], "links": [], "version": 0.4}, "ui.json")
    with pytest.raises(InputError, match="Export \\(API\\)"):
        make_generator("comfyui", workflow=ui)
    with pytest.raises(InputError, match="no workflow file"):
        make_generator("comfyui", workflow=tmp_path / "absent.json")
    with pytest.raises(InputError, match="no setting colour"):
        make_generator("comfyui", colour="red")
    with pytest.raises(InputError, match="server must be an http"):
        make_generator("comfyui", server="ftp://box")
    passthrough = write_workflow(
        tmp_path,
        {
            "1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}},
        },
    )
    with pytest.raises(InputError, match="steps: no seed node"):
        make_generator("comfyui", workflow=passthrough, steps=20)


def test_settings_are_written_into_the_workflow():
    generator = make_generator(
        "comfyui", checkpoint="my-inpaint.safetensors", steps=12, cfg=4.5, negative_prompt="people"
    )
    assert generator.workflow["1"]["inputs"]["ckpt_name"] == "my-inpaint.safetensors"
    assert generator.workflow["7"]["inputs"]["steps"] == 12 and generator.workflow["7"]["inputs"]["cfg"] == 4.5
    assert generator.workflow["4"]["inputs"]["text"] == "people"
    assert shipped()["7"]["inputs"]["steps"] == 30  # the shipped file is not changed


# ---- one step through a session ----------------------------------------------------------------


def step(tmp_path, fake: FakeComfy, **settings):
    canvas = ruler(64, 64)
    generator = make_generator("comfyui", server=fake.url, poll_interval=0.02, **settings)
    progress = []
    with Session.create(tmp_path / "s", canvas, SMALL, direction="y_btt") as session:
        result = session.step(
            StepSettings(direction="up", prompt="a cliff", seed=41), generator, lambda f, m: progress.append((f, m))
        )
        after = session.canvas()
    return canvas, after, result, progress


def test_success_uploads_one_rgba_fills_prompt_and_seed_and_glues_the_tile(tmp_path):
    with FakeComfy(polls_before_done=2) as fake:
        canvas, after, result, progress = step(tmp_path, fake, steps=9)
    assert result.committed, result.reason
    ((path, uploaded),) = fake.uploads.items()
    assert path.startswith("exquisite/exquisite-")
    rgba = np.asarray(Image.open(io.BytesIO(uploaded)))
    folder = tmp_path / "s" / "steps" / "0001"
    reference = np.asarray(Image.open(folder / "reference.png"))
    mask = generation_mask_for("y_btt", SMALL)
    assert np.array_equal(rgba[:, :, :3], reference)
    assert np.array_equal(rgba[:, :, 3], np.rint(255 * (1 - mask)).astype(np.uint8))
    (prompt,) = fake.prompts.values()
    assert prompt["2"]["inputs"]["image"] == path
    assert prompt["3"]["inputs"]["text"] == "a cliff"
    assert prompt["7"]["inputs"]["seed"] == 41 and prompt["7"]["inputs"]["steps"] == 9
    tile = np.asarray(Image.open(folder / "tile_full.png"))
    assert np.array_equal(tile, np.asarray(Image.open(io.BytesIO(run_like_comfy(uploaded)))))
    assert after.shape == (96, 64, 3)
    assert not np.array_equal(after[:32], canvas[:32])  # the canvas grew upwards by the new rows
    assert np.array_equal(after[64:], canvas[32:])  # rows the tile never covers stay bit-identical
    assert progress[-1][0] == 1.0 and any("running" in m for _, m in progress)
    assert fake.deleted == [] and fake.interrupted == []


def test_validation_error_is_the_rejection_in_comfyuis_words(tmp_path):
    with FakeComfy("invalid") as fake:
        canvas, after, result, _ = step(tmp_path, fake)
    assert not result.committed
    expected = (
        "ComfyUI refused the workflow: node 1 (CheckpointLoaderSimple): Value not in list: "
        "ckpt_name: 'missing.safetensors' not in ['a.safetensors']"
    )
    assert result.reason == expected
    assert (tmp_path / "s" / "steps" / "0001" / "rejected.err").read_text().strip() == expected
    assert np.array_equal(after, canvas)


def test_a_server_that_never_finishes_is_cancelled_at_the_time_limit(tmp_path):
    with FakeComfy("never") as fake:
        canvas, after, result, progress = step(tmp_path, fake, timeout=0.3)
    assert not result.committed
    assert "did not finish within 0.3 s (running); the prompt was cancelled" in result.reason
    assert fake.deleted == ["p1"] and fake.interrupted == ["p1"]
    assert np.array_equal(after, canvas)
    assert ("GET", "/view") not in [(m, p.split("?")[0]) for m, p in fake.calls]


def test_execution_error_names_the_node_and_the_exception(tmp_path):
    with FakeComfy("error") as fake:
        canvas, after, result, _ = step(tmp_path, fake)
    assert not result.committed
    assert "node 7 (KSampler) failed: torch.OutOfMemoryError: CUDA out of memory" in result.reason
    assert np.array_equal(after, canvas)


def test_wrong_sized_output_is_rejected(tmp_path):
    with FakeComfy("wrong_size") as fake:
        canvas, after, result, _ = step(tmp_path, fake)
    assert not result.committed and "made a 48x48 image but the tile is 64x64" in result.reason
    assert np.array_equal(after, canvas)


def test_unreachable_server_is_a_rejection_without_credentials(tmp_path):
    with FakeComfy() as fake:
        port = fake.server.server_address[1]
    generator = make_generator("comfyui", server=f"http://alice:s3cret@127.0.0.1:{port}", request_timeout=2)
    with Session.create(tmp_path / "s", ruler(64, 64), SMALL) as session:
        result = session.step(StepSettings(), generator)
    assert not result.committed
    assert f"cannot reach ComfyUI at http://127.0.0.1:{port}" in result.reason
    assert "s3cret" not in result.reason and "alice" not in result.reason


# ---- a real ComfyUI ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_comfy(tmp_path_factory):
    root = os.environ.get("COMFYUI_ROOT")
    if not root:
        pytest.skip("set COMFYUI_ROOT to a ComfyUI checkout (and COMFYUI_PYTHON to its python) to run this")
    python = os.environ.get("COMFYUI_PYTHON", sys.executable)
    base = tmp_path_factory.mktemp("comfy-base")
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(base / "comfyui.log", "w")
    process = subprocess.Popen(
        [
            python,
            "main.py",
            "--cpu",
            "--listen",
            "127.0.0.1",
            "--port",
            str(port),
            "--base-directory",
            str(base),
            "--disable-all-custom-nodes",
            "--database-url",
            "sqlite:///:memory:",
        ],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if process.poll() is not None:
                pytest.fail(f"ComfyUI exited early; see {base / 'comfyui.log'}")
            try:
                urllib.request.urlopen(url + "/queue", timeout=1).read()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"ComfyUI did not start within 120 s; see {base / 'comfyui.log'}")
        yield url
    finally:
        process.terminate()
        process.wait(30)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def test_real_comfyui_load_image_gives_back_our_reference_and_mask(real_comfy, tmp_path):
    reference = ruler(64, 64)
    mask = generation_mask_for("x_ltr", SMALL, ramp_start=8, ramp_end=32)
    passthrough = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "exq/i"}},
    }
    as_image = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
        "3": {"class_type": "MaskToImage", "inputs": {"mask": ["1", 1]}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "exq/m"}},
    }
    request = TileRequest(reference, mask, "", 0)
    image = make_generator(
        "comfyui", server=real_comfy, workflow=write_workflow(tmp_path, passthrough, "i.json"), timeout=60
    ).generate(request)
    assert np.array_equal(image, reference)
    mask_image = make_generator(
        "comfyui", server=real_comfy, workflow=write_workflow(tmp_path, as_image, "m.json"), timeout=60
    ).generate(request)
    # SaveImage truncates 255 * mask to uint8, so one level of difference is ComfyUI's rounding, not ours
    assert np.abs(mask_image[:, :, 0].astype(int) - np.rint(255 * mask)).max() <= 1


def test_real_comfyui_refuses_a_missing_checkpoint_in_its_own_words(real_comfy):
    generator = make_generator("comfyui", server=real_comfy, checkpoint="no-such-model.safetensors", timeout=60)
    with pytest.raises(comfyui_backend.GenerationError) as refused:
        generator.generate(TileRequest(ruler(64, 64), generation_mask_for("x_ltr", SMALL), "sea", 1))
    assert (
        "ComfyUI refused the workflow: node 1 (CheckpointLoaderSimple): Value not in list: ckpt_name: "
        "'no-such-model.safetensors' not in"
    ) in str(refused.value)
