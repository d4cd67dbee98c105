"""The core's sequential frontier for a face that holds the frontier as a batch of references.

A graph (ComfyUI) hands a generator node the k references and masks Reference Mask made for one
frontier, each from its own band only (the parallel variant: tile i knows nothing of tile i-1).
With a backend of its own, that node can still generate the tiles the way a session step does
(frontier.py): in order, tile i's reference carrying in its joint rows what the tiles before it
became (colour matched and blended as the step will glue them) and its mask ramping those rows from
fixed to free (mask.frontier_mask). `generate_in_order` does exactly that with `frontier.apply_step`
on the edge's band alone, so the tiles asked for are the ones a session step with the same settings
asks for, to the pixel. Everything else in the references (fill, band ramp) is kept as given.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .canvas import GrowingCanvas
from .errors import InputError
from .frontier import apply_step
from .geometry import Contract, FrontierTile
from .mask import ramp
from .step_settings import StepSettings

TileMaker = Callable[[int, np.ndarray, np.ndarray], np.ndarray]
"""(tile index, reference, mask) -> the generated tile, all frontier-right."""


def band_of_edge(references: list[np.ndarray], tiles: list[FrontierTile], contract: Contract) -> np.ndarray:
    """The edge's band (cross rows x band columns, frontier-right) rebuilt from each reference's
    conditioning half (its real rows: a reference of a short edge is padded across)."""
    cross = tiles[-1].cross_start + tiles[-1].rows
    band = np.empty((cross, contract.band, 3), np.uint8)
    for reference, tile in zip(references, tiles):
        band[tile.cross_start : tile.cross_start + tile.rows] = reference[: tile.rows, : contract.band]
    return band


def generate_in_order(
    references: list[np.ndarray],
    masks: list[np.ndarray],
    tiles: list[FrontierTile],
    contract: Contract,
    settings: StepSettings,
    make: TileMaker,
) -> list[np.ndarray]:
    """The k tiles of one frontier generated in order (see the module docstring); one `make` call each."""
    if not len(references) == len(masks) == len(tiles):
        raise InputError(
            f"{len(tiles)} tiles need as many references and masks, got {len(references)} and {len(masks)}"
        )
    settings = settings.checked(contract)
    canvas = GrowingCanvas.from_image(band_of_edge(references, tiles, contract), "x_ltr")

    def ask(tile: FrontierTile, core_reference: np.ndarray, _core_mask: np.ndarray) -> np.ndarray:
        reference, mask = np.array(references[tile.index]), np.array(masks[tile.index], np.float32)
        if tile.joint:
            j = tile.joint
            reference[:j, contract.band :] = core_reference[:j, contract.band :]
            mask *= ramp(contract.tile, 0, j, settings.ramp_shape)[:, None]
            mask[tile.rows :] = 1.0
        return make(tile.index, reference, np.ascontiguousarray(mask))

    return apply_step(canvas, settings, contract, ask).raw
