"""The `exquisite` command under odd input, a second writer, a full disk and a read-only folder:
a one-line error (exit 2 for bad input, 1 for a step that could not be saved), nothing created
before everything is checked, nothing committed lost, no temp file left."""

import errno
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from exquisite.shared_core import atomic
from exquisite.shared_core.cli import main
from exquisite.shared_core.session import Session, StepSettings
from PIL import Image

EXQUISITE = [sys.executable, "-m", "exquisite.shared_core.cli"]


@pytest.fixture
def photo(tmp_path):
    rows, cols = np.mgrid[0:512, 0:400]
    image = np.dstack([cols % 256, rows % 256, (rows + cols) % 256]).astype(np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(image).save(path)
    return path


@pytest.fixture
def session(tmp_path, photo):
    root = tmp_path / "s"
    assert (
        main(
            ["extend", str(photo), "--fit", "-b", "mock", "--session", str(root), "--out", str(tmp_path / "first.png")]
        )
        == 0
    )
    return root


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp") or p.name.endswith(".creating")]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--feather", "9999"], "feather"),
        (["--seed", "-1"], "seed"),
        (["--ramp-start", "5000"], "ramp"),
        (["--blend", "linear", "--blend-ramp-start", "3"], "compositing ramp"),
        (["--steps", "10001"], "steps must be a whole number"),
        (["--backend", "nope"], "unknown backend"),
        (["--overlap", "2000"], "overlap"),
    ],
)
def test_bad_arguments_leave_no_session_behind(tmp_path, photo, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code = main(
        ["extend", str(photo), "--fit", "-b", "mock", "--out", str(tmp_path / "o.png")] + args
        if "--backend" not in args
        else ["extend", str(photo), "--fit", "--out", str(tmp_path / "o.png")] + args
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "exquisite-sessions").exists() and not (tmp_path / "o.png").exists()


def test_out_inside_the_session_is_refused_before_any_step(tmp_path, photo, session, capsys):
    assert (
        main(
            [
                "extend",
                str(photo),
                "--fit",
                "-b",
                "mock",
                "--session",
                str(tmp_path / "n"),
                "--out",
                str(tmp_path / "n" / "o.png"),
            ]
        )
        == 2
    )
    assert "outside the session" in capsys.readouterr().err and not (tmp_path / "n").exists()
    assert main(["extend", str(session), "-b", "mock", "--out", str(session / "o.png")]) == 2
    assert "outside the session" in capsys.readouterr().err
    assert not (session / "steps" / "0002").exists()


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda t, s: ["extend", str(s), "--out", str(t / "dir.png"), "--force"], "is a folder"),
        (
            lambda t, s: [
                "extend",
                str(t / "photo.png"),
                "--fit",
                "--session",
                str(t / "file"),
                "--out",
                str(t / "o.png"),
            ],
            "is a file",
        ),
        (lambda t, s: ["show", str(t / "file")], "is a file"),
        (lambda t, s: ["export", str(t / "nothing-here"), "--out", str(t / "o.png")], "no session at"),
        (lambda t, s: ["undo", str(t)], "is not a session"),
        (lambda t, s: ["extend", str(s), "-d", "down", "-n", "9999", "--out", str(t / "o.png")], "canvas limit"),
    ],
)
def test_wrong_kinds_of_path_are_one_line_errors(tmp_path, session, capsys, make_args, message):
    (tmp_path / "dir.png").mkdir()
    (tmp_path / "file").write_text("not a folder")
    steps_before = sorted(p.name for p in (session / "steps").iterdir())
    assert main(make_args(tmp_path, session)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert sorted(p.name for p in (session / "steps").iterdir()) == steps_before
    assert not (tmp_path / "o.png").exists()


def test_a_session_id_names_a_session_in_the_default_folder(tmp_path, photo, capsys, monkeypatch):
    monkeypatch.setenv("EXQUISITE_SESSIONS", str(tmp_path / "sessions"))
    assert (
        main(
            [
                "extend",
                str(photo),
                "--fit",
                "-b",
                "mock",
                "-n",
                "2",
                "--session",
                str(tmp_path / "sessions" / "photo-1a2b3c"),
                "--out",
                str(tmp_path / "o.png"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    assert main(["show", "photo-1a2b3c", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["head"] == 2
    assert main(["undo", "photo-1a2b3c"]) == 0
    assert main(["export", "photo-1a2b3c", "--out", str(tmp_path / "e.png")]) == 0
    assert Image.open(tmp_path / "e.png").size == (800 + 512, 1024)
    assert main(["extend", "photo-1a2b3c", "--out", str(tmp_path / "c.png")]) == 0
    capsys.readouterr()
    assert main(["show", "no-such-id"]) == 2
    assert "no session 'no-such-id' in" in capsys.readouterr().err


DIES_IN_FIRST_STEP = textwrap.dedent("""
    import os, signal, sys
    from exquisite.shared_core import generators
    generators.MockGenerator.generate = lambda self, request: os.kill(os.getpid(), signal.SIGKILL)
    from exquisite.shared_core.cli import main
    main(sys.argv[1:])
""")


def test_settings_and_backend_given_at_creation_outlive_a_death_before_the_first_step(
    tmp_path, photo, capsys, monkeypatch
):
    root = tmp_path / "s"
    proc = subprocess.run(
        check=False,
        args=[
            sys.executable,
            "-c",
            DIES_IN_FIRST_STEP,
            "extend",
            str(photo),
            "--fit",
            "-d",
            "left",
            "-b",
            "mock",
            "--seed",
            "7",
            "--prompt",
            "cliffs",
            "--blend",
            "smooth",
            "--session",
            str(root),
            "--out",
            str(tmp_path / "o.png"),
        ],
        capture_output=True,
    )
    assert proc.returncode == -9
    monkeypatch.delenv("EXQUISITE_BACKEND", raising=False)
    assert main(["extend", str(root), "--out", str(tmp_path / "o.png")]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "backend mock" in out
    record = json.loads((root / "steps" / "0002" / "step.json").read_text())
    assert (record["direction"], record["backend"], record["seed"], record["prompt"]) == ("x_rtl", "mock", 7, "cliffs")
    assert record["settings"]["blend"] == "smooth"
    assert Image.open(tmp_path / "o.png").size == (800 + 512, 1024)
    assert json.loads((root / "steps" / "0001" / "step.json").read_text())["status"] == "rejected"


HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from exquisite.shared_core.session import Session
    with Session.open(sys.argv[1]) as session:
        with session._exclusive():
            print("holding", flush=True)
            while not Path(sys.argv[2]).exists():
                time.sleep(0.05)
""")


def test_a_second_writer_is_refused_at_once_or_waits_when_asked(tmp_path, session, capsys):
    release = tmp_path / "release"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(session), str(release)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert main(["extend", str(session), "-b", "mock", "--out", str(tmp_path / "o.png")]) == 2
        err = capsys.readouterr().err
        assert f"is being changed by process {holder.pid}" in err and "--wait" in err
        assert main(["show", str(session)]) == 0  # readers are not held up
        waiting = subprocess.Popen(
            EXQUISITE + ["extend", str(session), "-b", "mock", "--wait", "--out", str(tmp_path / "o.png")],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert f"waiting for process {holder.pid}" in waiting.stderr.readline()
        release.touch()
        assert waiting.wait(timeout=120) == 0
    finally:
        release.touch()
        holder.wait(timeout=60)
    assert [p.name for p in sorted((session / "steps").iterdir())] == ["0001", "0002"]


def full_disk_on(pattern: str, monkeypatch):
    """atomic_write fails with ENOSPC part-way through any file whose name contains `pattern`."""
    real_open = open

    class Filling:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[:10])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self.handle, name)

    def fake_open(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        return Filling(handle) if pattern in Path(path).name and "w" in mode else handle

    monkeypatch.setattr(atomic, "open", fake_open, raising=False)


def test_a_full_disk_during_a_step_names_the_step_and_loses_nothing(tmp_path, session, capsys, monkeypatch):
    full_disk_on("tile_full.png", monkeypatch)
    assert main(["extend", str(session), "-b", "mock", "--out", str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err
    assert "step 0002 could not be saved" in err and "No space left on device" in err and err.count("\n") == 1
    monkeypatch.undo()
    assert temp_files(session) == []
    with Session.open(session, write=False) as reader:
        assert reader.head == 1 and [s["status"] for s in reader.history()] == ["committed", "rejected"]
        assert "could not be saved" in reader.history()[1]["reason"]


def test_a_full_disk_while_writing_a_canvas_keeps_the_committed_step(tmp_path, session, capsys, monkeypatch):
    full_disk_on("canvas_after.png", monkeypatch)
    assert main(["extend", str(session), "-b", "mock", "--out", str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err
    assert "canvas_after.png could not be written" in err and "committed" in err, err
    monkeypatch.undo()
    assert temp_files(session) == []
    with Session.open(session) as writer:
        assert writer.head == 2 and any("canvas_after.png" in n for n in writer.repairs)


def test_a_full_disk_while_creating_leaves_no_session(tmp_path, photo, capsys, monkeypatch):
    full_disk_on("source.png", monkeypatch)
    assert (
        main(
            [
                "extend",
                str(photo),
                "--fit",
                "-b",
                "mock",
                "--session",
                str(tmp_path / "n"),
                "--out",
                str(tmp_path / "o.png"),
            ]
        )
        == 1
    )
    assert "could not be created" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


@pytest.fixture(params=["1m", "3m", "6m", "10m"])
def small_tmpfs(tmp_path, request):
    """A tmpfs of a few MB, so the disk fills at different moments (needs root and mount rights)."""
    mount = tmp_path / "fs"
    mount.mkdir()
    proc = subprocess.run(
        check=False,
        capture_output=True,
        args=["mount", "-t", "tmpfs", "-o", f"size={request.param}", "tmpfs", str(mount)],
    )
    if proc.returncode != 0:
        pytest.skip(f"a real full disk needs permission to mount a tmpfs ({proc.stderr.decode().strip()})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_really_full_disk_and_a_read_only_folder(tmp_path, photo, small_tmpfs, capsys):
    root = small_tmpfs / "s"
    code = main(
        [
            "extend",
            str(photo),
            "--fit",
            "-b",
            "mock",
            "-n",
            "30",
            "--session",
            str(root),
            "--out",
            str(tmp_path / "o.png"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err and err.count("\n") == 1, err
    assert ("could not be created" in err) != root.exists()  # no session, or one that names the step
    assert root.exists() == bool(re.search(r"step \d{4}|steps/\d{4}/", err)), err
    assert temp_files(small_tmpfs) == []
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    if not root.exists():
        return
    assert main(["show", str(root)]) == 0
    assert main(["export", str(root), "--out", str(tmp_path / "e.png")]) == 0
    with Session.open(root, write=False) as reader:
        committed = [s for s in reader.history() if s["status"] == "committed"]
        assert reader.head == len(committed) and Image.open(tmp_path / "e.png").size == reader.size
    assert main(["undo", str(root)]) == 1  # a writer on a read-only folder: the disk's reason, no traceback
    assert "Read-only file system" in capsys.readouterr().err


def test_a_long_run_reserves_only_a_few_steps_of_room(tmp_path):
    from rulers import SMALL, world

    class Refusing:
        name = "refusing"

        def generate(self, request):
            from exquisite.shared_core.errors import GenerationError

            raise GenerationError("no")

    with Session.create(tmp_path / "s", world(64, 80), SMALL) as session:
        session.extend(StepSettings(), Refusing(), steps=10_000)
        assert session._loaded().room <= 16 * SMALL.advance


def test_two_runs_creating_one_folder_at_once_leave_one_consistent_session(tmp_path, photo):
    other = tmp_path / "other.png"
    Image.fromarray(255 - np.asarray(Image.open(photo))).save(other)
    root = tmp_path / "d"
    runs = [
        subprocess.Popen(
            EXQUISITE
            + [
                "extend",
                str(image),
                "--fit",
                "-b",
                "mock",
                "--session",
                str(root),
                "--out",
                str(tmp_path / f"out-{image.stem}.png"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for image in (photo, other)
    ]
    results = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert (
        "created by another process at the same moment" in loser
        or "already holds a session" in loser
        or "is being changed by process" in loser
    ), loser
    assert "Traceback" not in loser and loser.count("\n") == 1
    winner = (photo, other)[[code for code, _ in results].index(0)]
    with Session.open(root, write=False) as session:
        assert session.meta["source"]["input"] == str(winner) and session.head == 1
        first = Image.open(tmp_path / f"out-{winner.stem}.png")
        np.testing.assert_array_equal(session.canvas(), np.asarray(first))
    assert temp_files(tmp_path) == []


def test_a_full_disk_before_a_step_has_its_record_leaves_no_folder(tmp_path, session, capsys, monkeypatch):
    full_disk_on("conditioning_band.png", monkeypatch)
    assert main(["extend", str(session), "-b", "mock", "--out", str(tmp_path / "o.png")]) == 1
    assert "step 0002 could not be saved" in capsys.readouterr().err
    monkeypatch.undo()
    assert sorted(p.name for p in (session / "steps").iterdir()) == ["0001"] and temp_files(session) == []


def test_two_runs_extending_one_session_with_wait_take_turns(tmp_path, session):
    runs = [
        subprocess.Popen(
            EXQUISITE + ["extend", str(session), "-n", "2", "--wait", "--out", str(tmp_path / f"o{i}.png")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    assert [run.wait(timeout=300) for run in runs] == [0, 0], [run.stderr.read() for run in runs]
    records = [json.loads((session / "steps" / f"{n:04d}" / "step.json").read_text()) for n in range(1, 6)]
    assert [r["parent"] for r in records] == [0, 1, 2, 3, 4] and [r["seed"] for r in records] == [0, 1, 2, 3, 4]
    sizes = sorted(Image.open(tmp_path / f"o{i}.png").size for i in range(2))
    assert sizes == [(800 + 3 * 512, 1024), (800 + 5 * 512, 1024)]  # each --out is its own run's canvas


def test_show_and_export_write_nothing_into_the_session(tmp_path, session, capsys):
    (session / "steps" / "0001" / "canvas_after.png").unlink()  # as if a kill came before it was written
    (session / "session.json").write_text("[]")
    (session / "steps" / "0002").mkdir()
    (session / ".lock").unlink(missing_ok=True)
    before = {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in session.rglob("*")}
    assert main(["show", str(session)]) == 0
    assert main(["export", str(session), "--out", str(tmp_path / "e.png")]) == 0
    assert "exquisite repair" in capsys.readouterr().err
    assert {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in session.rglob("*")} == before
    assert Image.open(tmp_path / "e.png").size == (800 + 512, 1024)


def test_repair_rebuilds_reports_and_checks_every_tile(tmp_path, session, capsys):
    assert main(["extend", str(session), "-n", "2", "--out", str(tmp_path / "o.png")]) == 0
    (session / "session.json").write_bytes(b"\x00garbage")
    (session / "steps" / "0003" / "canvas_after.sha256").unlink()
    capsys.readouterr()
    assert main(["repair", str(session)]) == 0
    out = capsys.readouterr().out
    assert "repaired: session.json was damaged" in out and "steps/0003/canvas_after.png had no checksum" in out
    assert "at step 3 (3 committed steps)" in out
    assert main(["repair", str(session)]) == 0 and "nothing to repair" in capsys.readouterr().out
    tile = session / "steps" / "0001" / "tile_full.png"
    tile.write_bytes(tile.read_bytes()[:-40])  # a middle tile: the head canvas does not need it today
    assert main(["repair", str(session)]) == 2
    assert "steps/0001/tile_full.png is damaged" in capsys.readouterr().err


def test_two_runs_starting_default_named_sessions_at_once_both_succeed(tmp_path, photo):
    runs = [
        subprocess.Popen(
            EXQUISITE + ["extend", str(photo), "--fit", "-b", "mock", "--out", str(tmp_path / f"o{i}.png")],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    assert [run.wait(timeout=120) for run in runs] == [0, 0], [run.stderr.read() for run in runs]
    sessions = sorted((tmp_path / "exquisite-sessions").iterdir())
    assert len(sessions) == 2 and all((s / "steps" / "0001" / "committed.ok").exists() for s in sessions)


def test_a_new_run_past_the_canvas_limit_is_refused_before_a_session_folder_exists(tmp_path, monkeypatch):
    from PIL import Image

    Image.new("RGB", (600, 600), (90, 120, 150)).save(tmp_path / "small.png")
    monkeypatch.setenv("EXQUISITE_MAX_CANVAS_PIXELS", str(600 * 1500))
    code = main(
        [
            "extend",
            str(tmp_path / "small.png"),
            "-n",
            "3",
            "-b",
            "mock",
            "--session",
            str(tmp_path / "s"),
            "--out",
            str(tmp_path / "o.png"),
        ]
    )
    assert code == 2 and not (tmp_path / "s").exists() and not (tmp_path / "o.png").exists()
