"""Path confinement: only real locations inside the allowed roots are accepted."""

import os
from pathlib import Path

import pytest

from exquisite.shared_core.errors import InputError
from exquisite.shared_core.paths import confine, inside, parse_local_path


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "allowed"
    other = tmp_path / "other"
    (root / "sub").mkdir(parents=True)
    other.mkdir()
    (root / "a.png").write_bytes(b"a")
    (root / "sub" / "b.png").write_bytes(b"b")
    (other / "secret.png").write_bytes(b"s")
    (root / "link_out.png").symlink_to(other / "secret.png")
    (root / "dir_out").symlink_to(other, target_is_directory=True)
    (root / "dangling_out.png").symlink_to(other / "not_yet.png")
    (root / "link_in.png").symlink_to(root / "sub" / "b.png")
    return root, other


def test_relative_names_resolve_inside_the_root(tree):
    root, _ = tree
    assert confine("a.png", [root], must_exist=True) == (root / "a.png").resolve()
    assert confine("sub/b.png", [root], must_exist=True) == (root / "sub" / "b.png").resolve()
    assert confine("sub/../a.png", [root], must_exist=True) == (root / "a.png").resolve()
    assert confine(str(root / "a.png"), [root], must_exist=True) == (root / "a.png").resolve()


def test_a_symlink_that_stays_inside_is_accepted_as_its_target(tree):
    root, _ = tree
    assert confine("link_in.png", [root], must_exist=True) == (root / "sub" / "b.png").resolve()


@pytest.mark.parametrize(
    "name",
    [
        "../other/secret.png",
        "sub/../../other/secret.png",
        "link_out.png",
        "dir_out/secret.png",
    ],
)
def test_escapes_are_refused_for_reading(tree, name):
    root, _ = tree
    with pytest.raises(InputError, match="outside the allowed directories"):
        confine(name, [root], what="input image", must_exist=True)


def test_absolute_paths_elsewhere_are_refused(tree):
    root, other = tree
    with pytest.raises(InputError, match="outside the allowed directories"):
        confine(str(other / "secret.png"), [root], must_exist=True)
    with pytest.raises(InputError, match="outside the allowed directories"):
        confine("/etc/passwd", [root], must_exist=True)


@pytest.mark.parametrize(
    "name",
    [
        "../other/new.png",
        "dir_out/new.png",
        "dangling_out.png",
        "link_out.png",
    ],
)
def test_escapes_are_refused_for_writing(tree, name):
    root, other = tree
    with pytest.raises(InputError, match="outside the allowed directories"):
        confine(name, [root], what="export")
    assert not (other / "new.png").exists() and not (other / "not_yet.png").exists()


def test_file_uris_are_local_paths_held_to_the_same_rule(tree):
    root, other = tree
    assert confine((root / "a.png").as_uri(), [root], must_exist=True) == (root / "a.png").resolve()
    spaced = root / "with space.png"
    spaced.write_bytes(b"x")
    assert confine(spaced.as_uri(), [root], must_exist=True) == spaced.resolve()
    with pytest.raises(InputError, match="outside the allowed directories"):
        confine((other / "secret.png").as_uri(), [root], must_exist=True)
    with pytest.raises(InputError, match="outside the allowed directories"):
        confine("file://" + str(root) + "/%2E%2E/other/secret.png", [root], must_exist=True)
    with pytest.raises(InputError, match="must name this machine"):
        confine("file://evil.example.com" + str(root / "a.png"), [root], must_exist=True)
    with pytest.raises(InputError, match="not read"):
        confine("https://example.com/a.png", [root], must_exist=True)


def test_nul_bytes_empty_paths_and_no_roots_are_refused(tree):
    root, _ = tree
    with pytest.raises(InputError, match="NUL"):
        confine("a.png\x00.txt", [root])
    with pytest.raises(InputError, match="NUL"):
        confine("file:///tmp/a%00b.png", [root])
    with pytest.raises(InputError, match="empty"):
        confine("  ", [root])
    with pytest.raises(InputError, match="set THE_VAR"):
        confine("a.png", [], configure_hint="set THE_VAR")


def test_missing_files_are_named(tree):
    root, _ = tree
    with pytest.raises(InputError, match="no input image at 'nope.png'"):
        confine("nope.png", [root], what="input image", must_exist=True)


def test_a_relative_name_is_looked_up_in_each_root_in_turn(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir(), second.mkdir()
    (second / "only_here.png").write_bytes(b"x")
    assert confine("only_here.png", [first, second], must_exist=True) == (second / "only_here.png").resolve()
    assert confine("new.png", [first, second]) == (first / "new.png").resolve()


def test_a_root_given_through_a_symlink_still_works(tmp_path):
    real_root = tmp_path / "real"
    real_root.mkdir()
    (real_root / "a.png").write_bytes(b"a")
    alias = tmp_path / "alias"
    alias.symlink_to(real_root, target_is_directory=True)
    assert confine("a.png", [alias], must_exist=True) == (real_root / "a.png").resolve()
    assert inside(real_root / "a.png", [alias])


def test_parse_local_path_keeps_windows_drives_as_paths():
    assert parse_local_path(r"C:\pictures\a.png") == Path(r"C:\pictures\a.png")
    assert parse_local_path("file://localhost/tmp/a%20b.png") == Path("/tmp/a b.png")
    assert os.fspath(parse_local_path("plain.png")) == "plain.png"


def test_outside_the_roots_nothing_is_probed_and_home_is_one_rule(tree, tmp_path, monkeypatch):
    root, other = tree
    answers = []
    for name in (
        "/etc/passwd",
        "/etc/nonexistent.png",
        str(other / "secret.png"),
        str(other / "none.png"),
        "../other/secret.png",
        "../other/none.png",
    ):
        with pytest.raises(InputError) as refused:
            confine(name, [root], what="input image", must_exist=True)
        answers.append(str(refused.value).replace(repr(name), "NAME"))
    assert len(set(answers)) == 1 and "outside the allowed directories" in answers[0]
    monkeypatch.setenv("HOME", str(root.parent))
    assert confine("~/allowed/a.png", [root], must_exist=True) == (root / "a.png").resolve()
    assert confine("~/allowed/new.png", [root]) == (root / "new.png").resolve()
    for must_exist in (True, False):
        with pytest.raises(InputError, match="outside the allowed directories"):
            confine("~/other/secret.png", [root], must_exist=must_exist)
