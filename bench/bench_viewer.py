"""What the viewer's deep zoom costs to open when the head has no whole canvas on disk.

During a long run (a CLI extend of 200 steps) the session writes the whole canvas (canvas/NNNN.png)
only when the command ends, so the viewer renders the head from the steps (viewer_canvas.py): the
walk from source.png pasting every step's canvas_after crop, then the pyramid's first level. This
bench makes a strip of --steps mock steps, removes the checkpoint (as during the run) and times,
wall clock, one process, a fresh viewer each time:

* render: the first `api/sessions/ID/canvas?step=N` (walk + pyramid), the worst case: no
  checkpoint at all, so the walk starts at the source;
* file: the same when canvas/NNNN.png is on disk (the checkpoint decoded, its checksum checked);
* tile: one 256 px tile afterwards (the top-left one at full size).

The contract is scaled with --tile (default 1024: the default contract; --tile 256 for seconds).

Run: python bench/bench_viewer.py [--tile 1024] [--steps 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from exquisite.shared_core.generators import MockGenerator
from exquisite.shared_core.geometry import Contract
from exquisite.shared_core.session import Session, StepSettings
from exquisite.shared_core.viewer_api import ViewerApi


def open_canvas(folder: Path, head: int, level: int) -> tuple[float, float]:
    """Seconds of the first canvas request and of one full-size tile after it, with a fresh viewer."""
    api = ViewerApi([folder])
    try:
        t0 = time.perf_counter()
        reply = api.handle(f"api/sessions/{folder.name}/canvas", {"step": str(head)})
        t1 = time.perf_counter()
        assert reply.status == 200, reply.body
        tile = api.handle(f"tiles/{folder.name}/{level}/0_0.jpg", {"step": str(head)})
        t2 = time.perf_counter()
        assert tile.status == 200, tile.body
    finally:
        api.close()
    return t1 - t0, t2 - t1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    contract = Contract(tile=args.tile, band=args.tile // 2, overlap=args.tile // 2, advance=args.tile // 2)
    start = np.random.default_rng(0).integers(0, 255, (args.tile, args.tile, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "s"
        with Session.create(folder, start, contract) as session:
            session.extend(StepSettings(blend="linear"), MockGenerator(), steps=args.steps)
            width, height = session.size
        probe = ViewerApi([folder])
        info = json.loads(probe.handle("api/sessions/s/canvas", {"step": str(args.steps)}).body)
        probe.close()
        saved = Path(tmp) / "canvas"
        shutil.copytree(folder / "canvas", saved)
        shutil.rmtree(folder / "canvas")  # as during the run: no whole canvas of the head on disk
        rendered = [open_canvas(folder, args.steps, info["max_level"]) for _ in range(args.repeat)]
        shutil.copytree(saved, folder / "canvas")
        from_file = [open_canvas(folder, args.steps, info["max_level"]) for _ in range(args.repeat)]
    print(f"{args.steps} steps, tile {args.tile}, canvas {width}x{height}, worst of {args.repeat}:")
    print(f"  render (no checkpoint, walk from the source): {max(r[0] for r in rendered):.2f} s")
    print(f"  file   (canvas/{args.steps:04d}.png on disk):          {max(r[0] for r in from_file):.2f} s")
    print(f"  one full-size tile after it:                  {max(r[1] for r in rendered + from_file) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
