"""Streamable HTTP as an operator meets it: a token is checked as a bearer token on every request, and a
bind to other machines is refused unless a token is given and --allow-remote says so. Servers are
started by the tests on 127.0.0.1; the refused binds exit before listening."""

import json
import os
import subprocess
import urllib.error
import urllib.request

import anyio
import httpx2
import pytest
from mcp.client.streamable_http import streamable_http_client
from test_mcp import SECRET, make_place
from test_mcp_process import _free_port, console_script, server_env

from mcp import Client
from exquisite.mcp_server.http_serve import check_bind, is_loopback
from exquisite.shared_core.errors import InputError

TOKEN = "test-token-0123456789-abcdef"
INITIALIZE = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "0"},
        },
    }
).encode()


@pytest.fixture
def place(tmp_path):
    return make_place(tmp_path)


def post_status(url: str, headers: dict) -> int:
    request = urllib.request.Request(
        url,
        data=INITIALIZE,
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def run_server(place, *flags, env_extra=None):
    env = {**os.environ, **server_env(place), **(env_extra or {})}
    return subprocess.Popen(
        [console_script(), "--transport", "http", *flags], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def wait_listening(process, port: int, host: str = "127.0.0.1") -> None:
    import socket
    import time

    for _ in range(200):
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"the HTTP server did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
    pytest.fail("the HTTP server did not listen within 20 s")


def stop(process) -> str:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log = process.stderr.read().decode()
    process.stderr.close()
    return log


def test_with_a_token_every_request_needs_it_as_a_bearer_token(place):
    port = _free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    process = run_server(place, "--port", str(port), env_extra={"EXQUISITE_MCP_TOKEN": TOKEN})
    try:
        wait_listening(process, port)
        statuses = [
            post_status(url, headers)
            for headers in (
                {},
                {"Authorization": "Bearer wrong-token-0123456789"},
                {"Authorization": TOKEN},
                {"Authorization": f"Basic {TOKEN}"},
            )
        ]
        elsewhere = post_status(f"http://127.0.0.1:{port}/other", {})
        accepted = post_status(url, {"Authorization": f"Bearer {TOKEN}"})
        rebound = post_status(url, {"Authorization": f"Bearer {TOKEN}", "Host": f"evil.example:{port}"})

        async def main():
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"})
            async with http, Client(streamable_http_client(url, http_client=http)) as client:
                tools = await client.list_tools()
                listed = await client.call_tool("list_sessions", {})
                return tools, listed

        tools, listed = anyio.run(main)
    finally:
        log = stop(process)
    assert statuses == [401, 401, 401, 401] and elsewhere == 401
    assert accepted == 200 and rebound in (403, 421)  # loopback keeps the Host check (DNS rebinding)
    assert "list_sessions" in {t.name for t in tools.tools} and not listed.is_error
    assert listed.structured_content["export_dirs"] == [str(place["exports"])]
    assert "bearer token required on every request" in log and "loopback only" in log
    assert TOKEN not in log and SECRET not in log


def test_every_loopback_address_keeps_the_host_check_without_a_token(place):
    port = _free_port()
    process = run_server(place, "--host", "127.0.0.2", "--port", str(port))
    try:
        wait_listening(process, port, "127.0.0.2")
        url = f"http://127.0.0.2:{port}/mcp"
        statuses = [post_status(url, {}), post_status(url, {"Host": f"evil.example:{port}"})]
    finally:
        log = stop(process)
    assert statuses[0] == 200 and statuses[1] in (403, 421), statuses
    assert "loopback only; no token" in log


@pytest.mark.parametrize(
    "flags, env_extra, expected",
    [
        (
            ["--host", "0.0.0.0"],
            {},
            "without authentication: set EXQUISITE_MCP_TOKEN (or --token) and pass --allow-remote",
        ),
        (["--host", "0.0.0.0", "--allow-remote"], {}, "without authentication"),
        (["--host", "192.0.2.1"], {"EXQUISITE_MCP_TOKEN": TOKEN}, "pass --allow-remote to confirm"),
        (["--host", "0.0.0.0", "--allow-remote", "--token", "short"], {}, "too short"),
    ],
)
def test_a_bind_to_other_machines_is_refused_unless_secured_and_confirmed(place, flags, env_extra, expected):
    port = _free_port()
    process = run_server(place, "--port", str(port), *flags, env_extra=env_extra)
    try:
        process.wait(timeout=60)
    finally:
        log = stop(process) if process.returncode is None else process.stderr.read().decode()
    lines = log.strip().splitlines()
    assert process.returncode == 2 and len(lines) == 1, log
    assert lines[0].startswith("exquisite-mcp: ") and expected in lines[0], lines[0]
    assert TOKEN not in log
    assert not any(place["sessions"].iterdir())  # refused before anything was created


def test_which_binds_are_loopback_and_which_need_a_token_and_a_flag():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.9.1", "localhost", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.20", "example.com"))
    check_bind("127.0.0.1", None, False)
    check_bind("0.0.0.0", TOKEN, True)
    for host, token, allow in (("0.0.0.0", None, True), ("::", TOKEN, False), ("127.0.0.1", "short", False)):
        with pytest.raises(InputError):
            check_bind(host, token, allow)
