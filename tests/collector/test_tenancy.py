"""Guarantee 7 from the attacker's side: a rival carrier tries to see another carrier's goods.

Through the real API of a collector fed by a real broker and InfluxDB: registering an EPC that
encodes a rival's SSCC (or the SSCC of a rival's tag), registering a tag that gateways have been
reading, probing conflicts for what they confirm, and reading inventories. A shipment sees its
tags only from the moment they were attached to it until it is closed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tagtrail_collector.service import Collector
from tagtrail_collector.store.registry.identity import sscc_of_epc
from tagtrail_collector.store.registry.records import Role, SiteKind
from tagtrail_protocol import EventKind
from tagtrail_testbed.gateway import FakeGateway, item
from tagtrail_testbed.mosquitto import Broker

SSCC = "106141412345678908"
SSCC_EPC = "3174257BF4499602D2000000"  # sscc-96, filter 3, encodes SSCC
SSCC_EPC_OTHER_FILTER = "3114257BF4499602D2000000"  # the same SSCC with filter 0
GRAI = "3376257BF40C0E400000162E"  # a returnable asset's tag (grai-96)
SGTIN = "3034257BF7194E4000001A85"


@pytest.fixture
def collector(collector_factory: Callable[..., Collector]) -> Collector:
    c = collector_factory()
    r = c.registry
    r.create_site("port-a", name="Port A", kind=SiteKind.PORT, lat=51.95, lon=4.05)
    r.create_site("wh-b", name="Warehouse B", kind=SiteKind.WAREHOUSE, lat=51.5, lon=6.0)
    r.create_gateway("gate-1", site_id="port-a")
    r.create_gateway("dock-1", site_id="wh-b")
    for carrier in ("owner", "rival"):
        r.create_carrier(carrier, carrier.title())
    return c


def key(collector: Collector, carrier: str) -> dict[str, str]:
    return {"X-API-Key": collector.registry.create_key(Role.CARRIER, carrier_id=carrier)}


def register(api: httpx.Client, who: dict[str, str], **body: Any) -> httpx.Response:
    return api.post("/v1/shipments", json=body, headers=who)


def seen(broker: Broker, gateway: str, site: str, *sightings: tuple[str, datetime]) -> None:
    """Gateway ``gateway`` reports each (EPC, time), and the collector has stored them."""
    identity = {"scheme": "sscc-96", "uri": "urn:epc:id:sscc:0614141.0012345678", "gs1_key": SSCC}
    with FakeGateway("127.0.0.1", broker.port, site=site, gateway=gateway) as gw:
        gw.send_observations(
            [
                item(epc, at=at, identity=identity if sscc_of_epc(epc) else None)
                for epc, at in sightings
            ]
        )
        assert gw.wait_acked(30)


def now() -> datetime:
    return datetime.now(UTC)


def test_the_test_tags_encode_what_they_say() -> None:
    assert sscc_of_epc(SSCC_EPC) == sscc_of_epc(SSCC_EPC_OTHER_FILTER) == SSCC
    assert sscc_of_epc(GRAI) is None
    assert sscc_of_epc(SGTIN) is None


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"sscc": SSCC}, {"epcs": [SSCC_EPC]}),
        ({"epcs": [SSCC_EPC]}, {"sscc": SSCC}),
        ({"epcs": [SSCC_EPC]}, {"epcs": [SSCC_EPC_OTHER_FILTER]}),
        ({"sscc": SSCC}, {"sscc": SSCC}),
        ({"epcs": [SGTIN]}, {"epcs": [SGTIN.lower()]}),
    ],
)
def test_an_sscc_and_every_epc_encoding_it_are_one_identifier(
    collector: Collector, api: httpx.Client, first: dict[str, Any], second: dict[str, Any]
) -> None:
    owner, rival = key(collector, "owner"), key(collector, "rival")
    made = register(api, owner, reference="OWNER-REF-77", **first)
    assert made.status_code == 201, made.text
    refused = register(api, rival, reference="RIVAL-1", **second)
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    # Refused without naming or pointing at the holder.
    for secret in (made.json()["id"], "OWNER-REF-77", "owner", "Owner"):
        assert secret not in detail
    # The holder gets the very same answer: the text does not tell whose it is.
    mine = register(api, owner, reference="OWNER-2", **second)
    assert mine.status_code == 409
    assert mine.json()["detail"] == detail


def test_no_history_from_before_the_tag_was_attached(
    collector: Collector, api: httpx.Client, mosquitto: Broker
) -> None:
    rival = key(collector, "rival")
    before = now() - timedelta(minutes=5)
    # The gateways have been reading this tag (someone else's goods) for a while.
    seen(mosquitto, "gate-1", "port-a", (SGTIN, before), (SGTIN, before + timedelta(seconds=30)))
    seen(mosquitto, "dock-1", "wh-b", (SGTIN, before + timedelta(minutes=2)))
    made = register(api, rival, reference="PROBE", epcs=[SGTIN])
    assert made.status_code == 201
    sid = made.json()["id"]
    assert api.get(f"/v1/shipments/{sid}/location", headers=rival).json()["located"] is False
    assert api.get(f"/v1/shipments/{sid}/events", headers=rival).json()["items"] == []
    window = {"start": (before - timedelta(hours=1)).isoformat(), "end": now().isoformat()}
    track = api.get(f"/v1/shipments/{sid}/track", params=window, headers=rival).json()
    assert track["items"] == []
    for site in ("port-a", "wh-b"):
        assert api.get(f"/v1/sites/{site}/inventory", headers=rival).json()["items"] == []

    # From the attachment on, it is theirs.
    after = now()
    seen(mosquitto, "gate-1", "port-a", (SGTIN, after))
    here = api.get(f"/v1/shipments/{sid}/location", headers=rival).json()
    assert (here["located"], here["site"]["id"], here["time"]) == (
        True, "port-a", after.isoformat().replace("+00:00", "Z"),
    )  # fmt: skip
    events = api.get(f"/v1/shipments/{sid}/events", headers=rival).json()["items"]
    assert [(e["type"], e["site"]["id"]) for e in events] == [("arrived", "port-a")]
    assert datetime.fromisoformat(events[0]["time"]) >= datetime.fromisoformat(
        made.json()["created_at"]
    )
    window["end"] = (now() + timedelta(minutes=1)).isoformat()
    track = api.get(f"/v1/shipments/{sid}/track", params=window, headers=rival).json()["items"]
    assert [(p["kind"], p["epc"]) for p in track] == [("sighting", SGTIN)]
    inventory = api.get("/v1/sites/port-a/inventory", headers=rival).json()["items"]
    assert [i["shipment"]["id"] for i in inventory] == [sid]


def test_a_returnable_asset_goes_from_one_carrier_to_the_next(
    collector: Collector, api: httpx.Client, mosquitto: Broker
) -> None:
    owner, rival = key(collector, "owner"), key(collector, "rival")
    first = register(api, owner, reference="TRIP-1", epcs=[GRAI]).json()["id"]
    t1 = now()
    seen(mosquitto, "gate-1", "port-a", (GRAI, t1))
    assert register(api, rival, reference="TRIP-2", epcs=[GRAI]).status_code == 409
    closed = api.put(f"/v1/shipments/{first}/status", json={"status": "delivered"}, headers=owner)
    assert closed.status_code == 200
    reopen = api.put(f"/v1/shipments/{first}/status", json={"status": "in_transit"}, headers=owner)
    assert reopen.status_code == 409
    second = register(api, rival, reference="TRIP-2", epcs=[GRAI])
    assert second.status_code == 201  # released with the first trip: attached again
    sid = second.json()["id"]
    t2 = now()
    seen(mosquitto, "dock-1", "wh-b", (GRAI, t2))
    # The new holder sees only its own trip...
    events = api.get(f"/v1/shipments/{sid}/events", headers=rival).json()["items"]
    assert [e["site"]["id"] for e in events] == ["wh-b"]
    # ...and the first carrier's closed shipment ends where it was when closed.
    where = api.get(f"/v1/shipments/{first}/location", headers=owner).json()
    assert (where["located"], where["site"]["id"]) == (True, "port-a")
    events = api.get(f"/v1/shipments/{first}/events", headers=owner).json()["items"]
    assert [e["site"]["id"] for e in events] == ["port-a"]
    assert api.get("/v1/sites/wh-b/inventory", headers=owner).json()["items"] == []
    # Neither sees the other's shipment at all.
    assert api.get(f"/v1/shipments/{first}", headers=rival).status_code == 404
    assert api.get(f"/v1/shipments/{sid}/location", headers=owner).status_code == 404


def test_inventory_shows_only_the_callers_shipments(
    collector: Collector, api: httpx.Client, mosquitto: Broker
) -> None:
    owner, rival = key(collector, "owner"), key(collector, "rival")
    mine = register(api, owner, reference="O-1", sscc=SSCC).json()["id"]
    theirs = register(api, rival, reference="R-1", epcs=[SGTIN]).json()["id"]
    at = now()
    seen(mosquitto, "gate-1", "port-a", (SSCC_EPC, at), (SGTIN, at))
    assert [i["shipment"]["id"] for i in api.get(
        "/v1/sites/port-a/inventory", headers=owner).json()["items"]] == [mine]  # fmt: skip
    assert [i["shipment"]["id"] for i in api.get(
        "/v1/sites/port-a/inventory", headers=rival).json()["items"]] == [theirs]  # fmt: skip
    assert api.get("/v1/sites/nowhere/inventory", headers=rival).status_code == 404
    listed = api.get("/v1/shipments", headers=rival).json()["items"]
    assert [s["id"] for s in listed] == [theirs]
    assert listed[0]["epc_count"] == 1
    assert [e["type"] for e in api.get(
        f"/v1/shipments/{mine}/events", headers=owner).json()["items"]] == ["arrived"]  # fmt: skip
    depart = now() + timedelta(seconds=2)
    with FakeGateway("127.0.0.1", mosquitto.port, site="port-a", gateway="gate-1") as gw:
        gw.send_observations([item(SGTIN, at=depart, event=EventKind.DEPART)])
        assert gw.wait_acked(30)
    assert api.get(f"/v1/shipments/{theirs}/location", headers=owner).status_code == 404
