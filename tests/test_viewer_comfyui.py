"""The viewer inside ComfyUI: the pack's aiohttp routes (the same JSON as `exquisite view`), and the
sidebar-tab extension loaded in Chromium by a page that stands in for ComfyUI's frontend (its
`app.registerExtension` / `extensionManager.registerSidebarTab` surface, recorded from
Comfy-Org/ComfyUI_frontend), showing the viewer in its iframe without console errors."""

import asyncio
import json
import queue
import sys
import threading
import types
from pathlib import Path

import pytest
from exquisite.nodes.viewer_routes import PREFIX, register
from exquisite.shared_core.viewer_data import read_session
from test_viewer_browser import SCREENSHOTS, Console, browser  # noqa: F401 - the browser fixture
from test_viewer_data import REASON, make_session

web = pytest.importorskip("aiohttp.web", reason="the ComfyUI route tests need aiohttp (pip install aiohttp)")
test_utils = pytest.importorskip("aiohttp.test_utils")

COMFY_WEB = Path(__file__).resolve().parent.parent / "nodes" / "web"
# What an extension imports from ComfyUI's frontend, reduced to the calls this one makes.
STUB_APP = """
export const app = {
  extensions: [], tabs: [],
  registerExtension(extension) { this.extensions.push(extension); },
  extensionManager: { registerSidebarTab(tab) { app.tabs.push(tab); } },
};
window.comfyApp = app;
"""
STUB_API = "export const api = { api_base: '' };\n"
HOST = """<!doctype html><html><head><link rel="icon" href="data:,"></head><body>
<div id="sidebar" style="width:900px;height:1100px"></div>
<script type="module">
  await import('/extensions/exquisite/exquisite_viewer.js');
  for (const extension of window.comfyApp.extensions) await extension.setup?.();
  const tab = window.comfyApp.tabs[0];
  tab.render(document.getElementById('sidebar'));
  window.registeredTab = { id: tab.id, type: tab.type, title: tab.title, icon: tab.icon };
</script></body></html>"""


def comfy_like_app(root: Path):
    """An aiohttp app wired like ComfyUI's server: the pack's routes, mirrored under /api too."""
    routes = web.RouteTableDef()
    api = register(routes, root)
    app = web.Application()
    app.on_cleanup.append(lambda _: _close(api))
    mirrored = web.RouteTableDef()
    for route in routes:
        mirrored.route(route.method, "/api" + route.path)(route.handler)
    app.add_routes(mirrored)
    app.add_routes(routes)
    return app


async def _close(api) -> None:
    api.close()  # the tile cache's temporary folder


def fetch_all(app, paths):
    async def main():
        async with test_utils.TestClient(test_utils.TestServer(app)) as client:
            answers = {}
            for path in paths:
                response = await client.get(path, allow_redirects=False)
                answers[path] = (response.status, await response.read(), response.headers)
            return answers

    return asyncio.run(main())


def test_the_routes_serve_the_same_json_as_exquisite_view(tmp_path):
    folder = make_session(tmp_path / "output" / "exquisite-sessions" / "s")
    answers = fetch_all(
        comfy_like_app(folder.parent),
        [
            PREFIX,
            f"{PREFIX}/",
            f"{PREFIX}/api/sessions",
            f"{PREFIX}/api/sessions/s",
            "/api/exquisite/viewer/api/sessions/s",
            f"{PREFIX}/static/viewer.css",
            f"{PREFIX}/files/s/steps/0001/mask.png",
            f"{PREFIX}/files/s/%2e%2e/%2e%2e/x.png",
            f"{PREFIX}/files/s/steps/0001/..%2F..%2Fsession.json",
            f"{PREFIX}/static/%2e%2e/%2e%2e/pyproject.toml",
            f"{PREFIX}/api/sessions/none",
        ],
    )
    status, _, headers = answers[PREFIX]
    assert status == 302 and headers["Location"] == f"{PREFIX}/"
    assert answers[f"{PREFIX}/"][1].startswith(b"<!doctype html>")
    assert [s["id"] for s in json.loads(answers[f"{PREFIX}/api/sessions"][1])["sessions"]] == ["s"]
    served = json.loads(answers[f"{PREFIX}/api/sessions/s"][1])
    assert served == read_session(folder, "s") and served["steps"][1]["reason"] == REASON
    assert json.loads(answers["/api/exquisite/viewer/api/sessions/s"][1]) == served
    assert answers[f"{PREFIX}/static/viewer.css"][2]["Content-Type"].startswith("text/css")
    assert answers[f"{PREFIX}/files/s/steps/0001/mask.png"][1].startswith(b"\x89PNG")
    assert answers[f"{PREFIX}/files/s/steps/0001/mask.png"][2]["X-Content-Type-Options"] == "nosniff"
    for refused in (
        f"{PREFIX}/files/s/%2e%2e/%2e%2e/x.png",
        f"{PREFIX}/files/s/steps/0001/..%2F..%2Fsession.json",
        f"{PREFIX}/static/%2e%2e/%2e%2e/pyproject.toml",
        f"{PREFIX}/api/sessions/none",
    ):
        assert answers[refused][0] in (403, 404), refused


def test_register_finds_comfyuis_server_and_output_folder(tmp_path, monkeypatch):
    make_session(tmp_path / "exquisite-sessions" / "from-comfy")
    routes = web.RouteTableDef()
    monkeypatch.setitem(sys.modules, "folder_paths", types.SimpleNamespace(get_output_directory=lambda: str(tmp_path)))
    prompt_server = types.SimpleNamespace(instance=types.SimpleNamespace(routes=routes))
    monkeypatch.setitem(sys.modules, "server", types.SimpleNamespace(PromptServer=prompt_server))
    api = register()
    assert list(api.sessions()) == ["from-comfy"]
    api.close()
    assert {route.path for route in routes} == {PREFIX, PREFIX + "/{tail:.*}"}


@pytest.fixture
def comfy_page_server(tmp_path):
    """The routes plus the extension folder and the frontend stand-ins, on a real port."""
    make_session(tmp_path / "exquisite-sessions" / "s")
    app = comfy_like_app(tmp_path / "exquisite-sessions")

    def answer(text: str, kind: str):
        async def handler(request):
            return web.Response(text=text, headers={"Content-Type": kind})

        return handler

    app.router.add_get("/", answer(HOST, "text/html"))
    app.router.add_get("/scripts/app.js", answer(STUB_APP, "text/javascript"))
    app.router.add_get("/scripts/api.js", answer(STUB_API, "text/javascript"))
    app.router.add_static("/extensions/exquisite/", COMFY_WEB)
    started: queue.Queue = queue.Queue()
    loop = asyncio.new_event_loop()

    def serve() -> None:  # its own thread and loop: playwright's sync API owns the main thread's
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        started.put((runner, site._server.sockets[0].getsockname()[1]))
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    runner, port = started.get(timeout=30)
    yield f"http://127.0.0.1:{port}/"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


def test_the_sidebar_tab_shows_the_viewer(comfy_page_server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1000, "height": 1200})
    console = Console(page)
    page.goto(comfy_page_server)
    page.wait_for_function("() => window.registeredTab !== undefined")
    assert page.evaluate("() => window.registeredTab") == {
        "id": "exquisite-viewer",
        "type": "custom",
        "title": "exquisite",
        "icon": "pi pi-images",
    }
    viewer = page.frame_locator("#sidebar iframe")
    rejected = viewer.locator('#timeline .step[data-status="rejected"] .step-reason')
    rejected.wait_for()
    assert rejected.inner_text() == REASON
    viewer.locator('.step-box[data-step="3"]').wait_for()  # the deep-zoom view works through aiohttp too
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "comfyui-sidebar-tab.png"))
    assert console.errors == []
    page.close()
