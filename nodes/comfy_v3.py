"""The V3 declaration (comfy_api.latest) of the nodes in `spec.py`: imported only inside ComfyUI.

Each node is an io.ComfyNode whose schema is rendered from its NodeSpec and whose execute calls the
spec's plain function. ComfyUI (0.3.64) does not check a V3 combo's value against its options when
a graph is queued, so validate_inputs does, naming only the combo inputs (ComfyUI keeps its own
min/max checks for every input a validate_inputs does not name): a bad choice anywhere in a graph
is refused before any node, and so any paid call, runs. No IS_CHANGED / fingerprint_inputs: ComfyUI's cache key already holds the
node's class, every constant input (seed, prompt, backend, settings...) and its upstream nodes'
keys, so an unchanged Generate Tile is served from the cache and any change calls the backend again.
"""

from __future__ import annotations

import inspect

from comfy_api.latest import ComfyExtension, io

from .spec import CATEGORY, NodeSpec, Param
from .widgets import POSITIONS_TYPE

_SOCKETS = {
    "IMAGE": io.Image,
    "MASK": io.Mask,
    "INT": io.Int,
    "FLOAT": io.Float,
    "STRING": io.String,
    "BOOLEAN": io.Boolean,
    POSITIONS_TYPE: io.Custom(POSITIONS_TYPE),
}


def _input(p: Param):
    p = p.now()
    common = {"tooltip": p.tooltip, "optional": p.optional}
    if p.kind == "COMBO":
        return io.Combo.Input(p.name, options=list(p.options), default=p.default, **common)
    if p.kind == "INT":
        return io.Int.Input(
            p.name,
            default=p.default,
            min=p.min,
            max=p.max,
            step=p.step,
            control_after_generate=p.control_after_generate or None,
            **common,
        )
    if p.kind == "FLOAT":
        return io.Float.Input(p.name, default=p.default, min=p.min, max=p.max, step=p.step, **common)
    if p.kind == "STRING":
        return io.String.Input(p.name, default=p.default, multiline=p.multiline, **common)
    if p.kind == "BOOLEAN":
        return io.Boolean.Input(p.name, default=p.default, **common)
    return _SOCKETS[p.kind].Input(p.name, **common)


def node_class(spec: NodeSpec) -> type:
    """An io.ComfyNode class for `spec`."""

    def define_schema(cls):
        return io.Schema(
            node_id=spec.node_id,
            display_name=spec.display_name,
            category=CATEGORY,
            description=spec.description,
            inputs=[_input(p) for p in spec.inputs],
            outputs=[
                _SOCKETS[o.kind].Output(f"{o.name}_out", display_name=o.name, tooltip=o.tooltip) for o in spec.outputs
            ],
        )

    def execute(cls, **inputs):
        return io.NodeOutput(*spec.run(**inputs))

    def validate_inputs(cls, **choices):
        return spec.refused_choice(**choices) or True

    # ComfyUI passes validate_inputs the inputs its signature names (linked ones may be absent).
    validate_inputs.__signature__ = inspect.Signature(
        [inspect.Parameter("cls", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)
            for p in spec.inputs
            if p.kind == "COMBO"
        ]
    )
    name = spec.node_id.removeprefix("Exquisite")
    return type(
        name,
        (io.ComfyNode,),
        {
            "define_schema": classmethod(define_schema),
            "execute": classmethod(execute),
            "validate_inputs": classmethod(validate_inputs),
            "__module__": __name__,
        },
    )


class ExquisiteExtension(ComfyExtension):
    def __init__(self, specs: list[NodeSpec]) -> None:
        self.specs = specs

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return [node_class(spec) for spec in self.specs]
