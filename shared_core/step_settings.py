"""A step's settings: what the user chose for one step, checked once, continued from step to step.

Everything that decides a step besides the canvas, the tile and the generator's own settings lives
in `StepSettings`; a step records them in its step.json, and a replay rebuilds the same glue from
them (`alpha_for` is a pure function of the recorded settings). `next_settings` is the one rule by
which every face continues a session: what the user chose, else the backend's own blend, else the
session's last settings, else the defaults.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from .colour import SPACES as COLOUR_SPACES
from .errors import InputError
from .geometry import FILLS, Contract, parse_direction
from .glue import BLENDS, MASK_BLENDS, blend_alpha, overlap_blend
from .mask import SHAPES, generation_mask


GLUE_REVISION = 1
"""How the glue works, recorded with every step so that a replay glues as the step did (StepSettings
.glue_revision; steps recorded without it are revision 0). Revision 1 (issue 12):
* clipped tile values are filled by their depth in the clipped region (clipped_fill.py), not with
  one value per clipped end;
* hard and multiband no longer cut at a fixed line (glue.overlap_blend(steered=True));
* the pixels that registration uncovers in the conditioning half are the band's own after colour
  matching (registration.restore_uncovered), not the band's mapped with the tile's cast."""


@dataclass(frozen=True)
class StepSettings:
    """Everything that decides one step besides the canvas and the generator's own settings."""

    direction: str = "x_ltr"
    prompt: str = ""
    seed: int = 0
    blend: str = "linear"
    feather_px: int | None = None
    ramp_start: float | None = None
    ramp_end: float | None = None
    ramp_shape: str = "linear"
    fill: str = "gray"
    colour_match: bool = True
    colour_space: str = "rgb"
    register: bool = True
    glue_revision: int = GLUE_REVISION
    blend_ramp_start: float | None = None
    blend_ramp_end: float | None = None

    def checked(self, contract: Contract) -> StepSettings:
        """Validate every field now, so a bad option is refused before anything is written."""
        direction = parse_direction(self.direction)
        if self.blend not in BLENDS:
            raise InputError(f"unknown blend {self.blend!r}: use one of {', '.join(BLENDS)}")
        if self.ramp_shape not in SHAPES:
            raise InputError(f"unknown ramp shape {self.ramp_shape!r}: use one of {', '.join(SHAPES)}")
        if self.fill not in FILLS:
            raise InputError(f"unknown fill {self.fill!r}: use one of {', '.join(FILLS)}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise InputError(f"the seed must be a whole number from 0 to 2**63-1, got {self.seed!r}")
        if not isinstance(self.colour_match, bool):
            raise InputError(f"colour_match is true or false, got {self.colour_match!r}")
        if not isinstance(self.register, bool):
            raise InputError(f"register is true or false, got {self.register!r}")
        if isinstance(self.glue_revision, bool) or self.glue_revision not in range(GLUE_REVISION + 1):
            raise InputError(
                f"glue_revision {self.glue_revision!r} is not one this exquisite knows (0 to {GLUE_REVISION}): "
                f"a step recorded by a newer exquisite needs that version to replay"
            )
        if self.colour_space not in COLOUR_SPACES:
            raise InputError(f"unknown colour space {self.colour_space!r}: use one of {', '.join(COLOUR_SPACES)}")
        if (self.blend_ramp_start, self.blend_ramp_end) != (None, None) and self.blend not in MASK_BLENDS:
            raise InputError(
                f"a compositing ramp applies to the {', '.join(MASK_BLENDS)} blends, not "
                f"{self.blend}: use feather_px for linear/smooth"
            )
        settings = StepSettings(**{**asdict(self), "direction": direction})
        alpha_for(settings, contract)  # feather and ramp ranges
        overlap_blend(settings.blend)  # refuses a blend whose extra is not installed
        return settings


def recorded_settings(record: dict) -> StepSettings:
    """The settings a step recorded; a step recorded before registration (or a glue revision)
    existed was glued without it, and replays so."""
    return StepSettings(**{"register": False, "glue_revision": 0, **record})


def next_settings(last: dict | None, chosen: dict, backend_blend: str | None = None) -> StepSettings:
    """A step's settings as every face builds them, so a session continues the same way everywhere.

    Each field is what the caller chose (None = not chosen); else, for the blend, the backend's own
    (`default_blend`, e.g. openai's mask blend: only it keeps pixels a model repainted); else what
    the session's last step used; else the default. The seed moves on by one from the last step's,
    so a repeated call does not repeat a tile. A newly chosen blend drops a compositing ramp that
    belonged to the previous one. The glue revision is never continued: a new step is glued by the
    newest (GLUE_REVISION).
    """
    known = {f.name for f in fields(StepSettings)}
    unknown = set(chosen) - known
    if unknown:
        raise InputError(f"unknown step settings {sorted(unknown)}")
    last = {k: v for k, v in (last or {}).items() if k in known and k != "glue_revision"}  # a new step: the newest
    blend = chosen.get("blend") or backend_blend
    if blend is not None and blend != last.get("blend"):
        last.pop("blend_ramp_start", None)
        last.pop("blend_ramp_end", None)
        last["blend"] = blend
    if chosen.get("seed") is None and "seed" in last:
        last["seed"] = int(last["seed"]) + 1
    merged = {**last, **{k: v for k, v in chosen.items() if v is not None}}
    return StepSettings(**merged)


def alpha_for(settings: StepSettings, contract: Contract) -> np.ndarray:
    """The glue alpha of a step (frontier-right frame); a pure function of its recorded settings.

    The mask-family blends use the compositing mask: the generation ramp unless blend_ramp_start /
    blend_ramp_end give the compositing ramp its own span.
    """
    if settings.blend not in MASK_BLENDS:
        return blend_alpha(contract, settings.blend, settings.feather_px)
    start = settings.ramp_start if settings.blend_ramp_start is None else settings.blend_ramp_start
    end = settings.ramp_end if settings.blend_ramp_end is None else settings.blend_ramp_end
    mask = generation_mask(contract, start, end, settings.ramp_shape)
    return blend_alpha(contract, settings.blend, settings.feather_px, mask)
