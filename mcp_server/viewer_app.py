"""The session viewer as an MCP App (SEP-1865, the MCP Apps extension `io.modelcontextprotocol/ui`).

Clients that render MCP Apps fetch `ui://exquisite/viewer.html` (a `text/html;profile=mcp-app`
resource) when a tool whose `_meta.ui.resourceUri` names it is called, show it in a sandboxed
iframe, and hand it the tool's result over postMessage; it draws the timeline (every rejection
reason in full), the seam chart and the preview image the result already carries (so images stay
within the previews' caps). It fetches nothing, which the hosts' default CSP (no connections)
requires. Clients that do not render apps ignore the `_meta` and see exactly today's results.

Wiring (two lines in the server): `register(mcp)` once, and `meta=TOOL_META` on the
`@mcp.tool(...)` of extend_canvas, view_canvas and session_history.
"""

from __future__ import annotations

from functools import lru_cache

from mcp.server.mcpserver import MCPServer

from ..shared_core.viewer_api import WEB_DIR

VIEWER_URI = "ui://exquisite/viewer.html"
MIME_TYPE = "text/html;profile=mcp-app"
TOOL_META = {"ui": {"resourceUri": VIEWER_URI}}
RESOURCE_META = {"ui": {"prefersBorder": True}}
SCRIPTS = ("common.js", "timeline.js", "chart.js", "mcp_app.js")


@lru_cache(maxsize=1)
def viewer_html() -> str:
    """The whole app as one HTML document: the page's CSS and scripts inlined (no URLs to load)."""
    template = (WEB_DIR / "mcp_app.html").read_text()
    scripts = "\n".join((WEB_DIR / name).read_text() for name in SCRIPTS)
    css = (WEB_DIR / "viewer.css").read_text()
    for name, text in (("viewer.css", css), ("scripts", scripts)):
        if "</script" in text.lower() or "</style" in text.lower():
            raise RuntimeError(f"{name} contains a closing tag and cannot be inlined")
    return template.replace("/*VIEWER_CSS*/", css).replace("/*SCRIPTS*/", scripts)


def register(mcp: MCPServer) -> None:
    """Serve the app as a resource of `mcp` (link tools to it with `meta=TOOL_META`)."""

    @mcp.resource(
        VIEWER_URI,
        name="exquisite-viewer",
        title="exquisite session viewer",
        description="timeline of a session's steps (rejection reasons in full), seam chart and preview",
        mime_type=MIME_TYPE,
        meta=RESOURCE_META,
    )
    def viewer_resource() -> str:
        return viewer_html()
