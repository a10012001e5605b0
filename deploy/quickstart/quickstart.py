"""The quickstart: a whole tagtrail system on this machine, from one state folder.

Usage: python quickstart.py start|stop|status --state DIR [--ttl SECONDS]

``start`` generates (once) a throwaway CA, the broker's certificate, the broker's accounts and
ACLs, the registry with a demo carrier and shipments; then starts Mosquitto (TLS), InfluxDB
(tsi1), the collector, the simulated devices and two gateway agents, waits until the shipments
are located, and prints how to query them. Started again while running, it only prints that
again. ``stop`` stops everything it started. Everything lives in the state folder; every
service listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tagtrail_collector.config import CollectorConfig
from tagtrail_collector.errors import CollectorError
from tagtrail_collector.provision.broker import BrokerFiles, ListenerSettings, render_conf
from tagtrail_collector.provision.gateway import BrokerAddress, provision_gateway
from tagtrail_collector.provision.influxdb import InfluxLayout, render_influxdb_conf
from tagtrail_collector.provision.pki import Pki
from tagtrail_collector.store.registry.db import connect
from tagtrail_collector.store.registry.records import Role, SiteKind
from tagtrail_collector.store.registry.registry import Registry
from tagtrail_edge.config import EdgeConfig
from tagtrail_hardware.nmea.simulator import VENLO_TO_STRAELEN, Leg
from tagtrail_protocol.settings import dump_toml

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
MOSQUITTO = os.environ.get("TAGTRAIL_MOSQUITTO", "/usr/sbin/mosquitto")
INFLUXD = os.environ.get("TAGTRAIL_INFLUXD", "/usr/bin/influxd")
HOST = "127.0.0.1"
PREFERRED_PORTS = {"broker": 18883, "influx_http": 18086, "influx_rpc": 18088, "api": 18080}
# Stopped in this order (the reverse of starting).
GATEWAYS = ("gate-3", "truck-17", "dock-1")
SERVICES = (
    "gateway-dock-1", "gateway-truck-17", "gateway-gate-3", "devices", "collector", "influxd",
    "mosquitto",
)  # fmt: skip
WAIT_FOR_DATA_S = 180.0

# The demo sites: a terminal gate in Venlo (NL) and a distribution centre across the border in
# Straelen (DE), on the road of tagtrail_hardware.nmea.simulator.VENLO_TO_STRAELEN.
PORT = ("port-venlo", "Venlo container terminal, gate 3 (demo)", SiteKind.PORT, 51.3880, 6.1630)
WAREHOUSE = (
    "dc-straelen", "Straelen distribution centre (demo)", SiteKind.DISTRIBUTION_CENTRE, 51.3975,
    6.2450,
)  # fmt: skip
TRUCK = ("truck-17", "Truck 17 (NL-BX-17)", SiteKind.VEHICLE, None, None)
FENCES = {PORT[0]: 400.0, WAREHOUSE[0]: 300.0}  # geofence radius, metres
CARRIER = ("demo-freight", "Demo Freight BV")
# SGTIN-96 tags of the shipment waiting at the port gate (GTIN 08712345123457, serials 1001-1003).
GATE_TAGS = ("303613C2640C0E40000003E9", "303613C2640C0E40000003EA", "303613C2640C0E40000003EB")
# An SSCC-96 tag (SSCC 087123450000000424): its shipment is registered by SSCC only.
SSCC_TAG, SSCC = "31D613C2640000002A000000", "087123450000000424"
# Pallets that travel to Straelen one after the other (serials 2001-2002, 2011-2012, 2021-2022).
PALLETS = (
    ("303613C2640C0E40000007D1", "303613C2640C0E40000007D2"),
    ("303613C2640C0E40000007DB", "303613C2640C0E40000007DC"),
    ("303613C2640C0E40000007E5", "303613C2640C0E40000007E6"),
)
# How the journey is paced (seconds, metres per second); TAGTRAIL_QUICKSTART_PACE=fast (the
# tests) drives faster and stops shorter.
PACES = {
    "real": {"speed_mps": 25.0, "gate_s": 20.0, "load_s": 20.0, "unload_s": 30.0},
    "fast": {"speed_mps": 50.0, "gate_s": 10.0, "load_s": 10.0, "unload_s": 16.0},
}


class QuickstartError(Exception):
    """Something the user must fix; printed without a traceback."""


@dataclass(frozen=True, slots=True)
class State:
    """The state folder and what lives in it."""

    root: Path

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    @property
    def facts(self) -> Path:
        return self.path("quickstart.json")

    def pid_file(self, name: str) -> Path:
        return self.path("run", f"{name}.pid")

    def log(self, name: str) -> Path:
        return self.path("logs", f"{name}.log")


# processes


def pid_of(state: State, name: str) -> int | None:
    """The pid of a service we started, if it still runs (and is still ours)."""
    try:
        pid = int(state.pid_file(name).read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if str(state.root).encode() in cmdline else None


def launch(state: State, name: str, argv: list[str]) -> int:
    """Start ``argv`` detached (its own session), logging to logs/NAME.log."""
    state.path("run").mkdir(parents=True, exist_ok=True)
    state.path("logs").mkdir(parents=True, exist_ok=True)
    with state.log(name).open("ab") as log:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=state.root,
        )  # fmt: skip
    state.pid_file(name).write_text(f"{process.pid}\n")
    return process.pid


def stop_all(state: State, *, grace_s: float = 15.0) -> list[str]:
    """SIGTERM every service (in order), SIGKILL what is left after ``grace_s``."""
    stopped = []
    for name in (*SERVICES, "ttl"):
        pid = pid_of(state, name)
        if pid is not None and pid != os.getpid():
            _end(pid, grace_s)
            stopped.append(name)
        state.pid_file(name).unlink(missing_ok=True)
    return stopped


def _end(pid: int, grace_s: float) -> None:
    """SIGTERM the process group led by ``pid``; SIGKILL it if it is still there after grace."""
    gone = functools.partial(_gone, pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    if not _wait(gone, grace_s):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        _wait(gone, 5.0)


def _gone(pid: int) -> bool:
    return not _exists(pid)


def _exists(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has stopped


def _wait(predicate: Callable[[], bool], timeout_s: float, poll_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll_s)
    return predicate()


def port_free(port: int) -> bool:
    """Whether our servers can bind ``port`` as they do: with SO_REUSEADDR, so that a port left
    in TIME_WAIT by the last run counts as free."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def port_holder(port: int) -> str:
    """Who listens on ``port``: "pid N (command)" when /proc says, else "another program"."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                    inodes.add(fields[9])
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                if str(fd.readlink()).removeprefix("socket:[").removesuffix("]") in inodes:
                    command = (proc / "comm").read_text().strip()
                    return f"pid {proc.name} ({command})"
    return "another program"


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.3):
            return True
    except OSError:
        return False


def choose_ports(previous: dict[str, int]) -> dict[str, int]:
    """The same ports as last time when free, else the documented ones; a port that is taken
    is named with what holds it, and another is used instead (the printed commands say which)."""
    ports: dict[str, int] = {}
    for name, preferred in PREFERRED_PORTS.items():
        for candidate in (previous.get(name), preferred):
            if candidate and candidate not in ports.values() and port_free(candidate):
                ports[name] = candidate
                break
        else:
            with socket.socket() as sock:
                sock.bind((HOST, 0))
                ports[name] = sock.getsockname()[1]
            say(
                f"port {preferred} ({name}) is taken by {port_holder(preferred)}: "
                f"using {ports[name]} instead"
            )
    return ports


# one-time set-up


def load_facts(state: State) -> dict[str, Any]:
    if not state.facts.exists():
        return {}
    data: dict[str, Any] = json.loads(state.facts.read_text())
    return data


def save_facts(state: State, facts: dict[str, Any]) -> None:
    state.facts.write_text(json.dumps(facts, indent=2) + "\n")
    state.facts.chmod(0o600)


def set_up_once(state: State, facts: dict[str, Any]) -> dict[str, Any]:
    """CA, broker accounts, registry and demo data: created on the first start only."""
    if facts.get("complete"):
        return facts
    for folder in ("pki", "broker", "collector", "influxdb", "gateways"):
        shutil.rmtree(state.path(folder), ignore_errors=True)  # an interrupted first start
    pki = Pki(state.path("pki"))
    server = pki.server("broker", hosts=("localhost", HOST))
    files = BrokerFiles(state.path("broker"))
    collector_password = files.init(_listener(state, pki.ca_cert, server.cert, server.key, 0))
    state.path("collector").mkdir(parents=True)
    registry = Registry(connect(registry_url(state)))
    for site_id, name, kind, lat, lon in (PORT, WAREHOUSE, TRUCK):
        registry.create_site(
            site_id, name=name, kind=kind, lat=lat, lon=lon, radius_m=FENCES.get(site_id),
            country={PORT[0]: "NL", WAREHOUSE[0]: "DE"}.get(site_id),
            unlocode="NLVEN" if site_id == PORT[0] else None,
        )  # fmt: skip
    broker = BrokerAddress(HOST, 0, pki.ca_cert)
    gate = provision_gateway(registry, files, "gate-3", site=PORT[0], mobile=False, broker=broker)
    truck = provision_gateway(
        registry, files, "truck-17", site=TRUCK[0], mobile=True, broker=broker
    )
    dock = provision_gateway(
        registry, files, "dock-1", site=WAREHOUSE[0], mobile=False, broker=broker
    )
    registry.set_read_point("gate-3", 1, name="gate-3-in", zone="gate")
    registry.set_read_point("gate-3", 2, name="gate-3-lane-2", zone="gate")
    registry.set_read_point("truck-17", 1, name="truck-17-cargo", zone="cargo")
    registry.set_read_point("dock-1", 1, name="dock-1-door", zone="dock")
    registry.create_carrier(*CARRIER)
    carrier_key = registry.create_key(Role.CARRIER, carrier_id=CARRIER[0], label="quickstart")
    admin_key = registry.create_key(Role.ADMIN, label="quickstart")
    shipments = {
        "gate": registry.create_shipment(
            CARRIER[0], reference="BL-DEMO-001", epcs=GATE_TAGS, origin_site=PORT[0],
            destination_site=WAREHOUSE[0],
        ).id,
        "sscc": registry.create_shipment(
            CARRIER[0], reference="PALLET-DEMO-042", sscc=SSCC, origin_site=PORT[0]
        ).id,
        **{
            f"pallet-{n}": registry.create_shipment(
                CARRIER[0], reference=f"BL-DEMO-00{n + 1}", epcs=tags, origin_site=PORT[0],
                destination_site=WAREHOUSE[0],
            ).id
            for n, tags in enumerate(PALLETS, start=1)
        },
    }  # fmt: skip
    facts = {
        "complete": True,
        "carrier_key": carrier_key,
        "admin_key": admin_key,
        "shipments": shipments,
        "passwords": {
            "collector": collector_password,
            "gate-3": gate.password,
            "truck-17": truck.password,
            "dock-1": dock.password,
        },
        "ports": {},
    }
    save_facts(state, facts)
    return facts


def _listener(state: State, ca: Path, cert: Path, key: Path, port: int) -> ListenerSettings:
    data = state.path("broker", "data")
    data.mkdir(parents=True, exist_ok=True)
    return ListenerSettings(
        cafile=ca, certfile=cert, keyfile=key, port=port, bind=HOST,
        persistence_dir=data, run_as_user=pwd.getpwuid(os.getuid()).pw_name,
    )  # fmt: skip


def registry_url(state: State) -> str:
    return f"sqlite:///{state.path('collector', 'registry.db')}"


# configs (written on every start: the ports may change)


def write_configs(state: State, facts: dict[str, Any]) -> None:
    ports, secrets = facts["ports"], facts["passwords"]
    pki = state.path("pki")
    listener = _listener(
        state, pki / "ca.crt", pki / "broker.crt", pki / "broker.key", ports["broker"]
    )

    state.path("broker", "tagtrail.conf").write_text(render_conf(state.path("broker"), listener))
    layout = InfluxLayout(
        folder=state.path("influxdb"),
        http_bind=f"{HOST}:{ports['influx_http']}",
        rpc_bind=f"{HOST}:{ports['influx_rpc']}",
    )
    state.path("influxdb").mkdir(parents=True, exist_ok=True)
    state.path("influxdb", "influxdb.conf").write_text(render_influxdb_conf(layout))
    _private(state.path("collector", "collector.toml"), collector_toml(state, ports, secrets))
    for gateway in GATEWAYS:
        folder = state.path("gateways", gateway)
        folder.mkdir(parents=True, exist_ok=True)
        _private(folder / "edge.toml", edge_toml(state, gateway, ports, secrets[gateway]))
    pace = os.environ.get("TAGTRAIL_QUICKSTART_PACE", "real")
    if pace not in PACES:
        raise QuickstartError(f"TAGTRAIL_QUICKSTART_PACE must be one of {', '.join(PACES)}")
    scenario = {
        "dev_dir": str(state.path("dev")),
        "gate_tags": [*GATE_TAGS, SSCC_TAG],
        "pallets": [list(p) for p in PALLETS],
        **PACES[pace],
        "pass_every_s": 20.0,
    }
    state.path("devices.json").write_text(json.dumps(scenario, indent=2) + "\n")


def _private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text)


def collector_toml(state: State, ports: dict[str, int], secrets: dict[str, str]) -> str:
    """The quickstart's collector config, validated by the collector's own model."""
    config = CollectorConfig.model_validate({
        "mqtt": {
            "host": HOST, "port": ports["broker"], "username": "collector",
            "password": secrets["collector"], "ca_file": state.path("pki", "ca.crt"),
        },
        "influx": {
            "url": f"http://{HOST}:{ports['influx_http']}", "database": "tagtrail",
            "retention_policy": "quickstart_30d", "retention": "30d",
        },
        "registry": {"url": registry_url(state)},
        "api": {"host": HOST, "port": ports["api"]},
        "log": {"format": "text"},
    })  # fmt: skip
    header = (
        "The quickstart's collector (deploy/collector/collector.example.toml has every option)."
    )
    return dump_toml(config, header=header)


def edge_toml(state: State, gateway: str, ports: dict[str, int], password: str) -> str:
    """A quickstart gateway's config, validated by the agent's own model."""
    dev, folder = state.path("dev"), state.path("gateways", gateway)
    fixed = gateway != "truck-17"
    site = {"gate-3": PORT[0], "dock-1": WAREHOUSE[0]}.get(gateway, TRUCK[0])
    sections: dict[str, Any] = {
        "gateway": {"id": gateway, "site": site, "mobile": not fixed},
        "mqtt": {
            "host": HOST, "port": ports["broker"], "username": gateway, "password": password,
            "ca_file": state.path("pki", "ca.crt"), "resend_after_s": 5.0,
            "status_interval_s": 10.0,
        },
        "outbox": {"path": folder / "outbox.db", "cap_mb": 64.0},
        # A dwelling tag is reported every minute (keeps locations fresh).
        "smoothing": {"summary_s": 60.0},
        "log": {"format": "text"},
    }  # fmt: skip
    if gateway == "gate-3":
        sections["readers"] = [{
            "name": "gate", "driver": "ascii", "path": str(dev / "gate-reader"),
            "fields": ["epc", "antenna", "rssi"],
        }]  # fmt: skip
        sections["read_points"] = [
            {"name": "gate-3-in", "reader": "gate", "antenna": 1},
            {"name": "gate-3-lane-2", "reader": "gate", "antenna": 2},
        ]
    elif gateway == "dock-1":
        sections["readers"] = [{
            "name": "door", "driver": "ascii", "path": str(dev / "dock-reader"),
            "fields": ["epc", "antenna", "rssi"],
        }]  # fmt: skip
        sections["read_points"] = [{"name": "dock-1-door", "reader": "door", "antenna": 1}]
    else:
        sections["readers"] = [{
            "name": "cargo", "driver": "mercury", "path": str(dev / "truck-reader"),
            "region": "eu", "antennas": [1],
        }]  # fmt: skip
        sections["read_points"] = [{"name": "truck-17-cargo", "reader": "cargo", "antenna": 1}]
        sections["gps"] = {"source": "nmea", "path": str(dev / "truck-gps")}
    header = f"The quickstart's gateway {gateway} (deploy/edge/edge.example.toml has every option)."
    return dump_toml(EdgeConfig.model_validate(sections), header=header)


def start_services(state: State, facts: dict[str, Any]) -> None:
    ports = facts["ports"]
    broker_conf = str(state.path("broker", "tagtrail.conf"))
    _start(state, "mosquitto", [MOSQUITTO, "-c", broker_conf], lambda: port_open(ports["broker"]))
    influx = [INFLUXD, "run", "-config", str(state.path("influxdb", "influxdb.conf"))]
    influx_ping = f"http://{HOST}:{ports['influx_http']}/ping"
    _start(state, "influxd", influx, lambda: _http_ok(influx_ping), timeout_s=60)
    collector = [
        str(BIN / "tagtrail-collector"), "serve", "--config",
        str(state.path("collector", "collector.toml")),
    ]  # fmt: skip
    health = f"http://{HOST}:{ports['api']}/healthz"
    _start(state, "collector", collector, lambda: _http_ok(health), timeout_s=60)
    devices = [sys.executable, str(HERE / "devices.py"), str(state.path("devices.json"))]
    _start(state, "devices", devices, lambda: state.path("dev", "ready").exists())
    for gateway in GATEWAYS:
        config = str(state.path("gateways", gateway, "edge.toml"))
        edge = [str(BIN / "tagtrail-edge"), "run", "--config", config]
        _start(state, f"gateway-{gateway}", edge, lambda: True)


def _start(
    state: State, name: str, argv: list[str], ready: Callable[[], bool], timeout_s: float = 20
) -> None:
    say(f"starting {name}")
    pid = launch(state, name, argv)
    if not _wait(lambda: ready() or not _exists(pid), timeout_s, 0.2) or not _exists(pid):
        tail = "\n".join(state.log(name).read_text(errors="replace").splitlines()[-15:])
        raise QuickstartError(f"{name} did not start (log {state.log(name)}):\n{tail}")


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code < 300
    except httpx.HTTPError:
        return False


def api_get(facts: dict[str, Any], path: str) -> Any:  # noqa: ANN401 (JSON)
    url = f"http://{HOST}:{facts['ports']['api']}/v1{path}"
    response = httpx.get(url, headers={"X-API-Key": facts["carrier_key"]}, timeout=5.0)
    response.raise_for_status()
    return response.json()


def located(facts: dict[str, Any], since: float = 0.0) -> dict[str, bool]:
    """Whether the API locates the demo shipments at the gate, and the first pallet by a
    sighting made after ``since`` (a Unix time: proof that data flows now)."""
    found = {}
    for name in ("gate", "sscc", "pallet-1"):
        try:
            where = api_get(facts, f"/shipments/{facts['shipments'][name]}/location")
        except httpx.HTTPError:
            found[name] = False
            continue
        site = (where.get("site") or {}).get("id")
        if name == "pallet-1":
            seen = where.get("time")
            found[name] = bool(where["located"] and seen and _unix(seen) >= since)
        else:
            found[name] = bool(where["located"] and site == PORT[0])
    return found


def _unix(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def wait_for_data(state: State, facts: dict[str, Any], since: float) -> None:
    say("waiting for the gateways' readings to reach the API")
    deadline = time.monotonic() + WAIT_FOR_DATA_S
    while time.monotonic() < deadline:
        found = located(facts, since)
        if all(found.values()):
            return
        for name in SERVICES:
            if pid_of(state, name) is None:
                raise QuickstartError(f"{name} stopped; see {state.log(name)}")
        time.sleep(1.0)
    missing = [name for name, ok in located(facts, since).items() if not ok]
    raise QuickstartError(
        f"no data for {', '.join(missing)} after {WAIT_FOR_DATA_S:.0f} s; "
        f"see the logs in {state.path('logs')}"
    )


def summary(state: State, facts: dict[str, Any], script: str) -> str:
    api = f"http://{HOST}:{facts['ports']['api']}"
    key = facts["carrier_key"]
    ids = facts["shipments"]

    def curl(path: str) -> str:
        return f"  curl -s -H 'X-API-Key: {key}' {api}/v1{path}"

    gate, first, second = ids["gate"], ids["pallet-1"], ids["pallet-2"]
    ports = facts["ports"]
    pace = os.environ.get("TAGTRAIL_QUICKSTART_PACE", "real")
    round_s, delivered_s = _timing(PACES.get(pace, PACES["real"]))

    return f"""
tagtrail is running. State, configs and logs: {state.root}

  API            {api}/v1   (OpenAPI: {api}/docs)
  carrier key    {key}   (carrier {CARRIER[0]}; send it as X-API-Key)
  admin key      {facts["admin_key"]}
  broker         mqtts://{HOST}:{ports["broker"]} (CA {state.path("pki", "ca.crt")})
  InfluxDB       http://{HOST}:{ports["influx_http"]} (database tagtrail)

Where is shipment BL-DEMO-001 now (at the port gate):
{curl(f"/shipments/{gate}/location")}
Its tracking events:
{curl(f"/shipments/{gate}/events")}
What is at the port ({PORT[0]}):
{curl(f"/sites/{PORT[0]}/inventory")}

The journey: pallet BL-DEMO-002 waits at the gate, is loaded on truck-17, which leaves the
terminal's geofence, crosses the Dutch-German border and unloads at the dock door in Straelen
({WAREHOUSE[0]}), about {delivered_s / 60:.0f} minutes after the start; BL-DEMO-003 follows
one round later, BL-DEMO-004 one after that (a round takes about {round_s / 60:.0f} minutes).
Where BL-DEMO-002 is, its status and, once the lane has history, its ETA (run it again):
{curl(f"/shipments/{first}/location")}
Its milestones (arrived, loaded, departed, crossed_border, arrived, unloaded, delivered):
{curl(f"/shipments/{first}/milestones")}
Its status history:
{curl(f"/shipments/{first}/status-history")}
BL-DEMO-003's ETA to {WAREHOUSE[0]}, from BL-DEMO-002's trip (once that has arrived):
{curl(f"/shipments/{second}/location")}

Stop everything: {script} --stop
"""


def _timing(pace: dict[str, float]) -> tuple[float, float]:
    """Seconds of one round of the truck (gate, load, road, dock, road back), and from the
    start to the first pallet's delivery (the dock door reads it halfway through the stop)."""
    road_s = Leg(VENLO_TO_STRAELEN, speed_mps=pace["speed_mps"]).duration_s
    to_dock = pace["gate_s"] + pace["load_s"] + road_s
    return to_dock + pace["unload_s"] + road_s, to_dock + pace["unload_s"] / 2


def say(message: str) -> None:
    print(f"\033[1m==>\033[0m {message}", file=sys.stderr, flush=True)


def start(state: State, script: str, ttl_s: float | None) -> None:
    state.root.mkdir(parents=True, exist_ok=True)
    facts = load_facts(state)
    running = [name for name in SERVICES if pid_of(state, name) is not None]
    if facts.get("complete") and len(running) == len(SERVICES) and all(located(facts).values()):
        say("already running")
        print(summary(state, facts, script), flush=True)
        return
    if running:
        say(f"restarting: only {', '.join(running) or 'nothing'} of it was running")
    stop_all(state)
    facts = set_up_once(state, facts)
    facts["ports"] = choose_ports(facts.get("ports") or {})
    save_facts(state, facts)
    write_configs(state, facts)
    started = time.time()
    try:
        start_services(state, facts)
        wait_for_data(state, facts, started)
    except BaseException:
        stop_all(state)
        raise
    if ttl_s is not None:
        launch(state, "ttl", [sys.executable, __file__, "stop", "--state", str(state.root),
                              "--after", str(ttl_s)])  # fmt: skip
    print(summary(state, facts, script), flush=True)


def status(state: State) -> int:
    facts = load_facts(state)
    down = 0
    for name in SERVICES:
        pid = pid_of(state, name)
        down += pid is None
        print(f"{name:18} {'running, pid ' + str(pid) if pid else 'stopped'}")
    if facts.get("complete") and not down:
        for name, ok in located(facts).items():
            print(f"shipment {name:9} {'located' if ok else 'not located yet'}")
    return 1 if down else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="quickstart", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--state", type=Path, required=True, help="the state folder")
    parser.add_argument("--ttl", type=float, help="start: stop everything after this many s")
    parser.add_argument("--after", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--script", default="deploy/quickstart.sh", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    state = State(args.state.resolve())
    try:
        if args.action == "start":
            start(state, args.script, args.ttl)
        elif args.action == "status":
            return status(state)
        else:
            time.sleep(args.after)
            stopped = stop_all(state)
            say(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")
    except (QuickstartError, CollectorError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
