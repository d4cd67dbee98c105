"""What a client and a model see before calling: the real domains in the tool schemas (set by this
server: its max steps, its backends), the package version, and a history that stays compact."""

import importlib.metadata
import json
from pathlib import Path

import pytest

from test_mcp import make_app, make_place, run_with_client, snapshot, text_of

from exquisite.shared_core.generators import backend_names, make_generator
from exquisite.shared_core.geometry import FILLS
from exquisite.shared_core.glue import BLENDS
from exquisite.shared_core.session import Session, StepSettings

DIRECTIONS = ["right", "left", "down", "up", "x_ltr", "x_rtl", "y_ttb", "y_btt"]


@pytest.fixture
def place(tmp_path):
    return make_place(tmp_path)


def enum_of(prop: dict) -> list:
    """The enum of a property, also when it is optional (anyOf [enum, null])."""
    if "enum" in prop:
        return prop["enum"]
    return next(p["enum"] for p in prop["anyOf"] if "enum" in p)


def test_the_schemas_carry_the_real_domains_of_this_server(place):
    async def scenario(client):
        return {t.name: t.input_schema for t in (await client.list_tools()).tools}, client.server_info

    schemas, info = run_with_client(make_app(place, max_steps=3), scenario)
    extend = schemas["extend_canvas"]["properties"]
    assert enum_of(extend["direction"]) == DIRECTIONS
    assert enum_of(extend["blend"]) == list(BLENDS) and enum_of(extend["fill"]) == list(FILLS)
    assert enum_of(extend["backend"]) == backend_names() and "mock" in enum_of(extend["backend"])
    assert (extend["steps"]["minimum"], extend["steps"]["maximum"], extend["steps"]["type"]) == (1, 3, "integer")
    assert "1 to 3" in extend["steps"]["description"]
    prompt = next(p for p in extend["prompt"]["anyOf"] if p.get("type") == "string")
    assert prompt["maxLength"] == 2000 and "2000 characters" in extend["prompt"]["description"]
    assert set(schemas["extend_canvas"]["required"]) == {"session_id", "direction"}
    assert "ctx" not in extend  # the SDK's context is injected, not an argument
    opened = schemas["open_canvas"]["properties"]
    assert opened["overlap"]["enum"] == [512, 256] and enum_of(opened["direction"]) == DIRECTIONS
    assert opened["blank"]["type"] == "boolean" and opened["blank_width"]["maximum"] == 16384
    history = schemas["session_history"]["properties"]
    assert history["limit"]["maximum"] == 200 and history["offset"]["minimum"] == 0
    assert info.name == "exquisite" and info.version == importlib.metadata.version("exquisite")


def test_a_value_of_the_wrong_type_is_refused_before_anything_happens(place):
    async def scenario(client):
        sid = (await client.call_tool("open_canvas", {"image_path": "photo.png"})).structured_content["session_id"]
        refusals = []
        for arguments in (
            {"steps": True},
            {"steps": "2"},
            {"steps": 2.0},
            {"seed": True},
            {"direction": 1},
            {"prompt": ["a", "b"]},
            {"blend": "LINEAR"},
            {"steps": 4},
        ):
            before = snapshot(*place.values())
            result = await client.call_tool("extend_canvas", {"session_id": sid, "direction": "right", **arguments})
            refusals.append((result.is_error, text_of(result)))
            assert snapshot(*place.values()) == before, arguments
        history = await client.call_tool("session_history", {"session_id": sid})
        return refusals, history.structured_content

    refusals, history = run_with_client(make_app(place, max_steps=3), scenario)
    assert all(is_error for is_error, _ in refusals), refusals
    assert all(text.startswith("extend_canvas refused its arguments: ") and "\n" not in text for _, text in refusals)
    assert "steps: Input should be less than or equal to 3 (got 4)" in refusals[-1][1]
    assert history["total_steps"] == 0 and history["head"] == 0


def test_history_is_compact_and_paged_and_shows_the_source_as_session_json_does(place):
    long_prompt = "a harbour at dusk, " * 300  # 5700 characters, e.g. written by the CLI, which has no cap
    sid = "long-000001"
    with Session.create(place["sessions"] / sid, str(place["inputs"] / "photo.png")) as session:
        session.extend(StepSettings(direction="x_ltr", prompt=long_prompt), make_generator("mock"), 3)

    async def scenario(client):
        first = await client.call_tool("session_history", {"session_id": sid, "limit": 2})
        rest = await client.call_tool("session_history", {"session_id": sid, "offset": 2, "limit": 2})
        index = await client.read_resource(f"exquisite://sessions/{sid}/session.json")
        record = await client.read_resource(f"exquisite://sessions/{sid}/steps/1/step.json")
        return first, rest, json.loads(index.contents[0].text), json.loads(record.contents[0].text)

    first, rest, index, record = run_with_client(make_app(place), scenario)
    page = first.structured_content
    assert [s["number"] for s in page["steps"]] == [1, 2] and page["next_offset"] == 2 and page["total_steps"] == 3
    assert [s["number"] for s in rest.structured_content["steps"]] == [3] and rest.structured_content[
        "next_offset"
    ] is None
    shown = page["steps"][0]["prompt"]
    assert shown.startswith(long_prompt[:200]) and f"[{len(long_prompt) - 200} more characters" in shown
    assert len(text_of(first)) < 4000 and len(json.dumps(page)) < 4000
    assert record["prompt"] == long_prompt  # the step's record keeps it whole
    full_path = str(place["inputs"] / "photo.png")
    assert page["source"]["input"] == index["source"]["input"] == "photo.png"
    assert full_path not in json.dumps(index) and full_path not in text_of(first)
    on_disk = json.loads((place["sessions"] / sid / "session.json").read_text())
    assert on_disk["source"]["input"] == full_path and Path(full_path).name == "photo.png"
