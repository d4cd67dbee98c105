"""ComfyUI tensors <-> the core's numpy arrays, and how batches pair up.

ComfyUI passes IMAGE as torch float32 [B, H, W, C] in 0..1 and MASK as float32 [B, H, W]; the core
works on uint8 RGB (H, W, 3) images and float32 (H, W) masks. Every node converts through these
helpers, so the rounding rule is one rule: float -> uint8 ROUNDS (x * 255 rounded, after clipping
to 0..1), never truncates, and uint8 -> float -> uint8 gives back the same bytes.

torch is imported inside the functions: importing the package must not import torch.
"""

from __future__ import annotations

import numpy as np

from ..shared_core.errors import InputError


def image_batch(images, what: str):
    """An IMAGE [B, H, W, 3] (or one [H, W, 3] image) checked and batched, not converted."""
    if len(images.shape) == 3:
        images = images[None]
    if len(images.shape) != 4 or images.shape[-1] != 3:
        raise InputError(
            f"the {what} must be an RGB IMAGE [batch, height, width, 3], got shape {tuple(images.shape)}: "
            f"convert it to RGB first (an RGBA image: drop its alpha, a mask: use MaskToImage)"
        )
    if images.shape[0] == 0:
        raise InputError(f"the {what} batch is empty")
    return images


def images_to_uint8(images, what: str) -> np.ndarray:
    """An IMAGE tensor [B, H, W, 3] (or one [H, W, 3] image) as a uint8 array [B, H, W, 3]."""
    array = image_batch(_as_numpy(images), what)
    scaled = np.multiply(array, np.float32(255.0), dtype=np.float32)  # a new buffer: the tensor stays as is
    np.clip(scaled, 0.0, 255.0, out=scaled)
    return np.rint(scaled, out=scaled).astype(np.uint8)


def masks_to_float(masks, what: str = "mask") -> np.ndarray:
    """A MASK tensor [B, H, W] (or one [H, W] mask) as a float32 array [B, H, W]; values kept."""
    array = _as_numpy(masks).astype(np.float32, copy=False)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[0] == 0:
        raise InputError(f"the {what} must be a MASK [batch, height, width], got shape {tuple(array.shape)}")
    return array


def uint8_to_images(arrays) -> torch.Tensor:  # noqa: F821
    """A sequence of uint8 (H, W, 3) arrays of one size as an IMAGE tensor [B, H, W, 3]."""
    import torch

    stacked = np.stack([np.asarray(a, dtype=np.uint8) for a in arrays])
    return torch.from_numpy(stacked).to(torch.float32).div_(255.0)


def empty_images(batch: int, height_width: tuple[int, int]) -> torch.Tensor:  # noqa: F821
    """An uninitialised IMAGE tensor [batch, H, W, 3] to fill region by region."""
    import torch

    return torch.empty((batch, *height_width, 3), dtype=torch.float32)


def paste_uint8(region: torch.Tensor, pixels: np.ndarray) -> None:  # noqa: F821
    """Write uint8 (h, w, 3) pixels into a region (a view) of an IMAGE tensor, as uint8_to_images would."""
    import torch

    region.copy_(torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.uint8)))
    region.div_(255.0)


def float_to_masks(arrays) -> torch.Tensor:  # noqa: F821
    """A sequence of float (H, W) arrays of one size as a MASK tensor [B, H, W]."""
    import torch

    return torch.from_numpy(np.stack([np.asarray(a, dtype=np.float32) for a in arrays]))


def paired_batch(sizes: dict[str, int]) -> int:
    """The batch size of a node that takes several batched inputs.

    Equal sizes pair item by item; an input with a batch of 1 is used with every item of the
    others (broadcast), as ComfyUI's own nodes do. Anything else is refused with the sizes named.
    """
    sizes = {name: int(size) for name, size in sizes.items()}
    batch = max(sizes.values())
    wrong = {name: size for name, size in sizes.items() if size not in (1, batch)}
    if wrong:
        listed = ", ".join(f"{name} {size}" for name, size in sizes.items())
        raise InputError(
            f"batch sizes {listed} cannot be paired: give equal batch sizes, or a batch of 1 to use "
            f"with every item of the other inputs"
        )
    return batch


def _as_numpy(value) -> np.ndarray:
    """torch tensors (any device) and numpy arrays alike."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)
