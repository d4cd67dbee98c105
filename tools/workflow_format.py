"""ComfyUI's two workflow formats, written from one graph description (used by make_workflows.py).

UI format ("workflow", version 0.4): nodes with positional widgets_values, links as rows
[id, from, from_slot, to, to_slot, type], and subgraph definitions under definitions.subgraphs,
each with its own nodes and links, its inputs fed from a virtual node -10 and its outputs going to a
virtual node -20; an instance of a subgraph is a node whose type is the definition's id.
API format ("prompt"): {id: {class_type, inputs}}, where a subgraph instance is flattened the way
the frontend's graphToPrompt does it: inner node k of instance i becomes "i:k".
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURE = json.loads((REPO / "tests/fixtures/comfyui_object_info.json").read_text())
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
SUBGRAPH_IN, SUBGRAPH_OUT = -10, -20


@dataclass
class Node:
    id: int
    type: str
    pos: tuple
    size: tuple = (300, 130)
    widgets: dict = field(default_factory=dict)
    links: dict = field(default_factory=dict)  # input name -> (source node id, output slot)
    title: str | None = None
    control: str = "fixed"  # control_after_generate of a seed widget
    properties: dict = field(default_factory=dict)
    color: tuple | None = None


@dataclass
class Subgraph:
    """A reusable group of nodes. Inner nodes take subgraph input k as the link (SUBGRAPH_IN, k)."""

    name: str
    nodes: list[Node]
    inputs: list[tuple[str, list]]  # (name, [type, options]) in slot order: sockets on the box
    outputs: list[tuple[str, str, tuple[int, int]]]  # (name, type, (inner node id, output slot))
    description: str = ""

    @property
    def id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "exquisite-subgraph:" + self.name))

    def schema(self) -> dict:
        return {
            "input": {"required": {name: spec for name, spec in self.inputs}},
            "input_order": {"required": [name for name, _ in self.inputs]},
            "output": [kind for _, kind, _ in self.outputs],
            "output_name": [n for n, _, _ in self.outputs],
            "display_name": self.name,
        }


def is_widget(kind) -> bool:
    return isinstance(kind, list) or kind in WIDGET_TYPES


def default_of(kind, opts: dict):
    """A widget's default as the frontend fills it: the declared one, else the first option."""
    options = kind if isinstance(kind, list) else opts.get("options")
    return opts.get("default", options[0] if options else None)


def note(id_, pos, size, text, title):
    return {
        "id": id_,
        "type": "MarkdownNote",
        "pos": list(pos),
        "size": list(size),
        "flags": {},
        "order": 0,
        "mode": 0,
        "inputs": [],
        "outputs": [],
        "title": title,
        "properties": {},
        "widgets_values": [text],
        "color": "#432",
        "bgcolor": "#653",
    }


class Writer:
    """Renders nodes of one workflow; link ids are unique across the workflow and its subgraphs."""

    def __init__(self, ours: dict) -> None:
        self.ours = ours  # node id -> object_info of our own nodes
        self.subgraphs: dict[str, Subgraph] = {}
        self.link_count = 0

    def schema(self, node_type: str) -> dict:
        if node_type in self.ours:
            return self.ours[node_type]
        if node_type in self.subgraphs:
            return self.subgraphs[node_type].schema()
        return FIXTURE[node_type]

    def render(self, nodes: list[Node], inner_of: Subgraph | None = None):
        """(ui nodes, link rows, api entries with int ids) of nodes that link among themselves (and, in
        a subgraph, to its input node)."""
        by_id = {n.id: n for n in nodes}
        links, link_of, out_links = [], {}, {}
        for n in nodes:
            for name, (src, slot) in n.links.items():
                kind = (
                    inner_of.inputs[slot][1][0] if src == SUBGRAPH_IN else self.schema(by_id[src].type)["output"][slot]
                )
                self.link_count += 1
                row = [self.link_count, src, slot, n.id, None, kind]
                links.append(row)
                link_of[(n.id, name)] = row
                out_links.setdefault((src, slot), []).append(row[0])
        ui_nodes, api = [], {}
        for order, n in enumerate(nodes):
            ui, api[n.id] = self._node(n, order, link_of, out_links)
            ui_nodes.append(ui)
        return ui_nodes, links, out_links, api

    def _node(self, n: Node, order: int, link_of: dict, out_links: dict):
        s = self.schema(n.type)
        instance = n.type in self.subgraphs  # a subgraph box: every input is a socket
        inputs, widgets_values, api_inputs = [], [], {}
        for section in ("required", "optional"):
            for name in s["input_order"].get(section, []):
                kind, *opts = s["input"][section][name]
                opts = opts[0] if opts else {}
                row = link_of.get((n.id, name))
                if row is not None:
                    api_inputs[name] = list(n.links[name])
                if is_widget(kind) and not instance:
                    value = n.widgets.get(name, default_of(kind, opts))
                    widgets_values.append(value)
                    if row is None:
                        api_inputs[name] = value
                    if opts.get("control_after_generate"):
                        widgets_values.append(n.control)
                    if opts.get("image_upload"):
                        widgets_values.append("image")
                if not is_widget(kind) or instance or row is not None:
                    if row is not None:
                        row[4] = len(inputs)
                    entry = {
                        "name": name,
                        "type": "COMBO" if isinstance(kind, list) else kind,
                        "link": None if row is None else row[0],
                    }
                    if is_widget(kind) and not instance:
                        entry["widget"] = {"name": name}
                    if section == "optional":
                        entry["shape"] = 7
                    inputs.append(entry)
        unknown = set(n.widgets) - set(api_inputs)
        assert not unknown, (n.type, unknown)
        outputs = [
            {"name": nm, "type": t, "links": out_links.get((n.id, i), []), "slot_index": i}
            for i, (nm, t) in enumerate(zip(s["output_name"], s["output"]))
        ]
        ui = {
            "id": n.id,
            "type": n.type,
            "pos": list(n.pos),
            "size": list(n.size),
            "flags": {},
            "order": order,
            "mode": 0,
            "inputs": inputs,
            "outputs": outputs,
            "properties": {"Node name for S&R": n.type, **n.properties},
            "widgets_values": widgets_values,
        }
        if n.title:
            ui["title"] = n.title
        if n.color:
            ui["color"], ui["bgcolor"] = n.color
        title = n.title or s.get("display_name", n.type)
        return ui, {"class_type": n.type, "inputs": api_inputs, "_meta": {"title": title}}

    def definition(self, sub: Subgraph, box: tuple[tuple, tuple]) -> tuple[dict, dict]:
        """The UI definition of a subgraph (`box`: where its input and output nodes are drawn) and the
        API entries of its nodes (links to its inputs as [SUBGRAPH_IN, k])."""
        ui_nodes, links, out_links, api = self.render(sub.nodes, sub)
        kinds = {row[0]: row[5] for row in links}
        out_rows = []
        for j, (_, kind, (src, slot)) in enumerate(sub.outputs):
            self.link_count += 1
            out_rows.append([self.link_count, src, slot, SUBGRAPH_OUT, j, kind])
            for ui in ui_nodes:
                if ui["id"] == src:
                    ui["outputs"][slot]["links"].append(self.link_count)
        (in_pos, out_pos) = box
        return api, {
            "id": sub.id,
            "version": 1,
            "state": {
                "lastGroupId": 0,
                "lastNodeId": max(n.id for n in sub.nodes),
                "lastLinkId": self.link_count,
                "lastRerouteId": 0,
            },
            "revision": 0,
            "config": {},
            "name": sub.name,
            "description": sub.description,
            "inputNode": {"id": SUBGRAPH_IN, "bounding": [*in_pos, 120, 40 + 20 * len(sub.inputs)]},
            "outputNode": {"id": SUBGRAPH_OUT, "bounding": [*out_pos, 120, 60]},
            "inputs": [
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sub.id}:in:{name}")),
                    "name": name,
                    "type": spec[0],
                    "linkIds": out_links.get((SUBGRAPH_IN, k), []),
                    "localized_name": name,
                }
                for k, (name, spec) in enumerate(sub.inputs)
            ],
            "outputs": [
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sub.id}:out:{name}")),
                    "name": name,
                    "type": kind,
                    "linkIds": [out_rows[j][0]],
                    "localized_name": name,
                }
                for j, (name, kind, _) in enumerate(sub.outputs)
            ],
            "widgets": [],
            "nodes": ui_nodes,
            "groups": [],
            "links": [
                {
                    "id": r[0],
                    "origin_id": r[1],
                    "origin_slot": r[2],
                    "target_id": r[3],
                    "target_slot": r[4],
                    "type": kinds.get(r[0], r[5]),
                }
                for r in links + out_rows
            ],
            "extra": {},
        }


def flatten(api: dict, subgraphs: dict[str, Subgraph], inner_api: dict[str, dict]) -> dict:
    """The API prompt of a top-level graph whose nodes may be subgraph instances ("i:k" ids)."""
    prompt, outputs_of = {}, {}
    for node_id, entry in api.items():
        sub = subgraphs.get(entry["class_type"])
        if sub is None:
            prompt[str(node_id)] = {**entry, "inputs": dict(entry["inputs"])}
            continue
        fed = [entry["inputs"][name] for name, _ in sub.inputs]
        for inner_id, inner in inner_api[sub.id].items():
            inputs = {}
            for name, value in inner["inputs"].items():
                if isinstance(value, list) and value[0] == SUBGRAPH_IN:
                    inputs[name] = fed[value[1]]
                elif isinstance(value, list):
                    inputs[name] = [f"{node_id}:{value[0]}", value[1]]
                else:
                    inputs[name] = value
            prompt[f"{node_id}:{inner_id}"] = {**inner, "inputs": inputs}
        for j, (_, _, (src, slot)) in enumerate(sub.outputs):
            outputs_of[(str(node_id), j)] = [f"{node_id}:{src}", slot]
    for entry in prompt.values():  # links to an instance's output -> the inner node that makes it
        for name, value in entry["inputs"].items():
            if isinstance(value, list):
                ref = [str(value[0]), value[1]]
                while tuple(ref) in outputs_of:
                    ref = outputs_of[tuple(ref)]
                entry["inputs"][name] = ref
    return prompt
