"""GenerateTile: one tile from one backend (service.make_backend(...).generate + check_tile)."""

from __future__ import annotations

import logging

import numpy as np

from ..shared_core.errors import InputError
from ..shared_core.frontier_files import tile_seed
from ..shared_core.frontier_positions import read_positions
from ..shared_core.generators import TileRequest, backend_names, check_tile
from ..shared_core.geometry import from_frontier_right, parse_direction, to_frontier_right
from ..shared_core.mask import check_mask
from ..shared_core.sequential_batch import generate_in_order
from ..shared_core.server_context import check_backend_in_server
from ..shared_core.service import default_backend, make_backend, parse_backend_settings
from ..shared_core.step_settings import StepSettings
from .comfy_hooks import Progress, own_server
from .spec import NodeSpec, Out, Param
from .tensors import images_to_uint8, masks_to_float, paired_batch, uint8_to_images
from .widgets import DIRECTION, image, positions

log = logging.getLogger("exquisite")

SEED_MAX = 2**63 - 1  # the CLI's and the session's seed range, so a node's seed can be replayed there


FRONTIER_MODES = ("sequential", "parallel")
"""With positions: sequential = tile i's reference carries what tile i-1 became (as a CLI step);
parallel = each tile from its own reference only (as a stock sampler does with the batch)."""


def generate_tile(
    reference, mask, prompt, backend, seed, direction, backend_settings="{}", positions=None, frontier="sequential"
):
    """One tile per item of the batch, item i with seed + i. With positions, the batch is one
    frontier's tiles: tile i gets the seed a session step gives it (frontier_files.tile_seed) and,
    sequential, the reference and mask a session step gives it (sequential_batch). Checked before
    any call: the mask, the backend and its settings, its key, and that it would not call this
    ComfyUI server itself."""
    direction = parse_direction(direction)
    if frontier not in FRONTIER_MODES:
        raise InputError(f"frontier must be one of {', '.join(FRONTIER_MODES)}, got {frontier!r}")
    references = images_to_uint8(reference, "reference")
    masks = masks_to_float(mask)
    size = _square_size(references.shape[1:3])
    for m in masks:
        check_mask(m, (size, size))
    batch = paired_batch({"reference": len(references), "mask": len(masks)})
    tiles_of_edge = None if positions is None else _frontier_of(positions, direction, batch, size)
    generator = make_backend(backend, parse_backend_settings(backend_settings, "backend_settings"))
    check_backend_in_server(backend, generator, "ComfyUI", *own_server())

    progress = Progress()

    def make(i: int, item_reference, item_mask):
        item_seed = int(seed) + i if positions is None else tile_seed(int(seed), i)
        if generator.paid or generator.remote:
            log.info(
                "exquisite GenerateTile: calling backend %r (seed %d, tile %d of %d)", backend, item_seed, i + 1, batch
            )
        request = TileRequest(
            reference=item_reference,
            mask=item_mask,
            prompt=prompt,
            seed=item_seed,
            direction=direction,
            progress=lambda fraction, _message: progress.set((i + fraction) / batch),
        )
        tile = check_tile(generator.generate(request), size)
        progress.set((i + 1) / batch)
        return tile

    if tiles_of_edge is not None and frontier == "sequential" and batch > 1:
        contract, tiles_of_edge = tiles_of_edge
        tiles = _in_order(references, masks, tiles_of_edge, contract, direction, make)
    else:
        tiles = [make(i, references[i % len(references)], masks[i % len(masks)]) for i in range(batch)]
    return (uint8_to_images(tiles),)


def _frontier_of(positions, direction: str, batch: int, size: int):
    """(contract, tiles) of the positions, checked against the batch."""
    contract, tiles = read_positions(positions, None, direction)
    if batch != len(tiles) or size != contract.tile:
        raise InputError(
            f"the positions list {len(tiles)} tiles of {contract.tile} px but {batch} references of "
            f"{size} px came: connect Reference Mask's outputs made from the same Band Extract"
        )
    return contract, tiles


def _in_order(references, masks, tiles, contract, direction: str, make) -> list:
    """The core's sequential frontier (sequential_batch), in the frontier-right frame and back."""
    turn = [np.ascontiguousarray(to_frontier_right(a, direction)) for a in references]
    turned_masks = [np.ascontiguousarray(to_frontier_right(m, direction)) for m in masks]

    def make_turned(i, reference, mask):
        tile = make(
            i,
            np.ascontiguousarray(from_frontier_right(reference, direction)),
            np.ascontiguousarray(from_frontier_right(mask, direction)),
        )
        return to_frontier_right(tile, direction)

    made = generate_in_order(turn, turned_masks, tiles, contract, StepSettings(direction=direction), make_turned)
    return [np.ascontiguousarray(from_frontier_right(t, direction)) for t in made]


def _default_backend() -> str:
    names = backend_names()
    return default_backend() if default_backend() in names else names[0]


BACKEND = Param(
    "backend",
    "COMBO",
    "mock and local are offline and free; the others call a service and may cost money per tile.",
    default=_default_backend,
    options=backend_names,
)


SPEC = NodeSpec(
    node_id="ExquisiteGenerateTile",
    display_name="Generate Tile (exquisite)",
    description="Asks one backend for one tile from the reference and its mask. Same seed and inputs: "
    "ComfyUI reuses the tile it has; a new seed asks again.",
    run=generate_tile,
    inputs=(
        image("reference", "The reference tile from Reference Mask."),
        Param("mask", "MASK", "Where to generate (1) and keep (0), from Reference Mask."),
        Param(
            "prompt",
            "STRING",
            "What the new part should show (backends that read prompts).",
            default="",
            multiline=True,
        ),
        BACKEND,
        Param(
            "seed",
            "INT",
            "Same seed and inputs: the cached tile, no new call. New seed: a new tile.",
            default=0,
            min=0,
            max=SEED_MAX,
            control_after_generate=True,
        ),
        DIRECTION,
        Param(
            "backend_settings",
            "STRING",
            'The backend\'s own settings as JSON, e.g. {"model": "gpt-image-1.5"}; {} = its defaults.',
            default="{}",
            optional=True,
        ),
        positions("Band Extract's positions: tile i gets the seed a CLI step gives tile i of the frontier."),
        Param(
            "frontier",
            "COMBO",
            "With positions: sequential = each tile continues the one before (as the CLI); "
            "parallel = each on its own (as a sampler).",
            default="sequential",
            options=FRONTIER_MODES,
            optional=True,
        ),
    ),
    outputs=(Out("IMAGE", "tile", "The tile, the size of the reference: glue it with Feather Glue."),),
)


def _square_size(height_width: tuple[int, int]) -> int:
    height, width = (int(v) for v in height_width)
    if height != width:
        raise InputError(f"the reference is {width}x{height} but a tile is square: take it from ReferenceMask")
    return height
