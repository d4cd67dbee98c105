"""Atomic writes from several threads of one process never share a temp file."""

import threading

from exquisite.shared_core.atomic import atomic_write, stale_temp_files, temp_name


def test_threads_writing_one_file_at_once_each_finish_and_leave_no_temp_file(tmp_path):
    target = tmp_path / "canvas.png"
    start = threading.Barrier(8)
    failures = []

    def write(i):
        start.wait()
        try:
            for _ in range(50):
                atomic_write(target, bytes([i]) * 100_000, sync=False)
        except OSError as error:  # two writers sharing one temp file lose it to each other's rename
            failures.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    data = target.read_bytes()
    assert len(data) == 100_000 and len(set(data)) == 1  # one writer's whole file, never a mix
    assert [p.name for p in tmp_path.iterdir()] == ["canvas.png"]


def test_a_live_process_temp_file_is_not_stale_and_a_dead_one_is(tmp_path):
    live = temp_name(tmp_path / "a.png")
    live.write_bytes(b"x")
    dead = tmp_path / ".b.png.140000.999999999.tmp"
    dead.write_bytes(b"x")
    assert stale_temp_files(tmp_path) == [dead]
