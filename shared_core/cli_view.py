"""`exquisite view [SESSION | SESSIONS_DIR] [--port P] [--no-browser]`: the session viewer in a browser.

Hooked into the `exquisite` command by `add_parser(subparsers)` and `run(args)`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import webbrowser
from pathlib import Path

from .errors import InputError
from .viewer_data import list_sessions


def add_parser(subparsers) -> argparse.ArgumentParser:
    view = subparsers.add_parser("view", help="look at sessions step by step in the browser (read-only)")
    view.add_argument(
        "where",
        nargs="?",
        default="exquisite-sessions",
        help="a session folder or a folder of sessions (default: ./exquisite-sessions)",
    )
    view.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    view.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")
    return view


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


def run(args) -> int:
    """Serve until interrupted; 2 with a one-line reason when there is nothing to serve."""
    from .viewer_server import serve  # http.server only when viewing

    where = Path(args.where)
    if not where.is_dir():
        raise InputError(f"{where} is not a folder: give a session folder or a folder of sessions")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be from 0 to 65535, got {args.port}")
    sessions = list_sessions(where)
    try:
        server = serve([where], args.port)
    except OSError as error:
        raise InputError(
            f"cannot listen on 127.0.0.1:{args.port} ({error.strerror}): choose another --port "
            f"or leave it out for a free one"
        ) from None
    what = (
        f"session {where}"
        if (where / "session.json").is_file()
        else f"{len(sessions)} session(s) under {where} (new ones appear as they are created)"
    )
    print(f"viewing {what} at {server.url}  (read-only; Ctrl-C stops)", flush=True)
    if not args.no_browser:
        webbrowser.open(server.url)
    signal.signal(signal.SIGTERM, _stop)  # a kill ends like Ctrl-C: the tile cache is removed
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.api.close()
    return 0


if __name__ == "__main__":  # pragma: no cover - `python -m exquisite.shared_core.cli_view DIR`
    parser = argparse.ArgumentParser(prog="exquisite")
    add_parser(parser.add_subparsers(dest="command", required=True))
    sys.exit(run(parser.parse_args(["view", *sys.argv[1:]])))
