"""The same checkout works as a ComfyUI custom node folder and as an installed package."""

import importlib.util
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMFY_OWNED = {
    "nodes",
    "utils",
    "app",
    "comfy",
    "server",
    "execution",
    "folder_paths",
    "node_helpers",
    "protocol",
    "latent_preview",
    "main",
}


def test_loads_the_way_comfyui_loads_a_custom_node_folder():
    """ComfyUI imports the folder's __init__.py under a name made from its path, not on sys.path."""
    name = str(REPO / "custom_nodes" / "exquisite").replace(".", "_x_")
    spec = importlib.util.spec_from_file_location(name, REPO / "__init__.py", submodule_search_locations=[str(REPO)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        # ComfyUI takes the V3 path (comfy_entrypoint) only when NODE_CLASS_MAPPINGS is absent.
        assert callable(module.comfy_entrypoint) and not hasattr(module, "NODE_CLASS_MAPPINGS")
        assert (REPO / module.WEB_DIRECTORY).is_dir()
        specs = sys.modules[name + ".nodes"].SPECS
        assert set(specs) == {
            "ExquisiteBandExtract",
            "ExquisiteReferenceMask",
            "ExquisiteGenerateTile",
            "ExquisiteFeatherGlue",
        }
        assert all(spec.display_name.endswith("(exquisite)") for spec in specs.values())
        assert all(spec.run.__module__.startswith(name + ".nodes") for spec in specs.values())
    finally:
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]


def test_installs_one_top_level_name_that_comfyui_does_not_own():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = config["tool"]["setuptools"]["packages"]
    assert {p.split(".")[0] for p in packages} == {"exquisite"}
    assert not COMFY_OWNED & {p.split(".")[0] for p in packages}
    assert config["project"]["dependencies"] == ["numpy>=1.24", "Pillow>=10"]


def test_requirements_for_comfyui_manager_have_no_torch():
    lines = [
        line.strip()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines and not any(line.lower().startswith(("torch", "torchvision", "torchaudio")) for line in lines)


def test_core_cli_works_without_torch_mcp_openai_or_opencv(tmp_path):
    """Block the optional packages and run a real extension through the CLI."""
    code = textwrap.dedent(f"""
        import sys
        for blocked in ("torch", "mcp", "openai", "cv2", "skimage"):
            sys.modules[blocked] = None  # import raises ImportError
        import numpy as np
        from PIL import Image
        Image.fromarray(np.full((1024, 600, 3), 90, np.uint8)).save({str(tmp_path / 'in.png')!r})
        from exquisite.shared_core.cli import main
        code = main(["extend", {str(tmp_path / 'in.png')!r}, "-n", "2", "-b", "local",
                     "--out", {str(tmp_path / 'out.png')!r}, "--session", {str(tmp_path / 's')!r}])
        assert code == 0, code
        assert Image.open({str(tmp_path / 'out.png')!r}).size == (1624, 1024)
        assert not any(m in sys.modules and sys.modules[m] is not None for m in ("torch", "mcp", "openai"))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_folder_shadows_workflows_as_comfyuis_template_folder():
    """ComfyUI serves a pack's templates from the FIRST of these folders that exists (app/
    custom_node_manager.py); an `examples/` folder would hide `workflows/` from the template browser."""
    searched_before_ours = ["example_workflows", "example", "examples", "workflow"]
    assert not [name for name in searched_before_ours if (REPO / name).exists()]
    assert sorted((REPO / "workflows").glob("*.json"))
