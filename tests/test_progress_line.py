"""The terminal progress line: what it says, and that it stays silent off a terminal."""

import io

from exquisite.shared_core.progress_line import ProgressLine, format_seconds


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_line_names_step_tile_elapsed_and_time_left():
    clock, out = Clock(), io.StringIO()
    line = ProgressLine(4, out, clock, live=True)
    line.step_started(1)
    clock.now += 10
    line.within_step(0.5, "tile 2/3: local: 4/9 blocks placed")
    text = line.text(0.5, "tile 2/3: local")
    assert text.startswith("step 1/4  tile 2/3   50%  elapsed 10 s  about 1 min 10 s left")
    clock.now += 10
    line.step_started(2)  # one step took 20 s: three more take about 60 s
    assert "about 1 min 00 s left" in line.text(0.0, "")
    assert out.getvalue().startswith("\rstep 1/4")


def test_off_a_terminal_nothing_is_drawn():
    out = io.StringIO()  # not a tty
    line = ProgressLine(2, out)
    line.step_started(1)
    line.within_step(0.3, "working")
    line.clear()
    assert out.getvalue() == ""


def test_clear_leaves_the_cursor_at_the_start_of_an_empty_line():
    clock, out = Clock(), io.StringIO()
    line = ProgressLine(1, out, clock, live=True)
    line.step_started(1)
    line.clear()
    assert out.getvalue().endswith("\r") and line.width == 0


def test_format_seconds():
    assert [format_seconds(s) for s in (0, 59.4, 61, 3600 + 120)] == ["0 s", "59 s", "1 min 01 s", "1 h 02 min"]


def _run_cli(tmp_path, on_terminal: bool) -> str:
    import os
    import select
    import subprocess
    import sys

    from PIL import Image

    Image.new("RGB", (600, 300), (60, 90, 120)).save(tmp_path / "p.png")
    args = [
        sys.executable,
        "-m",
        "exquisite.shared_core.cli",
        "extend",
        str(tmp_path / "p.png"),
        "-n",
        "2",
        "-b",
        "mock",
        "--session",
        str(tmp_path / "s"),
        "--out",
        str(tmp_path / "o.png"),
    ]
    if not on_terminal:
        return subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    while select.select([master], [], [], 60)[0]:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=60) == 0
    return out.decode(errors="replace")


def test_the_cli_draws_the_line_on_a_terminal_and_not_in_a_pipe(tmp_path):
    (tmp_path / "tty").mkdir()
    (tmp_path / "pipe").mkdir()
    shown = _run_cli(tmp_path / "tty", on_terminal=True)
    assert "\rstep 1/2" in shown and "\rstep 2/2" in shown and "step 0002 committed" in shown
    piped = _run_cli(tmp_path / "pipe", on_terminal=False)
    assert "\r" not in piped and "step 0002 committed" in piped
