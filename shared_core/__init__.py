"""exquisite's shared core: geometry, mask and glue as pure numpy functions; sessions, generators
and file formats on top of them. Nothing here imports torch or mcp."""

from .errors import ContractError, ExquisiteError, GenerationError, InputError, SessionError
from .geometry import Contract, DIRECTIONS, parse_direction
from .generators import TileRequest, backend_names, make_generator, register
from .session import Session, StepResult, StepSettings

__all__ = [
    "DIRECTIONS",
    "Contract",
    "ContractError",
    "ExquisiteError",
    "GenerationError",
    "InputError",
    "Session",
    "SessionError",
    "StepResult",
    "StepSettings",
    "TileRequest",
    "backend_names",
    "make_generator",
    "parse_direction",
    "register",
]
