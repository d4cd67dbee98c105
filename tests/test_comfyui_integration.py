"""The nodes inside a real ComfyUI: loaded, listed, and running workflow 1's API twin.

Runs only when COMFYUI_ROOT points at a ComfyUI checkout (the folder with main.py). The test starts
its OWN ComfyUI on a free 127.0.0.1 port with --base-directory in a temporary folder whose
custom_nodes/ holds a symlink to this repository, so the checkout's own custom_nodes, models,
input and output are not touched. Interpreter: COMFYUI_PYTHON, else a venv next to or inside the
checkout (../comfyvenv, venv, .venv), else this Python. It must have ComfyUI's requirements.

Last run against ComfyUI 0.3.64 (Comfy-Org/ComfyUI a125cd84, frontend 1.27.10) on torch 2.13.0+cpu. The only
torchvision wheel pip offers there (0.28.0) is a CUDA build whose ops library cannot load next to a CPU torch,
and its import then fails on "operator torchvision::nms does not exist"; declaring the nms/qnms op schemas
before torchvision is imported (a .pth hook in ComfyUI's venv, no kernels) lets ComfyUI start.
"""

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
OUR_NODES = {
    "ExquisiteBandExtract": "Band Extract (exquisite)",
    "ExquisiteReferenceMask": "Reference Mask (exquisite)",
    "ExquisiteGenerateTile": "Generate Tile (exquisite)",
    "ExquisiteFeatherGlue": "Feather Glue (exquisite)",
}
OFFLINE = "Extend 1 step offline"
GROW_DOWN = "Grow a full photo down"
TEMPLATES = {OFFLINE, "Extend 3 steps with SDXL", "Extend 1 step with OpenAI", GROW_DOWN}
STARTUP_TIMEOUT_S = 180
RUN_TIMEOUT_S = 300


def comfyui_root() -> Path:
    root = os.environ.get("COMFYUI_ROOT")
    if not root:
        pytest.skip("set COMFYUI_ROOT to a ComfyUI checkout (the folder with main.py) to run the integration test")
    root = Path(root)
    if not (root / "main.py").is_file():
        pytest.skip(f"COMFYUI_ROOT={root} has no main.py: point it at a ComfyUI checkout")
    return root


def comfyui_python(root: Path) -> str:
    if os.environ.get("COMFYUI_PYTHON"):
        return os.environ["COMFYUI_PYTHON"]
    for venv in (root.parent / "comfyvenv", root / "venv", root / ".venv"):
        if (venv / "bin" / "python").exists():
            return str(venv / "bin" / "python")
    return sys.executable


def frontend_option() -> list[str]:
    """COMFYUI_FRONTEND_ROOT: a comfyui-frontend-package's static folder to serve instead of the pinned one."""
    root = os.environ.get("COMFYUI_FRONTEND_ROOT")
    return ["--front-end-root", root] if root else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ComfyUI:
    """A ComfyUI process of our own, talked to over HTTP."""

    def __init__(self, root: Path, base: Path) -> None:
        (base / "custom_nodes").mkdir(parents=True)
        (base / "custom_nodes" / "exquisite").symlink_to(REPO, target_is_directory=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "comfyui.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [
                comfyui_python(root),
                "main.py",
                "--cpu",
                "--listen",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--base-directory",
                str(base),
                "--disable-auto-launch",
                *frontend_option(),
            ],
            cwd=root,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"ComfyUI exited with {self.process.returncode} during startup:\n{self.log()}")
            try:
                self.get("/queue")
                return
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"ComfyUI did not answer within {STARTUP_TIMEOUT_S} s:\n{self.log()}")
                time.sleep(1)

    def log(self) -> str:
        return self.log_path.read_text()[-4000:]

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            body = response.read()
            return json.loads(body) if response.headers.get_content_type() == "application/json" else body

    def post_json(self, path: str, data: dict):
        request = urllib.request.Request(
            self.url + path, json.dumps(data).encode(), {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def upload_png(self, name: str, image: np.ndarray) -> str:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "PNG")
        boundary = uuid.uuid4().hex
        body = (
            (
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{name}\"\r\n"
                f"Content-Type: image/png\r\n\r\n"
            ).encode()
            + buffer.getvalue()
            + (
                f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"overwrite\"\r\n\r\ntrue\r\n"
                f"--{boundary}--\r\n"
            ).encode()
        )
        request = urllib.request.Request(
            self.url + "/upload/image", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["name"]

    def run(self, prompt: dict) -> dict:
        status, answer = self.post_json("/prompt", {"prompt": prompt, "client_id": uuid.uuid4().hex})
        assert status == 200, f"POST /prompt refused the workflow: {json.dumps(answer)[:2000]}"
        prompt_id = answer["prompt_id"]
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            history = self.get(f"/history/{prompt_id}")
            if prompt_id in history and history[prompt_id]["status"].get("completed") is not None:
                entry = history[prompt_id]
                if entry["status"]["status_str"] == "success":
                    return entry
                pytest.fail(f"the workflow failed: {json.dumps(entry['status'])[:3000]}")
            time.sleep(0.5)
        pytest.fail(f"the workflow did not finish within {RUN_TIMEOUT_S} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="module")
def comfyui(tmp_path_factory):
    root = comfyui_root()
    server = ComfyUI(root, tmp_path_factory.mktemp("comfyui_base"))
    yield server
    server.stop()


def test_object_info_lists_the_four_nodes_as_declared_and_the_templates(comfyui):
    """The V3 classes ComfyUI built from our declarations show exactly what spec.object_info says
    (which the workflows and tests/test_workflows.py rely on)."""
    from exquisite.nodes import SPECS

    info = comfyui.get("/object_info")
    for node_id, display_name in OUR_NODES.items():
        assert node_id in info, f"{node_id} is not loaded; ComfyUI log:\n{comfyui.log()}"
        assert info[node_id]["display_name"] == display_name
        assert info[node_id]["python_module"] == "custom_nodes.exquisite"  # where the frontend finds the docs
        declared = SPECS[node_id].object_info()
        assert {key: info[node_id][key] for key in declared} == declared
    backends = info["ExquisiteGenerateTile"]["input"]["required"]["backend"][1]["options"]
    assert {"mock", "local"} <= set(backends)
    templates = comfyui.get("/api/workflow_templates")
    assert set(templates.get("exquisite", [])) >= TEMPLATES


def test_each_node_has_its_help_page_where_the_frontend_looks(comfyui):
    """The frontend asks /extensions/<pack>/docs/<node id>/<locale>.md first, then <node id>.md."""
    for node_id, display_name in OUR_NODES.items():
        page = comfyui.get(f"/extensions/exquisite/docs/{node_id}/en.md")
        assert page.decode().startswith(f"# {display_name}\n")


def test_workflow_1_api_twin_runs_and_saves_the_grown_canvas(comfyui):
    rng = np.random.default_rng(0)
    # 600x800 scales to exactly 768x1024 in the workflow's Upscale Image (height 1024, width 0).
    rows = np.linspace(40, 220, 800)[:, None, None]
    source = np.clip(rows + rng.normal(0, 12, (800, 600, 3)), 0, 255).astype(np.uint8)
    name = comfyui.upload_png(f"exquisite_it_{uuid.uuid4().hex[:8]}.png", source)
    prompt = json.loads((REPO / "workflows" / "api" / f"{OFFLINE}.json").read_text())
    [load] = [n for n in prompt.values() if n["class_type"] == "LoadImage"]
    load["inputs"]["image"] = name
    [(save_id, save)] = [(k, n) for k, n in prompt.items() if n["class_type"] == "SaveImage"]
    save["inputs"]["filename_prefix"] = "exquisite_it/step"
    started = time.monotonic()
    entry = comfyui.run(prompt)
    [image] = entry["outputs"][save_id]["images"]
    png = comfyui.get(f"/view?filename={image['filename']}&subfolder={image['subfolder']}&type={image['type']}")
    saved = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert saved.shape == (1024, 768 + 512, 3)
    new_half = saved[:, 768:].astype(np.float32)
    assert new_half.std() > 5  # generated content, not a flat fill
    print(
        f"\nworkflow 1 ran in {time.monotonic() - started:.1f} s; saved {image['filename']} {saved.shape[1]}x{saved.shape[0]}"
    )


def test_workflow_1_with_the_mock_backend_saves_exactly_the_cli_sessions_canvas(comfyui, tmp_path):
    """End to end through ComfyUI (LoadImage, Upscale Image, our nodes, SaveImage) to the pixel."""
    from exquisite.shared_core.generators import MockGenerator
    from exquisite.shared_core.session import Session, StepSettings

    rng = np.random.default_rng(1)
    source = rng.integers(0, 256, (1024, 768, 3), dtype=np.uint8)  # already 1024 high: scaling keeps it
    prompt = json.loads((REPO / "workflows" / "api" / f"{OFFLINE}.json").read_text())
    [load] = [n for n in prompt.values() if n["class_type"] == "LoadImage"]
    load["inputs"]["image"] = comfyui.upload_png("exquisite_it_mock.png", source)
    [tile] = [n for n in prompt.values() if n["class_type"] == "ExquisiteGenerateTile"]
    tile["inputs"]["backend"] = "mock"
    [(save_id, save)] = [(k, n) for k, n in prompt.items() if n["class_type"] == "SaveImage"]
    save["inputs"]["filename_prefix"] = "exquisite_it/mock"
    [image] = comfyui.run(prompt)["outputs"][save_id]["images"]
    png = comfyui.get(f"/view?filename={image['filename']}&subfolder={image['subfolder']}&type={image['type']}")
    saved = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    with Session.create(tmp_path / "session", source) as session:
        [result] = session.extend(
            StepSettings(seed=tile["inputs"]["seed"], prompt=tile["inputs"]["prompt"]), MockGenerator()
        )
        assert result.committed
        np.testing.assert_array_equal(saved, session.canvas())


def grow_down_prompt(comfyui, source: np.ndarray, backend: str, session: str | None, prefix: str):
    """The API twin of workflow 4 on `source`; session None keeps the shipped session name."""
    prompt = json.loads((REPO / "workflows" / "api" / f"{GROW_DOWN}.json").read_text())
    [load] = [n for n in prompt.values() if n["class_type"] == "LoadImage"]
    load["inputs"]["image"] = comfyui.upload_png(f"{prefix}.png", source)
    [tile] = [n for n in prompt.values() if n["class_type"] == "ExquisiteGenerateTile"]
    tile["inputs"]["backend"] = backend
    [glue] = [n for n in prompt.values() if n["class_type"] == "ExquisiteFeatherGlue"]
    if session is not None:
        glue["inputs"]["session"] = session
    [(save_id, save)] = [(k, n) for k, n in prompt.items() if n["class_type"] == "SaveImage"]
    save["inputs"]["filename_prefix"] = f"exquisite_it/{prefix}"
    return prompt, save_id


def saved_image(comfyui, entry: dict, save_id: str) -> np.ndarray:
    [image] = entry["outputs"][save_id]["images"]
    png = comfyui.get(f"/view?filename={image['filename']}&subfolder={image['subfolder']}&type={image['type']}")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_workflow_4_grows_a_full_resolution_photo_down_as_the_nodes_do_and_journals_it(comfyui):
    """A 1600x1100 photo, unscaled: its bottom edge is two tiles, grown in one queue; the saved canvas
    is what the nodes make when called directly (mock backend, to the pixel), and the glue's session
    is listed by the sidebar tab's routes with its one committed two-tile step."""
    from exquisite.nodes import SPECS
    from exquisite.nodes.tensors import images_to_uint8, uint8_to_images

    rng = np.random.default_rng(4)
    source = rng.integers(0, 256, (1100, 1600, 3), dtype=np.uint8)
    session = f"it-down-{uuid.uuid4().hex[:6]}"
    prompt, save_id = grow_down_prompt(comfyui, source, "mock", session, "down_mock")
    saved = saved_image(comfyui, comfyui.run(prompt), save_id)
    assert saved.shape == (1100 + 512, 1600, 3)
    canvas = uint8_to_images([source])
    inputs = {
        n["class_type"]: {k: v for k, v in n["inputs"].items() if not isinstance(v, list)} for n in prompt.values()
    }
    band, _, _, positions = SPECS["ExquisiteBandExtract"](canvas=canvas, **inputs["ExquisiteBandExtract"])
    reference, mask = SPECS["ExquisiteReferenceMask"](
        band=band, positions=positions, **inputs["ExquisiteReferenceMask"]
    )
    assert reference.shape[0] == 2
    (tiles,) = SPECS["ExquisiteGenerateTile"](
        reference=reference, mask=mask, positions=positions, **inputs["ExquisiteGenerateTile"]
    )
    glue_inputs = {**inputs["ExquisiteFeatherGlue"], "session": ""}
    grown, _ = SPECS["ExquisiteFeatherGlue"](canvas=canvas, tile=tiles, mask=mask, positions=positions, **glue_inputs)
    np.testing.assert_array_equal(saved, images_to_uint8(grown, "grown")[0])
    listed = comfyui.get("/exquisite/viewer/api/sessions")
    assert session in [s["name"] for s in listed["sessions"]], listed
    [sid] = [s["id"] for s in listed["sessions"] if s["name"] == session]
    viewed = comfyui.get(f"/exquisite/viewer/api/sessions/{sid}")
    [step] = viewed["steps"]
    assert step["status"] == "committed" and step["size_after"] == [1600, 1612]


def test_workflow_4_as_shipped_grows_a_photo_down_offline(comfyui):
    """The template as it ships (local backend, its session name): it runs and the new rows are not flat."""
    rows = np.linspace(40, 220, 900)[:, None, None]
    source = np.clip(rows + np.random.default_rng(5).normal(0, 12, (900, 1300, 3)), 0, 255).astype(np.uint8)
    prompt, save_id = grow_down_prompt(comfyui, source, "local", None, "down_local")
    started = time.monotonic()
    saved = saved_image(comfyui, comfyui.run(prompt), save_id)
    assert saved.shape == (900 + 512, 1300, 3)
    assert saved[900:].astype(np.float32).std() > 5
    print(f"\nworkflow 4 (2 tiles, local) ran in {time.monotonic() - started:.1f} s")


def test_same_seed_reuses_the_tile_and_a_new_seed_calls_the_backend_again(comfyui):
    """The caching rule GenerateTile documents, observed in ComfyUI's own execution_cached messages."""
    prompt = json.loads((REPO / "workflows" / "api" / f"{OFFLINE}.json").read_text())
    [load] = [n for n in prompt.values() if n["class_type"] == "LoadImage"]
    load["inputs"]["image"] = comfyui.upload_png("exquisite_it_cache.png", np.full((800, 600, 3), 90, np.uint8))
    [(tile_id, tile)] = [(k, n) for k, n in prompt.items() if n["class_type"] == "ExquisiteGenerateTile"]
    [glue] = [n for n in prompt.values() if n["class_type"] == "ExquisiteFeatherGlue"]
    tile["inputs"].update(backend="mock", seed=1234)

    def cached(entry) -> set:
        return {
            node for event, data in entry["status"]["messages"] if event == "execution_cached" for node in data["nodes"]
        }

    comfyui.run(prompt)
    glue["inputs"].update(feather="custom", feather_px=100)  # only downstream of the tile changes
    assert tile_id in cached(comfyui.run(prompt))
    tile["inputs"]["seed"] = 1235
    assert tile_id not in cached(comfyui.run(prompt))


def test_post_prompt_refuses_a_bad_choice_or_number_of_our_node_before_anything_runs(comfyui):
    prompt = json.loads((REPO / "workflows" / "api" / f"{OFFLINE}.json").read_text())
    [(glue_id, glue)] = [(k, n) for k, n in prompt.items() if n["class_type"] == "ExquisiteFeatherGlue"]
    glue["inputs"]["direction"] = "sideways"
    glue["inputs"]["feather_px"] = -1
    status, answer = comfyui.post_json("/prompt", {"prompt": prompt})
    assert status == 400
    errors = answer["node_errors"][glue_id]["errors"]
    assert any(
        e["type"] == "custom_validation_failed" and "direction 'sideways' is not one of x_ltr" in e["details"]
        for e in errors
    ), answer
    assert any(e["type"] == "value_smaller_than_min" and "feather_px" in e["details"] for e in errors), answer


def test_the_comfyui_backend_pointed_at_this_same_server_is_refused_at_once(comfyui):
    """Inside ComfyUI, a tile from `comfyui` at this server's own address would wait for itself."""
    prompt = json.loads((REPO / "workflows" / "api" / f"{OFFLINE}.json").read_text())
    [load] = [n for n in prompt.values() if n["class_type"] == "LoadImage"]
    load["inputs"]["image"] = comfyui.upload_png("exquisite_it_self.png", np.full((1024, 600, 3), 90, np.uint8))
    [tile] = [n for n in prompt.values() if n["class_type"] == "ExquisiteGenerateTile"]
    tile["inputs"].update(backend="comfyui", backend_settings=json.dumps({"server": comfyui.url}))
    status, answer = comfyui.post_json("/prompt", {"prompt": prompt, "client_id": uuid.uuid4().hex})
    assert status == 200, answer
    started = time.monotonic()
    while True:
        history = comfyui.get(f"/history/{answer['prompt_id']}")
        entry = history.get(answer["prompt_id"])
        if entry and entry["status"].get("completed") is not None:
            break
        assert time.monotonic() - started < RUN_TIMEOUT_S, "the workflow did not finish"
        time.sleep(0.5)
    assert entry["status"]["status_str"] == "error"
    [error] = [data for event, data in entry["status"]["messages"] if event == "execution_error"]
    assert "this ComfyUI server itself" in error["exception_message"], error["exception_message"]
    assert error["node_type"] == "ExquisiteGenerateTile"


# ---- the frontend in a real browser ---------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
IGNORED_CONSOLE = (
    "Failed to load resource",
    "Cannot read properties of undefined (reading 'id')",
    "Error fetching file size",
)
"""The frontend's own noise on a fresh user folder (user.css, settings files: 404), the same without our pack,
and its missing-model dialog failing to reach the SDXL download address from a machine without internet."""


@pytest.fixture(scope="module")
def page(comfyui):
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: set CHROMIUM to a Chromium binary")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1600, "height": 1000})
        tab.console = []
        tab.on("console", lambda m: m.type == "error" and tab.console.append(m.text))
        tab.on("pageerror", lambda e: tab.console.append(str(e)))
        tab.goto(comfyui.url)
        tab.wait_for_function("window.app && window.app.graph", timeout=STARTUP_TIMEOUT_S * 1000)
        tab.wait_for_timeout(3000)  # the frontend restores its last workflow after app.graph exists
        print(f"\nfrontend {tab.evaluate('() => window.__COMFYUI_FRONTEND_VERSION__')}")
        yield tab
        browser.close()


def without_titles(prompt: dict) -> dict:
    return {k: (v["class_type"], v["inputs"]) for k, v in prompt.items()}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_frontend_loads_each_template_and_sends_its_api_twin(page, name):
    """No missing node, no console error, and graphToPrompt (what the Run button sends) equals the
    API twin, subgraph boxes flattened the frontend's way."""
    workflow = json.loads((REPO / "workflows" / f"{name}.json").read_text())
    page.console.clear()
    page.evaluate("wf => app.loadGraphData(wf)", workflow)
    page.wait_for_function("n => app.graph.nodes.length === n", arg=len(workflow["nodes"]))
    page.wait_for_timeout(1000)
    missing = page.evaluate(
        """wf => { const subs = new Set((wf.definitions?.subgraphs || []).map(s => s.id));
        const nodes = [...wf.nodes, ...(wf.definitions?.subgraphs || []).flatMap(s => s.nodes)];
        return [...new Set(nodes.map(n => n.type))].filter(t => !subs.has(t) && !LiteGraph.registered_node_types[t]); }""",
        workflow,
    )
    assert missing == []
    sent = json.loads(page.evaluate("async () => JSON.stringify((await app.graphToPrompt()).output)"))
    twin = json.loads((REPO / "workflows" / "api" / f"{name}.json").read_text())
    assert without_titles(sent) == without_titles(twin)
    assert [e for e in page.console if not e.startswith(IGNORED_CONSOLE)] == []
    for _ in range(2):  # close the missing-model dialog of the checkpoint template
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)


def test_the_template_browser_titles_the_cards_with_the_template_names(page):
    page.evaluate("app.extensionManager.command.execute('Comfy.BrowseTemplates')")
    dialog = page.get_by_role("dialog")  # the sidebar's own "exquisite" tab is not the template category
    dialog.get_by_text("exquisite", exact=True).first.click()
    for name in TEMPLATES:
        dialog.get_by_text(name, exact=True).first.wait_for(timeout=10_000)
    page.keyboard.press("Escape")
