"""A backend called from inside ComfyUI: its own server and a missing key are refused with advice."""

import pytest
from exquisite.shared_core.errors import InputError
from exquisite.shared_core.server_context import calls_itself, check_backend_in_server
from exquisite.shared_core.service import make_backend


@pytest.mark.parametrize(
    "url, hosts, port, same",
    [
        ("http://127.0.0.1:8188", ["127.0.0.1"], 8188, True),
        ("http://localhost:8188/", ["127.0.0.1"], 8188, True),
        ("http://127.0.0.1:8188", ["0.0.0.0"], 8188, True),
        ("http://[::1]:8188", ["::"], 8188, True),
        ("http://192.168.1.5:8188", ["192.168.1.5", "127.0.0.1"], 8188, True),
        ("http://127.0.0.1:8189", ["127.0.0.1"], 8188, False),
        ("http://gpu-box:8188", ["127.0.0.1"], 8188, False),
        ("http://192.168.1.5:8188", ["127.0.0.1"], 8188, False),
        ("http://localhost", ["127.0.0.1"], 80, True),
    ],
)
def test_calls_itself(url, hosts, port, same):
    assert calls_itself(url, hosts, port) is same


def test_the_comfyui_backend_on_its_own_server_is_refused_with_advice(monkeypatch):
    monkeypatch.delenv("COMFYUI_URL", raising=False)
    generator = make_backend("comfyui")
    with pytest.raises(InputError, match="this ComfyUI server itself.*ANOTHER ComfyUI server"):
        check_backend_in_server("comfyui", generator, "ComfyUI", ["127.0.0.1"], 8188)
    check_backend_in_server("comfyui", generator, "ComfyUI", ["127.0.0.1"], 8190)  # another port: fine
    other = make_backend("comfyui", {"server": "http://127.0.0.1:8190"})
    check_backend_in_server("comfyui", other, "ComfyUI", ["127.0.0.1"], 8188)


def test_a_missing_key_is_named_with_where_to_set_it(monkeypatch):
    pytest.importorskip("openai")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    generator = make_backend("openai")
    with pytest.raises(InputError) as refused:
        check_backend_in_server("openai", generator, "ComfyUI", ["127.0.0.1"], 8188)
    assert str(refused.value) == (
        "no key for the openai backend: set OPENAI_API_KEY in the environment of the "
        "ComfyUI server (restart it after setting)"
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    check_backend_in_server("openai", generator, "ComfyUI", ["127.0.0.1"], 8188)


def test_offline_backends_need_nothing():
    check_backend_in_server("mock", make_backend("mock"), "ComfyUI", ["127.0.0.1"], 8188)
    check_backend_in_server("local", make_backend("local"), "ComfyUI", [], None)
