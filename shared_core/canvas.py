"""A canvas that grows at one edge without copying itself each step.

The pixels live in a buffer with spare room beyond the frontier (in the frontier-right frame), so a
step writes only the tile's region: per-step cost does not grow with the canvas's length. When the
room runs out the buffer grows by half again (amortised O(1) per step). The user's orientation is a
numpy view of the same buffer, never a copy.
"""

from __future__ import annotations

import numpy as np

from .geometry import (
    Contract,
    from_frontier_right,
    parse_direction,
    to_frontier_right,
    frontier_right_shape,
)


class GrowingCanvas:
    read_whole: int | None = None
    """Set by step_canvas.replay_canvas: the step whose whole-canvas file (canvas/NNNN.png or
    source.png) this was read from unchanged, else None."""

    def __init__(self, cross: int, length: int, direction: str, room: int = 0) -> None:
        self.direction = parse_direction(direction)
        self.length = length
        self._storage = np.empty(frontier_right_shape((cross, length + room, 3), self.direction), dtype=np.uint8)
        self._turned = to_frontier_right(self._storage, self.direction)

    @classmethod
    def from_image(cls, image: np.ndarray, direction: str, room: int = 0) -> GrowingCanvas:
        cross, length = frontier_right_shape(image.shape, direction)[:2]
        canvas = cls(cross, length, direction, room)
        canvas.frontier_right[...] = to_frontier_right(image, canvas.direction)
        return canvas

    @property
    def frontier_right(self) -> np.ndarray:
        """The canvas in the frontier-right frame (a writable view)."""
        return self._turned[:, : self.length]

    @property
    def room(self) -> int:
        return self._turned.shape[1] - self.length

    def user(self) -> np.ndarray:
        """The canvas in the user's orientation (a view; copy it before it outlives a step)."""
        return from_frontier_right(self.frontier_right, self.direction)

    def turned(self, direction: str) -> GrowingCanvas:
        """This canvas ready to grow in another direction (a copy only when the direction changes)."""
        direction = parse_direction(direction)
        if direction == self.direction:
            return self
        return GrowingCanvas.from_image(self.user(), direction, self.room)

    def reserve(self, advance: int) -> None:
        """Make room for at least `advance` more columns at the frontier."""
        if self.room >= advance:
            return
        grown = GrowingCanvas(self._turned.shape[0], self.length, self.direction, max(advance, self.length // 2))
        grown.frontier_right[...] = self.frontier_right
        self._storage, self._turned = grown._storage, grown._turned

    def resize(self, length: int) -> None:
        """Cut the canvas back to, or grow it to, `length` columns (grown columns hold whatever the
        buffer held: the caller fills them)."""
        self.reserve(length - self.length)
        self.length = length

    def buffer_for_step(self, contract: Contract) -> np.ndarray:
        """The frontier-right buffer with room for one more advance (for glue_step)."""
        self.reserve(contract.advance)
        return self._turned
