"""GenerateTile: one tile from one backend (generators.make_generator(...).generate + check_tile)."""

from __future__ import annotations

import hashlib
import json
import logging

from ..shared_core.errors import InputError
from ..shared_core.generators import TileRequest, backend_names, check_tile
from ..shared_core.service import default_backend, make_backend, parse_backend_settings
from ..shared_core.geometry import parse_direction
from ..shared_core.mask import check_mask
from .comfy_hooks import Progress
from .tensors import images_to_uint8, masks_to_float, paired_batch, uint8_to_images
from .widgets import CATEGORY, direction_input

log = logging.getLogger("exquisite")

SEED_MAX = 2**63 - 1  # the CLI's and the session's seed range, so a node's seed can be replayed there


class GenerateTile:
    DESCRIPTION = (
        "Asks ONE backend for ONE tile from the reference and its mask (1 = generate). Backends: "
        "mock (test pattern) and local (offline, no model, no key) are deterministic; the others call "
        "a service (openai needs OPENAI_API_KEY in the ComfyUI server's environment) and may cost "
        "money per tile. Caching: the tile is identified by backend, settings, prompt, direction, "
        "seed and the upstream inputs. ComfyUI reuses the tile it already has only when all of these "
        "are unchanged; it calls the backend again exactly when one of them changes. So with "
        "control_after_generate = fixed, queueing again (e.g. after changing FeatherGlue) does not "
        "pay twice; set it to randomize/increment, or change the seed, to ask for a new tile. Every "
        "paid call is written to the server log. A failure (no key, refused by the service, a tile of "
        "the wrong size) stops the graph with its reason; no blank tile is ever returned. Batches: "
        "item i of a batch is generated with seed + i (one call each); a single mask or reference is "
        "used with every item."
    )
    CATEGORY = CATEGORY
    FUNCTION = "generate"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("tile",)
    OUTPUT_TOOLTIPS = ("The generated tile, the same size as the reference; glue it with FeatherGlue.",)

    @classmethod
    def INPUT_TYPES(cls):
        names = backend_names()
        return {
            "required": {
                "reference": ("IMAGE", {"tooltip": "The reference tile from ReferenceMask."}),
                "mask": ("MASK", {"tooltip": "Where to generate (1) and keep (0), from ReferenceMask."}),
                "prompt": ("STRING", {
                    "default": "", "multiline": True,
                    "tooltip": "What the new part of the picture should show (backends that read prompts).",
                }),
                "backend": (names, {
                    "default": default_backend() if default_backend() in names else names[0],
                    "tooltip": "Which generator makes the tile: " + ", ".join(names) + ". mock and local "
                               "are offline and free; the others call a service.",
                }),
                "seed": ("INT", {
                    "default": 0, "min": 0, "max": SEED_MAX, "control_after_generate": True,
                    "tooltip": "Seed of the tile. The same seed and inputs reuse the tile ComfyUI already "
                               "has (no new call); a new seed asks the backend again.",
                }),
                "direction": direction_input(),
            },
            "optional": {
                "backend_settings": ("STRING", {
                    "default": "{}", "multiline": False,
                    "tooltip": 'The backend\'s own settings as a JSON object, e.g. {"model": "gpt-image-1.5"} '
                               'for openai; {} = its defaults. mock takes none; local takes "method".',
                }),
            },
        }

    @classmethod
    def IS_CHANGED(cls, **widget_values):
        """The tile's identity from the widget values (ComfyUI adds the upstream nodes' own).

        Equal identity -> ComfyUI serves the tile from its cache; any change -> a new call. The seed
        is part of it, which is what makes a paid call neither silently repeated (same seed: cached)
        nor silently cached when a new tile was asked for (new seed: called). Inputs fed by a link
        are absent here (ComfyUI passes constants only) and counted through their upstream node.
        """
        identity = json.dumps(sorted(widget_values.items()), default=str)
        return hashlib.sha256(identity.encode()).hexdigest()

    def generate(self, reference, mask, prompt, backend, seed, direction, backend_settings="{}"):
        direction = parse_direction(direction)
        references = images_to_uint8(reference, "reference")
        masks = masks_to_float(mask)
        size = _square_size(references.shape[1:3])
        for m in masks:
            check_mask(m, (size, size))
        batch = paired_batch({"reference": len(references), "mask": len(masks)})
        generator = make_backend(backend, parse_backend_settings(backend_settings, "backend_settings"))

        progress = Progress()
        tiles = []
        for i in range(batch):
            item_seed = int(seed) + i
            if generator.paid or generator.remote:
                log.info("exquisite GenerateTile: calling backend %r (seed %d, tile %d of %d)",
                         backend, item_seed, i + 1, batch)
            request = TileRequest(
                reference=references[i % len(references)],
                mask=masks[i % len(masks)],
                prompt=prompt,
                seed=item_seed,
                direction=direction,
                progress=lambda fraction, _message, i=i: progress.set((i + fraction) / batch),
            )
            tiles.append(check_tile(generator.generate(request), size))
            progress.set((i + 1) / batch)
        return (uint8_to_images(tiles),)


def _square_size(height_width: tuple[int, int]) -> int:
    height, width = (int(v) for v in height_width)
    if height != width:
        raise InputError(
            f"the reference is {width}x{height} but a tile is square: take it from ReferenceMask"
        )
    return height
