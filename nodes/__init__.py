"""exquisite's ComfyUI nodes: thin adapters over the shared core (geometry, mask, glue, generators).

`SPECS` declares the four nodes as plain data with plain functions (see spec.py); ComfyUI loads them
through `comfy_entrypoint`, which builds their V3 classes (comfy_v3.py). Importing this package
imports neither torch nor ComfyUI; the nodes import torch when they run.
"""

from .band_extract import SPEC as BAND_EXTRACT
from .feather_glue import SPEC as FEATHER_GLUE
from .generate_tile import SPEC as GENERATE_TILE
from .reference_mask import SPEC as REFERENCE_MASK

SPECS = {spec.node_id: spec for spec in (BAND_EXTRACT, REFERENCE_MASK, GENERATE_TILE, FEATHER_GLUE)}

WEB_DIRECTORY = "./nodes/web"
"""Served at /extensions/<pack folder>/: docs/<node id>/en.md is the help ComfyUI's node panel shows, and
ComfyUI loads every .js in it: exquisite_viewer.js is the session viewer's sidebar tab."""


async def comfy_entrypoint():
    """ComfyUI's V3 entry point: the extension that lists the four nodes."""
    from .comfy_v3 import ExquisiteExtension
    from .viewer_routes import register as register_viewer_routes

    register_viewer_routes()  # the sidebar tab's routes on ComfyUI's own server
    return ExquisiteExtension(list(SPECS.values()))


__all__ = ["SPECS", "WEB_DIRECTORY", "comfy_entrypoint"]
