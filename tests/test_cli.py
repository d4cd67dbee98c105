"""The `exquisite` command as a user runs it: exit codes, messages, sessions it leaves."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from exquisite.shared_core.cli import main


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 255, (512, 400, 3), dtype=np.uint8)).save(path)
    return path


def test_extend_fit_three_steps_then_show_undo_export(tmp_path, photo, capsys):
    out = tmp_path / "out.png"
    code = main(
        [
            "extend",
            str(photo),
            "--fit",
            "--steps",
            "3",
            "--backend",
            "mock",
            "--blend",
            "smooth",
            "--session",
            str(tmp_path / "s"),
            "--out",
            str(out),
            "--prompt",
            "more sea",
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert "step 0003 committed" in text and str(tmp_path / "s") in text
    assert Image.open(out).size == (800 + 3 * 512, 1024)
    for n in (1, 2, 3):  # every committed step's canvases exist once the command has returned
        folder = tmp_path / "s" / "steps" / f"{n:04d}"
        assert (folder / "canvas_before.png").is_file() and (folder / "canvas_after.png").is_file()
        assert (folder / "committed.ok").is_file()
    assert main(["show", str(tmp_path / "s"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [s["status"] for s in info["steps"]] == ["committed"] * 3 and info["size"] == [2336, 1024]
    assert main(["undo", str(tmp_path / "s")]) == 0
    assert "canvas is 1824x1024 at step 2" in capsys.readouterr().out
    assert main(["export", str(tmp_path / "s"), "--out", str(tmp_path / "e.png")]) == 0
    assert Image.open(tmp_path / "e.png").size == (1824, 1024)
    # continuing a session keeps the settings and moves the seed on
    assert main(["extend", str(tmp_path / "s"), "--out", str(tmp_path / "c.png"), "--backend", "mock"]) == 0
    record = json.loads((tmp_path / "s" / "steps" / "0004" / "step.json").read_text())
    assert record["settings"]["blend"] == "smooth" and record["seed"] == 3 and record["prompt"] == "more sea"


def test_rejection_prints_the_reason_and_exits_non_zero(tmp_path, photo, capsys):
    code = main(
        [
            "extend",
            str(photo),
            "--fit",
            "--backend",
            "mock",
            "--backend-opt",
            "colour=red",
            "--out",
            str(tmp_path / "o.png"),
        ]
    )
    assert code == 2 and "takes no settings" in capsys.readouterr().err
    # a generator failure is a rejection: exit 1, reason printed, canvas untouched
    from exquisite.shared_core import generators
    from exquisite.shared_core.errors import GenerationError

    class Refusing:
        name = "refusing"

        def generate(self, request):
            raise GenerationError("the service refused: moderation_blocked")

    generators.register("refusing-test", lambda: Refusing())
    code = main(
        [
            "extend",
            str(photo),
            "--fit",
            "--backend",
            "refusing-test",
            "--steps",
            "2",
            "--session",
            str(tmp_path / "r"),
            "--out",
            str(tmp_path / "r.png"),
        ]
    )
    text = capsys.readouterr().out
    assert code == 1
    assert "REJECTED: the service refused: moderation_blocked" in text and "0 of 2 steps committed" in text
    assert (tmp_path / "r" / "steps" / "0001" / "rejected.err").exists()
    assert Image.open(tmp_path / "r.png").size == (800, 1024)  # the unchanged canvas


@pytest.mark.parametrize(
    "args, message",
    [
        (["--direction", "right", "--steps", "0"], "steps must be a whole number from 1"),
        (["--backend", "nope"], "unknown backend 'nope'"),
        ([], "shorter than the 512 px band"),
    ],
)
def test_bad_input_exits_2_with_what_to_change(tmp_path, photo, capsys, args, message):
    code = main(["extend", str(photo), "--out", str(tmp_path / "o.png"), "--session", str(tmp_path / "s")] + args)
    assert code == 2 and message in capsys.readouterr().err


def test_existing_out_is_not_overwritten(tmp_path, photo, capsys):
    out = tmp_path / "o.png"
    out.write_bytes(b"precious")
    assert main(["extend", str(photo), "--fit", "--backend", "mock", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"precious"


def test_console_script_runs_in_a_fresh_process(tmp_path, photo):
    script = Path(sys.executable).parent / "exquisite"
    proc = subprocess.run(
        [
            str(script),
            "extend",
            str(photo),
            "--fit",
            "-n",
            "2",
            "-b",
            "mock",
            "-d",
            "left",
            "--out",
            str(tmp_path / "o.png"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "2 of 2 steps committed" in proc.stdout
    assert Image.open(tmp_path / "o.png").size == (800 + 1024, 1024)
    assert list((tmp_path / "exquisite-sessions").iterdir())
