"""`exquisite-mcp` as a process an operator starts: settings from the environment and flags, a real
server over stdio driven by the SDK's client, and streamable HTTP on 127.0.0.1."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import numpy as np
import pytest
from test_mcp import SECRET, TOOLS, decode, make_place, snapshot, text_of

from mcp import Client, StdioServerParameters
from exquisite.mcp_server.server import create_app
from exquisite.mcp_server.settings import ServerSettings, from_env_and_args, parser
from exquisite.shared_core.errors import InputError


@pytest.fixture
def place(tmp_path):
    return make_place(tmp_path)


def test_settings_come_from_env_and_flags_and_never_show_secrets(tmp_path):
    env = {
        "EXQUISITE_SESSIONS": str(tmp_path / "s"),
        "EXQUISITE_INPUT_DIRS": os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]),
        "EXQUISITE_EXPORT_DIRS": str(tmp_path / "e"),
        "EXQUISITE_BACKEND": "mock",
        "EXQUISITE_BACKEND_SETTINGS": json.dumps({"openai": {"api_key": SECRET}}),
        "EXQUISITE_MAX_STEPS": "4",
    }
    settings = from_env_and_args(parser().parse_args([]), env)
    assert settings.sessions_dir == tmp_path / "s" and settings.input_dirs == [tmp_path / "a", tmp_path / "b"]
    assert settings.export_dirs == [tmp_path / "e"] and settings.max_steps == 4
    assert settings.settings_for("openai") == {"api_key": SECRET}
    assert SECRET not in settings.describe() and SECRET not in repr(settings)
    flagged = from_env_and_args(
        parser().parse_args(["--input-dir", str(tmp_path / "c"), "--backend", "local", "--max-steps", "2"]), env
    )
    assert flagged.input_dirs == [tmp_path / "c"] and flagged.backend == "local" and flagged.max_steps == 2
    with pytest.raises(InputError) as bad:
        from_env_and_args(parser().parse_args([]), {**env, "EXQUISITE_BACKEND_SETTINGS": '{"x": "' + SECRET})
    assert SECRET not in str(bad.value)
    with pytest.raises(InputError, match="'nope' is not available"):
        create_app(ServerSettings(sessions_dir=tmp_path / "s", backend="nope"))
    with pytest.raises(InputError, match="keyed by backend"):
        from_env_and_args(parser().parse_args([]), {**env, "EXQUISITE_BACKEND_SETTINGS": '{"api_key": "x"}'})


# ---- a real subprocess -----------------------------------------------------------------------


def console_script() -> str:
    path = shutil.which("exquisite-mcp") or str(Path(sys.executable).parent / "exquisite-mcp")
    if not Path(path).exists():
        pytest.skip("the exquisite-mcp console script is not installed (pip install -e .[mcp])")
    return path


def server_env(place) -> dict:
    return {
        "EXQUISITE_SESSIONS": str(place["sessions"]),
        "EXQUISITE_INPUT_DIRS": str(place["inputs"]),
        "EXQUISITE_EXPORT_DIRS": str(place["exports"]),
        "EXQUISITE_BACKEND": "mock",
        "EXQUISITE_BACKEND_SETTINGS": json.dumps({"openai": {"api_key": SECRET}}),
    }


def test_a_real_exquisite_mcp_over_stdio(place):
    params = StdioServerParameters(command=console_script(), env=server_env(place))
    progress = []

    async def on_progress(value, total, message):
        progress.append((value, total, message))

    async def main():
        async with Client(params) as client:
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS
            opened = await client.call_tool("open_canvas", {"image_path": str(place["inputs"] / "photo.png")})
            sid = opened.structured_content["session_id"]
            extended = await client.call_tool(
                "extend_canvas",
                {"session_id": sid, "direction": "down", "steps": 3, "prompt": "meadow"},
                progress_callback=on_progress,
            )
            view = await client.call_tool("view_canvas", {"session_id": sid, "what": "last_step"})
            history = await client.call_tool("session_history", {"session_id": sid})
            undone = await client.call_tool("undo_step", {"session_id": sid})
            exported = await client.call_tool("export_canvas", {"session_id": sid, "path": "meadow.png"})
            before = snapshot(*place.values())
            bad = await client.call_tool("export_canvas", {"session_id": sid, "path": "/tmp/../etc/evil.png"})
            assert snapshot(*place.values()) == before
            for wrong in ({"steps": "2"}, {"steps": True}, {"direction": "sideways"}):
                refused = await client.call_tool("extend_canvas", {"session_id": sid, "direction": "down", **wrong})
                assert refused.is_error and "extend_canvas refused its arguments" in text_of(refused), wrong
            assert snapshot(*place.values()) == before
            return sid, extended, view, history, undone, exported, bad

    sid, extended, view, history, undone, exported, bad = anyio.run(main)
    assert exported.structured_content["path"] == str((place["exports"] / "meadow.png").resolve())
    assert extended.structured_content["committed_steps"] == 3, text_of(extended)
    assert (extended.structured_content["width"], extended.structured_content["height"]) == (1024, 2560)
    assert [p[0] for p in progress][-1] == 3 and sum("committed" in p[2] for p in progress) == 3
    assert view.structured_content["preview"]["region"] == {"x": 0, "y": 1536, "width": 1024, "height": 1024}
    assert len(history.structured_content["steps"]) == 3
    assert undone.structured_content["height"] == 2048
    written = decode((place["exports"] / "meadow.png").read_bytes())
    assert written.shape == (2048, 1024, 3)
    after_two = decode((place["sessions"] / sid / "canvas" / "0002.png").read_bytes())  # written by the undo
    assert np.array_equal(written, after_two)
    assert bad.is_error and "outside the allowed directories" in text_of(bad)
    assert not Path("/etc/evil.png").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_streamable_http_on_localhost(place):
    port = _free_port()
    env = {**os.environ, **server_env(place)}
    process = subprocess.Popen(
        [console_script(), "--transport", "http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the HTTP server did not start: {process.stderr.read().decode()[-2000:]}")
                time.sleep(0.2)

        async def main():
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                tools = await client.list_tools()
                listed = await client.call_tool("list_sessions", {})
                return tools, listed

        tools, listed = anyio.run(main)
        assert {t.name for t in tools.tools} == TOOLS
        assert listed.structured_content["export_dirs"] == [str(place["exports"])]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log = process.stderr.read().decode()
        process.stderr.close()
    assert "backend mock" in log and SECRET not in log  # the log names settings, never their values
