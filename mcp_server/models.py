"""The structured results of the tools (each tool's outputSchema) and the region argument."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Region(BaseModel):
    """A rectangle of the canvas in pixels, origin at the top-left corner."""

    model_config = ConfigDict(strict=True)  # an argument of view_canvas: "10" is not a number

    x: int = Field(description="left edge, px from the canvas's left")
    y: int = Field(description="top edge, px from the canvas's top")
    width: int = Field(description="width in px")
    height: int = Field(description="height in px")


class PreviewInfo(BaseModel):
    """The inline image that comes with the result (the image itself is in the content)."""

    format: str = Field(description="png or jpeg")
    width: int
    height: int
    bytes: int
    scale: float = Field(description="preview px per canvas px (1.0 = full resolution)")
    region: Region = Field(description="the part of the canvas it shows")


class CanvasFiles(BaseModel):
    canvas_uri: str = Field(description="MCP resource with the full-resolution canvas PNG")
    canvas_path: str = Field(
        description="the same canvas as a file on the server's disk (canvas/NNNN.png, NNNN the current step; "
        "the next call that changes the session writes its own and removes this one)"
    )


class OpenResult(CanvasFiles):
    session_id: str
    width: int
    height: int
    original_width: int
    original_height: int
    fitted: bool
    contract: dict
    preview: PreviewInfo


class StepOutcome(BaseModel):
    number: int
    status: str = Field(description="committed or rejected")
    reason: str = Field(description="why a step was rejected (empty when committed)")
    width: int
    height: int
    seconds: float
    tiles: int | None = Field(
        default=None,
        description=("tiles across the edge this step grew (k): a committed step made one generator call per tile"),
    )
    generator_calls: int | None = Field(
        default=None,
        description=(
            "generator calls the step made (committed steps; fewer than tiles when tiles of an earlier "
            "rejected try were reused)"
        ),
    )
    seam: dict | None = Field(
        default=None,
        description=(
            "how well the tile fits (committed steps): seam_step = largest colour jump across the seam not "
            "already in the picture, drift = remaining colour cast of the new region, gradient_discontinuity; "
            "all in Lab ΔE (about 2 is barely visible). A high value is a reason to undo and retry. "
            "shift_px = [dy, dx]: how far the tile's picture lay off its band; it was moved back before the glue"
        ),
    )


class ExtendResult(CanvasFiles):
    session_id: str
    direction: str
    backend: str
    requested_steps: int
    committed_steps: int
    steps: list[StepOutcome]
    width: int
    height: int
    changed_region: Region | None = Field(description="what this call changed, in the new canvas's pixels")
    preview: PreviewInfo | None


class ViewResult(CanvasFiles):
    session_id: str
    what: str
    width: int = Field(description="canvas width")
    height: int = Field(description="canvas height")
    head: int = Field(description="the last committed step (0 = the source image)")
    preview: PreviewInfo


class HistoryStep(BaseModel):
    number: int
    status: str = Field(description="committed, rejected or undone")
    reason: str
    direction: str
    prompt: str = Field(description="the step's prompt (long ones cut, with a marker saying how much)")
    seed: int
    backend: str
    blend: str
    size_before: list[int]
    size_after: list[int] | None
    seam: dict | None = Field(default=None, description="the step's seam report (see extend_canvas)")
    step_uri: str = Field(description="resource prefix of this step's artifacts")


class HistoryResult(CanvasFiles):
    session_id: str
    width: int
    height: int
    head: int
    contract: dict
    source: dict = Field(description="the image the session started from (its file name, not its folder)")
    total_steps: int = Field(description="how many steps the session has tried")
    offset: int = Field(description="how many of the oldest steps this page skipped")
    next_offset: int | None = Field(description="the offset of the next page (null on the last page)")
    steps: list[HistoryStep]


class UndoResult(CanvasFiles):
    session_id: str
    undone_step: int
    head: int
    width: int
    height: int


class ExportResult(BaseModel):
    session_id: str
    path: str
    width: int
    height: int
    bytes: int


class SessionSummary(BaseModel):
    session_id: str
    width: int
    height: int
    head: int
    committed_steps: int
    steps_tried: int
    created: str
    source: str


class ListResult(BaseModel):
    sessions: list[SessionSummary]
    total: int
    backends: list[str]
    default_backend: str
    input_dirs: list[str] = Field(description="folders open_canvas may read image files from")
    export_dirs: list[str] = Field(description="folders export_canvas may write to")
