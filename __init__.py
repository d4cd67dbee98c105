"""exquisite: step-wise image outpainting.

This file makes the checkout a ComfyUI custom node pack (ComfyUI imports it under a name made from
its path and calls its V3 `comfy_entrypoint`; WEB_DIRECTORY serves the nodes' help pages) and,
installed with pip, the package `exquisite`. The nodes are looked up lazily, so importing the core
never imports torch or ComfyUI.
"""

__version__ = "0.1.0"


def __getattr__(name):
    if name in ("comfy_entrypoint", "WEB_DIRECTORY"):
        from . import nodes

        return getattr(nodes, name)
    raise AttributeError(name)
