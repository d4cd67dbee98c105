"""The viewer as an MCP App: the resource as a client reads it, and the app rendering real tool results
in headless Chromium inside a test host that speaks the MCP Apps postMessage protocol (SEP-1865)
under the hosts' default CSP (no connections, inline scripts and data: images only)."""

import json
import re

import anyio
import pytest
from exquisite.mcp_server.server import create_app
from exquisite.mcp_server.settings import ServerSettings
from exquisite.mcp_server.viewer_app import (
    MIME_TYPE,
    TOOL_META,
    VIEWER_URI,
    viewer_html,
)
from exquisite.shared_core.errors import GenerationError
from exquisite.shared_core.generators import register as register_backend
from exquisite.shared_core.preview import DEFAULT_MAX_BYTES
from mcp import Client
from test_viewer_browser import SCREENSHOTS, Console, browser  # noqa: F401 - the browser fixture

REASON = "the model refused: a policy about seagulls"
DEFAULT_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self' data:; connect-src 'none';"
)


class RefusingForViewer:
    name = "test-viewer-refuse"

    def generate(self, request):
        raise GenerationError(REASON)


register_backend("test-viewer-refuse", lambda **settings: RefusingForViewer())


def wire(result) -> dict:
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The resource as read by the SDK's client, and real results of the tools the app is linked from."""
    sessions = tmp_path_factory.mktemp("sessions")
    app = create_app(ServerSettings(sessions_dir=sessions, input_dirs=[], export_dirs=[], backend="mock"))

    async def scenario():
        async with Client(app.mcp) as client:
            listed = {r.uri: r for r in (await client.list_resources()).resources}
            read = await client.read_resource(VIEWER_URI)
            opened = await client.call_tool("open_canvas", {"blank": True, "name": "app"})
            sid = opened.structured_content["session_id"]
            extended = await client.call_tool(
                "extend_canvas", {"session_id": sid, "direction": "right", "steps": 2, "prompt": "sea"}
            )
            refused = await client.call_tool(
                "extend_canvas", {"session_id": sid, "direction": "right", "backend": "test-viewer-refuse"}
            )
            history = await client.call_tool("session_history", {"session_id": sid})
            return listed, read, wire(extended), wire(refused), wire(history)

    try:
        return anyio.run(scenario)
    finally:
        app.close()


def test_the_resource_is_an_mcp_app_that_loads_nothing(recorded):
    listed, read, *_ = recorded
    assert str(listed[VIEWER_URI].mime_type) == MIME_TYPE
    (content,) = read.contents
    assert content.mime_type == MIME_TYPE and content.text == viewer_html()
    html = content.text
    assert html.startswith("<!doctype html>") and "ui/initialize" in html
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", html), "the app must not load any URL"
    assert "fetch(" not in html and "XMLHttpRequest" not in html
    assert TOOL_META == {"ui": {"resourceUri": "ui://exquisite/viewer.html"}}


HOST = """<!doctype html><html><body><iframe id="app" sandbox="allow-scripts" style="width:1100px;height:900px"></iframe>
<script>
window.messages = [];
const frame = document.getElementById('app');
window.addEventListener('message', (event) => {
  if (event.source !== frame.contentWindow) return;
  const m = event.data; window.messages.push(m);
  if (m.method === 'ui/initialize') frame.contentWindow.postMessage({jsonrpc: '2.0', id: m.id, result: {
    protocolVersion: '2026-01-26', hostInfo: {name: 'test-host', version: '1'}, hostCapabilities: {},
    hostContext: {theme: 'dark', displayMode: 'inline'}}}, '*');
});
window.deliver = (args, result) => {
  frame.contentWindow.postMessage({jsonrpc: '2.0', method: 'ui/notifications/tool-input', params: {arguments: args}}, '*');
  frame.contentWindow.postMessage({jsonrpc: '2.0', method: 'ui/notifications/tool-result', params: result}, '*');
};
</script></body></html>"""


def test_the_app_renders_tool_results_from_the_host(recorded, browser):  # noqa: F811
    _, _, extended, refused, history = recorded
    html = viewer_html().replace(
        "<head>", f'<head><meta http-equiv="Content-Security-Policy" content="{DEFAULT_CSP}">', 1
    )
    page = browser.new_page(viewport={"width": 1150, "height": 950})
    console = Console(page)
    page.set_content(HOST)
    page.evaluate("html => { document.getElementById('app').srcdoc = html; }", html)
    page.wait_for_function("() => messages.some(m => m.method === 'ui/notifications/initialized')")
    init = page.evaluate("() => messages.find(m => m.method === 'ui/initialize')")
    assert init["params"]["protocolVersion"] == "2026-01-26" and init["params"]["appInfo"]["name"]
    app = page.frame_locator("#app")

    page.evaluate("([a, r]) => deliver(a, r)", [{"session_id": "x"}, history])
    cards = app.locator("#timeline .step")
    cards.nth(2).wait_for()
    assert [cards.nth(i).get_attribute("data-status") for i in range(3)] == ["committed", "committed", "rejected"]
    assert app.locator('#timeline .step[data-status="rejected"] .step-reason').inner_text() == REASON
    assert REASON in app.locator("#banner").inner_text()
    assert app.locator("#chart svg circle").count() >= 2  # seam points of the committed steps
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "mcp-app-history.png"))

    page.evaluate("([a, r]) => deliver(a, r)", [{"direction": "right"}, extended])
    app.locator("#preview img").wait_for()
    page.wait_for_function("() => document.getElementById('app').contentDocument === null")  # truly sandboxed
    width = app.locator("#preview img").evaluate("img => img.complete ? img.naturalWidth : -1")
    assert width == extended["structuredContent"]["preview"]["width"]
    assert app.locator("#timeline .step").count() == 2 and app.locator("#error").is_hidden()
    page.screenshot(path=str(SCREENSHOTS / "mcp-app-extend.png"))

    page.evaluate("([a, r]) => deliver(a, r)", [{}, refused])
    app.locator("#error").wait_for()
    assert REASON in app.locator("#error").inner_text() and refused["isError"] is True
    assert any(m.get("method") == "ui/notifications/size-changed" for m in page.evaluate("() => messages"))
    assert console.errors == []
    page.close()


def test_the_recorded_results_fit_the_preview_caps(recorded):
    _, _, extended, _, history = recorded
    images = [b for b in extended["content"] if b["type"] == "image"]
    assert len(images) == 1 and len(images[0]["data"]) * 3 // 4 <= DEFAULT_MAX_BYTES
    assert all(b["type"] != "image" for b in history["content"])
    assert json.loads(json.dumps(history))["structuredContent"]["steps"][2]["reason"] == REASON
