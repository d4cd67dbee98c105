"""exquisite: step-wise image outpainting.

This file makes the checkout a ComfyUI custom node pack (ComfyUI imports it under a name made from
its path and reads NODE_CLASS_MAPPINGS) and, installed with pip, the package `exquisite`. The node
classes are looked up lazily, so importing the core never imports torch or ComfyUI.
"""

__version__ = "0.1.0"

WEB_DIRECTORY = "./web/comfyui"
"""ComfyUI serves this folder at /extensions/<pack>/ and loads every .js in it: the viewer's sidebar tab."""


def __getattr__(name):
    if name in ("NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"):
        from . import nodes

        return getattr(nodes, name)
    raise AttributeError(name)
