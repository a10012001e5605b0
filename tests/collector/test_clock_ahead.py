"""Guarantees 5 and 6 against a lying clock: one wrong timestamp must not pin a shipment.

A gateway whose clock jumped to 2099 (or anyone with a gateway's credentials) publishes on its
own topic through the real broker to the real collector. What is stamped too far ahead is
quarantined as a dead letter (by reason and gateway) and counted; the rest of the batch is stored
and acknowledged; later true sightings still move the shipment. An admin rebuilds a shipment's
projections from the series after a correction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from tagtrail_collector.service import Collector
from tagtrail_collector.store.registry import schema
from tagtrail_collector.store.registry.records import Role, SiteKind
from tagtrail_collector.store.series.points import ns
from tagtrail_protocol import GatewayState, Status
from tagtrail_testbed.gateway import FakeGateway, fix, item
from tagtrail_testbed.mosquitto import Broker

EPC = "3034257BF7194E4000001A85"
FAR = datetime(2099, 12, 31, 23, 0, tzinfo=UTC)


@pytest.fixture
def collector(collector_factory: Callable[..., Collector]) -> Collector:
    c = collector_factory(ingest={"max_clock_ahead_s": 120.0})
    r = c.registry
    r.create_site("port-a", name="Port A", kind=SiteKind.PORT, lat=51.95, lon=4.05)
    r.create_site("wh-b", name="Warehouse B", kind=SiteKind.WAREHOUSE, lat=51.5, lon=6.0)
    r.create_site("truck-7", name="Truck 7", kind=SiteKind.VEHICLE)
    r.create_gateway("gate-1", site_id="port-a")
    r.create_gateway("dock-1", site_id="wh-b")
    r.create_gateway("truck-7", site_id="truck-7", mobile=True)
    r.create_carrier("acme", "ACME")
    return c


def test_a_clock_in_2099_is_quarantined_and_pins_nothing(
    collector: Collector, api: httpx.Client, mosquitto: Broker
) -> None:
    carrier = {"X-API-Key": collector.registry.create_key(Role.CARRIER, carrier_id="acme")}
    admin = {"X-API-Key": collector.registry.create_key(Role.ADMIN)}
    sid = api.post("/v1/shipments", json={"reference": "R", "epcs": [EPC]}, headers=carrier)
    sid.raise_for_status()
    shipment = sid.json()["id"]
    now = datetime.now(UTC)
    with FakeGateway("127.0.0.1", mosquitto.port, site="port-a", gateway="gate-1") as gate:
        bad = item(EPC, at=FAR)
        unsynced = item(EPC, at=now + timedelta(hours=2)).model_copy(update={"clock_synced": False})
        gate.send_observations([item(EPC, at=now), bad, unsynced])
        assert gate.wait_acked(30)  # the batch is acknowledged: nothing of it is lost
    with FakeGateway("127.0.0.1", mosquitto.port, site="truck-7", gateway="truck-7") as truck:
        truck.send_fixes([fix(51.9, 4.1, at=now), fix(10.0, 10.0, at=FAR)])
        truck.publish_raw(
            "status",
            truck.codec.encode(
                Status(
                    gateway="truck-7", boot_id=truck.boot_id, time=FAR, state=GatewayState.ONLINE
                )
            ),
        )
        assert truck.wait_acked(30)

    here = api.get(f"/v1/shipments/{shipment}/location", headers=carrier).json()
    assert datetime.fromisoformat(here["time"]) == now.replace(microsecond=now.microsecond)
    assert collector.lookups.gateway_position("truck-7").lat == 51.9  # type: ignore[union-attr]

    letters = api.get("/v1/admin/dead-letters", params={"gateway": "gate-1"}, headers=admin).json()[
        "items"
    ]
    assert sorted(x["reason"] for x in letters) == ["clock_ahead", "clock_ahead_unsynced"]
    assert any("2099-12-31" in x["detail"] for x in letters)
    truck_letters = api.get(
        "/v1/admin/dead-letters", params={"gateway": "truck-7", "reason": "clock_ahead"},
        headers=admin,
    ).json()["items"]  # fmt: skip
    assert len(truck_letters) == 2  # the fix and the status
    metrics = api.get("/metrics").text
    assert 'tagtrail_dead_lettered_total{gateway="gate-1",reason="clock_ahead"} 1.0' in metrics

    # A later true sighting moves the shipment on: nothing was pinned.
    later = datetime.now(UTC)
    with FakeGateway("127.0.0.1", mosquitto.port, site="wh-b", gateway="dock-1") as dock:
        dock.send_observations([item(EPC, at=later)])
        assert dock.wait_acked(30)
    here = api.get(f"/v1/shipments/{shipment}/location", headers=carrier).json()
    assert (here["site"]["id"], datetime.fromisoformat(here["time"])) == ("wh-b", later)
    events = api.get(f"/v1/shipments/{shipment}/events", headers=carrier).json()["items"]
    assert all(not e["time"].startswith("2099") for e in events)

    # The dead letters go once looked at: one by id, the rest by time.
    one = letters[0]["id"]
    assert api.delete(f"/v1/admin/dead-letters/{one}", headers=admin).status_code == 204
    assert api.delete(f"/v1/admin/dead-letters/{one}", headers=admin).status_code == 404
    purge = api.delete(
        "/v1/admin/dead-letters", params={"before": "2100-01-01T00:00:00Z"}, headers=admin
    )
    assert purge.json() == {"deleted": 3}
    assert collector.dead_letters.counts() == {}


def test_an_admin_rebuilds_a_pinned_shipment_from_the_series(
    collector: Collector, api: httpx.Client, mosquitto: Broker
) -> None:
    carrier = {"X-API-Key": collector.registry.create_key(Role.CARRIER, carrier_id="acme")}
    admin = {"X-API-Key": collector.registry.create_key(Role.ADMIN)}
    made = api.post("/v1/shipments", json={"reference": "R", "epcs": [EPC]}, headers=carrier)
    shipment = made.json()["id"]
    t0 = datetime.now(UTC)
    with FakeGateway("127.0.0.1", mosquitto.port, site="port-a", gateway="gate-1") as gate:
        gate.send_observations([item(EPC, at=t0)])
        assert gate.wait_acked(30)
    with FakeGateway("127.0.0.1", mosquitto.port, site="wh-b", gateway="dock-1") as dock:
        dock.send_observations([item(EPC, at=t0 + timedelta(seconds=1))])
        assert dock.wait_acked(30)
    # A registry that a wrong clock pinned before quarantine existed (an older collector).
    with collector.engine.begin() as conn:
        t = schema.tag_locations
        conn.execute(update(t).where(t.c.epc == EPC).values(event_time=ns(FAR), site_id="port-a"))
    pinned = api.get(f"/v1/shipments/{shipment}/location", headers=carrier).json()
    assert pinned["time"].startswith("2099")
    assert api.post(f"/v1/admin/shipments/{shipment}/rebuild", headers=carrier).status_code == 403
    done = api.post(f"/v1/admin/shipments/{shipment}/rebuild", headers=admin)
    assert done.json() == {"epcs": 1, "located": 1, "visits": 2}
    here = api.get(f"/v1/shipments/{shipment}/location", headers=carrier).json()
    assert here["site"]["id"] == "wh-b"
    assert datetime.fromisoformat(here["time"]) == t0 + timedelta(seconds=1)
    events = api.get(f"/v1/shipments/{shipment}/events", headers=carrier).json()["items"]
    assert [(e["type"], e["site"]["id"]) for e in events] == [
        ("arrived", "port-a"), ("departed", "port-a"), ("arrived", "wh-b"),
    ]  # fmt: skip
    missing = api.post("/v1/admin/shipments/shp_nothing/rebuild", headers=admin)
    assert missing.status_code == 404
