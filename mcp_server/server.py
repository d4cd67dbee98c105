"""The `exquisite-mcp` console script: an agent opens a canvas, extends it step by step, looks,
undoes, exports. The server itself is assembled in app.py (tools in tools.py, resources in
resources.py); this module reads the settings and runs a transport.
"""

from __future__ import annotations

import logging
import os
import sys

from ..shared_core.errors import ExquisiteError
from .app import App, create_app
from .http_serve import ENV_TOKEN, check_bind, serve_http
from .settings import from_env_and_args, parser

__all__ = ["App", "create_app", "main"]

log = logging.getLogger("exquisite.mcp")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="exquisite-mcp: %(message)s")
    token = args.token or os.environ.get(ENV_TOKEN) or None
    try:
        if args.transport == "http":
            check_bind(args.host, token, args.allow_remote)
        settings = from_env_and_args(args)
        app = create_app(settings, extra_secrets=[token] if token else [])
    except ExquisiteError as error:
        print(f"exquisite-mcp: {error}", file=sys.stderr)
        return 2
    log.info("%s", settings.describe())
    try:
        if args.transport == "http":
            serve_http(app.mcp, args.host, args.port, args.path, token, args.allow_remote)
        else:
            app.mcp.run()
    except KeyboardInterrupt:
        pass
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
