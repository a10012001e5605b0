"""Guarantees 1, 2 and 6 under fire: the collector is SIGKILLed and InfluxDB goes away.

100,000 observations from four gateways reach a collector process that is killed ten times at
random moments while InfluxDB is stopped for 30 s, twice. The gateways re-send what is not
acked, as the edge agent does. Afterwards every observation is in InfluxDB exactly once, no
other point is, and every shipment's location is its true latest sighting, late data included.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tagtrail_collector.store.registry import schema
from tagtrail_collector.store.registry.db import connect
from tagtrail_collector.store.registry.records import Role
from tagtrail_collector.store.registry.registry import Registry
from tagtrail_protocol import EventKind, ObservationItem
from tagtrail_testbed.collector import CollectorProcess, collector_sections
from tagtrail_testbed.gateway import T0, FakeGateway, item
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker

EPCS = 2_000
ROUNDS = 50  # sightings per EPC: rounds 0-24 at the port, 25-49 at the warehouse
BATCH = 250
SHIPMENT_TAGS = 10
STEP = timedelta(milliseconds=10)
GATEWAYS = {("port-a", "gate-1"), ("port-a", "gate-2"), ("wh-b", "dock-1"), ("wh-b", "dock-2")}
LATE_ROUNDS = range(20, 24)  # gate-2 is cut off for these; they arrive after everything else
KILLS = 10
INFLUX_OUTAGES = 2
OUTAGE_S = 30.0
WINDOW = 12  # unacked batches a gateway allows itself before it waits


@dataclass(frozen=True)
class Obs:
    epc: str
    index: int  # time = T0 + index * STEP, unique
    site: str
    gateway: str
    event: EventKind

    @property
    def read_point(self) -> str:
        return f"{self.gateway}-in"

    def item(self) -> ObservationItem:
        return item(
            self.epc, at=T0 + self.index * STEP, event=self.event, read_point=self.read_point
        )


def epc(n: int) -> str:
    return f"3034{n:020X}"


def observations() -> list[Obs]:
    out = []
    for index in range(EPCS * ROUNDS):
        n, rnd = index % EPCS, index // EPCS
        site = "port-a" if rnd < ROUNDS // 2 else "wh-b"
        gateway = {"port-a": ("gate-1", "gate-2"), "wh-b": ("dock-1", "dock-2")}[site][n % 2]
        event = (
            EventKind.ARRIVE
            if rnd in (0, ROUNDS // 2)
            else EventKind.DEPART
            if rnd == ROUNDS // 2 - 1
            else EventKind.OBSERVE
        )
        out.append(Obs(epc(n), index, site, gateway, event))
    return out


def send_plan(obs: list[Obs]) -> list[tuple[str, list[Obs]]]:
    """Per gateway, time-ordered batches; merged by time; gate-2's cut-off rounds last."""
    by_gateway: dict[str, list[Obs]] = {}
    late: list[Obs] = []
    for o in obs:
        if o.gateway == "gate-2" and o.index // EPCS in LATE_ROUNDS:
            late.append(o)
        else:
            by_gateway.setdefault(o.gateway, []).append(o)
    plan = [
        (gateway, items[i : i + BATCH])
        for gateway, items in by_gateway.items()
        for i in range(0, len(items), BATCH)
    ]
    plan.sort(key=lambda p: p[1][0].index)
    plan.extend(("gate-2", late[i : i + BATCH]) for i in range(0, len(late), BATCH))
    return plan


class Chaos:
    """Kills the collector and takes InfluxDB away on a seeded random schedule, in threads."""

    def __init__(self, collector: CollectorProcess, influx: InfluxServer, seed: int) -> None:
        self.collector, self.influx = collector, influx
        self.rnd = random.Random(seed)
        self.log: list[str] = [f"seed {seed} (TAGTRAIL_CHAOS_SEED={seed} replays the schedule)"]
        self.kills = 0
        self.outages = 0
        self.errors: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._guard(self._kill_loop), name="kills"),
            threading.Thread(target=self._guard(self._outage_loop), name="outages"),
        ]
        self._t0 = time.monotonic()

    def _guard(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # noqa: BLE001 (re-raised by join())
                self.errors.append(exc)

        return run

    def _note(self, what: str) -> None:
        self.log.append(f"{time.monotonic() - self._t0:6.1f} s  {what}")

    def _kill_loop(self) -> None:
        for _ in range(KILLS):
            time.sleep(self.rnd.uniform(2.0, 6.0))
            self.collector.kill()
            self.kills += 1
            self._note("collector SIGKILL")
            time.sleep(self.rnd.uniform(0.0, 1.0))
            self.collector.start()
            self._note("collector up")

    def _outage_loop(self) -> None:
        for _ in range(INFLUX_OUTAGES):
            time.sleep(self.rnd.uniform(5.0, 10.0))
            self.influx.stop()
            self.outages += 1
            self._note("influxdb stopped")
            time.sleep(OUTAGE_S)
            self.influx.start()
            self._note("influxdb up")

    def __enter__(self) -> Chaos:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.join()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(300)
        if self.errors:
            raise self.errors[0]


@pytest.fixture
def influx_alone() -> Iterator[InfluxServer]:
    """A private InfluxDB: this test stops it."""
    with InfluxServer() as server:
        yield server


def drive(
    gateways: dict[str, FakeGateway], plan: list[tuple[str, list[Obs]]], *, span_s: float
) -> None:
    """Send every batch, paced over ``span_s``; a gateway waits while its window is full."""
    pause = span_s / len(plan)
    for gateway, batch in plan:
        gw = gateways[gateway]
        while gw.in_flight >= WINDOW:
            for other in gateways.values():
                other.resend_due()
            time.sleep(0.05)
        gw.send_observations([o.item() for o in batch])
        for other in gateways.values():
            other.resend_due()
        time.sleep(pause)


def drain(gateways: dict[str, FakeGateway], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(gw.in_flight == 0 for gw in gateways.values()):
            return True
        for gw in gateways.values():
            gw.resend_due()
        time.sleep(0.1)
    return False


def stored_counts(influx: InfluxServer, db: str) -> Counter[tuple[str, ...]]:
    body = influx.query(
        'SELECT count("count") FROM "observation" GROUP BY "epc", "gateway", "event"', db=db
    )
    counts: Counter[tuple[str, ...]] = Counter()
    for series in body["results"][0].get("series", []):
        tags = series["tags"]
        counts[tags["epc"], tags["gateway"], tags["event"]] = int(series["values"][0][1])
    return counts


@pytest.mark.timeout(420)
def test_nothing_lost_nothing_doubled_through_kills_and_outages(
    broker_factory: Callable[..., Broker], influx_alone: InfluxServer, tmp_path: Path
) -> None:
    seed = int(os.environ.get("TAGTRAIL_CHAOS_SEED") or random.randrange(2**32))
    broker = broker_factory()
    db = "chaos"
    registry_url = f"sqlite:///{tmp_path / 'registry.db'}"
    registry = Registry(connect(registry_url))
    registry.create_carrier("acme", "ACME Freight")
    api_key = registry.create_key(Role.CARRIER, carrier_id="acme")
    shipments = {
        registry.create_shipment(
            "acme",
            reference=f"R-{k}",
            epcs=[epc(n) for n in range(k * SHIPMENT_TAGS, (k + 1) * SHIPMENT_TAGS)],
            attached_at=0,  # the observations are stamped in the past (T0)
        ).id: k
        for k in range(EPCS // SHIPMENT_TAGS)
    }
    registry.engine.dispose()
    sections = collector_sections(
        broker, influx_alone, db, tmp_path / "registry.db",
        mqtt={"keepalive_s": 5}, log={"level": "INFO"},
    )  # fmt: skip
    collector = CollectorProcess(sections)
    obs = observations()
    plan = send_plan(obs)
    gateways = {
        gateway: FakeGateway("127.0.0.1", broker.port, site=site, gateway=gateway)
        for site, gateway in GATEWAYS
    }
    try:
        with Chaos(collector, influx_alone, seed) as chaos:
            drive(gateways, plan, span_s=60.0)
        assert drain(gateways, timeout=180), (
            f"unacked: { {g: gw.in_flight for g, gw in gateways.items()} }\n"
            + "\n".join(chaos.log)
            + "\n"
            + collector.process.log_tail()
        )
        assert (chaos.kills, chaos.outages) == (KILLS, INFLUX_OUTAGES)
        assert sum(gw.resent for gw in gateways.values()) > 0  # the chaos did cost deliveries
        expected = Counter((o.epc, o.gateway, str(o.event)) for o in obs)
        assert stored_counts(influx_alone, db) == expected
        check_locations(collector.url, api_key, shipments, obs)
        check_visits(registry_url, obs)
    finally:
        for gw in gateways.values():
            gw.close()
        collector.close()


def check_locations(url: str, api_key: str, shipments: dict[str, int], obs: list[Obs]) -> None:
    latest: dict[str, Obs] = {}
    for o in obs:  # index order is time order
        latest[o.epc] = o
    with httpx.Client(base_url=url, headers={"X-API-Key": api_key}, timeout=10) as client:
        for shipment_id, k in shipments.items():
            tags = [epc(n) for n in range(k * SHIPMENT_TAGS, (k + 1) * SHIPMENT_TAGS)]
            truth = max((latest[t] for t in tags), key=lambda o: o.index)
            got: dict[str, Any] = client.get(f"/v1/shipments/{shipment_id}/location").json()
            assert (got["epc"], got["site"]["id"], got["gateway"], got["read_point"]) == (
                truth.epc,
                truth.site,
                truth.gateway,
                truth.read_point,
            )
            assert datetime.fromisoformat(got["time"]) == T0 + truth.index * STEP


def check_visits(registry_url: str, obs: list[Obs]) -> None:
    """Each tag: one visit at the port, one at the warehouse, with exact first/last times."""
    spans: dict[tuple[str, str], list[int]] = {}
    for o in obs:
        span = spans.setdefault((o.epc, o.site), [o.index, o.index])
        span[1] = o.index
    base = int(T0.timestamp()) * 10**9
    step = STEP // timedelta(microseconds=1) * 1000
    expected = {
        (e, site, base + first * step, base + last * step)
        for (e, site), (first, last) in spans.items()
    }
    engine = connect(registry_url)
    table = schema.tag_visits
    with engine.connect() as conn:
        rows = conn.execute(
            select(table.c.epc, table.c.site_id, table.c.arrived, table.c.last_seen)
        ).all()
    engine.dispose()
    assert len(rows) == len(expected)
    assert {tuple(r) for r in rows} == expected
