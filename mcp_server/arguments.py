"""The tools' argument types, declared once: each carries its real domain (enums, bounds, length caps)
in the JSON schema a client and a model see before calling, and is strict (`steps=true` or `"2"`
is refused, not coerced).

Two domains depend on the server, not on the code: the most steps one call may run (`max_steps`)
and the backends installed here. The tools declare `Steps` and `Backend` with the code's defaults;
`server_domains` gives the server's versions, which app.py puts in the registered signatures.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, Strict

from ..shared_core.geometry import DIRECTION_ALIASES, DIRECTIONS, FILLS
from ..shared_core.glue import BLENDS
from .settings import DEFAULT_MAX_STEPS

PROMPT_MAX_CHARS = 2000
"""Longest prompt a tool takes: generators read a few hundred words at most, and the history
returns every prompt again."""
PATH_MAX_CHARS = 4096

DIRECTION_NAMES = (*DIRECTION_ALIASES, *DIRECTIONS)  # right, left, down, up, then x_ltr, x_rtl, y_ttb, y_btt


def _whole_number(value: object) -> object:
    """Literal numbers match 512.0 and "512" in pydantic's lax mode; only a JSON integer is one."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number, got {value!r}")
    return value


SessionId = Annotated[str, Strict(), Field(max_length=64, description="from open_canvas or list_sessions")]

_DIRECTION_HELP = "right, left, down or up (or the same as x_ltr, x_rtl, y_ttb, y_btt)"
Direction = Annotated[Literal[DIRECTION_NAMES], Field(description=_DIRECTION_HELP)]  # type: ignore[valid-type]

Prompt = Annotated[
    Annotated[str, Strict(), Field(max_length=PROMPT_MAX_CHARS)] | None,
    Field(
        description=(
            f"what the new region should show, at most {PROMPT_MAX_CHARS} characters; omitted = the "
            "session's last prompt"
        )
    ),
]

_BLEND_HELP = (
    "how the tile's overlap is blended into the canvas; omitted = the last (at first the backend's "
    "default: linear, or mask for openai)"
)
Blend = Annotated[Literal[BLENDS] | None, Field(description=_BLEND_HELP)]  # type: ignore[valid-type]

_FILL_HELP = "what the model sees in the new half before it paints it; omitted = the last (gray at first)"
Fill = Annotated[Literal[FILLS] | None, Field(description=_FILL_HELP)]  # type: ignore[valid-type]

Seed = Annotated[
    Annotated[int, Strict(), Field(ge=0, le=2**63 - 1)] | None,
    Field(description=("seed of the first step; step i uses seed+i; omitted = last+1")),
]

Overlap = Annotated[
    Literal[512, 256],
    BeforeValidator(_whole_number),
    Field(
        description=("px of old canvas each step blends over: 512 (default, the whole tile is pasted) or 256 (legacy)")
    ),
]

PreviewFormat = Annotated[
    Literal["auto", "png", "jpeg"], Field(description=("auto: PNG when it fits the size cap, else JPEG"))
]

Flag = Annotated[bool, Strict()]
"""A true/false argument (give it a description with Field where it is used)."""


def steps_type(max_steps: int) -> Any:
    """How many steps one call runs: a whole number from 1 to the server's cap."""
    return Annotated[
        int,
        Strict(),
        Field(
            ge=1,
            le=max_steps,
            description=(
                f"how many 512 px steps to take, 1 to {max_steps} (each makes one generator call per tile "
                "across the edge); call again to continue"
            ),
        ),
    ]


def backend_type(names: list[str]) -> Any:
    """A generator backend installed on this server, or nothing for the server's default."""
    return Annotated[
        Literal[tuple(names)] | None,
        Field(
            description=(  # type: ignore[valid-type]
                "generator backend; omitted = the server's default (list_sessions names it)"
            )
        ),
    ]


Steps = steps_type(DEFAULT_MAX_STEPS)
Backend = Annotated[Annotated[str, Strict()] | None, Field(description="generator backend")]


def server_domains(max_steps: int, backends: list[str]) -> dict[str, Any]:
    """The argument types whose domain this server decides, by parameter name."""
    return {"steps": steps_type(max_steps), "backend": backend_type(backends)}
