"""The openai backend with the real openai SDK against a fake Images API on 127.0.0.1.

The fake server speaks POST /v1/images/edits (multipart in, JSON with b64_json out) and answers
from a script, one entry per request, so each test says exactly what "OpenAI" does.
"""

from __future__ import annotations

import base64
import io
import json
import time

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("openai")

from exquisite.shared_core import cli
from fake_http import LocalServer, QuietHandler, parse_multipart
from exquisite.shared_core.backends import openai_backend
from exquisite.shared_core.errors import InputError
from exquisite.shared_core.generators import TileRequest, make_generator
from exquisite.shared_core.geometry import Contract
from exquisite.shared_core.mask import generation_mask_for
from exquisite.shared_core.session import Session, StepSettings

KEY = "sk-test-SECRET-4f9c2a7e1b"
SMALL = Contract(tile=64, band=32, overlap=32, advance=32)


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def image_answer(image: np.ndarray) -> tuple[int, dict, dict]:
    return 200, {}, {"created": 1, "data": [{"b64_json": base64.b64encode(png(image)).decode()}]}


def error_answer(status: int, message: str, code: str | None = None, headers: dict | None = None):
    return status, dict(headers or {}), {"error": {"message": message, "type": "x", "param": None, "code": code}}


class FakeImagesAPI(LocalServer):
    """A threaded HTTP server; `script` is a list of answers (status, headers, json) or callables."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[dict] = []
        fake = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "parts": parse_multipart(self.headers["Content-Type"], body)[0],
                    }
                )
                answer = fake.script.pop(0) if fake.script else (500, {}, {"error": {"message": "script ended"}})
                if callable(answer):
                    answer = answer()
                if answer == "hang":
                    time.sleep(3)
                    return
                status, headers, payload = answer
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        super().__init__(Handler)

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"


def ruler_canvas(height: int, width: int) -> np.ndarray:
    """Every pixel different: x in red, y in green, a checker in blue."""
    yy, xx = np.mgrid[0:height, 0:width]
    return np.dstack([(xx * 7) % 256, (yy * 5) % 256, ((xx // 4 + yy // 4) % 2) * 200]).astype(np.uint8)


@pytest.fixture
def env(monkeypatch):
    def use(server: FakeImagesAPI | None, key: str | None = KEY):
        if key is None:
            monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        else:
            monkeypatch.setenv("OPENAI_API_KEY", key)
        if server is not None:
            monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)

    monkeypatch.delenv("OPENAI_ORG_ID", raising=False)
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    return use


@pytest.fixture
def no_sleep(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(openai_backend, "_sleep", waits.append)
    return waits


def assert_no_secret_on_disk(root, *secrets):
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"{secret!r} written into {path}"


# ---- the request ---------------------------------------------------------------------------


def test_request_carries_reference_mask_and_fields(env):
    contract = Contract()
    reference = ruler_canvas(1024, 1024)
    mask = generation_mask_for("x_rtl", contract, ramp_start=128, ramp_end=384)
    repainted = np.full((1024, 1024, 3), 77, np.uint8)
    with FakeImagesAPI([image_answer(repainted)]) as server:
        env(server)
        generator = make_generator("openai", mask_threshold=0.25)
        seen = []
        tile = generator.generate(
            TileRequest(reference, mask, "a harbour at dusk", 3, "x_rtl", lambda f, m: seen.append((f, m)))
        )
    assert np.array_equal(tile, repainted)
    assert seen[-1][0] == 1.0
    (sent,) = server.requests
    assert sent["path"] == "/v1/images/edits"
    assert sent["headers"]["authorization"] == f"Bearer {KEY}"
    parts = sent["parts"]
    assert parts["model"] == "gpt-image-1.5"
    assert parts["size"] == "1024x1024"
    assert parts["prompt"] == "a harbour at dusk"
    assert parts["n"] == "1" and parts["output_format"] == "png"
    sent_reference = np.asarray(Image.open(io.BytesIO(parts["image"])))
    assert np.array_equal(sent_reference, reference)
    sent_mask = np.asarray(Image.open(io.BytesIO(parts["mask"])))
    assert sent_mask.shape == (1024, 1024, 4)
    free = mask >= 0.25
    assert 0 < free.sum() < free.size and not free.all(axis=0).all()  # a ramp, cut somewhere inside
    assert np.array_equal(sent_mask[:, :, 3] == 0, free)
    assert np.all(sent_mask[:, :, 3][~free] == 255)


def test_soft_mask_when_threshold_is_null(env):
    reference = ruler_canvas(64, 64)
    mask = generation_mask_for("y_ttb", SMALL)
    with FakeImagesAPI([image_answer(reference)]) as server:
        env(server)
        make_generator("openai", model="gpt-image-2", mask_threshold=None).generate(
            TileRequest(reference, mask, "p", 0, "y_ttb")
        )
    alpha = np.asarray(Image.open(io.BytesIO(server.requests[0]["parts"]["mask"])))[:, :, 3]
    assert np.array_equal(alpha, np.rint(255 * (1 - mask)).astype(np.uint8))


# ---- settings refused before any request ----------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-image-1", "dall-e-2", "dall-e-3"])
def test_retired_models_are_refused(model):
    with pytest.raises(InputError, match="gpt-image-1.5"):
        make_generator("openai", model=model)


def test_unknown_setting_and_key_setting_are_refused():
    with pytest.raises(InputError, match="OPENAI_API_KEY"):
        make_generator("openai", api_key="sk-nope")


@pytest.mark.parametrize(
    "model,size,ok",
    [
        ("gpt-image-1.5", 1024, True),
        ("gpt-image-1.5", 64, False),
        ("gpt-image-1-mini", 512, False),
        ("gpt-image-2", 64, True),
        ("gpt-image-2", 72, False),
        ("gpt-image-2", 2160, True),
        ("gpt-image-2", 2880, True),
        ("gpt-image-2", 2896, False),
        ("gpt-image-2", 3856, False),
        ("some-future-model", 1024, True),
        ("some-future-model", 1040, False),
    ],
)
def test_size_rules(model, size, ok):
    assert (openai_backend.size_problem(model, size, size) is None) == ok


def test_unmakeable_size_is_rejected_without_a_request(env, tmp_path):
    with FakeImagesAPI([]) as server:
        env(server)
        with Session.create(tmp_path / "s", ruler_canvas(64, 64), SMALL) as session:
            result = session.step(StepSettings(), make_generator("openai"))
    assert not result.committed
    assert "cannot make a 64x64 tile" in result.reason and "1024x1024" in result.reason
    assert server.requests == []


# ---- retries and rejections through a session -------------------------------------------------


def run_step(tmp_path, script, key=KEY, env=None, **settings):
    canvas = ruler_canvas(64, 64)
    with FakeImagesAPI(script) as server:
        env(server, key)
        generator = make_generator("openai", model="gpt-image-2", **settings)
        with Session.create(tmp_path / "s", canvas, SMALL) as session:
            result = session.step(StepSettings(prompt="sea"), generator)
            session.flush()
            after = session.canvas()
    return canvas, after, result, server


def test_429_then_success_commits_one_step_with_two_requests(tmp_path, env, no_sleep):
    tile = ruler_canvas(64, 64)[::-1].copy()
    script = [
        error_answer(429, "Rate limit reached", "rate_limit_exceeded", {"retry-after": "1.5"}),
        image_answer(tile),
    ]
    canvas, after, result, server = run_step(tmp_path, script, env=env)
    assert result.committed, result.reason
    assert len(server.requests) == 2
    assert no_sleep == [1.5]  # the server's Retry-After, honoured
    assert after.shape == (64, 96, 3)
    glued = np.asarray(Image.open(tmp_path / "s" / "steps" / "0001" / "tile_full.png"))
    assert np.array_equal(glued, tile)  # the tile of the second, successful answer
    assert_no_secret_on_disk(tmp_path, KEY, server.base_url)


def test_retry_after_longer_than_allowed_is_not_waited(tmp_path, env, no_sleep):
    script = [error_answer(429, "slow down", "rate_limit_exceeded", {"retry-after": "600"})]
    canvas, after, result, server = run_step(tmp_path, script, env=env, max_retry_wait=30)
    assert not result.committed and "600 s" in result.reason and "max_retry_wait" in result.reason
    assert len(server.requests) == 1 and no_sleep == []


def truncated_png_answer():
    data = png(ruler_canvas(64, 64))
    return 200, {}, {"data": [{"b64_json": base64.b64encode(data[: len(data) // 2]).decode()}]}


REJECTIONS = {
    "500 twice": (
        [error_answer(500, "boom"), error_answer(503, "boom")],
        {},
        2,
        "server error (HTTP 503) (after 2 attempts)",
    ),
    "timeout": (["hang"], {"timeout": 0.5}, 1, "did not answer within 0.5 s"),
    "moderation": (
        [error_answer(400, "Your request was rejected by the safety system.", "moderation_blocked")],
        {},
        1,
        "safety system refused this edit (moderation_blocked)",
    ),
    "truncated image": ([truncated_png_answer()], {}, 1, "could not be read"),
    "wrong size": ([image_answer(ruler_canvas(48, 64))], {}, 1, "returned a 64x48 image but the tile is 64x64"),
    "no image": ([(200, {}, {"data": []})], {}, 1, "without an image"),
    "bad key": (
        [error_answer(401, f"Incorrect API key provided: {KEY}. You can find your key at ...", "invalid_api_key")],
        {},
        1,
        "rejected the API key (HTTP 401): check OPENAI_API_KEY",
    ),
    "quota": ([error_answer(429, "You exceeded your current quota", "insufficient_quota")], {}, 1, "quota is used up"),
}


@pytest.mark.parametrize("case", sorted(REJECTIONS))
def test_failures_leave_the_canvas_untouched_with_a_clear_reason(case, tmp_path, env, no_sleep):
    script, settings, requests, reason = REJECTIONS[case]
    canvas, after, result, server = run_step(tmp_path, script, env=env, **settings)
    assert not result.committed
    assert reason in result.reason
    assert np.array_equal(after, canvas)
    err = (tmp_path / "s" / "steps" / "0001" / "rejected.err").read_text()
    assert reason in err
    assert len(server.requests) == requests
    assert KEY not in result.reason
    assert_no_secret_on_disk(tmp_path, KEY, server.base_url)


def test_missing_key_is_a_rejection_that_says_what_to_set(tmp_path, env):
    canvas, after, result, server = run_step(tmp_path, [], key=None, env=env)
    assert not result.committed and "OPENAI_API_KEY" in result.reason
    assert server.requests == [] and np.array_equal(after, canvas)


def test_connection_refused_is_retried_once_then_rejected(tmp_path, env, no_sleep, monkeypatch):
    with FakeImagesAPI([]) as server:
        dead_url = server.base_url
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", dead_url)
    with Session.create(tmp_path / "s", ruler_canvas(64, 64), SMALL) as session:
        result = session.step(StepSettings(), make_generator("openai", model="gpt-image-2"))
    assert not result.committed and "could not reach the OpenAI API (after 2 attempts)" in result.reason
    assert no_sleep == [openai_backend.DEFAULT_RETRY_WAIT_S]
    assert dead_url not in result.reason


# ---- the mask blend keeps fixed pixels ----------------------------------------------------------


@pytest.mark.parametrize("blend", ["mask", "linear"])
def test_fixed_pixels_survive_a_repainted_tile_only_with_the_mask_blend(blend, tmp_path, env):
    canvas = ruler_canvas(64, 64)
    repainted = np.zeros((64, 64, 3), np.uint8)
    repainted[..., 0] = 255  # the model painted over everything, fixed pixels included
    with FakeImagesAPI([image_answer(repainted)]) as server:
        env(server)
        with Session.create(tmp_path / "s", canvas, SMALL) as session:
            settings = StepSettings(blend=blend, ramp_start=16, ramp_end=32)
            result = session.step(settings, make_generator("openai", model="gpt-image-2"))
            after = session.canvas()
    assert result.committed, result.reason
    fixed = slice(32, 48)  # band columns 0..15 of the tile: freedom 0 with this ramp
    survived = np.array_equal(after[:, fixed], canvas[:, fixed])
    assert survived == (blend == "mask")
    assert after.shape == (64, 96, 3)
    assert np.array_equal(after[:, :32], canvas[:, :32])


def test_generator_declares_the_mask_blend_and_the_cli_uses_it(tmp_path, env, monkeypatch):
    assert openai_backend.OpenAIGenerator.default_blend == "mask"
    source = tmp_path / "photo.png"
    source.write_bytes(png(ruler_canvas(1024, 1024)))
    tile = np.full((1024, 1024, 3), 40, np.uint8)
    with FakeImagesAPI([image_answer(tile), image_answer(tile)]) as server:
        env(server)
        code = cli.main(
            [
                "extend",
                str(source),
                "--backend",
                "openai",
                "--session",
                str(tmp_path / "s"),
                "--out",
                str(tmp_path / "out.png"),
            ]
        )
        assert code == 0
        code = cli.main(
            [
                "extend",
                str(tmp_path / "s"),
                "--backend",
                "openai",
                "--blend",
                "linear",
                "--out",
                str(tmp_path / "out2.png"),
            ]
        )
        assert code == 0
    first = json.loads((tmp_path / "s" / "steps" / "0001" / "step.json").read_text())
    second = json.loads((tmp_path / "s" / "steps" / "0002" / "step.json").read_text())
    assert first["settings"]["blend"] == "mask" and first["backend"] == "openai"
    assert second["settings"]["blend"] == "linear"
    assert_no_secret_on_disk(tmp_path, KEY, server.base_url)
