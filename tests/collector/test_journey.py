"""The journey through the real broker, InfluxDB and collector: milestones in order with their
sites, countries and bizSteps, the status history, the same milestones from shuffled and
repeated batches, and from a truck that was offline across the border."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tagtrail_collector.service import Collector
from tagtrail_testbed.api import serve_api
from tagtrail_testbed.gateway import item
from tagtrail_testbed.journey import (
    CARRIER,
    DC,
    DOCK,
    EPCS,
    GATE,
    PORT,
    TRUCK,
    Batch,
    Fleet,
    arrival_s,
    batches,
    register,
)
from tagtrail_testbed.mosquitto import Broker
from tagtrail_testbed.waiting import wait_for

JOURNEY = [
    ("arrived", PORT, "sighting"),
    ("loaded", TRUCK, "sighting"),
    ("departed", PORT, "geofence"),
    ("crossed_border", None, "geofence"),
    ("arrived", DC, "geofence"),
    ("unloaded", TRUCK, "sighting"),
    ("delivered", DC, "sighting"),
]
NEXT = ("3034257BF7194E4000000B01", "3034257BF7194E4000000B02")
FAST = {"journey": {"replay_after_s": 0.5}, "ingest": {"tick_s": 0.2}}


@pytest.fixture
def journey(
    collector_factory: Callable[..., Collector], mosquitto: Broker, tmp_path: Path
) -> Iterator[Callable[[str], tuple[httpx.Client, str, Fleet, Collector]]]:
    """A fresh registry with the journey's sites and shipment, its collector, an API client
    with the carrier's key, and the fleet of fake gateways."""
    opened: list[Any] = []

    def start(name: str) -> tuple[httpx.Client, str, Fleet, Collector]:
        collector = collector_factory(registry_path=tmp_path / f"{name}.db", **FAST)
        attached = int((datetime.now(UTC) - timedelta(hours=4)).timestamp() * 1e9)
        key, shipment = register(collector.registry, attached_at_ns=attached)
        serving = serve_api(collector)
        base = serving.__enter__()
        client = httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=10)
        fleet = Fleet("127.0.0.1", mosquitto.port)
        opened.append((serving, client, fleet))
        return client, shipment, fleet, collector

    yield start
    for serving, client, fleet in opened:
        fleet.close()
        client.close()
        serving.__exit__(None, None, None)


def milestones(api: httpx.Client, shipment: str) -> list[dict[str, Any]]:
    found, cursor = [], None
    while True:
        page = api.get(
            f"/v1/shipments/{shipment}/milestones",
            params={"limit": 3, **({"cursor": cursor} if cursor else {})},
        ).json()
        found += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def settled(
    api: httpx.Client, shipment: str, count: int, timeout: float = 60
) -> list[dict[str, Any]]:
    """The milestones once there are ``count`` and they stay the same for two seconds."""
    last: list[dict[str, Any]] = []
    stable_since = time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = milestones(api, shipment)
        if now != last:
            last, stable_since = now, time.monotonic()
        elif len(now) >= count and time.monotonic() - stable_since > 2:
            return now
        time.sleep(0.2)
    return last


def shape(found: list[dict[str, Any]]) -> list[tuple[str, str | None, str]]:
    return [(m["type"], (m["site"] or {}).get("id"), m["source"]) for m in found]


def t0() -> datetime:
    return datetime.now(UTC) - timedelta(hours=2)


def test_a_pallet_from_the_terminal_gate_across_the_border_to_the_distribution_centre(
    journey: Callable[[str], tuple[httpx.Client, str, Fleet, Collector]],
) -> None:
    api, shipment, fleet, _ = journey("inorder")
    start = t0()
    fleet.send(batches(start))
    assert fleet.wait_acked()
    found = settled(api, shipment, len(JOURNEY))
    assert shape(found) == JOURNEY
    times = [m["time"] for m in found]
    assert times == sorted(times)
    crossing = found[3]
    assert crossing["detail"]["from"] == "NL"
    assert crossing["detail"]["to"] == "DE"
    assert crossing["country"] == "DE"
    assert crossing["biz_step"] == "transporting"
    assert [m["country"] for m in found if m["site"] and m["site"]["id"] in (PORT, DC)] == [
        "NL",
        "NL",
        "DE",
        "DE",
    ]
    steps = {m["type"]: m["biz_step_uri"] for m in found}
    assert steps["arrived"] == "urn:epcglobal:cbv:bizstep:arriving"
    assert steps["loaded"] == "urn:epcglobal:cbv:bizstep:loading"
    assert steps["departed"] == "urn:epcglobal:cbv:bizstep:departing"
    assert steps["delivered"] == "urn:epcglobal:cbv:bizstep:receiving"
    # the border lies about 5.5 km down the road from the gate: after leaving the fence
    departed = datetime.fromisoformat(found[2]["time"])
    crossed = datetime.fromisoformat(crossing["time"])
    assert 60 < (crossed - departed).total_seconds() < 240
    history = api.get(f"/v1/shipments/{shipment}/status-history").json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        ("registered", "at_site"),
        ("at_site", "in_transit"),
        ("in_transit", "at_site"),
        ("at_site", "delivered"),
    ]
    assert all(not h["manual"] for h in history)
    where = api.get(f"/v1/shipments/{shipment}/location").json()
    assert where["status"] == "delivered"
    assert where["eta"] is None  # delivered: no ETA
    listed = api.get("/v1/shipments", params={"status": "delivered"}).json()["items"]
    assert [s["id"] for s in listed] == [shipment]
    assert api.get("/v1/shipments", params={"status": "in_transit"}).json()["items"] == []
    assert api.get("/v1/shipments", params={"destination": DC}).json()["items"][0]["id"] == shipment


def test_shuffled_and_repeated_batches_give_the_same_milestones(
    journey: Callable[[str], tuple[httpx.Client, str, Fleet, Collector]],
) -> None:
    start = t0()
    sends = batches(start)
    api, shipment, fleet, _ = journey("reference")
    fleet.send(sends)
    assert fleet.wait_acked()
    reference = settled(api, shipment, len(JOURNEY))
    assert shape(reference) == JOURNEY
    rng = random.Random(17)
    again, other, fleet2, _ = journey("shuffled")
    for _ in range(2):  # in any order, twice
        shuffled = sends[:]
        rng.shuffle(shuffled)
        fleet2.send(shuffled)
        assert fleet2.wait_acked()
    replayed = settled(again, other, len(JOURNEY))

    def key(m: dict[str, Any]) -> tuple[Any, ...]:
        return (m["type"], (m["site"] or {}).get("id"), m["time"], m["source"], m["detail"])

    assert [key(m) for m in replayed] == [key(m) for m in reference]
    ids = [m["id"] for m in milestones(again, other)]
    assert len(ids) == len(set(ids))


def test_a_truck_offline_across_the_border_sends_its_backlog_late(
    journey: Callable[[str], tuple[httpx.Client, str, Fleet, Collector]],
) -> None:
    """The truck's gateway lost the network from leaving the gate to after the border: its
    fixes of that stretch arrive after the newer ones. The same milestones, measured."""
    start = t0()
    sends = batches(start)
    api, shipment, fleet, _ = journey("backlog")
    backlog = [b for b in sends if b.kind == "pos" and 150 <= b.at_s < 420]
    live = [b for b in sends if b not in backlog]
    fleet.send(live)
    assert fleet.wait_acked()
    fleet.send(backlog)
    assert fleet.wait_acked()
    assert shape(settled(api, shipment, len(JOURNEY))) == JOURNEY


def test_a_truck_without_fixes_across_the_border_gets_them_interpolated(
    journey: Callable[[str], tuple[httpx.Client, str, Fleet, Collector]],
) -> None:
    """The truck's gateway was off from just before the gate fence to after the border: the
    departure and the crossing are found on the segment across the gap, marked interpolated."""
    start = t0()
    api, shipment, fleet, _ = journey("gap")
    sends: list[Batch] = batches(start, gps_off=(170.0, 420.0))
    fleet.send(sends)
    assert fleet.wait_acked()
    found = settled(api, shipment, len(JOURNEY))
    assert [t for t, _, _ in shape(found)] == [t for t, _, _ in JOURNEY]
    by_type = {m["type"]: m for m in found}
    assert by_type["departed"]["source"] == "interpolated"
    assert by_type["crossed_border"]["source"] == "interpolated"
    assert by_type["crossed_border"]["detail"]["accuracy_s"] >= 200


def test_the_next_pallet_gets_an_eta_from_the_lanes_history(
    journey: Callable[[str], tuple[httpx.Client, str, Fleet, Collector]],
) -> None:
    """After one pallet made the trip, the next one that leaves the gate has an ETA: its
    departure plus the first pallet's transfer time, resting on one transfer."""
    api, first, fleet, collector = journey("eta")
    start = t0()
    fleet.send(batches(start))
    assert fleet.wait_acked()
    done = settled(api, first, len(JOURNEY))
    transfer = datetime.fromisoformat(done[4]["time"]) - datetime.fromisoformat(done[2]["time"])
    second = collector.registry.create_shipment(
        CARRIER,
        reference="PAL-VENLO-2",
        epcs=NEXT,
        origin_site=PORT,
        destination_site=DC,
        attached_at=int(start.timestamp() * 1e9),
    ).id
    later = start + timedelta(minutes=40)
    fleet.send(b for b in batches(later, epcs=NEXT) if b.at_s < 260)
    assert fleet.wait_acked()
    assert wait_for(lambda: api.get(f"/v1/shipments/{second}/location").json()["eta"], 30)
    eta = api.get(f"/v1/shipments/{second}/location").json()["eta"]
    assert (eta["from_site"], eta["from_event"], eta["transfers"]) == (PORT, "departed", 1)
    left = datetime.fromisoformat(eta["from_time"])
    assert abs(datetime.fromisoformat(eta["time"]) - (left + transfer)) < timedelta(seconds=1)
    assert eta["p90"] == eta["time"]
    assert eta["overdue"] is True  # all of it happened two hours ago


def test_a_truck_and_sites_registered_a_moment_ago_are_not_missed(
    collector_factory: Callable[..., Collector], mosquitto: Broker, tmp_path: Path
) -> None:
    """The collector caches sites and gateways; a truck registered just before its first fixes
    (and a site just before its first sighting) must not be read from a stale cache."""
    collector = collector_factory(registry_path=tmp_path / "fresh.db", **FAST)
    time.sleep(0.5)  # the projections have read the (empty) registry by now
    fleet = Fleet("127.0.0.1", mosquitto.port)
    try:
        attached = int((datetime.now(UTC) - timedelta(hours=4)).timestamp() * 1e9)
        key, shipment = register(collector.registry, attached_at_ns=attached)
        fleet.send(batches(t0()))  # at once
        assert fleet.wait_acked()
        with (
            serve_api(collector) as base,
            httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=10) as api,
        ):
            assert shape(settled(api, shipment, len(JOURNEY))) == JOURNEY
    finally:
        fleet.close()


def with_doors(collector: Collector) -> tuple[Collector, str, str]:
    """The journey's registry, the terminal gate and the dock as doors: antenna 1 faces in,
    antenna 2 out. (The collector, the carrier's key, the shipment.)"""
    attached = int((datetime.now(UTC) - timedelta(hours=4)).timestamp() * 1e9)
    key, shipment = register(collector.registry, attached_at_ns=attached)
    for gateway in (GATE, DOCK):
        collector.registry.set_read_point(gateway, 1, name=f"{gateway}-in", zone="door-inside")
        collector.registry.set_read_point(gateway, 2, name=f"{gateway}-out", zone="door-outside")
    return collector, key, shipment


def test_dock_doors_give_the_direction_when_the_truck_has_no_reader(
    collector_factory: Callable[..., Collector], mosquitto: Broker, tmp_path: Path
) -> None:
    """Two read points a door, zones door-inside and door-outside: a pallet that goes out
    through the terminal's door is loaded, one that comes in through the dock door is
    unloaded, with no reader on the truck."""
    collector, key, shipment = with_doors(
        collector_factory(registry_path=tmp_path / "doors.db", **FAST)
    )
    start = t0()

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    fleet = Fleet("127.0.0.1", mosquitto.port)
    try:
        reads = [(0, GATE, 1), (30, GATE, 1), (60, GATE, 2), (900, DOCK, 2), (930, DOCK, 1),
                 (960, DOCK, 1)]  # fmt: skip
        for seconds, gateway, antenna in reads:
            fleet.gateways[gateway].send_observations([
                item(epc, at=at(seconds), antenna=antenna, read_point=f"{gateway}-x")
                for epc in EPCS
            ])  # fmt: skip
        assert fleet.wait_acked()
        with (
            serve_api(collector) as base,
            httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=10) as api,
        ):
            found = settled(api, shipment, 6)
    finally:
        fleet.close()
    assert shape(found) == [
        ("arrived", PORT, "sighting"), ("loaded", PORT, "sighting"),
        ("departed", PORT, "sighting"), ("arrived", DC, "sighting"),
        ("delivered", DC, "sighting"), ("unloaded", DC, "sighting"),
    ]  # fmt: skip
    loaded = found[1]
    assert loaded["detail"] == {"via": "door"}
    assert loaded["time"] == at(60).isoformat().replace("+00:00", "Z")
    assert loaded["biz_step"] == "loading"
    assert found[-1]["time"] == at(930).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("gps_first", [True, False])
def test_a_truck_with_gps_and_no_reader_docked_at_the_door_carries_the_journey(
    collector_factory: Callable[..., Collector],
    mosquitto: Broker,
    tmp_path: Path,
    gps_first: bool,
) -> None:
    """The pallet goes out through the terminal's door while the truck's GPS puts it inside the
    terminal's geofence: it is aboard that truck, whose departure, border crossing and arrival
    are the pallet's; it comes in through the dock door at the distribution centre."""
    collector, key, shipment = with_doors(
        collector_factory(registry_path=tmp_path / "docked.db", **FAST)
    )
    start = t0()
    arrived = arrival_s()
    reads = [(0, GATE, 1), (30, GATE, 1), (120, GATE, 2), (arrived + 60, DOCK, 2),
             (arrived + 90, DOCK, 1)]  # fmt: skip
    fleet = Fleet("127.0.0.1", mosquitto.port)
    try:
        gps = [b for b in batches(start) if b.kind == "pos"]  # the truck's GPS only
        if gps_first:
            fleet.send(gps)
            assert fleet.wait_acked()
        for seconds, gateway, antenna in reads:
            fleet.gateways[gateway].send_observations([
                item(epc, at=start + timedelta(seconds=seconds), antenna=antenna,
                     read_point=f"{gateway}-x")
                for epc in EPCS
            ])  # fmt: skip
        assert fleet.wait_acked()
        if not gps_first:  # the truck's fixes come after the doors' reads (a late backlog)
            fleet.send(gps)
            assert fleet.wait_acked()
        with (
            serve_api(collector) as base,
            httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=10) as api,
        ):
            found = settled(api, shipment, len(JOURNEY))
    finally:
        fleet.close()
    assert shape(found) == JOURNEY
    loaded = found[1]
    assert (loaded["gateway"], loaded["detail"]) == (GATE, {"via": "door"})
    assert found[3]["detail"]["to"] == "DE"
