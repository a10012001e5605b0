"""The journey's API from both sides: an operator's geofences (and what hostile bodies get),
a rival carrier probing another's milestones, a carrier's manual status change."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tagtrail_collector.service import Collector
from tagtrail_collector.store.registry.records import Role
from tagtrail_testbed.api import serve_api
from tagtrail_testbed.journey import DC, EPCS, Fleet, batches, register
from tagtrail_testbed.mosquitto import Broker
from tagtrail_testbed.waiting import wait_for

SQUARE = {
    "type": "Feature",
    "properties": {},
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [[4.04, 51.94], [4.06, 51.94], [4.06, 51.96], [4.04, 51.96], [4.04, 51.94]]
        ],
    },
}


@pytest.fixture
def served(
    collector_factory: Callable[..., Collector], tmp_path: Path
) -> Iterator[tuple[Collector, httpx.Client]]:
    collector = collector_factory(
        registry_path=tmp_path / "api.db", journey={"replay_after_s": 0.5}, ingest={"tick_s": 0.2}
    )
    with serve_api(collector) as base, httpx.Client(base_url=base, timeout=10) as client:
        yield collector, client


def admin(collector: Collector) -> dict[str, str]:
    return {"X-API-Key": collector.registry.create_key(Role.ADMIN)}


def test_an_operator_draws_geofences_and_reads_them_back(
    served: tuple[Collector, httpx.Client],
) -> None:
    collector, api = served
    who = admin(collector)
    body = {
        "id": "port-rtm",
        "name": "Port of Rotterdam",
        "kind": "port",
        "geofence": SQUARE,
        "unlocode": "NLRTM",
        "gln": "8712345000004",
    }
    made = api.post("/v1/admin/sites", json=body, headers=who)
    assert made.status_code == 201, made.text
    site = made.json()
    assert site["country"] == "NL"  # found from the polygon
    assert site["geofence"]["type"] == "Polygon"
    assert site["unlocode"] == "NLRTM"
    fence = api.get("/v1/admin/sites/port-rtm/geofence", headers=who).json()
    assert fence["geometry"] == site["geofence"]
    assert fence["properties"]["site_id"] == "port-rtm"
    circle = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [6.245, 51.3975]},
        "properties": {"radius_m": 300},
    }
    api.post("/v1/admin/sites", json={"id": "dc", "name": "DC", "kind": "warehouse"}, headers=who)
    put = api.put("/v1/admin/sites/dc/geofence", json=circle, headers=who)
    assert put.status_code == 200, put.text
    assert put.json()["properties"]["radius_m"] == 300
    everything = api.get("/v1/admin/geofences", headers=who).json()
    assert everything["type"] == "FeatureCollection"
    assert {f["properties"]["site_id"] for f in everything["features"]} == {"port-rtm", "dc"}
    patched = api.patch(
        "/v1/admin/sites/dc", json={"confirm_fixes": 5, "margin_m": 40}, headers=who
    ).json()
    assert (patched["confirm_fixes"], patched["margin_m"]) == (5, 40)
    assert api.delete("/v1/admin/sites/dc/geofence", headers=who).status_code == 204
    assert api.get("/v1/admin/sites/dc/geofence", headers=who).status_code == 400
    # a self-touching bow tie is repaired, and stays a polygon
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[4.0, 51.0], [4.01, 51.01], [4.01, 51.0], [4.0, 51.01], [4.0, 51.0]]],
    }
    repaired = api.put("/v1/admin/sites/dc/geofence", json=bowtie, headers=who)
    assert repaired.status_code == 200
    assert repaired.json()["geometry"]["type"] in ("Polygon", "MultiPolygon")


@pytest.mark.parametrize(
    "body",
    [
        {"type": "LineString", "coordinates": [[4.0, 51.0], [4.1, 51.1]]},
        {"type": "Polygon", "coordinates": [[[400, 51], [401, 51], [401, 52], [400, 51]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [20, 0], [20, 20], [0, 20], [0, 0]]]},
        {"type": "Polygon", "coordinates": "garbage"},
        {"type": "Polygon", "coordinates": [[[4.0, 51.0], [4.0, 51.0], [4.0, 51.0], [4.0, 51.0]]]},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [4, 51]}},
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [4, 95]},
            "properties": {"radius_m": 50},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": ["a", "b"]},
            "properties": {"radius_m": 50},
        },
        {"type": "Feature", "geometry": None},
    ],
)
def test_bad_geofences_get_a_clear_error_and_change_nothing(
    served: tuple[Collector, httpx.Client], body: dict[str, Any]
) -> None:
    collector, api = served
    who = admin(collector)
    api.post(
        "/v1/admin/sites",
        json={
            "id": "yard",
            "name": "Yard",
            "kind": "yard",
            "lat": 51.0,
            "lon": 4.0,
            "radius_m": 100,
        },
        headers=who,
    )
    answer = api.put("/v1/admin/sites/yard/geofence", json=body, headers=who)
    assert answer.status_code in (400, 422), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "geofence" in answer.text
    after = api.get("/v1/admin/sites/yard", headers=who).json()
    assert (after["geofence"], after["radius_m"]) == (None, 100)


def test_carriers_cannot_draw_geofences(served: tuple[Collector, httpx.Client]) -> None:
    collector, api = served
    collector.registry.create_carrier("c", "C")
    carrier = {"X-API-Key": collector.registry.create_key(Role.CARRIER, carrier_id="c")}
    assert api.get("/v1/admin/geofences", headers=carrier).status_code == 403
    answer = api.put("/v1/admin/sites/x/geofence", json=SQUARE, headers=carrier)
    assert answer.status_code == 403


def test_a_rival_sees_nothing_of_the_journey_and_a_manual_change_is_recorded(
    served: tuple[Collector, httpx.Client], mosquitto: Broker
) -> None:
    collector, api = served
    attached = int((datetime.now(UTC) - timedelta(hours=4)).timestamp() * 1e9)
    key, shipment = register(collector.registry, attached_at_ns=attached)
    owner = {"X-API-Key": key}
    fleet = Fleet("127.0.0.1", mosquitto.port)
    try:
        fleet.send(batches(datetime.now(UTC) - timedelta(hours=2)))
        assert fleet.wait_acked()
    finally:
        fleet.close()
    assert wait_for(
        lambda: (
            len(api.get(f"/v1/shipments/{shipment}/milestones", headers=owner).json()["items"]) >= 7
        ),
        30,
    )
    collector.registry.create_carrier("rival", "Rival")
    rival = {"X-API-Key": collector.registry.create_key(Role.CARRIER, carrier_id="rival")}
    for path in ("milestones", "status-history", "location"):
        answer = api.get(f"/v1/shipments/{shipment}/{path}", headers=rival)
        assert answer.status_code == 404, path
        ghost = "shp_0000000000000000000000000000"
        nothing = api.get(f"/v1/shipments/{ghost}/{path}", headers=rival)
        assert answer.json()["detail"] == nothing.json()["detail"].replace(ghost, shipment)
    for query in (
        {"epc": EPCS[0]},
        {"destination": DC},
        {"status": "delivered"},
        {"reference": "PAL-VENLO-1"},
    ):
        assert api.get("/v1/shipments", params=query, headers=rival).json()["items"] == []
    bad = api.get(
        f"/v1/shipments/{shipment}/milestones", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=owner
    )
    assert bad.status_code == 400
    closed = api.put(
        f"/v1/shipments/{shipment}/status", json={"status": "cancelled"}, headers=owner
    )
    assert closed.status_code == 200
    history = api.get(f"/v1/shipments/{shipment}/status-history", headers=owner).json()
    assert history[-1]["manual"] is True
    assert (history[-1]["from_status"], history[-1]["to_status"]) == ("delivered", "cancelled")
    assert api.get(f"/v1/shipments/{shipment}", headers=owner).json()["status"] == "cancelled"
