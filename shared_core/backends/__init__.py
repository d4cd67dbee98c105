"""Real generation backends. Each module registers itself with `generators.register` on import.

A backend's third-party dependency is an optional extra of the package. When it is not installed
the backend is still listed (so `--backend openai` is not met with "unknown backend"), but choosing
it raises an InputError that names the pip extra to install. A backend module that is missing
altogether, or a bug inside one, is not hidden this way: the first is skipped, the second raises.
"""

from __future__ import annotations

import importlib
import importlib.util

from ..errors import InputError
from ..generators import register

# module -> (backend name, pip extra that brings its dependencies)
BACKEND_MODULES = {
    "local": ("local", "local"),
    "openai_backend": ("openai", "openai"),
    "comfyui_backend": ("comfyui", "comfyui"),
}

LAZY_BACKENDS = {"openai_backend": ("openai", "OpenAIGenerator")}
"""Backends whose SDK takes long to import (the openai package: about half a second): the module
-> (the package it needs, its generator class). They are listed at once but imported only when
chosen, so a run of another backend, `--help` or a ComfyUI start does not pay for them."""


def missing_dependency_factory(backend: str, extra: str, module: str):
    """A factory that explains, when the backend is chosen, which extra to install."""

    def refuse(**_settings):
        raise InputError(
            f"the {backend!r} backend needs the Python package {module!r}, which is not installed: "
            f'run  pip install "exquisite[{extra}]"  (or pick another backend)'
        )

    refuse.missing_module = module  # type: ignore[attr-defined]
    return refuse


_PROJECT = __name__.rsplit(".shared_core.", 1)[0]  # "exquisite", or ComfyUI's name for the folder


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ValueError, ImportError):  # a module blocked in sys.modules (None) or a broken parent
        return False


def _lazy_factory(module: str, class_name: str):
    def build(**settings):
        return getattr(importlib.import_module(f".{module}", __name__), class_name)(**settings)

    return build


for _module, (_backend, _extra) in BACKEND_MODULES.items():
    if _module in LAZY_BACKENDS:
        _package, _class = LAZY_BACKENDS[_module]
        if _installed(_package):
            register(_backend, _lazy_factory(_module, _class))
        else:
            register(_backend, missing_dependency_factory(_backend, _extra, _package))
        continue
    try:
        importlib.import_module(f".{_module}", __name__)
    except ModuleNotFoundError as missing:
        if missing.name == f"{__name__}.{_module}":
            continue  # the backend module itself is not part of this install
        if missing.name and missing.name.startswith(_PROJECT + "."):
            raise  # a broken import inside the project is a bug, not a missing extra
        register(_backend, missing_dependency_factory(_backend, _extra, missing.name or "?"))
