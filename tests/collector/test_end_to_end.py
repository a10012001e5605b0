"""Device simulators -> real edge agents -> broker -> collector -> the carriers' API.

A fixed gateway at a port gate reads two shipments' tags through an ASCII reader; one of them
is then loaded onto a truck whose gateway reads it through a Mercury reader while its NMEA GPS
drives a route. The API must place the first shipment at the gate and the second aboard the
truck, at the truck's latest fix, moving; the second's events must tell the hand-over.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tagtrail_collector.service import Collector
from tagtrail_collector.store.registry.records import Role, SiteKind
from tagtrail_edge.agent import Agent
from tagtrail_edge.config import EdgeConfig
from tagtrail_edge.pipeline.enrich import ClockProbe
from tagtrail_hardware.ascii import AsciiReaderSimulator
from tagtrail_hardware.mercury import MercurySimulator
from tagtrail_hardware.nmea import NmeaSimulator, Route
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_testbed.api import serve_api
from tagtrail_testbed.mosquitto import Broker
from tagtrail_testbed.waiting import wait_for

SGTIN_EPC = "3074257BF7194E4000001A85"  # sgtin-96, GTIN 80614141123458
SSCC_EPC = "3174257BF4499602D2000000"  # sscc-96, SSCC 106141412345678908
SSCC = "106141412345678908"
ROUTE = Route(((51.95, 4.05), (51.90, 4.50)), speed_mps=400.0)  # fast, to see it move


def _instant(text: str) -> datetime:
    """An API timestamp as a datetime (as text, '…21.2Z' sorts before '…21Z')."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def edge_config(
    tmp_path: Path, broker: Broker, gateway_id: str, site: str, **extra: Any
) -> EdgeConfig:
    data: dict[str, Any] = {
        "gateway": {"id": gateway_id, "site": site},
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "resend_after_s": 1.0,
                 "status_interval_s": 0.5, "backoff_base_s": 0.05, "backoff_cap_s": 0.3},
        "outbox": {"path": tmp_path / f"{gateway_id}.db"},
        "smoothing": {"observe_count": 2, "observe_s": 0.3, "lost_s": 0.6},
    }  # fmt: skip
    for key, value in extra.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return EdgeConfig(**data)


def reads(*epcs: str, n: int = 3) -> list[TagRead]:
    now = time.time()
    return [
        TagRead(epc=epc, antenna=1, time=now, mono_ns=0, rssi_dbm=-55.0 - i)
        for epc in epcs
        for i in range(n)
    ]


@contextmanager
def running(agent: Agent) -> Iterator[Agent]:
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()


@contextmanager
def keep_reading(sim: MercurySimulator, epc: str) -> Iterator[None]:
    """A tag that stays in the reader's field: read every 0.2 s until the block ends."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            sim.emit(reads(epc, n=1))
            stop.wait(0.2)

    thread = threading.Thread(target=loop, name="tag-in-cab", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def test_a_gate_and_a_truck_through_to_the_api(
    collector_factory: Callable[..., Collector], mosquitto: Broker, tmp_path: Path
) -> None:
    collector = collector_factory()
    registry = collector.registry
    registry.create_carrier("acme", "ACME Freight")
    key = {"X-API-Key": registry.create_key(Role.CARRIER, carrier_id="acme")}
    registry.create_site("port-a", name="Port A gate", kind=SiteKind.PORT, lat=51.95, lon=4.05)
    registry.create_site("truck-7", name="Truck 7", kind=SiteKind.VEHICLE)
    registry.create_gateway("gate-1", site_id="port-a")
    registry.create_gateway("truck-7", site_id="truck-7", mobile=True)
    stays = registry.create_shipment("acme", reference="STAYS", epcs=[SGTIN_EPC]).id
    travels = registry.create_shipment("acme", reference="TRAVELS", sscc=SSCC).id

    with (
        serve_api(collector) as url,
        httpx.Client(base_url=url, headers=key, timeout=10) as api,
        VirtualSerialPort() as gate_port,
        VirtualSerialPort() as cab_port,
        VirtualSerialPort() as gps_port,
    ):
        gate = edge_config(
            tmp_path, mosquitto, "gate-1", "port-a",
            readers=[{"name": "dock", "driver": "ascii", "path": gate_port.device_path}],
            read_points=[{"name": "gate-1-in", "reader": "dock", "antenna": 1}],
        )  # fmt: skip
        truck = edge_config(
            tmp_path, mosquitto, "truck-7", "truck-7", gateway={"mobile": True},
            readers=[{"name": "cab", "driver": "mercury", "path": cab_port.device_path}],
            read_points=[{"name": "cab", "reader": "cab", "antenna": 1}],
            gps={"source": "nmea", "path": gps_port.device_path},
        )  # fmt: skip
        cab = MercurySimulator(cab_port, keepalive_s=0.2).start()
        gps = NmeaSimulator(gps_port, ROUTE, period_s=0.2).start()
        try:
            with (
                running(Agent(gate, clock=ClockProbe(forced=True))) as gate_agent,
                running(Agent(truck, clock=ClockProbe(forced=True))) as truck_agent,
            ):
                # Both tags pass the gate; then they leave its field (depart).
                AsciiReaderSimulator(gate_port).send(reads(SGTIN_EPC, SSCC_EPC))
                assert wait_for(lambda: _events(api, travels) == [("arrived", "port-a")], 20)
                assert wait_for(lambda: gate_agent.outbox.stats().backlog_items == 0, 20)
                # The SSCC-tagged pallet is loaded onto the truck and stays in the cab.
                assert cab.reading.wait(10)
                with keep_reading(cab, SSCC_EPC):
                    assert wait_for(lambda: _site(api, travels) == "truck-7", 20)
                    assert wait_for(lambda: _location(api, travels)["coordinates"], 20)
                    first = _location(api, travels)
                    assert wait_for(lambda: _fix(_location(api, travels)) != _fix(first), 20)
                    moved = _location(api, travels)
                assert truck_agent.outbox.stats().drops == {}
        finally:
            cab.stop()
            gps.stop()

        here = api.get(f"/v1/shipments/{stays}/location").json()
        assert (here["site"]["id"], here["gateway"], here["read_point"]) == (
            "port-a",
            "gate-1",
            "gate-1-in",
        )
        assert here["epc"] == SGTIN_EPC
        assert here["coordinates"]["source"] == "site"

        assert _instant(moved["coordinates"]["time"]) > _instant(first["coordinates"]["time"])
        for where in (first, moved):
            assert where["aboard_mobile_gateway"] is True
            assert where["coordinates"]["source"] in ("gateway-fix", "event-fix")
            lat, lon = where["coordinates"]["lat"], where["coordinates"]["lon"]
            assert 51.899 <= lat <= 51.951
            assert 4.049 <= lon <= 4.501
        events = api.get(f"/v1/shipments/{travels}/events").json()["items"]
        assert [(e["type"], e["site"]["id"], e["biz_step"]) for e in events] == [
            ("arrived", "port-a", "arriving"),
            ("departed", "port-a", "departing"),
            ("arrived", "truck-7", "loading"),
        ]
        inventory = api.get("/v1/sites/truck-7/inventory").json()["items"]
        assert [i["shipment"]["id"] for i in inventory] == [travels]
    assert collector.dead_letters.counts() == {}


def _events(api: httpx.Client, shipment: str) -> list[tuple[str, str]]:
    items = api.get(f"/v1/shipments/{shipment}/events").json()["items"]
    return [(e["type"], e["site"]["id"]) for e in items]


def _location(api: httpx.Client, shipment: str) -> dict[str, Any]:
    found: dict[str, Any] = api.get(f"/v1/shipments/{shipment}/location").json()
    return found


def _site(api: httpx.Client, shipment: str) -> str | None:
    where = _location(api, shipment)
    return where["site"]["id"] if where.get("located") else None


def _fix(location: dict[str, Any]) -> tuple[float, float, str]:
    """Where and when the position was fixed (its age changes with every answer)."""
    where = location["coordinates"]
    return where["lat"], where["lon"], where["time"]
