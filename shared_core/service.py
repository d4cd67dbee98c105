"""The step service: the one path from what a user chose to committed or rejected steps.

Every face (the CLI, the MCP tools, the ComfyUI nodes) translates its own arguments into the same
few calls here and presents what comes back; none of them validates, picks a backend or continues a
session's settings on its own, so they cannot disagree. The order is the promise to the user:
everything is checked (`plan_steps`, `check_fits`, `check_export_target`) before a session folder is
created or a backend is called, so a bad option never leaves anything behind or costs money.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any
from pathlib import Path

from .errors import ExquisiteError, InputError, SessionError
from .generators import Generator, backend_names, make_generator
from .geometry import DIRECTION_WORDS, Contract, check_canvas, frontier_right_shape, parse_direction
from .mask import generation_mask
from .step_settings import StepSettings, next_settings

MAX_STEPS_PER_CALL = 10_000
"""The most steps one call may ask for (a face may set a lower cap, e.g. the MCP server's 8)."""
ENV_SESSIONS = "EXQUISITE_SESSIONS"
SESSION_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""What a session id looks like (the MCP server names each session's folder by its id)."""


def data_home() -> Path:
    """$XDG_DATA_HOME/exquisite, else ~/.local/share/exquisite."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "exquisite"


def default_sessions_dir() -> Path:
    """Where sessions live when no folder is given: $EXQUISITE_SESSIONS, else data_home()/sessions
    (the MCP server's rule, so the CLI finds a session by the id an MCP tool printed)."""
    return Path(os.environ.get(ENV_SESSIONS) or data_home() / "sessions").expanduser().absolute()


def find_session(name: str | os.PathLike) -> Path:
    """A session folder from a path, or from a session id looked up in default_sessions_dir()."""
    path = Path(name)
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{path} is a file, not a session: give the session's folder (or its id)")
        return path
    if SESSION_ID.match(str(name)) and (default_sessions_dir() / str(name)).is_dir():
        return default_sessions_dir() / str(name)
    raise SessionError(
        f"no session at {path}"
        + (f" and no session {name!r} in {default_sessions_dir()}" if SESSION_ID.match(str(name)) else "")
        + ": give a session folder or the id an MCP tool printed"
    )


def default_backend() -> str:
    """EXQUISITE_BACKEND if set, else the offline `local` backend, else `mock`."""
    chosen = os.environ.get("EXQUISITE_BACKEND")
    if chosen:
        return chosen
    return "local" if "local" in backend_names() else "mock"


def check_steps(steps: object, maximum: int = MAX_STEPS_PER_CALL, advice: str = "") -> int:
    """A step count: a whole number from 1 to `maximum` (true/false and "2" are not numbers)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= maximum:
        raise InputError(
            f"steps must be a whole number from 1 to {maximum}, got {steps!r}" + (f": {advice}" if advice else "")
        )
    return steps


def parse_backend_settings(value: object, what: str = "the backend settings") -> dict:
    """A backend's settings from a JSON object's text, a dict or nothing (= its defaults)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as bad:  # the position only: the text may hold a key
            raise InputError(
                f"{what} are not valid JSON (line {bad.lineno} column {bad.colno}): "
                f'write an object like {{"model": "gpt-image-1.5"}}'
            ) from None
    if not isinstance(value, dict):
        raise InputError(f'{what} must be a JSON object like {{"model": "gpt-image-1.5"}}, got {type(value).__name__}')
    return dict(value)


def backend_settings_from_pairs(pairs: list[str]) -> dict:
    """`key=value` pairs (the CLI's --backend-opt) into settings; JSON values are parsed, the rest is text."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"a backend option is key=value, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def make_backend(name: str | None, settings: object = None) -> Generator:
    """The generator called `name` (default: `default_backend()`) with its settings, or an InputError
    that says what to change; building one never calls it."""
    name = name or default_backend()
    if name not in backend_names():
        raise InputError(f"unknown backend {name!r}: choose one of {', '.join(backend_names())}")
    settings = parse_backend_settings(settings)
    try:
        return make_generator(name, **settings)
    except Exception as error:  # a missing extra, a refused setting (InputError, TypeError, ValueError...)
        raise InputError(f"backend {name!r} is not configured: {error}") from None


def check_export_target(
    out: str | os.PathLike,
    force: bool = False,
    session_root: str | os.PathLike | None = None,
    force_option: str = "--force",
) -> Path:
    """Where an export may go: a .png file, not a folder, not inside the session, not over an
    existing file unless `force` (`force_option` names it in the face's words, e.g. overwrite=true)."""
    path = Path(out)
    if path.suffix.lower() != ".png":
        raise InputError(f"exports are PNG files: give a path ending in .png, not {path.name or str(out)!r}")
    if path.is_dir():
        raise InputError(f"{path} is a folder: give a file name ending in .png")
    if session_root is not None and path.resolve().is_relative_to(Path(session_root).resolve()):
        raise InputError(f"export to a path outside the session folder, not {path}")
    if path.exists() and not force:
        raise InputError(f"{path} already exists: choose another file or allow overwriting ({force_option})")
    return path


@dataclass
class StepPlan:
    """Validated steps, ready to run: the settings of the first step, the generator, how many."""

    settings: StepSettings
    generator: Generator
    backend: str
    steps: int


def plan_steps(
    contract: Contract,
    last_settings: dict | None,
    chosen: dict,
    backend: str | None = None,
    backend_settings: object = None,
    steps: object = 1,
    max_steps: int = MAX_STEPS_PER_CALL,
    steps_advice: str = "",
    size: tuple[int, int] | None = None,
) -> StepPlan:
    """Check everything a run of steps needs before anything is created or called.

    `chosen` holds the StepSettings fields the user gave (None = not chosen); the rest continues the
    session's last settings (see step_settings.next_settings), the blend defaulting to the backend's.
    With `size` (the canvas's width, height) the canvas is checked to fit the direction first.
    """
    steps = check_steps(steps, max_steps, steps_advice)
    if size is not None:
        check_fits(chosen.get("direction") or (last_settings or {}).get("direction") or "x_ltr", size, contract, steps)
    name = backend or default_backend()
    generator = make_backend(name, backend_settings)
    settings = check_step_settings(next_settings(last_settings, chosen, generator.default_blend), contract)
    return StepPlan(settings, generator, name, steps)


def check_step_settings(settings: StepSettings, contract: Contract) -> StepSettings:
    """StepSettings.checked plus the generation ramp (which only the mask blends' check reaches), so
    a ramp past the overlap is refused before a session folder or a step folder exists."""
    settings = settings.checked(contract)
    try:
        generation_mask(contract, settings.ramp_start, settings.ramp_end, settings.ramp_shape)
    except ExquisiteError as bad:
        raise InputError(str(bad)) from None
    return settings


def plan_session_steps(
    session, chosen: dict, backend: str | None = None, backend_settings: object = None, **run: Any
) -> StepPlan:
    """plan_steps for an existing session, continuing what the session was doing: its last
    committed step's settings, else the settings it was created with (so a session whose first
    step never committed still grows the planned way, from the planned seed), and its backend
    unless another is chosen. `run`: steps, max_steps and steps_advice, as plan_steps takes them."""
    last = session.meta.get("last_settings")
    planned = session.meta.get("settings")
    if last is None and planned:
        chosen = {**chosen, "seed": planned.get("seed") if chosen.get("seed") is None else chosen["seed"]}
        last = {k: v for k, v in planned.items() if k != "seed"}
    known = session.meta.get("backend")
    backend = backend or (known if known in backend_names() else None)
    return plan_steps(session.contract, last, chosen, backend, backend_settings, size=session.size, **run)


MAX_PIXELS_ENV = "EXQUISITE_MAX_CANVAS_PIXELS"
"""Environment variable that raises (or lowers) the largest canvas a run may make, in pixels."""


def canvas_pixel_limit() -> int:
    """The most pixels a canvas may reach: EXQUISITE_MAX_CANVAS_PIXELS if set, else Pillow's
    decompression-bomb limit (2 x Image.MAX_IMAGE_PIXELS, about 179 Mpx: past it Pillow refuses to
    open an image at all, so other programs would refuse the PNG we write)."""
    value = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if value:
        try:
            limit = int(value.replace("_", ""))
        except ValueError:
            limit = 0
        if limit < 1:
            raise InputError(f"{MAX_PIXELS_ENV} must be a whole number of pixels, e.g. 400000000; got {value!r}")
        return limit
    from PIL import Image

    return 2 * int(Image.MAX_IMAGE_PIXELS or 89_478_485)


def check_fits(direction: str, size: tuple[int, int], contract: Contract, steps: int = 1) -> None:
    """Refuse, before any step, a canvas (width, height) that cannot grow in `direction`: an edge
    shorter than the band along the growth axis, or a run of `steps` that would take the canvas past
    `canvas_pixel_limit()`. Any length across is fine (a frontier of several tiles)."""
    width, height = size
    direction = parse_direction(direction)
    word = DIRECTION_WORDS[direction]
    try:
        check_canvas(frontier_right_shape((height, width), direction), contract)
    except ExquisiteError as bad:
        raise InputError(f"this {width}x{height} canvas cannot grow {word}: {bad}") from None
    grown = (
        (width + steps * contract.advance, height)
        if direction.startswith("x")
        else (width, height + steps * contract.advance)
    )
    grown_w, grown_h = grown
    limit = canvas_pixel_limit()
    if grown_w * grown_h > limit:
        across = height if direction.startswith("x") else width
        most = max(0, (limit // across - (width if direction.startswith("x") else height)) // contract.advance)
        raise InputError(
            f"{steps} step(s) {word} would make this {width}x{height} canvas {grown_w}x{grown_h} "
            f"({grown_w * grown_h / 1e6:,.0f} Mpx), over the {limit / 1e6:,.0f} Mpx canvas limit: ask for at "
            f"most {most} step(s), or raise the limit with {MAX_PIXELS_ENV}=PIXELS (other programs may then "
            f"refuse to open the PNG)"
        )


def run_steps(session, plan: StepPlan, on_step=None, progress=None, stop_on_reject: bool = True):
    """Run a plan on a session (checked again against the session as it is now); every artifact is
    on disk when this returns."""
    check_fits(plan.settings.direction, session.size, session.contract, plan.steps)
    try:
        return session.extend(
            plan.settings, plan.generator, plan.steps, on_step=on_step, progress=progress, stop_on_reject=stop_on_reject
        )
    finally:
        session.flush()
