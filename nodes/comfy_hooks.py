"""The ComfyUI services a node uses: the progress bar, the Cancel button and its own address.

All are looked up only when ComfyUI is present, so the nodes run (and are tested) in plain Python,
where progress is simply not shown and nothing can be cancelled.
"""

from __future__ import annotations


class Progress:
    """A ProgressBar over `total` units when running inside ComfyUI; a no-op otherwise."""

    RESOLUTION = 1000

    def __init__(self) -> None:
        try:
            import comfy.utils  # ComfyUI's own package; absent outside ComfyUI
        except ImportError:
            self._bar = None
        else:
            self._bar = comfy.utils.ProgressBar(self.RESOLUTION)

    def set(self, fraction: float) -> None:
        """Show `fraction` (0..1) done; also the moment a user's Cancel takes effect."""
        raise_if_cancelled()
        if self._bar is not None:
            value = round(min(max(fraction, 0.0), 1.0) * self.RESOLUTION)
            self._bar.update_absolute(value, self.RESOLUTION)


def raise_if_cancelled() -> None:
    """Raise ComfyUI's interruption if the user pressed Cancel (so a long local tile stops)."""
    try:
        import comfy.model_management
    except ImportError:
        return
    comfy.model_management.throw_exception_if_processing_interrupted()


def own_server() -> tuple[list[str], int | None]:
    """The hosts and port this ComfyUI listens on (its --listen and --port); ([], None) outside it."""
    try:
        from comfy.cli_args import args  # ComfyUI's own parsed command line
    except ImportError:
        return [], None
    return [host for host in str(args.listen).split(",")], int(args.port)
