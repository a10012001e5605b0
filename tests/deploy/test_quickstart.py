"""README's first command, as a newcomer runs it: start, query with the printed curls, stop.

Runs ``deploy/quickstart.sh`` itself (OS packages and the virtual environment are already there,
so its install steps find nothing to do) with a fresh state folder and a ``--ttl`` so that its
services stop by themselves even if this test run is killed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tagtrail_testbed.netstat import listening, non_loopback
from tagtrail_testbed.process import port_open

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "quickstart.sh"
SERVICES = ("mosquitto", "influxd", "collector", "devices", "gateway-gate-3", "gateway-truck-17")
# The demo route: the port gate and the warehouse the truck drives between.
PORT_GATE, WAREHOUSE = (51.9496, 4.1453), (51.8856, 4.2869)


def quickstart(state: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAGTRAIL_VENV": str(Path(sys.executable).parents[1])}
    return subprocess.run(
        [str(SCRIPT), "--state", str(state), *args],
        capture_output=True, text=True, timeout=timeout, env=env, check=False,
    )  # fmt: skip


def ours(state: Path) -> list[int]:
    """Pids of every process whose command line names the state folder."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if str(state).encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def curls(stdout: str) -> list[list[str]]:
    return [
        shlex.split(line.strip())
        for line in stdout.splitlines()
        if line.strip().startswith("curl ")
    ]


def run_curl(argv: list[str]) -> Any:
    assert argv[0] == "curl"
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    state = tmp_path_factory.mktemp("quickstart-state")
    try:
        first = quickstart(state, "--ttl", "900")
        assert first.returncode == 0, first.stderr[-3000:]
        yield state, first.stdout
    finally:
        quickstart(state, "--stop", timeout=120)
        for pid in ours(state):  # only if --stop failed; the test below then fails too
            os.kill(pid, 9)


def test_it_prints_the_api_the_key_and_copy_paste_curls(started: tuple[Path, str]) -> None:
    _, stdout = started
    assert re.search(r"API\s+http://127\.0\.0\.1:\d+/v1", stdout)
    assert re.search(r"carrier key\s+tt_\S+", stdout)
    assert len(curls(stdout)) >= 3
    assert "--stop" in stdout


def test_the_shipment_at_the_gate_is_located_at_the_port(started: tuple[Path, str]) -> None:
    where, events, inventory, _truck = (run_curl(argv) for argv in curls(started[1]))
    assert where["located"] is True
    assert where["site"]["id"] == "port-rtm"
    assert (where["gateway"], where["read_point"]) == ("gate-3", "gate-3-in")
    assert where["aboard_mobile_gateway"] is False
    arrived = [e for e in events["items"] if e["type"] == "arrived"]
    assert arrived, events
    assert arrived[0]["site"]["id"] == "port-rtm"
    assert arrived[0]["biz_step_uri"] == "urn:epcglobal:cbv:bizstep:arriving"
    at_port = {item["shipment"]["reference"] for item in inventory["items"]}
    # The pallet is registered by SSCC only: its SSCC-96 tag linked it by itself.
    assert at_port == {"BL-DEMO-001", "PALLET-DEMO-042"}
    pallet = next(i for i in inventory["items"] if i["shipment"]["reference"] == "PALLET-DEMO-042")
    assert pallet["shipment"]["epcs"] == []
    assert pallet["location"]["site"]["id"] == "port-rtm"


def test_the_trucks_shipment_moves_along_the_route(started: tuple[Path, str]) -> None:
    truck = curls(started[1])[3]
    first = run_curl(truck)
    assert first["located"]
    assert first["aboard_mobile_gateway"]
    assert (first["site"]["id"], first["gateway"]) == ("truck-17", "truck-17")
    deadline = time.monotonic() + 20
    later = first
    while _where(later) == _where(first) and time.monotonic() < deadline:
        time.sleep(1.0)
        later = run_curl(truck)
    a, b = first["coordinates"], later["coordinates"]
    assert (a["lat"], a["lon"]) != (b["lat"], b["lon"]), "the truck did not move in 20 s"
    assert a["source"] == b["source"] == "gateway-fix"
    assert b["time"] > a["time"]
    for point in (a, b):  # on the straight road between the two sites
        assert min(PORT_GATE[0], WAREHOUSE[0]) <= point["lat"] <= max(PORT_GATE[0], WAREHOUSE[0])
        assert min(PORT_GATE[1], WAREHOUSE[1]) <= point["lon"] <= max(PORT_GATE[1], WAREHOUSE[1])


def test_everything_listens_on_loopback_only(started: tuple[Path, str]) -> None:
    state, _ = started
    for name in SERVICES:
        pid = int((state / "run" / f"{name}.pid").read_text())
        assert non_loopback(pid) == [], name


def test_running_it_again_changes_nothing(started: tuple[Path, str]) -> None:
    state, stdout = started
    pids = {name: (state / "run" / f"{name}.pid").read_text() for name in SERVICES}
    again = quickstart(state)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already running" in again.stderr
    assert curls(again.stdout) == curls(stdout)  # same ports, same key, same shipments
    assert {name: (state / "run" / f"{name}.pid").read_text() for name in SERVICES} == pids


def test_the_grafana_dashboards_queries_find_the_systems_data(started: tuple[Path, str]) -> None:
    state, _ = started
    facts = json.loads((state / "quickstart.json").read_text())
    influx = f"http://127.0.0.1:{facts['ports']['influx_http']}/query"
    dashboard = json.loads((ROOT / "deploy/server/grafana/tagtrail-dashboard.json").read_text())
    # Depart events (reads per site) come only once a passing tag has left the gate; the oldest
    # unsent age is reported only while something waits in an outbox.
    may_be_empty = {"Reads per site", "Oldest unsent item per gateway"}
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            query = target["query"].replace("$timeFilter", "time > now() - 1h")
            query = query.replace("$__interval", "10s")
            answer = httpx.get(influx, params={"db": "tagtrail", "q": query}, timeout=10).json()
            result = answer["results"][0]
            assert "error" not in result, (panel["title"], result)
            if panel["title"] not in may_be_empty:
                assert result.get("series"), (panel["title"], query)


def test_stop_leaves_no_process_and_no_port(started: tuple[Path, str]) -> None:
    state, _ = started
    pids = [int((state / "run" / f"{name}.pid").read_text()) for name in SERVICES]
    ports = {port for pid in pids for _, port in listening(pid)}
    assert len(ports) >= 4  # broker, InfluxDB (HTTP and RPC), API
    stopped = quickstart(state, "--stop", timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert ours(state) == []
    assert [port for port in ports if port_open("127.0.0.1", port)] == []
    again = quickstart(state, "--stop")
    assert again.returncode == 0
    assert "nothing was running" in again.stderr


def _where(location: dict[str, Any]) -> tuple[float, float]:
    return location["coordinates"]["lat"], location["coordinates"]["lon"]
