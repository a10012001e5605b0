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
SERVICES = (
    "mosquitto", "influxd", "collector", "devices", "gateway-gate-3", "gateway-truck-17",
    "gateway-dock-1",
)  # fmt: skip
# The demo road: from the terminal gate in Venlo to the distribution centre in Straelen.
PORT_GATE, WAREHOUSE = (51.3880, 6.1630), (51.3975, 6.2450)
JOURNEY = [
    ("arrived", "port-venlo"), ("loaded", "truck-17"), ("departed", "port-venlo"),
    ("crossed_border", None), ("arrived", "dc-straelen"), ("unloaded", "truck-17"),
    ("delivered", "dc-straelen"),
]  # fmt: skip


def quickstart(state: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TAGTRAIL_VENV": str(Path(sys.executable).parents[1]),
        "TAGTRAIL_QUICKSTART_PACE": "fast",
    }
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
    assert len(curls(stdout)) == 7
    assert "--stop" in stdout


def test_the_shipment_at_the_gate_is_located_at_the_port(started: tuple[Path, str]) -> None:
    where, events, inventory = (run_curl(argv) for argv in curls(started[1])[:3])
    assert where["located"] is True
    assert where["site"]["id"] == "port-venlo"
    assert (where["gateway"], where["read_point"]) == ("gate-3", "gate-3-in")
    assert where["aboard_mobile_gateway"] is False
    arrived = [e for e in events["items"] if e["type"] == "arrived"]
    assert arrived, events
    assert arrived[0]["site"]["id"] == "port-venlo"
    assert arrived[0]["biz_step_uri"] == "urn:epcglobal:cbv:bizstep:arriving"
    at_port = {item["shipment"]["reference"] for item in inventory["items"]}
    # The pallet is registered by SSCC only: its SSCC-96 tag linked it by itself.
    assert (
        {"BL-DEMO-001", "PALLET-DEMO-042"}
        <= at_port
        <= {"BL-DEMO-001", "PALLET-DEMO-042", "BL-DEMO-002"}
    )  # the first pallet may still stand at the gate
    pallet = next(i for i in inventory["items"] if i["shipment"]["reference"] == "PALLET-DEMO-042")
    assert pallet["shipment"]["epcs"] == []
    assert pallet["location"]["site"]["id"] == "port-venlo"


def test_the_pallet_moves_along_the_road_aboard_the_truck(started: tuple[Path, str]) -> None:
    truck = curls(started[1])[3]
    first = run_curl(truck)
    deadline = time.monotonic() + 60
    while not first["aboard_mobile_gateway"] and time.monotonic() < deadline:
        time.sleep(1.0)
        first = run_curl(truck)
    assert first["located"]
    assert first["aboard_mobile_gateway"], first
    assert (first["site"]["id"], first["gateway"]) == ("truck-17", "truck-17")
    assert first["status"] == "in_transit"
    deadline = time.monotonic() + 20
    later = first
    while _where(later) == _where(first) and time.monotonic() < deadline:
        time.sleep(1.0)
        later = run_curl(truck)
    a, b = first["coordinates"], later["coordinates"]
    assert (a["lat"], a["lon"]) != (b["lat"], b["lon"]), "the truck did not move in 20 s"
    assert {a["source"], b["source"]} <= {"gateway-fix", "event-fix"}  # the fresher of the two
    assert b["time"] > a["time"]
    for point in (a, b):  # on the straight road between the two sites
        assert min(PORT_GATE[0], WAREHOUSE[0]) <= point["lat"] <= max(PORT_GATE[0], WAREHOUSE[0])
        assert min(PORT_GATE[1], WAREHOUSE[1]) <= point["lon"] <= max(PORT_GATE[1], WAREHOUSE[1])


@pytest.mark.timeout(360)
def test_the_whole_journey_with_real_agents(started: tuple[Path, str]) -> None:
    """The first pallet from the gate, across the border, to the dock door: its milestones in
    order with the right sites, countries and bizSteps, and its status history."""
    _, milestones, history, _second = curls(started[1])[3:]
    deadline = time.monotonic() + 300
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = run_curl(milestones)["items"]
        if any(m["type"] == "delivered" for m in found):
            break
        time.sleep(2.0)
    assert [(m["type"], (m["site"] or {}).get("id")) for m in found] == JOURNEY, found
    crossing = found[3]
    assert (crossing["detail"]["from"], crossing["detail"]["to"]) == ("NL", "DE")
    assert [m["country"] for m in found] == ["NL", None, "NL", "DE", "DE", None, "DE"]
    assert [m["biz_step"] for m in found] == [
        "arriving", "loading", "departing", "transporting", "arriving", "unloading", "receiving",
    ]  # fmt: skip
    assert [m["source"] for m in found][2:5] == ["geofence"] * 3
    changes = [(h["from_status"], h["to_status"]) for h in run_curl(history)]
    assert changes == [
        ("registered", "at_site"), ("at_site", "in_transit"), ("in_transit", "at_site"),
        ("at_site", "delivered"),
    ]  # fmt: skip


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
