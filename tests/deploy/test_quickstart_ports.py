"""The quickstart keeps its documented ports, and says so when it cannot: a port in TIME_WAIT is
free (servers bind with SO_REUSEADDR), a port another program listens on is named with that
program before another one is used."""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "quickstart" / "quickstart.py"


@pytest.fixture(scope="module")
def quickstart() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quickstart_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_taken_port_is_named_with_its_holder(
    quickstart: ModuleType, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert not quickstart.port_free(port)
        assert quickstart.port_holder(port).startswith(f"pid {os.getpid()} (")
        monkeypatch.setattr(quickstart, "PREFERRED_PORTS", {"api": port})
        chosen = quickstart.choose_ports({})
    assert chosen["api"] != port
    said = capsys.readouterr().err
    assert f"port {port} (api) is taken by pid {os.getpid()}" in said
    assert f"using {chosen['api']} instead" in said


def test_a_port_in_time_wait_is_free(quickstart: ModuleType) -> None:
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its port goes to TIME_WAIT
        client.close()
    assert quickstart.port_free(port)
