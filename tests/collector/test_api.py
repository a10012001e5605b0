"""The HTTP API: tenancy and keys, locations from real ingest, problem+json, pagination."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tagtrail_collector.service import Collector
from tagtrail_collector.store.registry.records import Role, SiteKind
from tagtrail_protocol import EventKind
from tagtrail_testbed.gateway import FakeGateway, fix, item
from tagtrail_testbed.mosquitto import Broker

SSCC_EPC = "3174257BF4499602D2000000"  # sscc-96 -> SSCC 106141412345678908 (filter 3)
SSCC = "106141412345678908"


@pytest.fixture
def collector(collector_factory: Callable[..., Collector]) -> Collector:
    c = collector_factory()
    r = c.registry
    r.create_site("port-a", name="Port A gate", kind=SiteKind.PORT, lat=51.95, lon=4.05)
    r.create_site("truck-7", name="Truck 7", kind=SiteKind.VEHICLE)
    r.create_gateway("gate-1", site_id="port-a")
    r.create_gateway("truck-7", site_id="truck-7", mobile=True)
    r.set_read_point("gate-1", 1, name="gate-1-in", zone="inbound")
    for carrier in ("alpha", "beta"):
        r.create_carrier(carrier, carrier.title())
    return c


def key(collector: Collector, carrier: str | None) -> dict[str, str]:
    if carrier is None:
        return {"X-API-Key": collector.registry.create_key(Role.ADMIN)}
    return {"X-API-Key": collector.registry.create_key(Role.CARRIER, carrier_id=carrier)}


def test_keys_and_tenancy(collector: Collector, api: httpx.Client) -> None:
    alpha, beta, admin = key(collector, "alpha"), key(collector, "beta"), key(collector, None)
    made = api.post(
        "/v1/shipments",
        json={"reference": "A-1", "epcs": ["3034AAAA0000000000000001"]},
        headers=alpha,
    )
    assert made.status_code == 201, made.text
    shipment = made.json()["id"]
    for path in ("", "/location", "/events", "/track"):
        assert api.get(f"/v1/shipments/{shipment}{path}", headers=alpha).status_code == 200
        other = api.get(f"/v1/shipments/{shipment}{path}", headers=beta)
        assert other.status_code == 404
        assert other.headers["content-type"] == "application/problem+json"
        assert api.get(f"/v1/shipments/shp_{'0' * 24}{path}", headers=beta).status_code == 404
    assert api.get("/v1/shipments", headers=beta).json()["items"] == []
    assert [s["id"] for s in api.get("/v1/shipments", headers=alpha).json()["items"]] == [shipment]

    assert api.get("/v1/shipments").status_code == 401
    wrong = api.get("/v1/shipments", headers={"X-API-Key": "tt_aaaaaaaaaaaa_" + "x" * 43})
    assert wrong.status_code == 401
    assert "not valid" in wrong.json()["detail"]
    assert api.get("/v1/shipments", headers={"X-API-Key": "nonsense"}).status_code == 401
    rotated = api.post("/v1/admin/carriers/alpha/keys", headers=admin)
    assert rotated.status_code == 201
    revoked = api.get("/v1/shipments", headers=alpha)
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["detail"]
    assert api.get("/v1/shipments", headers={"X-API-Key": rotated.json()["key"]}).status_code == 200

    assert api.get("/v1/admin/carriers", headers=beta).status_code == 403
    assert (
        api.post(
            "/v1/admin/sites", json={"id": "x", "name": "x", "kind": "port"}, headers=beta
        ).status_code
        == 403
    )
    assert api.get("/v1/shipments", headers=admin).status_code == 403


JSON = {"Content-Type": "application/json"}


def test_bad_requests_get_problem_details(collector: Collector, api: httpx.Client) -> None:
    alpha = key(collector, "alpha")
    bad = api.post("/v1/shipments", json={"reference": "", "epcs": ["XYZ"]}, headers=alpha)
    assert bad.status_code == 422
    body = bad.json()
    assert bad.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in body["errors"]} == {"body.reference", "body.epcs.0"}
    assert api.get("/v1/shipments?cursor=%%%", headers=alpha).status_code == 400
    made = {"reference": "A-2", "epcs": ["3034AAAA0000000000000002"]}
    assert api.post("/v1/shipments", json=made, headers=alpha).status_code == 201
    again = api.post("/v1/shipments", json=made, headers=alpha)
    assert again.status_code == 409
    assert "already" in again.json()["detail"]
    typo = api.get("/v1/shipments", params={"limt": 5}, headers=alpha)
    assert typo.status_code == 422
    assert typo.json()["errors"] == [
        {
            "field": "query.limt",
            "message": "unknown parameter (takes created_from, created_to, cursor,"
            " destination, epc, limit, reference, sscc, status)",
        }
    ]
    not_json = api.post("/v1/shipments", content=b"{reference", headers=alpha | JSON)
    assert not_json.status_code == 422
    assert "JSON" in not_json.json()["detail"], not_json.json()
    not_text = api.post("/v1/shipments", content=b"\xff\xfe{", headers=alpha | JSON)
    assert not_text.status_code == 400
    assert not_text.json()["detail"] == "the request body is not valid JSON"


def test_pagination_walks_every_shipment_once(collector: Collector, api: httpx.Client) -> None:
    alpha = key(collector, "alpha")
    made = [
        api.post(
            "/v1/shipments", json={"reference": f"R-{i}", "epcs": [f"3034BBBB{i:016X}"]},
            headers=alpha,
        ).json()["id"]
        for i in range(23)
    ]  # fmt: skip
    assert made == sorted(made)  # ids sort by creation
    seen: list[str] = []
    cursor = None
    while True:
        page = api.get("/v1/shipments", params={"limit": 5, "cursor": cursor}, headers=alpha).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made  # oldest first, each once


def test_locations_events_and_inventory_from_real_ingest(
    collector: Collector, api: httpx.Client, mosquitto: Broker
) -> None:
    alpha = key(collector, "alpha")
    fixed = api.post(
        "/v1/shipments",
        json={"reference": "F", "epcs": ["3034AAAA0000000000000010"]},
        headers=alpha,
    ).json()["id"]
    by_sscc = api.post(
        "/v1/shipments", json={"reference": "S", "sscc": SSCC}, headers=alpha
    ).json()["id"]
    # Sightings after the registration (a shipment sees nothing from before it).
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    identity = {"scheme": "sscc-96", "uri": f"urn:epc:id:sscc:0614141.{SSCC[1:]}", "gs1_key": SSCC}
    with (
        FakeGateway("127.0.0.1", mosquitto.port, site="port-a", gateway="gate-1") as gate,
        FakeGateway("127.0.0.1", mosquitto.port, site="truck-7", gateway="truck-7") as truck,
    ):
        gate.send_observations(
            [
                item("3034AAAA0000000000000010", at=t0),
                item(SSCC_EPC, at=t0 + timedelta(seconds=5), identity=identity),
                item(
                    SSCC_EPC,
                    at=t0 + timedelta(seconds=60),
                    event=EventKind.DEPART,
                    identity=identity,
                ),
            ]
        )
        assert gate.wait_acked(30)
        on_truck = {"lat": 51.9, "lon": 4.1, "fix_age_s": 0.5}
        truck.send_observations(
            [item(SSCC_EPC, at=t0 + timedelta(seconds=90), identity=identity, position=on_truck)]
        )
        truck.send_fixes(
            [
                fix(51.9, 4.1, at=t0 + timedelta(seconds=90)),
                fix(51.7, 4.6, at=t0 + timedelta(seconds=150)),
            ]
        )
        assert truck.wait_acked(30)
        # Late data from the gate (before the truck) must not move the shipment back.
        gate.send_observations([item(SSCC_EPC, at=t0 + timedelta(seconds=30), identity=identity)])
        assert gate.wait_acked(30)

    here = api.get(f"/v1/shipments/{fixed}/location", headers=alpha).json()
    assert here["located"] is True
    assert (here["site"]["id"], here["read_point"], here["gateway"]) == (
        "port-a",
        "gate-1-in",
        "gate-1",
    )
    assert here["coordinates"] == {
        "lat": 51.95, "lon": 4.05, "source": "site", "time": None, "age_s": None,
    }  # fmt: skip

    moving = api.get(f"/v1/shipments/{by_sscc}/location", headers=alpha).json()
    assert moving["site"]["id"] == "truck-7"
    assert moving["aboard_mobile_gateway"] is True
    assert (moving["coordinates"]["lat"], moving["coordinates"]["lon"]) == (51.7, 4.6)
    assert moving["coordinates"]["source"] == "gateway-fix"

    events = api.get(f"/v1/shipments/{by_sscc}/events", headers=alpha).json()["items"]
    assert [(e["type"], e["site"]["id"], e["biz_step"]) for e in events] == [
        ("arrived", "port-a", "arriving"),
        ("departed", "port-a", "departing"),
        ("arrived", "truck-7", "loading"),
    ]
    assert datetime.fromisoformat(events[1]["time"]) == t0 + timedelta(seconds=60)

    start = (t0 - timedelta(hours=1)).isoformat()
    end = (t0 + timedelta(hours=1)).isoformat()
    track = api.get(
        f"/v1/shipments/{by_sscc}/track",
        params={"start": start, "end": end, "limit": 3},
        headers=alpha,
    ).json()
    assert len(track["items"]) == 3
    rest = api.get(
        f"/v1/shipments/{by_sscc}/track",
        params={"start": start, "end": end, "cursor": track["next_cursor"]},
        headers=alpha,
    ).json()
    kinds = [p["kind"] for p in track["items"] + rest["items"]]
    assert kinds.count("sighting") == 4
    assert kinds.count("gateway-fix") == 1  # the fix at +90 s; +150 s is after its last sighting

    port = api.get("/v1/sites/port-a/inventory", headers=alpha).json()["items"]
    assert [i["shipment"]["id"] for i in port] == [fixed]
    truck_items = api.get("/v1/sites/truck-7/inventory", headers=alpha).json()["items"]
    assert [i["shipment"]["id"] for i in truck_items] == [by_sscc]
    beta = key(collector, "beta")
    assert api.get("/v1/sites/port-a/inventory", headers=beta).json()["items"] == []


def test_health_and_metrics(collector: Collector, api: httpx.Client, mosquitto: Broker) -> None:
    with FakeGateway("127.0.0.1", mosquitto.port, site="port-a", gateway="gate-1") as gate:
        gate.send_observations([item("3034AAAA0000000000000020")])
        assert gate.wait_acked(30)
    health = api.get("/healthz")
    assert health.status_code == 200, health.text
    assert health.json()["checks"] == {"broker": "ok", "influxdb": "ok", "registry": "ok"}
    text = api.get("/metrics").text
    assert 'tagtrail_stored_items_total{gateway="gate-1",kind="obs"} 1.0' in text
    assert 'tagtrail_acked_batches_total{gateway="gate-1"} 1.0' in text
    assert "tagtrail_ingest_lag_seconds_bucket" in text
