"""ReferenceMask against ComfyUI's ImagePadForOutpaint on the same 1024x1024 outpainting case.

Both turn a 1024 px high, 512 px wide band into a 1024x1024 image (the band, then 512 px of new
space) and a mask that is 1 over the new space and fades to 0 inside the band. ImagePadForOutpaint
builds its feather in a per-pixel Python double loop (and skips it when 2 * feathering is not less
than the image's smaller side, so 240 px here); ReferenceMask ramps over the same 240 px with numpy.
Prints the median times and their ratio. The ImagePadForOutpaint row needs ComfyUI importable: set
COMFYUI_ROOT and run with ComfyUI's Python (e.g. COMFYUI_PYTHON); without it the row is skipped and
the bench says so.

    COMFYUI_ROOT=/path/to/ComfyUI /path/to/comfy/python bench/bench_reference_mask_vs_pad.py
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FEATHER = 240
REPEATS = 5


def import_exquisite_nodes():
    """exquisite.nodes, also from a Python (ComfyUI's) where the package is not installed."""
    try:
        from exquisite import nodes

        return nodes
    except ImportError:
        spec = importlib.util.spec_from_file_location(
            "exquisite", REPO / "__init__.py", submodule_search_locations=[str(REPO)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules["exquisite"] = package
        spec.loader.exec_module(package)
        from exquisite import nodes

        return nodes


def import_comfyui_nodes():
    """ComfyUI's own `nodes` module (its built-in nodes; comfy_extras importable after it), or the
    reason it cannot be imported with this Python."""
    root = os.environ.get("COMFYUI_ROOT")
    if not root or not (Path(root) / "nodes.py").exists():
        return None, "COMFYUI_ROOT is not set to a ComfyUI checkout"
    sys.path.insert(0, root)
    argv, sys.argv = sys.argv, [sys.argv[0], "--cpu"]
    try:
        import comfy.options

        comfy.options.enable_args_parsing()
        import nodes as comfy_nodes

        return comfy_nodes, None
    except Exception as error:
        return None, f"ComfyUI could not be imported with {sys.executable}: {type(error).__name__}: {error}"
    finally:
        sys.argv = argv


def median_seconds(call, repeats=REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    import torch

    torch.set_num_threads(1)
    nodes = import_exquisite_nodes()
    band = torch.rand(1, 1024, 512, 3)
    reference_mask = nodes.SPECS["ExquisiteReferenceMask"]
    ramp = {"ramp": "custom", "ramp_start": float(512 - FEATHER), "ramp_end": 512.0}
    ours = median_seconds(lambda: reference_mask(band=band, **ramp))
    print(f"ReferenceMask (1024x1024, ramp {FEATHER} px):        {ours * 1000:9.2f} ms")

    comfy_nodes, why_not = import_comfyui_nodes()
    if comfy_nodes is None:
        print(f"ImagePadForOutpaint: skipped ({why_not})")
        return
    pad = comfy_nodes.ImagePadForOutpaint()
    reference, mask = reference_mask(band=band, **ramp)
    padded, pad_mask = pad.expand_image(band, 0, 0, 512, 0, FEATHER)
    assert padded.shape == reference.shape and pad_mask.shape == mask.shape
    theirs = median_seconds(lambda: pad.expand_image(band, 0, 0, 512, 0, FEATHER), repeats=3)
    print(f"ImagePadForOutpaint (1024x1024, feathering {FEATHER}): {theirs * 1000:9.2f} ms")
    print(f"ratio ImagePadForOutpaint / ReferenceMask: {theirs / ours:.0f}x")


if __name__ == "__main__":
    main()
