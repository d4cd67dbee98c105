"""Real generation backends. Each module registers itself with `generators.register` when its
optional dependencies import; a backend whose dependency is missing is simply not offered."""

import importlib

for _module in ("local", "openai_backend", "comfyui_backend"):
    try:
        importlib.import_module(f".{_module}", __name__)
    except ModuleNotFoundError as missing:  # a missing optional dependency or a backend not yet built
        if missing.name and missing.name.endswith(_module):
            continue
        continue
