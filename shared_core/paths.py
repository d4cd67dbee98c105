"""Path confinement: a face that takes file names from someone else reads and writes only inside
the directories it was given.

Why here and not in the MCP server: any face that accepts paths from an agent or a web form needs
the same rules, and the rules are easy to get subtly wrong. A path is accepted when its REAL
location (every symlink followed, `..` collapsed) lies inside one of the allowed roots (also taken
at their real location). That one test refuses `..` escapes, absolute paths elsewhere and symlinks
(files or folders, existing or dangling) that point out. `file://` URIs are accepted only as
another spelling of a local path: `file:///abs/path` or `file://localhost/abs/path`, percent-decoded,
then held to the same test; any other scheme or a remote host is refused. `~` and `~user` mean home
folders, for reading and writing alike. A relative path is taken relative to the roots: for reading,
the first root where the file exists; for writing, the first root. The test comes before any file is
looked at, so a path outside the roots gets the same answer whether or not something is there.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .errors import InputError


def real(path: str | os.PathLike) -> Path:
    """The path with every symlink followed and `..` collapsed, whether or not it exists."""
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def parse_local_path(text: str) -> Path:
    """A path from a caller's text: a plain path or a local `file://` URI; anything else is refused."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("the path is empty: give a file name or a path inside an allowed directory")
    if "\x00" in text:
        raise InputError("the path contains a NUL byte: give a plain file path")
    text = text.strip()
    parts = urlsplit(text)
    if parts.scheme and len(parts.scheme) > 1:  # a one-letter scheme is a Windows drive (C:\...)
        if parts.scheme.lower() != "file":
            raise InputError(
                f"{parts.scheme}:// addresses are not read: give a local path or a file:// URI "
                f"(or pass the image's bytes as base64)"
            )
        if parts.netloc not in ("", "localhost"):
            raise InputError(f"file:// URIs must name this machine (no host), got host {parts.netloc!r}")
        decoded = unquote(parts.path)
        if "\x00" in decoded:
            raise InputError("the path contains a NUL byte: give a plain file path")
        return Path(decoded)
    return Path(text)


def inside(path: str | os.PathLike, roots: list[Path]) -> bool:
    """True when the real location of `path` lies inside the real location of one of `roots`."""
    target = real(path)
    return any(target == real(root) or target.is_relative_to(real(root)) for root in roots)


def confine(
    text: str, roots: list[Path], *, what: str = "file", must_exist: bool = False, configure_hint: str = ""
) -> Path:
    """The real path that `text` names, if it lies inside one of `roots`; else an InputError.

    what: names the file in messages ("input image", "export"); configure_hint: how the operator
    allows another directory (e.g. "set EXQUISITE_INPUT_DIRS or pass --input-dir").
    """
    if not roots:
        raise InputError(
            f"no directory is allowed for {what}s on this server" + (f": {configure_hint}" if configure_hint else "")
        )
    path = parse_local_path(text)
    if str(path).startswith("~"):  # the server user's home, for reading and writing alike
        path = Path(os.path.expanduser(path))
    listed = ", ".join(str(r) for r in roots)
    candidates = [path] if path.is_absolute() else [Path(root) / path for root in roots]
    if not must_exist:
        candidates = candidates[:1]  # a new file goes into the first root
    confined = [c for c in candidates if inside(c, roots)]  # decided before any file is looked at
    if not confined:
        raise InputError(
            f"{what} path {text!r} is outside the allowed directories ({listed}): use a path "
            f"inside one of them" + (f", or {configure_hint}" if configure_hint else "")
        )
    if must_exist:
        found = [c for c in confined if c.exists()]
        if not found:
            raise InputError(f"no {what} at {text!r} in the allowed directories ({listed})")
        return real(found[0])
    return real(confined[0])
