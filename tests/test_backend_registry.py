"""Choosing a backend by name: every built-in is listed; one whose extra is missing says what to install.

A missing dependency is simulated in a fresh interpreter (sys.modules[name] = None makes `import
name` fail with ModuleNotFoundError), so this process's registry is left alone.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from exquisite.shared_core.backends import missing_dependency_factory
from exquisite.shared_core.errors import InputError
from exquisite.shared_core.generators import backend_names, make_generator


def run_with_blocked(blocked: list[str], script: str) -> dict:
    code = (
        "import sys, json\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "from exquisite.shared_core.generators import backend_names, make_generator\n"
        "from exquisite.shared_core.errors import InputError\n"
        "out = {'names': backend_names()}\n" + script + "\nprint(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_backend_is_listed_here():
    assert {"mock", "openai", "comfyui"} <= set(backend_names())


def test_a_missing_extra_keeps_the_backend_listed_and_names_the_pip_extra():
    out = run_with_blocked(
        ["openai"],
        (
            "try:\n"
            "    make_generator('openai', model='gpt-image-1.5')\n"
            "    out['error'] = None\n"
            "except InputError as e:\n"
            "    out['error'] = str(e)\n"
            "out['mock'] = make_generator('mock').name\n"
        ),
    )
    assert "openai" in out["names"] and "comfyui" in out["names"]
    assert 'pip install "exquisite[openai]"' in out["error"]
    assert "'openai'" in out["error"]
    assert out["mock"] == "mock"


def test_a_backend_module_that_is_absent_is_simply_not_offered():
    out = run_with_blocked(["exquisite.shared_core.backends.comfyui_backend"], "")
    assert "comfyui" not in out["names"] and "openai" in out["names"]


def test_the_placeholder_refuses_with_the_extra():
    refuse = missing_dependency_factory("comfyui", "comfyui", "websocket")
    with pytest.raises(InputError, match=r'pip install "exquisite\[comfyui\]"'):
        refuse(server="http://x")


def test_unknown_backend_lists_the_names():
    with pytest.raises(InputError, match="comfyui.*mock.*openai"):
        make_generator("no-such-backend")
