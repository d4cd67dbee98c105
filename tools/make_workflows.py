"""Build exquisite's shipped workflows (UI format + API twin) and their thumbnails.

One graph description per workflow; both formats are emitted from it, with widget order taken from
our nodes' INPUT_TYPES and from the recorded /object_info fixture for ComfyUI's built-ins.
Run from the repository root: python tools/make_workflows.py (after pip install -e ".[nodes]")
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "workflows"
FIXTURE = json.loads((REPO / "tests/fixtures/comfyui_object_info.json").read_text())

from exquisite.nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS  # noqa: E402

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN"}
SDXL = {"name": "sd_xl_base_1.0.safetensors",
        "url": "https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0/resolve/main/sd_xl_base_1.0.safetensors",
        "directory": "checkpoints"}


def schema(node_type: str) -> dict:
    if node_type in NODE_CLASS_MAPPINGS:
        cls = NODE_CLASS_MAPPINGS[node_type]
        spec = cls.INPUT_TYPES()
        return {"input": spec, "input_order": {k: list(v) for k, v in spec.items()},
                "output": list(cls.RETURN_TYPES), "output_name": list(cls.RETURN_NAMES),
                "display_name": NODE_DISPLAY_NAME_MAPPINGS[node_type]}
    return FIXTURE[node_type]


def is_widget(kind) -> bool:
    return isinstance(kind, list) or kind in WIDGET_TYPES


@dataclass
class Node:
    id: int
    type: str
    pos: tuple
    size: tuple = (300, 130)
    widgets: dict = field(default_factory=dict)
    links: dict = field(default_factory=dict)  # input name -> (source node id, output slot)
    title: str | None = None
    control: str = "fixed"  # control_after_generate of a seed widget
    properties: dict = field(default_factory=dict)
    color: str | None = None


def note(id_, pos, size, text, title):
    return {"id": id_, "type": "MarkdownNote", "pos": list(pos), "size": list(size), "flags": {}, "order": 0,
            "mode": 0, "inputs": [], "outputs": [], "title": title, "properties": {}, "widgets_values": [text],
            "color": "#432", "bgcolor": "#653"}


def build(nodes: list[Node], notes: list[dict]):
    by_id = {n.id: n for n in nodes}
    links = []  # [id, from, from_slot, to, to_slot, type]; to_slot filled in below
    link_of: dict[tuple, list] = {}  # (target id, input name) -> link row
    out_links: dict[tuple, list] = {}
    for n in nodes:
        for name, (src, slot) in n.links.items():
            row = [len(links) + 1, src, slot, n.id, None, schema(by_id[src].type)["output"][slot]]
            links.append(row)
            link_of[(n.id, name)] = row
            out_links.setdefault((src, slot), []).append(row[0])
    ui_nodes, api = [], {}
    for order, n in enumerate(nodes):
        s = schema(n.type)
        inputs, widgets_values, api_inputs = [], [], {}
        for section in ("required", "optional"):
            for name in s["input_order"].get(section, []):
                kind, *opts = s["input"][section][name]
                opts = opts[0] if opts else {}
                if name in n.links:
                    src, slot = n.links[name]
                    api_inputs[name] = [str(src), slot]
                if is_widget(kind) and name not in n.links:
                    default = opts.get("default", kind[0] if isinstance(kind, list) and kind else None)
                    value = n.widgets.get(name, default)
                    widgets_values.append(value)
                    api_inputs[name] = value
                    if opts.get("control_after_generate"):
                        widgets_values.append(n.control)
                    if opts.get("image_upload"):
                        widgets_values.append("image")
                elif not is_widget(kind):
                    row = link_of.get((n.id, name))
                    if row is not None:
                        row[4] = len(inputs)
                    entry = {"name": name, "type": kind, "link": None if row is None else row[0]}
                    if section == "optional":
                        entry["shape"] = 7
                    inputs.append(entry)
        unknown = set(n.widgets) - set(api_inputs)
        assert not unknown, (n.type, unknown)
        outputs = [{"name": nm, "type": t, "links": out_links.get((n.id, i), []), "slot_index": i}
                   for i, (nm, t) in enumerate(zip(s["output_name"], s["output"]))]
        title = n.title or s.get("display_name", n.type)
        ui = {"id": n.id, "type": n.type, "pos": list(n.pos), "size": list(n.size), "flags": {}, "order": order,
              "mode": 0, "inputs": inputs, "outputs": outputs,
              "properties": {"Node name for S&R": n.type, **n.properties}, "widgets_values": widgets_values}
        if n.title:
            ui["title"] = n.title
        if n.color:
            ui["color"], ui["bgcolor"] = n.color
        ui_nodes.append(ui)
        api[str(n.id)] = {"class_type": n.type, "inputs": api_inputs, "_meta": {"title": title}}
    all_nodes = ui_nodes + notes
    workflow = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "exquisite:" + ",".join(n.type for n in nodes))),
        "revision": 0, "last_node_id": max(n["id"] for n in all_nodes), "last_link_id": len(links),
        "nodes": all_nodes, "links": links, "groups": [], "config": {},
        "extra": {"ds": {"scale": 0.75, "offset": [40, 40]}}, "version": 0.4,
    }
    return workflow, api


OURS = ("#2a363b", "#3f5159")  # one colour for exquisite's nodes, so they stand out


# Vertical layout of one step. A node's pos is the top of its body; the frontend draws the 30 px title
# and our "exquisite" source badge above it, so each row starts 60 px below the previous body's end.
ROW_REFERENCE = 210  # BandExtract body 0..146 (the frontend's own minimum height)
ROW_GLUE = 490       # ReferenceMask / GenerateTile bodies 210..430-470


def step_nodes(first_id, x, y, canvas_src, generate, direction="x_ltr"):
    """BandExtract -> ReferenceMask -> (generate) -> FeatherGlue; returns (nodes, glue id)."""
    be, rm, fg = first_id, first_id + 1, first_id + 2
    nodes = [
        Node(be, "ExquisiteBandExtract", (x, y), (300, 146), {"direction": direction}, {"canvas": canvas_src},
             color=OURS),
        Node(rm, "ExquisiteReferenceMask", (x, y + ROW_REFERENCE), (300, 220), {"direction": direction},
             {"band": (be, 0)}, color=OURS),
    ]
    gen_nodes, tile_src = generate(first_id + 3, (rm, 0), (rm, 1), x + 340, y)
    nodes += gen_nodes
    glue_y = y + ROW_GLUE
    nodes.append(Node(fg, "ExquisiteFeatherGlue", (x, glue_y), (300, 220), {"direction": direction},
                      {"canvas": canvas_src, "tile": tile_src, "mask": (rm, 1)}, color=OURS))
    return nodes, fg


def generate_tile(backend, settings="{}", prompt=""):
    def make(id_, reference, mask, x, y):
        return [Node(id_, "ExquisiteGenerateTile", (x, y + ROW_REFERENCE), (320, 260),
                     {"backend": backend, "backend_settings": settings, "prompt": prompt, "seed": 0},
                     {"reference": reference, "mask": mask}, control="fixed", color=OURS)], (id_, 0)
    return make


def checkpoint_sampler(model_src, clip_pos, clip_neg, vae_src, seed):
    def make(id_, reference, mask, x, y):
        imc, ks, dec = id_, id_ + 1, id_ + 2
        return [
            Node(imc, "InpaintModelConditioning", (x, y + ROW_REFERENCE), (300, 140), {"noise_mask": True},
                 {"positive": clip_pos, "negative": clip_neg, "vae": vae_src, "pixels": reference, "mask": mask}),
            Node(ks, "KSampler", (x, y + ROW_REFERENCE + 200), (300, 262),
                 {"seed": seed, "steps": 25, "cfg": 6.0, "sampler_name": "dpmpp_2m", "scheduler": "karras",
                  "denoise": 1.0},
                 {"model": model_src, "positive": (imc, 0), "negative": (imc, 1), "latent_image": (imc, 2)},
                 control="randomize"),
            Node(dec, "VAEDecode", (x, y + ROW_REFERENCE + 520), (210, 46), {},
                 {"samples": (ks, 0), "vae": vae_src}),
        ], (dec, 0)
    return make


def loader_nodes():
    return [
        Node(1, "LoadImage", (0, 0), (320, 330), {"image": "example.png"}),
        Node(2, "ImageScale", (0, 380), (342, 130),
             {"upscale_method": "lanczos", "width": 0, "height": 1024, "crop": "disabled"}, {"image": (1, 0)},
             title="Scale to 1024 px high (width 0 keeps the aspect)"),
    ]


HOW = ("Each step cuts the 512 px band at the right edge (Band Extract), packs it into a 1024x1024 reference "
       "with a soft mask (Reference Mask: 0 = keep ... 1 = generate), makes ONE tile, and glues the WHOLE tile "
       "back with its band exactly on the canvas (Feather Glue), blending the overlap. The canvas grows by "
       "512 px per step. Load any picture; Upscale Image makes it 1024 px high. To grow left/up/down, set the "
       "same direction on every exquisite node.")


def workflow_offline():
    nodes = loader_nodes()
    step, glue = step_nodes(10, 360, 0, (2, 0), generate_tile("local"))
    nodes += step
    nodes.append(Node(20, "SaveImage", (1060, 0), (420, 420), {"filename_prefix": "exquisite/step"},
                      {"images": (glue, 0)}))
    notes = [note(30, (0, 560), (320, 330), "## One extension step, offline\n\n" + HOW +
                  "\n\nGenerate Tile uses the **local** backend: no model, no key, a weight-free continuation "
                  "of the band. Switch the backend to **mock** for a test pattern.", "About this workflow")]
    return build(nodes, notes)


def workflow_checkpoint():
    nodes = loader_nodes() + [
        Node(3, "CheckpointLoaderSimple", (0, 560), (320, 100), {"ckpt_name": SDXL["name"]},
             properties={"models": [SDXL]}),
        Node(4, "CLIPTextEncode", (0, 710), (320, 160),
             {"text": "a wide landscape, natural light, continuous horizon"}, {"clip": (3, 1)},
             title="Prompt (positive)"),
        Node(5, "CLIPTextEncode", (0, 920), (320, 160),
             {"text": "seam, border, frame, split screen, text, watermark, blurry"}, {"clip": (3, 1)},
             title="Prompt (negative)"),
        Node(6, "DifferentialDiffusion", (0, 1130), (320, 80), {"strength": 1.0}, {"model": (3, 0)}),
    ]
    canvas = (2, 0)
    glues = []
    for k in range(3):
        x = 380 + k * 700
        step, glue = step_nodes(10 + 10 * k, x, 0, canvas,
                                checkpoint_sampler((6, 0), (4, 0), (5, 0), (3, 2), seed=k + 1))
        nodes += step
        canvas = (glue, 0)
        glues.append(glue)
    nodes.append(Node(50, "SaveImage", (380 + 3 * 700, 0), (420, 420), {"filename_prefix": "exquisite/3steps"},
                      {"images": (glues[-1], 0)}))
    notes = [note(60, (0, 1260), (320, 420), "## Three chained steps with a local checkpoint\n\n" + HOW +
                  "\n\nThe soft mask goes into **InpaintModelConditioning** (noise_mask on) and **Differential "
                  "Diffusion** turns it into per-pixel denoise strength, so the band's inner part stays and the "
                  "frontier fades into new content. Do not use VAEEncodeForInpaint: it rounds the mask to 0/1.\n\n"
                  "Checkpoint: an SDXL model (1024 px tiles), e.g. sd_xl_base_1.0.safetensors in "
                  "models/checkpoints; an SDXL inpainting checkpoint works the same way. Keep the tile a "
                  "multiple of 8: Feather Glue refuses a tile of another size rather than resizing it.",
                  "About this workflow")]
    return build(nodes, notes)


def workflow_openai():
    nodes = loader_nodes()
    step, glue = step_nodes(10, 360, 0, (2, 0),
                            generate_tile("openai", '{"model": "gpt-image-1.5"}',
                                          "continue the picture naturally to the right"))
    for n in step:
        if n.type == "ExquisiteFeatherGlue":
            n.widgets["blend"] = "mask"
    nodes += step
    nodes.append(Node(20, "SaveImage", (1060, 0), (420, 420), {"filename_prefix": "exquisite/openai"},
                      {"images": (glue, 0)}))
    notes = [note(30, (0, 560), (320, 420), "## One extension step with OpenAI\n\n" + HOW +
                  "\n\nGenerate Tile uses the **openai** backend: set OPENAI_API_KEY in the environment of the "
                  "ComfyUI server (never in the workflow). **Each call is a paid image.** The seed is set to "
                  "*fixed*: queueing again (e.g. after changing Feather Glue) reuses the tile ComfyUI already has; "
                  "change the seed to ask for a new one. GPT image models may repaint kept pixels, so Feather Glue "
                  "uses the **mask** blend with Reference Mask's mask.", "About this workflow")]
    return build(nodes, notes)


WORKFLOWS = {
    "exquisite_1_one_step_offline": workflow_offline,
    "exquisite_2_three_steps_local_checkpoint": workflow_checkpoint,
    "exquisite_3_one_step_openai": workflow_openai,
}


# ---- thumbnails: real renders of our nodes --------------------------------------------------------

def landscape(width=768, height=1024, seed=2) -> np.ndarray:
    """A procedural landscape (sky, sun, mountains, hills, grass) with texture for the local backend."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.zeros((height, width, 3), np.float32)
    t = yy / height
    img[:] = (np.array([70, 120, 200]) * (1 - t[..., None]) + np.array([190, 210, 235]) * t[..., None])
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
    cls = NODE_CLASS_MAPPINGS[node_type]
    spec = cls.INPUT_TYPES()
    args = {}
    for section in spec.values():
        for name, (kind, *opts) in section.items():
            if is_widget(kind):
                args[name] = (opts[0] if opts else {}).get("default", kind[0] if isinstance(kind, list) else None)
    args.update(inputs)
    return getattr(cls(), cls.FUNCTION)(**args)


def thumbnails():
    import torch

    source = torch.from_numpy(landscape()[None].astype(np.float32) / 255)

    def step(canvas, seed):
        band, _, _ = run_node("ExquisiteBandExtract", canvas=canvas)
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
    save(mark_seams(u8(one), [768]), "exquisite_1_one_step_offline")
    # What the checkpoint is given: the reference tile and its soft mask (white = generate).
    mask_rgb = np.repeat(np.rint(mask[0].numpy() * 255).astype(np.uint8)[..., None], 3, axis=2)
    save(np.concatenate([u8(reference), np.full((1024, 24, 3), 255, np.uint8), mask_rgb], axis=1),
         "exquisite_2_three_steps_local_checkpoint")
    # OpenAI's edit mask: the reference with the editable part shown as a checkerboard (alpha 0).
    ref = u8(reference).astype(np.float32)
    yy, xx = np.mgrid[0:1024, 0:1024]
    checker = np.where(((yy // 64 + xx // 64) % 2)[..., None] == 0, 200, 150).astype(np.float32)
    edit = (mask[0].numpy() >= 0.5)[..., None]
    save(np.where(edit, checker, ref).astype(np.uint8), "exquisite_3_one_step_openai")
    return u8(canvas)


def mark_seams(image: np.ndarray, columns) -> np.ndarray:
    """Small ticks above and below where each step's new half begins (the picture itself untouched)."""
    out = image.copy()
    for c in columns:
        out[:24, c - 2:c + 2] = [255, 60, 60]
        out[-24:, c - 2:c + 2] = [255, 60, 60]
    return out


def main():
    OUT.mkdir(exist_ok=True)
    (OUT / "api").mkdir(exist_ok=True)
    for name, make in WORKFLOWS.items():
        ui, api = make()
        (OUT / f"{name}.json").write_text(json.dumps(ui, indent=1) + "\n")
        (OUT / "api" / f"{name}.json").write_text(json.dumps(api, indent=1) + "\n")
    thumbnails()


if __name__ == "__main__":
    main()
