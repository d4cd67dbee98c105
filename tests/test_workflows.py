"""The shipped workflows, checked without a running ComfyUI.

Schemas: our nodes' live INPUT_TYPES, and for ComfyUI's built-ins the /object_info entries recorded
from a real ComfyUI in tests/fixtures/comfyui_object_info.json. Every workflow JSON under workflows/
is checked: UI files (what the frontend and its template browser load) and API files (what POST
/prompt takes), including API workflows other parts of the project keep there.
"""

import json
from pathlib import Path

import pytest

from exquisite.nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
from exquisite.shared_core.generators import make_generator

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "comfyui_object_info.json").read_text())
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN"}
FRONTEND_ONLY = {"MarkdownNote", "Note"}  # drawn by the frontend, never sent to the server
FILE_COMBOS = {("LoadImage", "image"), ("CheckpointLoaderSimple", "ckpt_name")}  # lists of installed files
SEED_CONTROLS = {"fixed", "increment", "decrement", "randomize"}
OURS = ["exquisite_1_one_step_offline", "exquisite_2_three_steps_local_checkpoint", "exquisite_3_one_step_openai"]


def schema(node_type: str) -> dict:
    """object_info-shaped schema: ours from INPUT_TYPES now, built-ins from the recorded fixture."""
    if node_type in NODE_CLASS_MAPPINGS:
        node = NODE_CLASS_MAPPINGS[node_type]
        spec = node.INPUT_TYPES()
        return {"input": spec, "input_order": {k: list(v) for k, v in spec.items()},
                "output": list(node.RETURN_TYPES), "output_name": list(node.RETURN_NAMES)}
    assert node_type in FIXTURE, f"{node_type} is neither ours nor in the recorded /object_info fixture"
    return FIXTURE[node_type]


def inputs_of(node_type: str):
    """(section, name, kind, options) in ComfyUI's order: required, then optional."""
    s = schema(node_type)
    for section in ("required", "optional"):
        for name in s["input_order"].get(section, []):
            kind, *options = s["input"][section][name]
            yield section, name, kind, (options[0] if options else {})


def is_widget(kind) -> bool:
    return isinstance(kind, list) or kind in WIDGET_TYPES


def check_value(node_type, name, kind, options, value):
    where = f"{node_type}.{name} = {value!r}"
    if isinstance(kind, list):
        if (node_type, name) not in FILE_COMBOS:
            assert value in kind, f"{where} is not one of {kind}"
        else:
            assert isinstance(value, str) and value, where
    elif kind == "INT":
        assert isinstance(value, int) and not isinstance(value, bool), where
    elif kind == "FLOAT":
        assert isinstance(value, (int, float)) and not isinstance(value, bool), where
    elif kind == "STRING":
        assert isinstance(value, str), where
    elif kind == "BOOLEAN":
        assert isinstance(value, bool), where
    if kind in ("INT", "FLOAT"):
        assert options.get("min", value) <= value <= options.get("max", value), f"{where} out of range"


def ui_to_api(workflow: dict) -> dict:
    """What the frontend sends for a UI workflow: widget values by name, links as [id, slot]."""
    links = {row[0]: row for row in workflow["links"]}
    prompt = {}
    for node in workflow["nodes"]:
        if node["type"] in FRONTEND_ONLY:
            continue
        values = list(node.get("widgets_values", []))
        linked = {i["name"]: links[i["link"]] for i in node["inputs"] if i.get("link") is not None}
        inputs = {}
        for _, name, kind, options in inputs_of(node["type"]):
            if name in linked:
                inputs[name] = [str(linked[name][1]), linked[name][2]]
            elif is_widget(kind):
                assert values, f"node {node['id']} {node['type']} has too few widget values for {name}"
                inputs[name] = values.pop(0)
                if options.get("control_after_generate"):
                    assert values.pop(0) in SEED_CONTROLS, f"node {node['id']}: bad control_after_generate"
                if options.get("image_upload"):
                    assert values.pop(0) == "image"
        assert not values, f"node {node['id']} {node['type']} has extra widget values {values}"
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs}
    return prompt


def check_api(prompt: dict, label: str):
    """What POST /prompt validates: known classes, every required input, types across links, values."""
    assert prompt, f"{label} is empty"
    for node_id, node in prompt.items():
        node_type = node["class_type"]
        assert node_type not in FRONTEND_ONLY, f"{label}: {node_type} cannot be sent to the server"
        known = {name: (section, kind, options) for section, name, kind, options in inputs_of(node_type)}
        extra = set(node["inputs"]) - set(known)
        assert not extra, f"{label} node {node_id} {node_type}: unknown inputs {sorted(extra)}"
        for name, (section, kind, options) in known.items():
            if name not in node["inputs"]:
                assert section == "optional", f"{label} node {node_id} {node_type}: required {name} missing"
                continue
            value = node["inputs"][name]
            if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
                source = prompt.get(value[0])
                assert source is not None, f"{label} node {node_id}.{name} links to missing node {value[0]}"
                produced = schema(source["class_type"])["output"][value[1]]
                expected = "COMBO" if isinstance(kind, list) else kind
                assert produced == expected, (f"{label} node {node_id} {node_type}.{name}: "
                                              f"{source['class_type']} gives {produced}, input takes {expected}")
            else:
                assert is_widget(kind), f"{label} node {node_id} {node_type}.{name} ({kind}) must be linked"
                check_value(node_type, name, kind, options, value)
        if node_type == "ExquisiteGenerateTile":  # settings the backend itself accepts
            settings = json.loads(node["inputs"].get("backend_settings", "{}"))
            make_generator(node["inputs"]["backend"], **settings)
    outputs = [n for n in prompt.values() if n["class_type"] in ("SaveImage", "PreviewImage")]
    assert outputs, f"{label} has no output node: POST /prompt would answer prompt_no_outputs"


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def is_ui(data: dict) -> bool:
    return isinstance(data.get("nodes"), list) and isinstance(data.get("links"), list)


ALL_JSON = sorted(WORKFLOWS.rglob("*.json"))


def test_the_three_workflows_ship_as_templates_with_api_twins_and_thumbnails():
    for name in OURS:
        assert is_ui(load(WORKFLOWS / f"{name}.json")), f"{name}.json must be in the UI format"
        assert not is_ui(load(WORKFLOWS / "api" / f"{name}.json"))
        thumbnail = WORKFLOWS / f"{name}.jpg"
        assert thumbnail.read_bytes()[:3] == b"\xff\xd8\xff", f"{thumbnail.name} is not a JPEG"
        assert thumbnail.stat().st_size < 60_000
    # The template browser lists every top-level json of workflows/; the API twins stay out of it.
    assert not list(WORKFLOWS.glob("api/*.jpg"))


@pytest.mark.parametrize("path", ALL_JSON, ids=lambda p: str(p.relative_to(WORKFLOWS)))
def test_every_workflow_json_is_valid_for_the_current_nodes(path):
    data = load(path)
    if not is_ui(data):
        assert all(isinstance(n, dict) and "class_type" in n for n in data.values()), \
            f"{path.name} is neither a UI workflow nor an API prompt"
        check_api(data, path.name)
        return
    check_ui_structure(data, path.name)
    check_api(ui_to_api(data), path.name)


def check_ui_structure(workflow: dict, label: str):
    """Links join an output to an input of the same type, and both ends list the link."""
    for key in ("id", "revision", "last_node_id", "last_link_id", "nodes", "links", "groups", "config",
                "extra", "version"):
        assert key in workflow, f"{label}: no {key!r}"
    nodes = {n["id"]: n for n in workflow["nodes"]}
    assert len(nodes) == len(workflow["nodes"]), f"{label}: repeated node ids"
    assert workflow["last_node_id"] >= max(nodes)
    link_ids = [row[0] for row in workflow["links"]]
    assert len(set(link_ids)) == len(link_ids) and workflow["last_link_id"] >= max(link_ids, default=0)
    for link_id, source, slot, target, target_slot, kind in workflow["links"]:
        output = nodes[source]["outputs"][slot]
        entry = nodes[target]["inputs"][target_slot]
        assert output["type"] == entry["type"] == kind, f"{label}: link {link_id} joins {output['type']} to {entry['type']}"
        assert schema(nodes[source]["type"])["output"][slot] == kind, f"{label}: link {link_id} wrong output type"
        assert link_id in output["links"] and entry["link"] == link_id, f"{label}: link {link_id} not on both ends"
    for node in workflow["nodes"]:
        if node["type"] in FRONTEND_ONLY:
            continue
        sockets = [(name, kind, section) for section, name, kind, _ in inputs_of(node["type"]) if not is_widget(kind)]
        listed = [(i["name"], i["type"]) for i in node["inputs"]]
        assert listed == [(n, k) for n, k, s in sockets if s == "required" or n in dict(listed)], \
            f"{label}: node {node['id']} {node['type']} lists inputs {listed}"
        for entry in node["inputs"]:
            if entry["link"] is not None:
                assert any(row[0] == entry["link"] for row in workflow["links"]), f"{label}: dangling link"
        s = schema(node["type"])
        assert [(o["name"], o["type"]) for o in node["outputs"]] == list(zip(s["output_name"], s["output"]))
        for output in node["outputs"]:
            for link_id in output["links"] or []:
                assert link_id in link_ids, f"{label}: node {node['id']} lists unknown link {link_id}"


@pytest.mark.parametrize("name", OURS)
def test_ui_and_api_twins_describe_the_same_graph(name):
    ui = load(WORKFLOWS / f"{name}.json")
    api = load(WORKFLOWS / "api" / f"{name}.json")
    without_meta = {k: {"class_type": v["class_type"], "inputs": v["inputs"]} for k, v in api.items()}
    assert ui_to_api(ui) == without_meta


def _chain(prompt: dict, node_id: str, through: str) -> list[str]:
    """Class types upstream of node_id along the input named `through` at each step (first link)."""
    types = []
    while node_id is not None:
        node = prompt[node_id]
        types.append(node["class_type"])
        link = node["inputs"].get(through) or next(
            (v for v in node["inputs"].values() if isinstance(v, list)), None)
        node_id = link[0] if isinstance(link, list) else None
    return types


def by_type(prompt: dict, node_type: str) -> list[tuple[str, dict]]:
    return [(k, v) for k, v in prompt.items() if v["class_type"] == node_type]


def test_workflow_1_is_one_offline_step_into_save_image():
    prompt = load(WORKFLOWS / "api" / "exquisite_1_one_step_offline.json")
    [(_, tile)] = by_type(prompt, "ExquisiteGenerateTile")
    assert tile["inputs"]["backend"] == "local"
    [(_, save)] = by_type(prompt, "SaveImage")
    glue = prompt[save["inputs"]["images"][0]]
    assert glue["class_type"] == "ExquisiteFeatherGlue"
    assert _chain(prompt, glue["inputs"]["tile"][0], "reference") == [
        "ExquisiteGenerateTile", "ExquisiteReferenceMask", "ExquisiteBandExtract", "ImageScale", "LoadImage"]


def test_workflow_2_chains_three_checkpoint_steps_with_the_soft_mask():
    prompt = load(WORKFLOWS / "api" / "exquisite_2_three_steps_local_checkpoint.json")
    glues = by_type(prompt, "ExquisiteFeatherGlue")
    assert len(glues) == 3
    [(_, save)] = by_type(prompt, "SaveImage")
    canvases = _chain(prompt, save["inputs"]["images"][0], "canvas")
    assert canvases[:3] == ["ExquisiteFeatherGlue"] * 3 and canvases[-2:] == ["ImageScale", "LoadImage"]
    for _, conditioning in by_type(prompt, "InpaintModelConditioning"):
        assert conditioning["inputs"]["noise_mask"] is True
        source, slot = conditioning["inputs"]["mask"]
        assert prompt[source]["class_type"] == "ExquisiteReferenceMask" and slot == 1
    for _, sampler in by_type(prompt, "KSampler"):
        assert prompt[sampler["inputs"]["model"][0]]["class_type"] == "DifferentialDiffusion"
        assert sampler["inputs"]["denoise"] == 1.0
    for _, glue in glues:
        tile = prompt[glue["inputs"]["tile"][0]]
        assert tile["class_type"] == "VAEDecode"
    assert not by_type(prompt, "ExquisiteGenerateTile") and not by_type(prompt, "VAEEncodeForInpaint")


def test_workflow_3_is_one_openai_step_with_the_seed_fixed_and_the_mask_blend():
    prompt = load(WORKFLOWS / "api" / "exquisite_3_one_step_openai.json")
    [(tile_id, tile)] = by_type(prompt, "ExquisiteGenerateTile")
    assert tile["inputs"]["backend"] == "openai"
    assert "api_key" not in tile["inputs"]["backend_settings"].lower()
    [(_, glue)] = by_type(prompt, "ExquisiteFeatherGlue")
    assert glue["inputs"]["blend"] == "mask" and glue["inputs"]["tile"] == [tile_id, 0]
    ui = load(WORKFLOWS / "exquisite_3_one_step_openai.json")
    [node] = [n for n in ui["nodes"] if n["type"] == "ExquisiteGenerateTile"]
    seed_at = [name for _, name, kind, _ in inputs_of(node["type"]) if is_widget(kind)].index("seed")
    assert node["widgets_values"][seed_at + 1] == "fixed"  # a paid call is never silently repeated


def test_the_validator_catches_what_post_prompt_refuses():
    """The checks above can fail: a MASK into an IMAGE, a stale widget list, a bad combo value."""
    prompt = load(WORKFLOWS / "api" / "exquisite_1_one_step_offline.json")
    [(glue_id, glue)] = by_type(prompt, "ExquisiteFeatherGlue")
    [(mask_id, _)] = by_type(prompt, "ExquisiteReferenceMask")
    broken = json.loads(json.dumps(prompt))
    broken[glue_id]["inputs"]["tile"] = [mask_id, 1]
    with pytest.raises(AssertionError, match="gives MASK, input takes IMAGE"):
        check_api(broken, "broken")
    broken = json.loads(json.dumps(prompt))
    broken[glue_id]["inputs"]["blend"] = "feathered"
    with pytest.raises(AssertionError, match="not one of"):
        check_api(broken, "broken")
    ui = load(WORKFLOWS / "exquisite_1_one_step_offline.json")
    [node] = [n for n in ui["nodes"] if n["type"] == "ExquisiteFeatherGlue"]
    node["widgets_values"].append(3)
    with pytest.raises(AssertionError, match="extra widget values"):
        ui_to_api(ui)


def test_display_names_in_the_api_twins_are_ours():
    for name in OURS:
        for node in load(WORKFLOWS / "api" / f"{name}.json").values():
            if node["class_type"] in NODE_CLASS_MAPPINGS:
                assert node["_meta"]["title"] == NODE_DISPLAY_NAME_MAPPINGS[node["class_type"]]
