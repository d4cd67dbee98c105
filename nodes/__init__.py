"""exquisite's ComfyUI nodes: thin adapters over the shared core (geometry, mask, glue, generators).

Importing this package imports neither torch nor ComfyUI; the nodes import torch when they run.
"""

from .band_extract import BandExtract
from .feather_glue import FeatherGlue
from .generate_tile import GenerateTile
from .reference_mask import ReferenceMask

NODE_CLASS_MAPPINGS = {
    "ExquisiteBandExtract": BandExtract,
    "ExquisiteReferenceMask": ReferenceMask,
    "ExquisiteGenerateTile": GenerateTile,
    "ExquisiteFeatherGlue": FeatherGlue,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "ExquisiteBandExtract": "Band Extract (exquisite)",
    "ExquisiteReferenceMask": "Reference Mask (exquisite)",
    "ExquisiteGenerateTile": "Generate Tile (exquisite)",
    "ExquisiteFeatherGlue": "Feather Glue (exquisite)",
}

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
