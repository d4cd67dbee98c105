"""A live progress line for a terminal: step n/N, tile i/k, elapsed, time left.

On a terminal the line is rewritten in place (carriage return) while a step runs, and replaced by the
step's outcome when it ends, so a long run shows that it is alive and how long it will take. When the
output is not a terminal (a log, a pipe, CI) nothing is drawn: the caller's plain per-step lines are
all there is, exactly as before. The estimate is the mean time of the steps done so far times the
steps left, plus the part of the current step not yet done (from the backend's own progress).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class ProgressLine:
    """Call `step_started(n)`, `within_step(fraction, message)` (a ProgressCallback) and `clear()`."""

    def __init__(
        self, total_steps: int, stream: TextIO | None = None, clock=time.monotonic, live: bool | None = None
    ) -> None:
        self.total = total_steps
        self.stream = stream if stream is not None else sys.stdout
        self.clock = clock
        self.live = self.stream.isatty() if live is None else live
        self.started = clock()
        self.step_start = self.started
        self.done = 0
        self.current = 0
        self.width = 0

    def step_started(self, number_in_run: int) -> None:
        """Step `number_in_run` (1-based, within this run) begins."""
        self.current = number_in_run
        self.done = number_in_run - 1
        self.step_start = self.clock()
        self.draw(0.0, "")

    def within_step(self, fraction: float, message: str) -> None:
        """The backend's progress within the current step (0..1)."""
        self.draw(min(max(float(fraction), 0.0), 1.0), message)

    def text(self, fraction: float, message: str) -> str:
        """The line as it would be drawn now (tested without a terminal)."""
        now = self.clock()
        elapsed = now - self.started
        parts = [f"step {self.current}/{self.total}"]
        tile = _tile_of(message)
        if tile:
            parts.append(tile)
        parts.append(f"{int(fraction * 100):3d}%")
        parts.append(f"elapsed {format_seconds(elapsed)}")
        left = self.time_left(fraction, now)
        if left is not None:
            parts.append(f"about {format_seconds(left)} left")
        line = "  ".join(parts)
        if message:
            line += f"  {message}"
        return line

    def time_left(self, fraction: float, now: float) -> float | None:
        in_step = now - self.step_start
        if self.done:
            per_step = (self.step_start - self.started) / self.done
        elif fraction > 0.05:
            per_step = in_step / fraction
        else:
            return None
        return max(0.0, per_step * (self.total - self.done) - in_step)

    def draw(self, fraction: float, message: str) -> None:
        if not self.live:
            return
        line = self.text(fraction, message)[: _columns() - 1]
        self.stream.write("\r" + line + " " * max(0, self.width - len(line)))
        self.stream.flush()
        self.width = len(line)

    def clear(self) -> None:
        """Remove the line (before a plain line is printed in its place)."""
        if self.live and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


def _tile_of(message: str) -> str:
    """'tile i/k' when a multi-tile step's progress message names it."""
    words = message.split()
    for i, word in enumerate(words[:-1]):
        if word == "tile" and "/" in words[i + 1]:
            return f"tile {words[i + 1].rstrip(':,')}"
    return ""


def _columns() -> int:
    try:
        import shutil

        return shutil.get_terminal_size((100, 20)).columns
    except (OSError, ValueError):
        return 100
