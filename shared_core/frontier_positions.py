"""A frontier's tiles as plain data that travels with a batch of tiles (ComfyUI's `positions`).

A face that hands the k tiles of one frontier out as a batch (ComfyUI's Band Extract) and takes them
back later (Feather Glue) needs to know, at the far end, which contract cut them and where each
tile lies. `frontier_positions` writes that down as a JSON-ready dict; `read_positions` takes it back
for one canvas and refuses positions that belong to another canvas, direction or contract, so a
batch can never be glued where it was not cut. The tiles themselves always come from
`geometry.frontier_tiles` (the single source of truth): the dict only records them.

    {"direction": "y_ttb", "canvas": {"width": W, "height": H}, "contract": {...},
     "tiles": [{"index", "count", "cross_start", "rows", "joint",
                "box": {"x", "y", "width", "height"}}, ...]}

`box` is where the tile's glued rows lie on the grown canvas, in the user's frame (pixels).
"""

from __future__ import annotations

import json

from .errors import ContractError, InputError
from .geometry import (
    Contract,
    FrontierTile,
    check_canvas,
    frontier_right_shape,
    frontier_tiles,
    parse_direction,
    user_box,
)


def frontier_positions(canvas_hw: tuple[int, int], direction: str, contract: Contract) -> dict:
    """The positions of the tiles that grow a canvas of `canvas_hw` (height, width) in `direction`."""
    direction = parse_direction(direction)
    height, width = (int(v) for v in canvas_hw)
    cross, length = frontier_right_shape((height, width), direction)
    check_canvas((cross, length), contract)
    grown = (cross, length + contract.advance)
    tiles = []
    for tile in frontier_tiles(cross, contract):
        turned_box = (tile.cross_start, tile.cross_start + tile.rows, length - contract.band, grown[1])
        r0, r1, c0, c1 = user_box(turned_box, grown, direction)
        tiles.append({**tile.to_dict(), "box": {"x": c0, "y": r0, "width": c1 - c0, "height": r1 - r0}})
    return {
        "direction": direction,
        "canvas": {"width": width, "height": height},
        "contract": contract.to_dict(),
        "tiles": tiles,
    }


def read_positions(positions, canvas_hw: tuple[int, int] | None, direction: str) -> tuple[Contract, list[FrontierTile]]:
    """(contract, tiles) from positions (a dict or its JSON text) made for this very canvas (None:
    the canvas they record, for a node that sees only the bands) and direction."""
    data = _as_dict(positions)
    direction = parse_direction(direction)
    try:
        contract = Contract.from_dict(data["contract"])
        made_for = (parse_direction(data["direction"]), int(data["canvas"]["width"]), int(data["canvas"]["height"]))
    except (KeyError, TypeError, ValueError, ContractError) as bad:
        raise InputError(
            f"the positions are not Band Extract's positions ({bad}): connect Band Extract's positions output unchanged"
        ) from None
    height, width = (made_for[2], made_for[1]) if canvas_hw is None else (int(v) for v in canvas_hw)
    if made_for != (direction, width, height):
        raise InputError(
            f"the positions were made for a {made_for[1]}x{made_for[2]} canvas growing {made_for[0]}, but this "
            f"canvas is {width}x{height} growing {direction}: connect the positions of the Band Extract that "
            f"cut this canvas, with the same direction"
        )
    expected = frontier_positions((height, width), direction, contract)
    if data.get("tiles") != expected["tiles"]:
        raise InputError(
            "the positions' tiles are not the ones the contract places on this canvas: connect "
            "Band Extract's positions output unchanged"
        )
    cross = frontier_right_shape((height, width), direction)[0]
    return contract, frontier_tiles(cross, contract)


def _as_dict(positions) -> dict:
    if isinstance(positions, dict):
        return positions
    try:
        data = json.loads(str(positions))
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise InputError("the positions are not JSON from Band Extract: connect Band Extract's positions output")
    return data
