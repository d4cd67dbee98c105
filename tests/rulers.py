"""Synthetic ground truth shared by the core tests: coordinate-coded worlds and an oracle generator.

A world pixel at frontier-right (row, col) holds R = col % 256, G = col // 256, B = 4 * row (rows
< 64), so any pixel says where it came from. The oracle generator reads the world column of the
reference tile's first pixel and answers with the world's true continuation, so a correct contract
rebuilds the world exactly, in every blend mode and every direction.
"""

from __future__ import annotations

import numpy as np

from exquisite.shared_core.geometry import Contract, from_frontier_right, to_frontier_right

SMALL = Contract(tile=64, band=32, overlap=32, advance=32)
SMALL_LEGACY = Contract(tile=64, band=32, overlap=16, advance=32)


def world(cross: int, length: int) -> np.ndarray:
    """A frontier-right coordinate-coded image of shape (cross, length, 3)."""
    rows, cols = np.mgrid[0:cross, 0:length]
    return np.dstack([cols % 256, cols // 256, (rows * 4) % 256]).astype(np.uint8)


def marked_tile(contract: Contract) -> np.ndarray:
    """A frontier-right tile that differs from every world pixel: its own coordinates with B = 255."""
    rows, cols = np.mgrid[0 : contract.tile, 0 : contract.tile]
    return np.dstack([cols % 256, rows % 256, np.full_like(cols, 255)]).astype(np.uint8)


def decode_col(pixel: np.ndarray) -> int:
    return int(pixel[0]) + 256 * int(pixel[1])


class OracleGenerator:
    """Returns the world's true tile at the position the reference's band comes from."""

    name = "oracle"

    def __init__(self, world_norm: np.ndarray, disturb=None, counted_from=None) -> None:
        """counted_from=(start_length, contract): place tile i by counting steps instead of reading
        the band, for disturbed tiles whose colours no longer say where they came from."""
        self.world = world_norm
        self.disturb = disturb
        self.counted_from = counted_from
        self.calls = 0

    def generate(self, request):
        turned_ref = to_frontier_right(request.reference, request.direction)
        if self.counted_from is None:
            start = decode_col(turned_ref[0, 0])
        else:
            length, contract = self.counted_from
            start = length + self.calls * contract.advance - contract.band
        self.calls += 1
        tile = np.array(self.world[:, start : start + turned_ref.shape[1]])
        if self.disturb is not None:
            tile = self.disturb(tile)
        return np.ascontiguousarray(from_frontier_right(tile, request.direction))


def user_canvas(world_norm: np.ndarray, length: int, direction: str) -> np.ndarray:
    return np.ascontiguousarray(from_frontier_right(world_norm[:, :length], direction))
