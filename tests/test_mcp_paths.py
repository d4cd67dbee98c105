"""No tool reads or writes outside the allowed folders: `..`, absolute paths elsewhere, symlinks
that point out, file:// forms. Every refusal leaves the disk as it was."""

import hashlib
import os
from pathlib import Path

import anyio
import numpy as np
import pytest
from PIL import Image

from mcp import Client
from exquisite.mcp_server.server import create_app
from exquisite.mcp_server.settings import ServerSettings


def snapshot(*roots: Path) -> dict:
    state = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    state[path] = "link:" + os.readlink(path)
                elif os.path.isdir(path):
                    state[path] = "dir"
                else:
                    state[path] = hashlib.sha1(Path(path).read_bytes()).hexdigest()
    return state


@pytest.fixture
def place(tmp_path):
    dirs = {name: tmp_path / name for name in ("inputs", "exports", "sessions", "outside")}
    for folder in dirs.values():
        folder.mkdir()
    image = np.full((1024, 1024, 3), 90, dtype=np.uint8)
    Image.fromarray(image).save(dirs["inputs"] / "inside.png")
    Image.fromarray(image).save(dirs["outside"] / "secret.png")
    (dirs["inputs"] / "link_out.png").symlink_to(dirs["outside"] / "secret.png")
    (dirs["inputs"] / "dir_out").symlink_to(dirs["outside"], target_is_directory=True)
    (dirs["exports"] / "dir_out").symlink_to(dirs["outside"], target_is_directory=True)
    (dirs["exports"] / "dangling.png").symlink_to(dirs["outside"] / "planted.png")
    return dirs


def run(place, scenario, **overrides):
    options = {
        "sessions_dir": place["sessions"],
        "input_dirs": [place["inputs"]],
        "export_dirs": [place["exports"]],
        "backend": "mock",
        **overrides,
    }
    settings = ServerSettings(**options)
    app = create_app(settings)

    async def main():
        async with Client(app.mcp) as client:
            return await scenario(client)

    try:
        return anyio.run(main)
    finally:
        app.close()


def refused_reads(place):
    inputs, outside = place["inputs"], place["outside"]
    return [
        "../outside/secret.png",
        "dir_out/../outside/secret.png",
        str(outside / "secret.png"),
        "link_out.png",
        "dir_out/secret.png",
        (outside / "secret.png").as_uri(),
        (inputs / "link_out.png").as_uri(),
        inputs.as_uri() + "/%2E%2E/outside/secret.png",
        "file://elsewhere.example" + str(inputs / "inside.png"),
    ]


def test_open_canvas_reads_only_inside_the_input_folders(place):
    cases = refused_reads(place)

    async def scenario(client):
        messages = []
        for path in cases:
            before = snapshot(*place.values())
            result = await client.call_tool("open_canvas", {"image_path": path})
            assert result.is_error, path
            assert snapshot(*place.values()) == before, path
            messages.append(result.content[0].text)
        allowed = await client.call_tool("open_canvas", {"image_path": (place["inputs"] / "inside.png").as_uri()})
        return messages, allowed

    messages, allowed = run(place, scenario)
    for path, message in zip(cases, messages):
        assert "outside the allowed directories" in message or "must name this machine" in message, (path, message)
    assert not allowed.is_error and allowed.structured_content["width"] == 1024
    assert len(list(place["sessions"].iterdir())) == 1  # only the allowed open made a session


def test_export_canvas_writes_only_inside_the_export_folders(place):
    outside = place["outside"]
    cases = [
        "../outside/planted.png",
        "sub/../../outside/planted.png",
        str(outside / "planted.png"),
        "dir_out/planted.png",
        "dangling.png",
        (outside / "planted.png").as_uri(),
        place["exports"].as_uri() + "/%2E%2E/outside/planted.png",
        str(place["inputs"] / "copy.png"),
        str(place["sessions"] / "planted.png"),
    ]

    async def scenario(client):
        sid = (await client.call_tool("open_canvas", {"image_path": "inside.png"})).structured_content["session_id"]
        messages = []
        for path in cases:
            before = snapshot(*place.values())
            result = await client.call_tool("export_canvas", {"session_id": sid, "path": path, "overwrite": True})
            assert result.is_error, path
            assert snapshot(*place.values()) == before, path
            messages.append(result.content[0].text)
        good = await client.call_tool(
            "export_canvas", {"session_id": sid, "path": (place["exports"] / "ok.png").as_uri()}
        )
        return messages, good

    messages, good = run(place, scenario)
    for path, message in zip(cases, messages):
        assert "outside the allowed directories" in message, (path, message)
    assert not good.is_error and (place["exports"] / "ok.png").is_file()
    assert sorted(p.name for p in outside.iterdir()) == ["secret.png"]


def test_without_input_folders_no_file_is_read_and_the_message_says_how_to_allow_one(place):
    async def scenario(client):
        return await client.call_tool("open_canvas", {"image_path": str(place["inputs"] / "inside.png")})

    result = run(place, scenario, input_dirs=[])
    assert result.is_error and "EXQUISITE_INPUT_DIRS" in result.content[0].text
    assert list(place["sessions"].iterdir()) == []


def test_session_ids_and_resource_uris_cannot_reach_other_folders(place):
    async def scenario(client):
        results = []
        for sid in ("../outside", "..", "/etc", "a/../../outside", ".hidden"):
            results.append(await client.call_tool("session_history", {"session_id": sid}))
        errors = []
        for uri in ("exquisite://sessions/..%2Foutside/canvas.png", "exquisite://sessions/%2Fetc/session.json"):
            try:
                await client.read_resource(uri)
            except Exception as error:
                errors.append(str(error))
        return results, errors

    results, errors = run(place, scenario)
    assert all(r.is_error and "not a session id" in r.content[0].text for r in results)
    assert len(errors) == 2


def test_home_paths_follow_one_rule_for_reading_and_writing(place, monkeypatch):
    monkeypatch.setenv("HOME", str(place["inputs"].parent))

    async def scenario(client):
        opened = await client.call_tool("open_canvas", {"image_path": "~/inputs/inside.png"})
        sid = opened.structured_content["session_id"]
        exported = await client.call_tool("export_canvas", {"session_id": sid, "path": "~/exports/home.png"})
        before = snapshot(*place.values())
        refused = [
            await client.call_tool("open_canvas", {"image_path": "~/outside/secret.png"}),
            await client.call_tool("open_canvas", {"image_path": "~/outside/nothing-here.png"}),
            await client.call_tool("export_canvas", {"session_id": sid, "path": "~/outside/home.png"}),
        ]
        assert snapshot(*place.values()) == before
        return opened, exported, refused

    opened, exported, refused = run(place, scenario)
    assert not opened.is_error and not exported.is_error, (opened.content, exported.content)
    assert (place["exports"] / "home.png").is_file()
    assert all(r.is_error and "outside the allowed directories" in r.content[0].text for r in refused)
