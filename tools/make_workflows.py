"""Build exquisite's shipped workflows (UI format + API twin) and their thumbnails.

One graph description per workflow; both formats are emitted from it, with widget order taken from
our nodes' declarations (nodes/spec.py) and from the recorded /object_info fixture for ComfyUI's
built-ins. A template's file name is its title in ComfyUI's template browser.
Run from the repository root: python tools/make_workflows.py (after pip install -e ".[nodes]")
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "workflows"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from exquisite.nodes import SPECS  # noqa: E402  (after the path insert)
from workflow_format import SUBGRAPH_IN, Node, Subgraph, Writer, flatten, note  # noqa: E402

SDXL = {
    "name": "sd_xl_base_1.0.safetensors",
    "url": "https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0/resolve/main/sd_xl_base_1.0.safetensors",
    "directory": "checkpoints",
}


def build(nodes: list[Node], notes: list[dict], subgraphs: tuple = ()):
    """(UI workflow, API prompt) of a graph; `subgraphs` = ((Subgraph, (input box xy, output box xy)), ...)."""
    writer = Writer({node_id: spec.object_info() for node_id, spec in SPECS.items()})
    writer.subgraphs = {sub.id: sub for sub, _ in subgraphs}
    definitions, inner_api = [], {}
    for sub, box in subgraphs:
        inner_api[sub.id], definition = writer.definition(sub, box)
        definitions.append(definition)
    ui_nodes, links, _, api = writer.render(nodes)
    all_nodes = ui_nodes + notes
    workflow = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "exquisite:" + ",".join(n.type for n in nodes))),
        "revision": 0,
        "last_link_id": writer.link_count,
        "last_node_id": max([n["id"] for n in all_nodes] + [n.id for sub, _ in subgraphs for n in sub.nodes]),
        "nodes": all_nodes,
        "links": links,
        "groups": [],
        **({"definitions": {"subgraphs": definitions}} if definitions else {}),
        "config": {},
        "extra": {"ds": {"scale": 0.75, "offset": [40, 40]}},
        "version": 0.4,
    }
    return workflow, flatten(api, writer.subgraphs, inner_api)


OURS = ("#2a363b", "#3f5159")  # one colour for exquisite's nodes, so they stand out


# Vertical layout of one step. A node's pos is the top of its body; the frontend draws the 30 px title
# and our "exquisite" source badge above it, so each row starts 60 px below the previous body's end.
ROW_REFERENCE = 210  # BandExtract body 0..146 (the frontend's own minimum height)
ROW_GLUE = 490  # ReferenceMask / GenerateTile bodies 210..430-470


def step_nodes(first_id, x, y, canvas_src, generate, direction="x_ltr", positions=False, session=""):
    """BandExtract -> ReferenceMask -> (generate) -> FeatherGlue; returns (nodes, glue id). With
    `positions`, Band Extract's positions reach the three others (a canvas of any size)."""
    be, rm, fg = first_id, first_id + 1, first_id + 2
    nodes = [
        Node(
            be, "ExquisiteBandExtract", (x, y), (300, 146), {"direction": direction}, {"canvas": canvas_src}, color=OURS
        ),
        Node(
            rm,
            "ExquisiteReferenceMask",
            (x, y + ROW_REFERENCE),
            (300, 220),
            {"direction": direction},
            {"band": (be, 0)},
            color=OURS,
        ),
    ]
    gen_nodes, tile_src = generate(first_id + 3, (rm, 0), (rm, 1), x + 340, y)
    for n in gen_nodes:
        if n.type == "ExquisiteGenerateTile":
            n.widgets["direction"] = direction
    nodes += gen_nodes
    glue_y = y + ROW_GLUE
    nodes.append(
        Node(
            fg,
            "ExquisiteFeatherGlue",
            (x, glue_y),
            (300, 220),
            {"direction": direction, **({"session": session} if session else {})},
            {"canvas": canvas_src, "tile": tile_src, "mask": (rm, 1)},
            color=OURS,
        )
    )
    if positions:
        for n in nodes:
            if n.type in ("ExquisiteReferenceMask", "ExquisiteGenerateTile", "ExquisiteFeatherGlue"):
                n.links["positions"] = (be, 3)
    return nodes, fg


def generate_tile(backend, settings="{}", prompt=""):
    def make(id_, reference, mask, x, y):
        return [
            Node(
                id_,
                "ExquisiteGenerateTile",
                (x, y + ROW_REFERENCE),
                (320, 260),
                {"backend": backend, "backend_settings": settings, "prompt": prompt, "seed": 0},
                {"reference": reference, "mask": mask},
                control="fixed",
                color=OURS,
            )
        ], (id_, 0)

    return make


def checkpoint_sampler(model_src, clip_pos, clip_neg, vae_src, seed_src):
    def make(id_, reference, mask, x, y):
        imc, ks, dec = id_, id_ + 1, id_ + 2
        return [
            Node(
                imc,
                "InpaintModelConditioning",
                (x, y + ROW_REFERENCE),
                (300, 140),
                {"noise_mask": True},
                {"positive": clip_pos, "negative": clip_neg, "vae": vae_src, "pixels": reference, "mask": mask},
            ),
            Node(
                ks,
                "KSampler",
                (x, y + ROW_REFERENCE + 200),
                (300, 262),
                {"seed": 0, "steps": 25, "cfg": 6.0, "sampler_name": "dpmpp_2m", "scheduler": "karras", "denoise": 1.0},
                {
                    "model": model_src,
                    "seed": seed_src,
                    "positive": (imc, 0),
                    "negative": (imc, 1),
                    "latent_image": (imc, 2),
                },
            ),
            Node(dec, "VAEDecode", (x, y + ROW_REFERENCE + 520), (210, 46), {}, {"samples": (ks, 0), "vae": vae_src}),
        ], (dec, 0)

    return make


def extend_one_step() -> Subgraph:
    """One step with a checkpoint as a subgraph: canvas, model, prompts, VAE and seed in; canvas out."""
    canvas, model, positive, negative, vae, seed = ((SUBGRAPH_IN, k) for k in range(6))
    # Inner ids apart from the top level's: newer frontends renumber inner nodes that repeat an outer id.
    nodes, glue = step_nodes(101, 0, 0, canvas, checkpoint_sampler(model, positive, negative, vae, seed))
    return Subgraph(
        name="Extend one step",
        nodes=nodes,
        inputs=[
            ("canvas", ["IMAGE", {}]),
            ("model", ["MODEL", {}]),
            ("positive", ["CONDITIONING", {}]),
            ("negative", ["CONDITIONING", {}]),
            ("vae", ["VAE", {}]),
            ("seed", ["INT", {}]),
        ],
        outputs=[("canvas", "IMAGE", (glue, 0))],
        description="Band Extract, Reference Mask, a sampler with the soft mask, Feather Glue: the canvas "
        "grows by 512 px.",
    )


def loader_nodes():
    return [
        Node(1, "LoadImage", (0, 0), (320, 330), {"image": "example.png"}),
        Node(
            2,
            "ImageScale",
            (0, 380),
            (342, 130),
            {"upscale_method": "lanczos", "width": 0, "height": 1024, "crop": "disabled"},
            {"image": (1, 0)},
            title="Scale to 1024 px high",
        ),
    ]


HOW = (
    "Each step cuts the 512 px band at the right edge (Band Extract), packs it into a 1024x1024 reference "
    "with a soft mask (Reference Mask: 0 = keep ... 1 = generate), makes ONE tile, and glues the WHOLE tile "
    "back with its band exactly on the canvas (Feather Glue), blending the overlap. The canvas grows by "
    "512 px per step. Load any picture; Upscale Image makes it 1024 px high. To grow left/up/down, set the "
    "same direction on every exquisite node."
)


def workflow_offline():
    nodes = loader_nodes()
    step, glue = step_nodes(10, 360, 0, (2, 0), generate_tile("local"))
    nodes += step
    nodes.append(
        Node(20, "SaveImage", (1060, 0), (420, 420), {"filename_prefix": "exquisite/step"}, {"images": (glue, 0)})
    )
    notes = [
        note(
            30,
            (0, 560),
            (320, 330),
            "## One extension step, offline\n\n"
            + HOW
            + "\n\nGenerate Tile uses the **local** backend: no model, no key, a weight-free continuation "
            "of the band. Switch the backend to **mock** for a test pattern.",
            "About this workflow",
        )
    ]
    return build(nodes, notes)


def workflow_checkpoint():
    nodes = loader_nodes() + [
        Node(
            3,
            "CheckpointLoaderSimple",
            (0, 560),
            (320, 100),
            {"ckpt_name": SDXL["name"]},
            properties={"models": [SDXL]},
        ),
        Node(
            4,
            "CLIPTextEncode",
            (0, 710),
            (320, 160),
            {"text": "a wide landscape, natural light, continuous horizon"},
            {"clip": (3, 1)},
            title="Prompt (positive)",
        ),
        Node(
            5,
            "CLIPTextEncode",
            (0, 920),
            (320, 160),
            {"text": "seam, border, frame, split screen, text, watermark, blurry"},
            {"clip": (3, 1)},
            title="Prompt (negative)",
        ),
        Node(6, "DifferentialDiffusion", (0, 1130), (320, 80), {"strength": 1.0}, {"model": (3, 0)}),
    ]
    step = extend_one_step()
    canvas = (2, 0)
    for k in range(3):  # the seeds stay outside, one per step, fixed: queueing again re-samples nothing
        nodes.append(
            Node(
                20 + k, "PrimitiveInt", (400 + 300 * k, 200), (260, 82), {"value": k + 1}, title=f"Seed of step {k + 1}"
            )
        )
        nodes.append(
            Node(
                10 + k,
                step.id,
                (400 + 300 * k, 0),
                (260, 150),
                {},
                {
                    "canvas": canvas,
                    "model": (6, 0),
                    "positive": (4, 0),
                    "negative": (5, 0),
                    "vae": (3, 2),
                    "seed": (20 + k, 0),
                },
                title=f"Step {k + 1}: extend one step",
                color=OURS,
            )
        )
        canvas = (10 + k, 0)
    nodes.append(
        Node(50, "SaveImage", (1320, 0), (420, 420), {"filename_prefix": "exquisite/3steps"}, {"images": canvas})
    )
    notes = [
        note(
            60,
            (400, 340),
            (860, 330),
            "## Three chained steps with a local checkpoint\n\n"
            + HOW
            + "\n\nEach box is the same subgraph, **Extend one step** (double-click to open it; a change "
            "inside applies to all three). Inside, the soft mask goes into **InpaintModelConditioning** "
            "(noise_mask on) and **Differential Diffusion** turns it into per-pixel denoise strength, so "
            "the band's inner part stays and the frontier fades into new content. Each step's seed is on "
            "its own Int node, *fixed*: queueing again re-samples nothing.\n\n"
            "Checkpoint: an SDXL model (1024 px tiles), e.g. sd_xl_base_1.0.safetensors in "
            "models/checkpoints; an SDXL inpainting checkpoint works the same way.",
            "About this workflow",
        )
    ]
    return build(nodes, notes, [(step, ((-260, 300), (1100, 500)))])


def workflow_openai():
    nodes = loader_nodes()
    step, glue = step_nodes(
        10,
        360,
        0,
        (2, 0),
        generate_tile("openai", '{"model": "gpt-image-1.5"}', "continue the picture naturally to the right"),
    )
    for n in step:
        if n.type == "ExquisiteFeatherGlue":
            n.widgets["blend"] = "mask"
    nodes += step
    nodes.append(
        Node(20, "SaveImage", (1060, 0), (420, 420), {"filename_prefix": "exquisite/openai"}, {"images": (glue, 0)})
    )
    notes = [
        note(
            30,
            (0, 560),
            (320, 420),
            "## One extension step with OpenAI\n\n"
            + HOW
            + "\n\nGenerate Tile uses the **openai** backend: set OPENAI_API_KEY in the environment of the "
            "ComfyUI server (never in the workflow). **Each call is a paid image.** The seed is set to "
            "*fixed*: queueing again (e.g. after changing Feather Glue) reuses the tile ComfyUI already has; "
            "change the seed to ask for a new one. GPT image models may repaint kept pixels, so Feather Glue "
            "uses the **mask** blend with Reference Mask's mask.",
            "About this workflow",
        )
    ]
    return build(nodes, notes)


def workflow_grow_down():
    """A photo at full resolution grown downwards: its bottom edge is several tiles, one batch."""
    nodes = [Node(1, "LoadImage", (0, 0), (320, 330), {"image": "example.png"})]
    step, glue = step_nodes(
        10, 360, 0, (1, 0), generate_tile("local"), direction="y_ttb", positions=True, session="grown down"
    )
    nodes += step
    nodes.append(
        Node(20, "SaveImage", (1060, 0), (420, 420), {"filename_prefix": "exquisite/down"}, {"images": (glue, 0)})
    )
    notes = [
        note(
            30,
            (0, 380),
            (320, 600),
            "## Grow a full-resolution photo downwards\n\n"
            "No scaling: the picture keeps every pixel. Its bottom edge is covered by as many 1024 px "
            "tiles as it takes (neighbours share 256 px), so **Band Extract** gives a *batch* of bands "
            "and a **positions** output; Reference Mask, Generate Tile and Feather Glue take the "
            "positions and handle the whole edge in one queue. Feather Glue puts the tiles back and "
            "blends the joints between neighbours. The canvas grows 512 px down per step.\n\n"
            "Generate Tile uses the offline **local** backend (no model, no key). With a sampler "
            "instead, the batch is sampled tile by tile *independently*: neighbours do not see each "
            "other, so their shared rows are cross-faded (the CLI generates them in order, each "
            "continuing the one before; see Feather Glue's help).\n\n"
            "Feather Glue's **session** is set to *grown down*: every run is journaled under "
            "output/exquisite-sessions and shown step by step in the **exquisite** sidebar tab. "
            "Clear it to turn that off.",
            "About this workflow",
        )
    ]
    return build(nodes, notes)


WORKFLOWS = {  # file name = the title ComfyUI's template browser shows (its cards fit about 25 characters)
    "Extend 1 step offline": workflow_offline,
    "Extend 3 steps with SDXL": workflow_checkpoint,
    "Extend 1 step with OpenAI": workflow_openai,
    "Grow a full photo down": workflow_grow_down,
}
OFFLINE, CHECKPOINT, OPENAI, GROW_DOWN = WORKFLOWS


# ---- thumbnails: real renders of our nodes --------------------------------------------------------


def landscape(width=768, height=1024, seed=2) -> np.ndarray:
    """A procedural landscape (sky, sun, mountains, hills, grass) with texture for the local backend."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.zeros((height, width, 3), np.float32)
    t = yy / height
    img[:] = np.array([70, 120, 200]) * (1 - t[..., None]) + np.array([190, 210, 235]) * t[..., None]
    sun = ((xx - 0.3 * width) ** 2 + (yy - 0.22 * height) ** 2) < (0.06 * height) ** 2
    img[sun] = [255, 236, 170]
    ridge = 0.5 * height + 40 * np.sin(xx / 57.0) + 25 * np.sin(xx / 23.0 + 1) + 12 * np.sin(xx / 9.0)
    img[yy > ridge] = [95, 105, 130]
    hills = 0.66 * height + 30 * np.sin(xx / 90.0 + 2) + 10 * np.sin(xx / 31.0)
    green = np.array([70, 140, 60]) * (1 - (yy - hills) / height)[..., None]
    img = np.where((yy > hills)[..., None], green, img)
    img += rng.normal(0, 9, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def run_node(node_type, **inputs):
    return SPECS[node_type](**inputs)


def thumbnails():
    import torch

    source = torch.from_numpy(landscape()[None].astype(np.float32) / 255)

    def step(canvas, seed):
        band, _, _, _ = run_node("ExquisiteBandExtract", canvas=canvas)
        reference, mask = run_node("ExquisiteReferenceMask", band=band, fill="edge")
        (tile,) = run_node("ExquisiteGenerateTile", reference=reference, mask=mask, backend="local", seed=seed)
        grown, _seam_report = run_node("ExquisiteFeatherGlue", canvas=canvas, tile=tile)
        return grown, reference, mask

    def save(array, name, height=256):
        im = Image.fromarray(array)
        im = im.resize((max(1, round(im.width * height / im.height)), height), Image.Resampling.LANCZOS)
        im.save(OUT / f"{name}.jpg", quality=82, optimize=True)

    def u8(t):
        return np.rint(t[0].numpy() * 255).astype(np.uint8)

    one, reference, mask = step(source, 0)
    canvas = one
    for seed in (1, 2):
        canvas, _, _ = step(canvas, seed)
    save(mark_seams(u8(one), [768]), OFFLINE)
    # What the checkpoint is given: the reference tile and its soft mask (white = generate).
    mask_rgb = np.repeat(np.rint(mask[0].numpy() * 255).astype(np.uint8)[..., None], 3, axis=2)
    save(np.concatenate([u8(reference), np.full((1024, 24, 3), 255, np.uint8), mask_rgb], axis=1), CHECKPOINT)
    # OpenAI's edit mask: the reference with the editable part shown as a checkerboard (alpha 0).
    ref = u8(reference).astype(np.float32)
    yy, xx = np.mgrid[0:1024, 0:1024]
    checker = np.where(((yy // 64 + xx // 64) % 2)[..., None] == 0, 200, 150).astype(np.float32)
    edit = (mask[0].numpy() >= 0.5)[..., None]
    save(np.where(edit, checker, ref).astype(np.uint8), OPENAI)
    save(mark_rows(u8(grow_down(torch, landscape(1536, 1024, seed=4))), [1024]), GROW_DOWN)
    return u8(canvas)


def grow_down(torch, photo: np.ndarray):
    """One step down of a photo wider than a tile (two tiles on its bottom edge), local backend."""
    canvas = torch.from_numpy(photo[None].astype(np.float32) / 255)
    band, _, _, positions = run_node("ExquisiteBandExtract", canvas=canvas, direction="y_ttb")
    reference, mask = run_node("ExquisiteReferenceMask", band=band, direction="y_ttb", fill="edge", positions=positions)
    (tiles,) = run_node(
        "ExquisiteGenerateTile", reference=reference, mask=mask, backend="local", direction="y_ttb", positions=positions
    )
    grown, _ = run_node(
        "ExquisiteFeatherGlue", canvas=canvas, tile=tiles, direction="y_ttb", mask=mask, positions=positions
    )
    return grown


def mark_rows(image: np.ndarray, rows) -> np.ndarray:
    """Small ticks left and right where the new rows begin."""
    out = image.copy()
    for r in rows:
        out[r - 2 : r + 2, :24] = [255, 60, 60]
        out[r - 2 : r + 2, -24:] = [255, 60, 60]
    return out


def mark_seams(image: np.ndarray, columns) -> np.ndarray:
    """Small ticks above and below where each step's new half begins (the picture itself untouched)."""
    out = image.copy()
    for c in columns:
        out[:24, c - 2 : c + 2] = [255, 60, 60]
        out[-24:, c - 2 : c + 2] = [255, 60, 60]
    return out


def main():
    OUT.mkdir(exist_ok=True)
    (OUT / "api").mkdir(exist_ok=True)
    for old in [*OUT.glob("exquisite_*.*"), *(OUT / "api").glob("exquisite_*.json")]:  # before the rename
        old.unlink()
    for name, make in WORKFLOWS.items():
        ui, api = make()
        (OUT / f"{name}.json").write_text(json.dumps(ui, indent=1) + "\n")
        (OUT / "api" / f"{name}.json").write_text(json.dumps(api, indent=1) + "\n")
    thumbnails()


if __name__ == "__main__":
    main()
