"""The nodes declared as plain data: ids, inputs, outputs, help, and the function each one runs.

ComfyUI's V3 schema (comfy_api.latest) is built from these in `comfy_v3.py`, which only ComfyUI
imports; everything else (tests, tools/make_workflows.py, the docs) reads these declarations and
calls the functions directly, without ComfyUI or torch. `object_info` renders a declaration the way
ComfyUI's /object_info shows it, so the recorded fixture, the workflows and the live server can be
compared with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

CATEGORY = "exquisite"
WIDGETS = ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO")


@dataclass(frozen=True)
class Param:
    """One input: a socket (IMAGE, MASK) or a widget (INT, FLOAT, STRING, BOOLEAN, COMBO). A combo's
    options and default may be functions, asked each time (the backends registered by then)."""

    name: str
    kind: str
    tooltip: str
    default: Any = None
    options: tuple = ()
    min: float | None = None
    max: float | None = None
    step: float | None = None
    multiline: bool = False
    optional: bool = False
    control_after_generate: bool = False

    @property
    def is_widget(self) -> bool:
        return self.kind in WIDGETS

    def now(self) -> Param:
        """This input with its options and default as they are now."""
        options = self.options() if callable(self.options) else self.options
        default = self.default() if callable(self.default) else self.default
        return replace(self, options=tuple(options), default=default)

    def object_info(self) -> list:
        """[type or options, {settings}] as /object_info lists it."""
        p = self.now()
        settings: dict[str, Any] = {}
        if p.kind == "COMBO":
            settings["options"] = list(p.options)
            settings["multiselect"] = False
        if p.is_widget:
            settings["default"] = p.default
        for key in ("min", "max", "step"):
            if getattr(p, key) is not None:
                settings[key] = getattr(p, key)
        if p.control_after_generate:
            settings["control_after_generate"] = True
        if p.kind == "STRING":
            settings["multiline"] = p.multiline
        settings["tooltip"] = p.tooltip
        return [p.kind, settings]


@dataclass(frozen=True)
class Out:
    kind: str
    name: str
    tooltip: str


@dataclass(frozen=True)
class NodeSpec:
    """A node: what ComfyUI shows and the plain function that does its work."""

    node_id: str
    display_name: str
    description: str
    """One or two sentences: ComfyUI shows it as the node's tooltip. Longer help: web/docs/<id>/en.md."""
    run: Callable[..., tuple]
    inputs: tuple[Param, ...]
    outputs: tuple[Out, ...]
    search_aliases: tuple[str, ...] = field(default=())

    def defaults(self) -> dict:
        """What the frontend puts in each widget of a fresh node."""
        return {p.name: p.now().default for p in self.inputs if p.is_widget}

    def __call__(self, **inputs) -> tuple:
        """Run the node as ComfyUI does: every widget at its default unless given."""
        return self.run(**{**self.defaults(), **inputs})

    def refused_choice(self, **values) -> str | None:
        """Why a choice (COMBO) value is not one of its options, or None. ComfyUI checks a V3 node's
        combos only through this (comfy_v3's validate_inputs), before the graph runs."""
        for p in (p.now() for p in self.inputs if p.kind == "COMBO"):
            value = values.get(p.name)
            if value is not None and value not in p.options:
                return f"{p.name} {value!r} is not one of {', '.join(map(str, p.options))}"
        return None

    def object_info(self) -> dict:
        """The node as ComfyUI's /object_info shows it (the parts our workflows and tests read)."""
        required = {p.name: p.object_info() for p in self.inputs if not p.optional}
        optional = {p.name: p.object_info() for p in self.inputs if p.optional}
        return {
            "input": {"required": required, **({"optional": optional} if optional else {})},
            "input_order": {"required": list(required), **({"optional": list(optional)} if optional else {})},
            "output": [o.kind for o in self.outputs],
            "output_name": [o.name for o in self.outputs],
            "output_tooltips": [o.tooltip for o in self.outputs],
            "name": self.node_id,
            "display_name": self.display_name,
            "description": self.description,
            "category": CATEGORY,
        }
