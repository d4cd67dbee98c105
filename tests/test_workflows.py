"""The shipped workflows, checked without a running ComfyUI.

Schemas: our nodes' declarations (nodes/spec.py, rendered as /object_info shows them), and for
ComfyUI's built-ins the /object_info entries recorded from a real ComfyUI in
tests/fixtures/comfyui_object_info.json. Every workflow JSON under workflows/ is checked: UI files
(what the frontend and its template browser load, subgraphs included) and API files (what POST
/prompt takes), including API workflows other parts of the project keep there. That the frontend
itself turns each UI file into its API twin is checked in a real browser (see the README).
"""

import json
from pathlib import Path

import pytest
from exquisite.nodes import SPECS
from exquisite.shared_core.generators import make_generator

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "comfyui_object_info.json").read_text())
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
FRONTEND_ONLY = {"MarkdownNote", "Note"}  # drawn by the frontend, never sent to the server
FILE_COMBOS = {("LoadImage", "image"), ("CheckpointLoaderSimple", "ckpt_name")}  # lists of installed files
SEED_CONTROLS = {"fixed", "increment", "decrement", "randomize"}
OFFLINE, CHECKPOINT, OPENAI = "Extend 1 step offline", "Extend 3 steps with SDXL", "Extend 1 step with OpenAI"
GROW_DOWN = "Grow a full photo down"
OURS = [OFFLINE, CHECKPOINT, OPENAI, GROW_DOWN]


def schema(node_type: str, subgraphs: dict | None = None) -> dict:
    """object_info-shaped schema: ours from their declarations, subgraph boxes from their definition
    (every input a socket), built-ins from the recorded fixture."""
    if node_type in SPECS:
        return SPECS[node_type].object_info()
    if subgraphs and node_type in subgraphs:
        sub = subgraphs[node_type]
        return {
            "input": {"required": {i["name"]: [i["type"], {"forceInput": True}] for i in sub["inputs"]}},
            "input_order": {"required": [i["name"] for i in sub["inputs"]]},
            "output": [o["type"] for o in sub["outputs"]],
            "output_name": [o["name"] for o in sub["outputs"]],
        }
    assert node_type in FIXTURE, f"{node_type} is neither ours nor in the recorded /object_info fixture"
    return FIXTURE[node_type]


def inputs_of(node_type: str, subgraphs: dict | None = None):
    """(section, name, kind, options) in ComfyUI's order: required, then optional."""
    s = schema(node_type, subgraphs)
    for section in ("required", "optional"):
        for name in s["input_order"].get(section, []):
            kind, *options = s["input"][section][name]
            yield section, name, kind, (options[0] if options else {})


def is_widget(kind, options: dict | None = None) -> bool:
    return (isinstance(kind, list) or kind in WIDGET_TYPES) and not (options or {}).get("forceInput")


def combo_options(kind, options: dict):
    return kind if isinstance(kind, list) else options.get("options")


def check_value(node_type, name, kind, options, value):
    where = f"{node_type}.{name} = {value!r}"
    if combo_options(kind, options) is not None:
        if (node_type, name) not in FILE_COMBOS:
            assert value in combo_options(kind, options), f"{where} is not one of {combo_options(kind, options)}"
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
    """What the frontend sends for a UI workflow: widget values by name, links as [id, slot]; inner
    node k of subgraph box i becomes "i:k", fed by what is linked to the box."""
    subgraphs = {s["id"]: s for s in workflow.get("definitions", {}).get("subgraphs", [])}
    links = {row[0]: tuple(row[1:3]) for row in workflow["links"]}
    prompt, outputs_of = {}, {}
    _graph_to_api(workflow["nodes"], links, subgraphs, "", [], prompt, outputs_of)
    for entry in prompt.values():  # a link to a box's output -> the inner node that makes it
        for name, value in entry["inputs"].items():
            while isinstance(value, list) and tuple(value) in outputs_of:
                value = outputs_of[tuple(value)]
            entry["inputs"][name] = value
    return prompt


def _graph_to_api(nodes, links, subgraphs, prefix, fed, prompt, outputs_of):
    for node in nodes:
        if node["type"] in FRONTEND_ONLY:
            continue
        node_id = f"{prefix}{node['id']}"
        linked = {}
        for i in node["inputs"]:
            if i.get("link") is not None:
                source, slot = links[i["link"]]
                linked[i["name"]] = fed[slot] if source == -10 else [f"{prefix}{source}", slot]
        if node["type"] in subgraphs:
            sub = subgraphs[node["type"]]
            inner_links = {link["id"]: (link["origin_id"], link["origin_slot"]) for link in sub["links"]}
            inner_fed = [linked.get(i["name"]) for i in sub["inputs"]]
            _graph_to_api(sub["nodes"], inner_links, subgraphs, f"{node_id}:", inner_fed, prompt, outputs_of)
            for j, output in enumerate(sub["outputs"]):
                [link_id] = output["linkIds"]
                source, slot = inner_links[link_id]
                outputs_of[(node_id, j)] = [f"{node_id}:{source}", slot]
            continue
        values = list(node.get("widgets_values", []))
        inputs = {}
        for _, name, kind, options in inputs_of(node["type"]):
            if is_widget(kind, options):
                assert values, f"node {node_id} {node['type']} has too few widget values for {name}"
                inputs[name] = values.pop(0)
                if options.get("control_after_generate"):
                    assert values.pop(0) in SEED_CONTROLS, f"node {node_id}: bad control_after_generate"
                if options.get("image_upload"):
                    assert values.pop(0) == "image"
            if name in linked:
                inputs[name] = linked[name]
        assert not values, f"node {node_id} {node['type']} has extra widget values {values}"
        prompt[node_id] = {"class_type": node["type"], "inputs": inputs}


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
                expected = "COMBO" if combo_options(kind, options) is not None else kind
                assert produced == expected, (
                    f"{label} node {node_id} {node_type}.{name}: "
                    f"{source['class_type']} gives {produced}, input takes {expected}"
                )
            else:
                assert is_widget(kind, options), f"{label} node {node_id} {node_type}.{name} ({kind}) must be linked"
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


def test_the_workflows_ship_as_templates_with_api_twins_and_thumbnails():
    for name in OURS:
        assert is_ui(load(WORKFLOWS / f"{name}.json")), f"{name}.json must be in the UI format"
        assert not is_ui(load(WORKFLOWS / "api" / f"{name}.json"))
        thumbnail = WORKFLOWS / f"{name}.jpg"
        assert thumbnail.read_bytes()[:3] == b"\xff\xd8\xff", f"{thumbnail.name} is not a JPEG"
        assert thumbnail.stat().st_size < 60_000
        # The file name is the card's title in the template browser: words, short enough for a card.
        assert len(name) <= 25 and "_" not in name and name[0].isupper()
    # The template browser lists every top-level json of workflows/; the API twins stay out of it.
    assert not list(WORKFLOWS.glob("api/*.jpg"))
    assert sorted(p.stem for p in WORKFLOWS.glob("*.json")) == sorted(OURS)


@pytest.mark.parametrize("path", ALL_JSON, ids=lambda p: str(p.relative_to(WORKFLOWS)))
def test_every_workflow_json_is_valid_for_the_current_nodes(path):
    data = load(path)
    if not is_ui(data):
        assert all(isinstance(n, dict) and "class_type" in n for n in data.values()), (
            f"{path.name} is neither a UI workflow nor an API prompt"
        )
        check_api(data, path.name)
        return
    subgraphs = {s["id"]: s for s in data.get("definitions", {}).get("subgraphs", [])}
    check_ui_structure(data["nodes"], [tuple(row) for row in data["links"]], subgraphs, path.name)
    for sub in subgraphs.values():
        check_ui_structure(sub["nodes"], link_rows(sub), subgraphs, f"{path.name} subgraph {sub['name']}", sub)
    assert data["last_node_id"] >= max(n["id"] for g in [data, *subgraphs.values()] for n in g["nodes"])
    check_api(ui_to_api(data), path.name)


def link_rows(sub: dict) -> list[tuple]:
    """A subgraph's link objects as the top level's rows [id, from, from_slot, to, to_slot, type]."""
    return [
        (li["id"], li["origin_id"], li["origin_slot"], li["target_id"], li["target_slot"], li["type"])
        for li in sub["links"]
    ]


def check_ui_structure(nodes: list, links: list, subgraphs: dict, label: str, sub: dict | None = None):
    """Links join an output to an input of the same type, and both ends list the link (in a subgraph,
    its input node -10 and output node -20 stand for the box's inputs and outputs)."""
    by_id = {n["id"]: n for n in nodes}
    assert len(by_id) == len(nodes), f"{label}: repeated node ids"
    link_ids = [row[0] for row in links]
    assert len(set(link_ids)) == len(link_ids), f"{label}: repeated link ids"
    for link_id, source, slot, target, target_slot, kind in links:
        if source == -10:
            box_input = sub["inputs"][slot]
            assert box_input["type"] == kind and link_id in box_input["linkIds"], f"{label}: link {link_id} source"
        else:
            output = by_id[source]["outputs"][slot]
            assert output["type"] == kind and link_id in output["links"], f"{label}: link {link_id} source"
            assert schema(by_id[source]["type"], subgraphs)["output"][slot] == kind, f"{label}: link {link_id}"
        if target == -20:
            box_output = sub["outputs"][target_slot]
            assert box_output["type"] == kind and link_id in box_output["linkIds"], f"{label}: link {link_id} target"
        else:
            entry = by_id[target]["inputs"][target_slot]
            assert entry["type"] == kind and entry["link"] == link_id, f"{label}: link {link_id} target"
    for node in nodes:
        if node["type"] in FRONTEND_ONLY:
            continue
        sockets = [
            (name, kind, section)
            for section, name, kind, options in inputs_of(node["type"], subgraphs)
            if not is_widget(kind, options)
        ]
        listed = [(i["name"], i["type"]) for i in node["inputs"] if "widget" not in i]
        assert listed == [(n, k) for n, k, s in sockets if s == "required" or n in dict(listed)], (
            f"{label}: node {node['id']} {node['type']} lists inputs {listed}"
        )
        for entry in node["inputs"]:
            assert entry["link"] is None or entry["link"] in link_ids, f"{label}: dangling link"
        s = schema(node["type"], subgraphs)
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
        link = node["inputs"].get(through) or next((v for v in node["inputs"].values() if isinstance(v, list)), None)
        node_id = link[0] if isinstance(link, list) else None
    return types


def by_type(prompt: dict, node_type: str) -> list[tuple[str, dict]]:
    return [(k, v) for k, v in prompt.items() if v["class_type"] == node_type]


def test_workflow_1_is_one_offline_step_into_save_image():
    prompt = load(WORKFLOWS / "api" / f"{OFFLINE}.json")
    [(_, tile)] = by_type(prompt, "ExquisiteGenerateTile")
    assert tile["inputs"]["backend"] == "local"
    [(_, save)] = by_type(prompt, "SaveImage")
    glue = prompt[save["inputs"]["images"][0]]
    assert glue["class_type"] == "ExquisiteFeatherGlue"
    assert _chain(prompt, glue["inputs"]["tile"][0], "reference") == [
        "ExquisiteGenerateTile",
        "ExquisiteReferenceMask",
        "ExquisiteBandExtract",
        "ImageScale",
        "LoadImage",
    ]


def test_workflow_2_chains_three_checkpoint_steps_with_the_soft_mask():
    prompt = load(WORKFLOWS / "api" / f"{CHECKPOINT}.json")
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


def test_workflow_2_is_one_subgraph_used_three_times_with_a_fixed_seed_each():
    ui = load(WORKFLOWS / f"{CHECKPOINT}.json")
    [sub] = ui["definitions"]["subgraphs"]
    assert sub["name"] == "Extend one step"
    assert sorted(n["type"] for n in sub["nodes"]) == sorted(
        [
            "ExquisiteBandExtract",
            "ExquisiteReferenceMask",
            "InpaintModelConditioning",
            "KSampler",
            "VAEDecode",
            "ExquisiteFeatherGlue",
        ]
    )
    boxes = [n for n in ui["nodes"] if n["type"] == sub["id"]]
    assert len(boxes) == 3
    assert len([n for n in ui["nodes"] if n["type"] not in FRONTEND_ONLY]) <= 13  # was 26 nodes
    seeds = {n["id"]: n for n in ui["nodes"] if n["type"] == "PrimitiveInt"}
    assert [n["widgets_values"][1] for n in seeds.values()] == ["fixed"] * 3  # queueing again re-samples nothing
    prompt = ui_to_api(ui)
    samplers = by_type(prompt, "KSampler")
    fed = {tuple(s["inputs"]["seed"]) for _, s in samplers}
    assert fed == {(str(i), 0) for i in seeds} and len({prompt[i]["inputs"]["value"] for i, _ in fed}) == 3


def test_workflow_3_is_one_openai_step_with_the_seed_fixed_and_the_mask_blend():
    prompt = load(WORKFLOWS / "api" / f"{OPENAI}.json")
    [(tile_id, tile)] = by_type(prompt, "ExquisiteGenerateTile")
    assert tile["inputs"]["backend"] == "openai"
    assert "api_key" not in tile["inputs"]["backend_settings"].lower()
    [(_, glue)] = by_type(prompt, "ExquisiteFeatherGlue")
    assert glue["inputs"]["blend"] == "mask" and glue["inputs"]["tile"] == [tile_id, 0]
    ui = load(WORKFLOWS / f"{OPENAI}.json")
    [node] = [n for n in ui["nodes"] if n["type"] == "ExquisiteGenerateTile"]
    seed_at = [name for _, name, kind, o in inputs_of(node["type"]) if is_widget(kind, o)].index("seed")
    assert node["widgets_values"][seed_at + 1] == "fixed"  # a paid call is never silently repeated


def test_workflow_4_grows_a_photo_down_at_full_resolution_with_positions_and_a_session():
    """No scaling between the photo and Band Extract; every exquisite node downstream gets its positions."""
    prompt = load(WORKFLOWS / "api" / f"{GROW_DOWN}.json")
    assert not by_type(prompt, "ImageScale")
    [(band_id, band)] = by_type(prompt, "ExquisiteBandExtract")
    assert prompt[band["inputs"]["canvas"][0]]["class_type"] == "LoadImage"
    for node_type in ("ExquisiteReferenceMask", "ExquisiteGenerateTile", "ExquisiteFeatherGlue"):
        [(_, node)] = by_type(prompt, node_type)
        assert node["inputs"]["positions"] == [band_id, 3] and node["inputs"]["direction"] == "y_ttb"
    assert band["inputs"]["direction"] == "y_ttb"
    [(_, tile)] = by_type(prompt, "ExquisiteGenerateTile")
    assert tile["inputs"]["backend"] == "local"
    [(glue_id, glue)] = by_type(prompt, "ExquisiteFeatherGlue")
    assert glue["inputs"]["session"] and glue["inputs"]["canvas"] == band["inputs"]["canvas"]
    [(_, save)] = by_type(prompt, "SaveImage")
    assert save["inputs"]["images"] == [glue_id, 0]


def test_the_validator_catches_what_post_prompt_refuses():
    """The checks above can fail: a MASK into an IMAGE, a stale widget list, a bad combo value."""
    prompt = load(WORKFLOWS / "api" / f"{OFFLINE}.json")
    [(glue_id, _)] = by_type(prompt, "ExquisiteFeatherGlue")
    [(mask_id, _)] = by_type(prompt, "ExquisiteReferenceMask")
    broken = json.loads(json.dumps(prompt))
    broken[glue_id]["inputs"]["tile"] = [mask_id, 1]
    with pytest.raises(AssertionError, match="gives MASK, input takes IMAGE"):
        check_api(broken, "broken")
    broken = json.loads(json.dumps(prompt))
    broken[glue_id]["inputs"]["blend"] = "feathered"
    with pytest.raises(AssertionError, match="not one of"):
        check_api(broken, "broken")
    ui = load(WORKFLOWS / f"{OFFLINE}.json")
    [node] = [n for n in ui["nodes"] if n["type"] == "ExquisiteFeatherGlue"]
    node["widgets_values"].append(3)
    with pytest.raises(AssertionError, match="extra widget values"):
        ui_to_api(ui)
    [sub] = load(WORKFLOWS / f"{CHECKPOINT}.json")["definitions"]["subgraphs"]
    sub["links"][0]["type"] = "LATENT"
    with pytest.raises(AssertionError, match="broken: link"):
        check_ui_structure(sub["nodes"], link_rows(sub), {sub["id"]: sub}, "broken", sub)


def test_display_names_in_the_api_twins_are_ours():
    for name in OURS:
        for node in load(WORKFLOWS / "api" / f"{name}.json").values():
            if node["class_type"] in SPECS:
                assert node["_meta"]["title"] == SPECS[node["class_type"]].display_name
