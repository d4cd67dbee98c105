"""Feather Glue against the two ComfyUI core nodes a user would wire for the same glue.

The case: a 1024x4096 canvas grows right by one 1024x1024 tile whose left 512 px lie on the canvas's
last 512 px, faded in linearly across them. Core nodes: ImagePadForOutpaint (right 512, feathering
0) pads the canvas, then ImageCompositeMasked pastes the tile at x = 3584 through a ramp mask (the
same alpha Feather Glue uses, built once outside the timing). Feather Glue: blend linear, colour
matching off, and its seam report included. One thread, medians of calls timed in alternation in the same run, and the two
results checked to agree (to rounding: Feather Glue works in 8-bit on the frontier) before timing.

Needs ComfyUI importable: set COMFYUI_ROOT and run with ComfyUI's Python:

    COMFYUI_ROOT=/path/to/ComfyUI /path/to/comfy/python bench/bench_feather_glue_vs_core_nodes.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_reference_mask_vs_pad import import_comfyui_nodes, import_exquisite_nodes

HEIGHT, WIDTH, TILE, BAND = 1024, 4096, 1024, 512
REPEATS = 15


def paired_medians(first, second, repeats=REPEATS) -> tuple[float, float]:
    """Median seconds of two calls timed in alternation, so a busy machine slows both alike."""
    times: tuple[list, list] = ([], [])
    for _ in range(repeats):
        for call, spent in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            call()
            spent.append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


def import_core_nodes():
    """ComfyUI's ImagePadForOutpaint and ImageCompositeMasked, or the reason they cannot be imported."""
    comfy_nodes, why_not = import_comfyui_nodes()
    if comfy_nodes is None:
        return None, why_not
    from comfy_extras.nodes_mask import ImageCompositeMasked

    return (comfy_nodes.ImagePadForOutpaint, ImageCompositeMasked), None


def main() -> None:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    nodes = import_exquisite_nodes()
    from exquisite.shared_core.geometry import Contract
    from exquisite.shared_core.glue import blend_alpha

    rng = np.random.default_rng(0)
    canvas = torch.from_numpy(rng.integers(0, 256, (1, HEIGHT, WIDTH, 3), dtype=np.uint8)).float().div_(255)
    tile = torch.from_numpy(rng.integers(0, 256, (1, TILE, TILE, 3), dtype=np.uint8)).float().div_(255)
    feather_glue = nodes.SPECS["ExquisiteFeatherGlue"]
    settings = {"canvas": canvas, "tile": tile, "blend": "linear", "colour_match": False}
    grown, report = feather_glue(**settings)
    print(f"Feather Glue's seam report: {json.loads(report)}")

    classes, why_not = import_core_nodes()
    if classes is None:
        print(f"ImagePadForOutpaint + ImageCompositeMasked: skipped ({why_not})")
        return
    pad, composite = (cls() for cls in classes)
    ramp = torch.from_numpy(blend_alpha(Contract(TILE, BAND, BAND, TILE - BAND), "linear"))[None]

    def core_nodes():
        padded, _ = pad.expand_image(canvas, 0, 0, TILE - BAND, 0, 0)
        return composite.composite(padded, tile, WIDTH - BAND, 0, False, ramp)

    (theirs_image,) = core_nodes()
    assert theirs_image.shape == grown.shape, (theirs_image.shape, grown.shape)
    worst = float((theirs_image - grown).abs().max())
    assert worst <= 0.5 / 255 + 1e-6, f"the two glues disagree by {worst * 255:.2f} levels"
    ours, theirs = paired_medians(lambda: feather_glue(**settings), core_nodes)
    print(f"Feather Glue (linear, colour matching off, seam report):              {ours * 1000:8.1f} ms")
    print(f"ImagePadForOutpaint (feathering 0) + ImageCompositeMasked (ramp mask): {theirs * 1000:8.1f} ms")
    print(f"largest difference between the two results: {worst * 255:.2f} of 255 levels")
    print(f"ratio core nodes / Feather Glue: {theirs / ours:.2f}x (above 1: Feather Glue is faster)")


if __name__ == "__main__":
    main()
