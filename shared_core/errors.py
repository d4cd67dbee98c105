"""Errors every face of exquisite shows to its user.

Each message names the problem and what to do about it; the CLI, the ComfyUI nodes and the MCP tools
print them unchanged, so they are written for people, not for stack traces.
"""


class ExquisiteError(Exception):
    """Base of every error the project raises on purpose."""


class ContractError(ExquisiteError, ValueError):
    """A geometry contract, direction or canvas that cannot work together."""


class InputError(ExquisiteError, ValueError):
    """Bad input from the caller: a file, a size, an option."""


class GenerationError(ExquisiteError):
    """A generator could not produce a usable tile; the step is rejected with this reason."""


class SessionError(ExquisiteError):
    """A session directory that cannot be opened, continued or changed as asked."""
