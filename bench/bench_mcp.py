"""What MCP costs: one extend step over stdio and in process against the same step on the core, as
ratios, and the byte size of every kind of preview the server returns.

    python bench/bench_mcp.py [--repeats 3] [--backend mock]

Each timing is the median of `repeats` one-step extend calls on a 1024 px canvas growing right; the
core timing is `Session.extend` + `flush` (what the tool does before it returns) on its own.
"""

from __future__ import annotations

import argparse
import base64
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
import numpy as np
from PIL import Image

from mcp import Client, StdioServerParameters
from exquisite.mcp_server.server import create_app
from exquisite.mcp_server.settings import ServerSettings
from exquisite.shared_core.generators import make_generator
from exquisite.shared_core.session import Session, StepSettings


def photo_like(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth colour fields with fine grain: compresses like a photograph, unlike pure noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([128 + 100 * np.sin(xx / 173 + c) * np.cos(yy / 211 - c) for c in (0.0, 1.3, 2.6)], -1)
    grain = rng.normal(0, 6, (height, width, 3))
    return np.clip(base + grain, 0, 255).astype(np.uint8)


def core_step_seconds(root: Path, image: np.ndarray, backend: str, repeats: int) -> float:
    times = []
    with Session.create(root / "core", image) as session:
        generator = make_generator(backend)
        for i in range(repeats):
            t0 = time.perf_counter()
            session.extend(StepSettings(direction="right", seed=i), generator, 1)
            session.flush()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def mcp_step_seconds(client: Client, repeats: int) -> float:
    sid = (await client.call_tool("open_canvas", {"image_path": "photo.png"})).structured_content["session_id"]
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        result = await client.call_tool("extend_canvas", {"session_id": sid, "direction": "right", "seed": i})
        times.append(time.perf_counter() - t0)
        assert not result.is_error, result.content[0].text
    return statistics.median(times)


async def preview_sizes(client: Client) -> list[tuple]:
    rows = []

    def row(kind: str, result) -> None:
        info = result.structured_content["preview"]
        data = base64.b64decode(next(b for b in result.content if b.type == "image").data)
        rows.append((kind, info["format"], f"{info['width']}x{info['height']}", len(data)))

    for name, direction in (("photo.png", "right"), ("tall.png", "down")):
        opened = await client.call_tool("open_canvas", {"image_path": name, "direction": direction})
        sid = opened.structured_content["session_id"]
        size = f"{opened.structured_content['width']}x{opened.structured_content['height']}"
        row(f"open ({size})", opened)
        for fmt in ("auto", "png", "jpeg"):
            row(
                f"view canvas {fmt} ({size})", await client.call_tool("view_canvas", {"session_id": sid, "format": fmt})
            )
        row(
            f"view region 512x512 ({size})",
            await client.call_tool(
                "view_canvas",
                {"session_id": sid, "what": "region", "region": {"x": 0, "y": 0, "width": 512, "height": 512}},
            ),
        )
        extended = await client.call_tool("extend_canvas", {"session_id": sid, "direction": direction})
        row(f"extend changed region ({size})", extended)
        row(f"view last_step ({size})", await client.call_tool("view_canvas", {"session_id": sid, "what": "last_step"}))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backend", default="mock")
    args = parser.parse_args()
    script = shutil.which("exquisite-mcp") or str(Path(sys.executable).parent / "exquisite-mcp")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("inputs", "exports", "sessions", "sessions-stdio"):
            (root / name).mkdir()
        Image.fromarray(photo_like(1024, 1024)).save(root / "inputs" / "photo.png")
        Image.fromarray(photo_like(8192, 1024, seed=1)).save(root / "inputs" / "tall.png", compress_level=1)
        settings = ServerSettings(
            sessions_dir=root / "sessions",
            input_dirs=[root / "inputs"],
            export_dirs=[root / "exports"],
            backend=args.backend,
        )

        core = core_step_seconds(root, photo_like(1024, 1024), args.backend, args.repeats)

        app = create_app(settings)

        async def in_process():
            async with Client(app.mcp) as client:
                return await mcp_step_seconds(client, args.repeats), await preview_sizes(client)

        try:
            inproc, rows = anyio.run(in_process)
        finally:
            app.close()

        params = StdioServerParameters(
            command=script,
            env={
                "EXQUISITE_SESSIONS": str(root / "sessions-stdio"),
                "EXQUISITE_INPUT_DIRS": str(root / "inputs"),
                "EXQUISITE_EXPORT_DIRS": str(root / "exports"),
                "EXQUISITE_BACKEND": args.backend,
            },
        )

        async def over_stdio():
            async with Client(params) as client:
                return await mcp_step_seconds(client, args.repeats)

        stdio = anyio.run(over_stdio)

    print(f"one extend step, backend {args.backend}, median of {args.repeats} (1024 px tile)")
    print(f"  core Session.extend+flush : {core * 1000:8.0f} ms   ratio 1.00")
    print(f"  MCP in process            : {inproc * 1000:8.0f} ms   ratio {inproc / core:.2f}")
    print(f"  MCP over stdio            : {stdio * 1000:8.0f} ms   ratio {stdio / core:.2f}")
    print(f"  stdio vs in-process MCP   : ratio {stdio / inproc:.2f}")
    print("\npreview sizes (caps: 700000 bytes, 1568 px)")
    for kind, fmt, dims, size in rows:
        print(f"  {kind:<38} {fmt:<5} {dims:>10} {size:>9} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
