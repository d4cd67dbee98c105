"""The "comfyui" backend: one tile from a ComfyUI server (e.g. a GPU box) over its HTTP API.

A step: the reference tile and the freedom map go up as ONE RGBA PNG (POST /upload/image; alpha =
255 * (1 - freedom), so ComfyUI's LoadImage, which builds its MASK as 1 - alpha, gives back exactly
our map to 1/255); the API-format workflow gets that file name, the prompt and the seed; POST
/prompt queues it; GET /history/{id} is polled until it is done (progress is reported, and at the
time limit the prompt is cancelled with POST /queue delete + POST /interrupt); GET /view downloads
the output image, which must be the tile's size.

How the workflow's nodes are found. A node may be marked by its title (`_meta.title`, set in the
ComfyUI editor with "Title"); otherwise its class_type decides. All of this is checked when the
backend is built, so a workflow that does not fit is refused before anything is sent:

    reference  title "exquisite reference", else the only LoadImage      (its `image` is set)
    output     title "exquisite output", else the only SaveImage or PreviewImage (first image taken)
    prompt     title "exquisite prompt", else the only CLIPTextEncode feeding an input named `positive`
    negative   title "exquisite negative", else the only CLIPTextEncode feeding `negative`
    seed       nodes titled "exquisite seed", else every node with a literal `seed` or `noise_seed`

reference and output must exist. A workflow without a prompt (or seed) node is allowed and then
ignores the prompt (or seed); two candidates where one is needed is an error that names them.
Optional settings edit the workflow too: `checkpoint` sets the only `ckpt_name` input; `steps`,
`cfg`, `denoise`, `sampler_name`, `scheduler` are set on every seed node that has that input;
`negative_prompt` sets the negative node's text.

Validation errors of /prompt (a missing checkpoint, an unknown node) become the rejection reason in
ComfyUI's own words. Only the standard library is used (urllib): no extra dependency.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import math
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import GenerationError, InputError
from ..generators import TileRequest, register
from ..mask import to_comfy_load_image_rgba
from ..pngio import decode_image_bytes
import contextlib

DEFAULT_SERVER = "http://127.0.0.1:8188"
DEFAULT_WORKFLOW = Path(__file__).resolve().parents[2] / "workflows" / "api" / "backend_inpaint_api.json"
UPLOAD_SUBFOLDER = "exquisite"
SEED_INPUTS = ("seed", "noise_seed")
SAMPLER_SETTINGS = ("steps", "cfg", "denoise", "sampler_name", "scheduler")
OUTPUT_CLASSES = ("SaveImage", "PreviewImage")
TITLE = "exquisite {}"


@dataclass(frozen=True)
class WorkflowNodes:
    """Node ids of an API-format workflow that the backend fills in or reads from."""

    reference: str
    output: str
    prompt: str | None
    negative: str | None
    seeds: tuple[str, ...]


def load_workflow(path: str | os.PathLike) -> dict:
    """An API-format workflow from a file, or an InputError saying what is wrong with it."""
    path = Path(path)
    try:
        workflow = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"no workflow file at {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as bad:
        raise InputError(f"cannot read the workflow {path}: {bad}") from None
    if isinstance(workflow, dict) and "nodes" in workflow and "links" in workflow:
        raise InputError(
            f"{path} is a UI-format workflow; the server needs the API format: in ComfyUI "
            f"use Workflow > Export (API) and give that file"
        )
    if (
        not isinstance(workflow, dict)
        or not workflow
        or not all(
            isinstance(node, dict)
            and isinstance(node.get("class_type"), str)
            and isinstance(node.get("inputs", {}), dict)
            for node in workflow.values()
        )
    ):
        raise InputError(f"{path} is not an API-format workflow ({{id: {{class_type, inputs}}}})")
    return workflow


def find_nodes(workflow: dict) -> WorkflowNodes:
    """Locate the nodes the backend uses (see the module docstring), or say why it cannot."""
    reference = _one(workflow, "reference", lambda i, n: n["class_type"] == "LoadImage", "a LoadImage node")
    output = _one(workflow, "output", lambda i, n: n["class_type"] in OUTPUT_CLASSES, "a SaveImage node")
    feeding: dict[str, set[str]] = {"positive": set(), "negative": set()}
    for node in workflow.values():
        for name, value in node.get("inputs", {}).items():
            if name in feeding and _is_link(value):
                feeding[name].add(str(value[0]))
    prompt, negative = (
        _one(
            workflow,
            role,
            lambda i, n, fed=fed: n["class_type"] == "CLIPTextEncode" and i in fed,
            f"a CLIPTextEncode feeding `{feed}`",
            required=False,
        )
        for role, feed, fed in (
            ("prompt", "positive", feeding["positive"]),
            ("negative", "negative", feeding["negative"]),
        )
    )
    seeds = _titled(workflow, "seed") or [
        i for i, n in workflow.items() if any(isinstance(n.get("inputs", {}).get(k), int) for k in SEED_INPUTS)
    ]
    for node_id, role in ((reference, "image"), (prompt, "text"), (negative, "text")):
        if node_id is not None and role not in workflow[node_id].get("inputs", {}):
            raise InputError(
                f"workflow node {node_id} ({workflow[node_id]['class_type']}) has no `{role}` input to fill in"
            )
    for node_id in seeds:
        if not any(k in workflow[node_id].get("inputs", {}) for k in SEED_INPUTS):
            raise InputError(f"workflow node {node_id} is titled {TITLE.format('seed')!r} but has no seed input")
    assert reference is not None and output is not None  # required: _one raised otherwise
    return WorkflowNodes(reference, output, prompt, negative, tuple(seeds))


def describe_prompt_error(payload: object) -> str:
    """ComfyUI's answer to a refused /prompt, in its own words, one clause per node error."""
    if not isinstance(payload, dict):
        return str(payload)[:500]
    clauses = []
    for node_id, info in (payload.get("node_errors") or {}).items():
        for error in info.get("errors", []):
            clause = f"node {node_id} ({info.get('class_type', '?')}): {error.get('message', '')}"
            if error.get("details"):
                clause += f": {error['details']}"
            clauses.append(clause)
    error = payload.get("error")
    if not clauses and isinstance(error, dict):
        clauses.append(error.get("message", "") + (f": {error['details']}" if error.get("details") else ""))
    elif not clauses and error:
        clauses.append(str(error))
    return "; ".join(clauses) or "no reason given"


class ComfyUIGenerator:
    """A ComfyUI server as a generator. Settings (all optional): server (COMFYUI_URL or
    http://127.0.0.1:8188), workflow (the shipped workflows/api/backend_inpaint_api.json), checkpoint,
    negative_prompt, steps, cfg, denoise, sampler_name, scheduler, timeout seconds (600),
    poll_interval seconds (0.5), request_timeout seconds (30)."""

    name = "comfyui"
    default_blend = None
    paid = False  # your own server: no per-call price, but it leaves this machine
    remote = True

    def __init__(
        self,
        server: str | None = None,
        workflow: str | os.PathLike | None = None,
        checkpoint: str | None = None,
        negative_prompt: str | None = None,
        timeout: float = 600.0,
        poll_interval: float = 0.5,
        request_timeout: float = 30.0,
        **sampler,
    ) -> None:
        unknown = sorted(set(sampler) - set(SAMPLER_SETTINGS))
        if unknown:
            raise InputError(
                f"the comfyui backend has no setting {', '.join(unknown)}: it takes server, workflow, "
                f"checkpoint, negative_prompt, {', '.join(SAMPLER_SETTINGS)}, timeout, poll_interval, "
                f"request_timeout"
            )
        for label, value in (
            ("timeout", timeout),
            ("poll_interval", poll_interval),
            ("request_timeout", request_timeout),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (math.isfinite(value) and value > 0)
            ):
                raise InputError(f"{label} must be a positive number of seconds, got {value!r}")
        server = server or os.environ.get("COMFYUI_URL") or DEFAULT_SERVER
        parsed = urllib.parse.urlsplit(str(server))
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InputError(f"server must be an http(s) URL such as {DEFAULT_SERVER}, got {server!r}")
        self.shown_server = _without_credentials(parsed)
        self.server = self.shown_server
        self._authorization = None
        if parsed.username is not None:  # http://user:pass@host: sent as basic auth, never shown
            token = f"{urllib.parse.unquote(parsed.username)}:{urllib.parse.unquote(parsed.password or '')}"
            self._authorization = "Basic " + base64.b64encode(token.encode()).decode()
        self.workflow_path = Path(workflow) if workflow else DEFAULT_WORKFLOW
        self.workflow = load_workflow(self.workflow_path)
        self.nodes = find_nodes(self.workflow)
        self._apply_settings(checkpoint, negative_prompt, sampler)
        self.timeout = float(timeout)
        self.poll_interval = float(poll_interval)
        self.request_timeout = float(request_timeout)

    def _apply_settings(self, checkpoint, negative_prompt, sampler: dict) -> None:
        """Write the settings into the workflow now, so a setting it cannot take is refused now."""
        if checkpoint is not None:
            loaders = [i for i, n in self.workflow.items() if "ckpt_name" in n.get("inputs", {})]
            if len(loaders) != 1:
                raise InputError(
                    f"checkpoint needs exactly one node with a ckpt_name input in "
                    f"{self.workflow_path.name}, found {len(loaders)}"
                )
            self.workflow[loaders[0]]["inputs"]["ckpt_name"] = str(checkpoint)
        if negative_prompt is not None:
            if self.nodes.negative is None:
                raise InputError(f"negative_prompt: {self.workflow_path.name} has no negative prompt node")
            self.workflow[self.nodes.negative]["inputs"]["text"] = str(negative_prompt)
        for key, value in sampler.items():
            targets = [i for i in self.nodes.seeds if key in self.workflow[i]["inputs"]]
            if not targets:
                raise InputError(f"{key}: no seed node of {self.workflow_path.name} has a `{key}` input")
            for node_id in targets:
                self.workflow[node_id]["inputs"][key] = value

    # ---- one step -----------------------------------------------------------------------------

    def generate(self, request: TileRequest) -> np.ndarray:
        reference = np.asarray(request.reference, dtype=np.uint8)[:, :, :3]
        height, width = reference.shape[:2]
        rgba = to_comfy_load_image_rgba(request.mask, reference)
        request.report(0.0, f"uploading the reference to ComfyUI at {self.shown_server}")
        uploaded = self._upload(rgba)
        prompt = self._fill(uploaded, request)
        prompt_id = self._queue(prompt)
        request.report(0.1, "queued on ComfyUI")
        image = self._wait_for_image(prompt_id, request)
        tile = self._download(image)
        if tile.shape[:2] != (height, width):
            raise GenerationError(
                f"ComfyUI's workflow made a {tile.shape[1]}x{tile.shape[0]} image but the tile is "
                f"{width}x{height}; nothing was glued. The workflow must keep the reference's size"
            )
        request.report(1.0, "ComfyUI tile received")
        return tile

    def _fill(self, uploaded: dict, request: TileRequest) -> dict:
        prompt = copy.deepcopy(self.workflow)
        name = uploaded.get("name")
        if not isinstance(name, str) or not name:
            raise GenerationError(f"ComfyUI's /upload/image answer has no file name: {uploaded!r}")
        subfolder = uploaded.get("subfolder") or ""
        kind = uploaded.get("type") or "input"
        image = f"{subfolder}/{name}" if subfolder else name
        prompt[self.nodes.reference]["inputs"]["image"] = image if kind == "input" else f"{image} [{kind}]"
        if self.nodes.prompt is not None:
            prompt[self.nodes.prompt]["inputs"]["text"] = request.prompt
        for node_id in self.nodes.seeds:
            inputs = prompt[node_id]["inputs"]
            for key in SEED_INPUTS:
                if key in inputs:
                    inputs[key] = int(request.seed)
        return prompt

    def _upload(self, rgba: np.ndarray) -> dict:
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(rgba)).save(buffer, format="PNG", compress_level=1)
        filename = f"exquisite-{uuid.uuid4().hex}.png"
        body, content_type = _multipart(
            {"type": "input", "subfolder": UPLOAD_SUBFOLDER}, {"image": (filename, buffer.getvalue(), "image/png")}
        )
        return self._json("POST", "/upload/image", body, content_type)

    def _queue(self, prompt: dict) -> str:
        body = json.dumps({"prompt": prompt, "client_id": uuid.uuid4().hex}).encode()
        try:
            answer = self._json("POST", "/prompt", body, "application/json")
        except _HTTPStatus as refused:
            if refused.code != 400:
                raise
            raise GenerationError(
                "ComfyUI refused the workflow: " + describe_prompt_error(_json_or_text(refused.body))
            ) from None
        prompt_id = answer.get("prompt_id") if isinstance(answer, dict) else None
        if not prompt_id:
            raise GenerationError(f"ComfyUI's /prompt answer has no prompt_id: {str(answer)[:300]}")
        return str(prompt_id)

    def _wait_for_image(self, prompt_id: str, request: TileRequest) -> dict:
        try:
            return self._poll(prompt_id, request)
        except GenerationError:
            raise
        except BaseException:  # e.g. Ctrl-C: do not leave the prompt running on someone's GPU
            self._cancel(prompt_id)
            raise

    def _poll(self, prompt_id: str, request: TileRequest) -> dict:
        started = time.monotonic()
        state = "queued"
        while True:
            history = self._json("GET", f"/history/{urllib.parse.quote(prompt_id)}")
            entry = history.get(prompt_id) if isinstance(history, dict) else None
            if entry is not None:
                return self._output_image(entry)
            elapsed = time.monotonic() - started
            if elapsed >= self.timeout:
                self._cancel(prompt_id)
                raise GenerationError(
                    f"ComfyUI did not finish within {self.timeout:g} s ({state}); the prompt was cancelled "
                    f"and nothing was glued. Allow longer with the backend setting timeout=SECONDS, or "
                    f"check the server's queue"
                )
            state = self._queue_state(prompt_id) or state
            request.report(0.2 if state == "running" else 0.1, f"ComfyUI: {state}, {elapsed:.0f} s")
            time.sleep(min(self.poll_interval, max(0.0, self.timeout - elapsed)))

    def _queue_state(self, prompt_id: str) -> str | None:
        try:
            queue = self._json("GET", "/queue")
        except GenerationError:
            return None
        if not isinstance(queue, dict):
            return None
        for key, word in (("queue_running", "running"), ("queue_pending", "waiting in the queue")):
            for item in queue.get(key) or []:
                if isinstance(item, list) and len(item) > 1 and item[1] == prompt_id:
                    return word
        return None

    def _output_image(self, entry: dict) -> dict:
        status = entry.get("status") or {}
        if status.get("status_str") == "error" or status.get("completed") is False:
            raise GenerationError("ComfyUI could not run the workflow: " + _execution_error(status))
        images = ((entry.get("outputs") or {}).get(self.nodes.output) or {}).get("images") or []
        if not images or not isinstance(images[0], dict) or "filename" not in images[0]:
            node = self.workflow[self.nodes.output]["class_type"]
            raise GenerationError(f"ComfyUI finished, but output node {self.nodes.output} ({node}) gave no image")
        return images[0]

    def _download(self, image: dict) -> np.ndarray:
        query = urllib.parse.urlencode(
            {
                "filename": image["filename"],
                "subfolder": image.get("subfolder", ""),
                "type": image.get("type", "output"),
            }
        )
        data = self._request("GET", f"/view?{query}")
        try:
            return decode_image_bytes(data, "image ComfyUI returned")
        except InputError as bad:
            raise GenerationError(f"{bad}; nothing was glued. Try the step again") from None

    def _cancel(self, prompt_id: str) -> None:
        """Take the prompt off the queue, or stop it if it runs; best effort, never raises."""
        for path, payload in (("/queue", {"delete": [prompt_id]}), ("/interrupt", {"prompt_id": prompt_id})):
            with contextlib.suppress(GenerationError):
                self._request("POST", path, json.dumps(payload).encode(), "application/json")

    # ---- HTTP ---------------------------------------------------------------------------------

    def _json(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        data = self._request(method, path, body, content_type)
        try:
            return json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise GenerationError(f"ComfyUI's answer to {path.split('?')[0]} is not JSON: {data[:200]!r}") from None

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> bytes:
        request = urllib.request.Request(self.server + path, data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        if self._authorization:
            request.add_header("Authorization", self._authorization)
        try:
            with urllib.request.urlopen(request, timeout=self.request_timeout) as answer:
                return answer.read()
        except urllib.error.HTTPError as error:
            raise _HTTPStatus(error.code, path.split("?")[0], error.read()) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise GenerationError(
                f"cannot reach ComfyUI at {self.shown_server} ({reason}): is the server running and is the "
                f"backend setting server=URL right?"
            ) from None


class _HTTPStatus(GenerationError):
    """An HTTP error answer; its body is kept for callers that read ComfyUI's own words from it."""

    def __init__(self, code: int, path: str, body: bytes) -> None:
        text = body[:300].decode("utf-8", "replace").strip()
        super().__init__(f"ComfyUI answered HTTP {code} to {path}" + (f": {text}" if text else ""))
        self.code, self.body = code, body


def _execution_error(status: dict) -> str:
    for message in status.get("messages") or []:
        if not (isinstance(message, (list, tuple)) and len(message) == 2 and isinstance(message[1], dict)):
            continue
        event, data = message
        if event == "execution_error":
            return (
                f"node {data.get('node_id')} ({data.get('node_type')}) failed: "
                f"{data.get('exception_type', 'error')}: {data.get('exception_message', '').strip()}"
            )
        if event == "execution_interrupted":
            return f"the prompt was interrupted on the server (at node {data.get('node_id')})"
    return f"status {status.get('status_str', 'unknown')}"


def _one(workflow: dict, role: str, match, what: str, required: bool = True) -> str | None:
    titled = _titled(workflow, role)
    candidates = titled or [i for i, n in workflow.items() if match(i, n)]
    title = TITLE.format(role)
    if len(candidates) > 1:
        listed = ", ".join(f"{i} ({workflow[i]['class_type']})" for i in candidates)
        raise InputError(
            f"the workflow has several candidates for the {role} node ({listed}): title the one to use {title!r}"
        )
    if not candidates:
        if required:
            raise InputError(f"the workflow has no {role} node: it needs {what} (or a node titled {title!r})")
        return None
    return candidates[0]


def _titled(workflow: dict, role: str) -> list[str]:
    title = TITLE.format(role)
    return [
        i
        for i, n in workflow.items()
        if isinstance(n.get("_meta"), dict) and str(n["_meta"].get("title", "")).strip().lower() == title
    ]


def _is_link(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)


def _multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data, mime) in files.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {mime}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def _json_or_text(data: bytes):
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return data[:500].decode("utf-8", "replace")


def _without_credentials(parsed: urllib.parse.SplitResult) -> str:
    hostname = parsed.hostname or ""
    host = f"[{hostname}]" if ":" in hostname else hostname
    host += f":{parsed.port}" if parsed.port else ""
    return urllib.parse.urlunsplit((parsed.scheme, host, parsed.path.rstrip("/"), "", ""))


register("comfyui", ComfyUIGenerator)
