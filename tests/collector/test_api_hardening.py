"""Hostile and wrong requests against the collector's API, served by a real uvicorn.

A large anonymous body is refused before it is read (the process does not grow), a wrong key
before any parsing, non-JSON with 415, impossible track ranges and cursors with a clear 400/422
instead of a 503 carrying InfluxQL, and a shipment with 10,000 EPCs still gets its track.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tagtrail_collector.api.pagination import encode_cursor
from tagtrail_collector.service import Collector
from tagtrail_collector.store.registry.records import Role, SiteKind
from tagtrail_testbed.api import serve_api
from tagtrail_testbed.gateway import FakeGateway, item
from tagtrail_testbed.mosquitto import Broker

LIMIT = 512 * 1024


@pytest.fixture
def collector(collector_factory: Callable[..., Collector]) -> Collector:
    c = collector_factory(api={"max_body_bytes": LIMIT})
    c.registry.create_site("port-a", name="Port A", kind=SiteKind.PORT, lat=51.9, lon=4.0)
    c.registry.create_gateway("gate-1", site_id="port-a")
    c.registry.create_carrier("acme", "ACME")
    return c


@pytest.fixture
def url(collector: Collector) -> Iterator[str]:
    with serve_api(collector) as base:
        yield base


@pytest.fixture
def api(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as client:
        yield client


def carrier(collector: Collector) -> dict[str, str]:
    return {"X-API-Key": collector.registry.create_key(Role.CARRIER, carrier_id="acme")}


def raw_post(url: str, head: bytes, body_chunks: int) -> tuple[bytes, int]:
    """Send a request head, then up to ``body_chunks`` chunks of 64 KiB of body until the server
    answers; returns its answer and how many chunks went before it did."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        sent = 0
        sock.settimeout(0.05)
        chunk = b"[" + b"0," * (32 * 1024 - 1) + b"0"
        answer = b""
        while sent < body_chunks:
            with contextlib.suppress(TimeoutError):
                answer = sock.recv(4096)
            if answer:
                break
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += 1
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer:
            more = sock.recv(4096)
            if not more:
                break
            answer += more
    return answer, sent


def test_a_huge_anonymous_body_is_refused_before_it_is_read(url: str) -> None:
    size = 200 * 1024 * 1024
    head = (
        f"POST /v1/shipments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    answer, sent = raw_post(url, head, body_chunks=3200)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 10  # answered at once, from the head: the 200 MB were never read


def test_a_streamed_body_is_cut_at_the_limit(collector: Collector, url: str) -> None:
    key = carrier(collector)["X-API-Key"]
    head = (
        "POST /v1/shipments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {key}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        body = b"{" + b" " * (LIMIT * 3)
        for at in range(0, len(body), 16 * 1024):
            part = body[at : at + 16 * 1024]
            try:
                sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            except OSError:
                break
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_the_key_is_checked_before_the_body_is_parsed(api: httpx.Client) -> None:
    garbage = b"{not json at all" * 100
    for headers in ({}, {"X-API-Key": "tt_nonsense"}):
        answer = api.post("/v1/shipments", content=garbage, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert "WWW-Authenticate" in answer.headers


def test_media_type_method_and_unknown_things(collector: Collector, api: httpx.Client) -> None:
    key = carrier(collector)
    form = api.post("/v1/shipments", content=b"reference=x", headers=key | {
        "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert form.status_code == 415
    wrong = api.delete("/v1/shipments", headers=key)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, POST"
    assert wrong.headers["content-type"] == "application/problem+json"
    assert api.get("/v1/sites/nowhere/inventory", headers=key).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reference": "R", "sscc": "106141412345678909"}, "check digit"),
        ({"reference": "   ", "epcs": ["3034257BF7194E4000001A85"]}, "blank"),
        ({"reference": "R\x1b[31m", "epcs": ["3034257BF7194E4000001A85"]}, "control"),
        ({"reference": "R\u2028", "epcs": ["3034257BF7194E4000001A85"]}, "control"),
        ({"reference": "R"}, "at least one EPC or an SSCC"),
    ],
)
def test_shipment_validation(
    collector: Collector, api: httpx.Client, body: dict[str, object], field: str
) -> None:
    answer = api.post("/v1/shipments", json=body, headers=carrier(collector))
    assert answer.status_code == 422
    assert field in answer.json()["detail"]


def test_sites_take_both_coordinates_or_none(collector: Collector, api: httpx.Client) -> None:
    admin = {"X-API-Key": collector.registry.create_key(Role.ADMIN)}
    half = {"id": "half", "name": "Half", "kind": "port", "lat": 51.0}
    answer = api.post("/v1/admin/sites", json=half, headers=admin)
    assert answer.status_code == 422
    assert "lat and lon go together" in answer.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"},
        {"start": "1677-01-01T00:00:00Z", "end": "1677-02-01T00:00:00Z"},
        {"start": "2262-05-01T00:00:00Z", "end": "2262-06-01T00:00:00Z"},
        {"start": "9999-01-01T00:00:00Z", "end": "9999-01-02T00:00:00Z"},
        {"start": "2026-01-01T00:00:00", "end": "2026-01-02T00:00:00Z"},
        {"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        {"cursor": encode_cursor([2**70, 1])},
        {"cursor": encode_cursor([-5, 0])},
        {"cursor": encode_cursor("text")},
    ],
)
def test_track_input_errors_are_the_callers(
    collector: Collector, api: httpx.Client, params: dict[str, str]
) -> None:
    key = carrier(collector)
    sid = api.post("/v1/shipments", json={"reference": "T", "epcs": ["3034257BF7194E4000001A85"]},
                   headers=key).json()["id"]  # fmt: skip
    answer = api.get(f"/v1/shipments/{sid}/track", params=params, headers=key)
    assert answer.status_code in (400, 422), answer.text
    detail = answer.json()["detail"]
    assert "SELECT" not in detail
    assert "InfluxDB" not in detail


def test_a_shipment_of_ten_thousand_epcs_gets_its_track(
    collector: Collector, api: httpx.Client, mosquitto: Broker
) -> None:
    key = carrier(collector)
    epcs = [f"3034257BF7194E40{n:08X}" for n in range(10_000)]
    made = api.post("/v1/shipments", json={"reference": "BIG", "epcs": epcs}, headers=key)
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    now = datetime.now(UTC)
    with FakeGateway("127.0.0.1", mosquitto.port, site="port-a", gateway="gate-1") as gate:
        for start in range(0, 2000, 500):
            gate.send_observations([item(e, at=now) for e in epcs[start : start + 500]])
        assert gate.wait_acked(60)
    window = {"start": (now - timedelta(hours=1)).isoformat(),
              "end": (now + timedelta(hours=1)).isoformat(), "limit": "1000"}  # fmt: skip
    started = time.perf_counter()
    track = api.get(f"/v1/shipments/{sid}/track", params=window, headers=key)
    took = time.perf_counter() - started
    assert track.status_code == 200, track.text
    assert len(track.json()["items"]) == 1000
    assert track.json()["next_cursor"] is not None
    print(f"track of a 10,000-EPC shipment, 2,000 seen: first page in {took:.3f} s")  # noqa: T201
    listed = api.get("/v1/shipments", headers=key).json()["items"]
    assert listed[0]["epc_count"] == 10_000
    assert "epcs" not in listed[0]


def test_metrics_and_health_can_live_on_a_port_of_their_own(
    collector_factory: Callable[..., Collector],
) -> None:
    own = collector_factory(api={"metrics_port": 9108})
    with serve_api(own) as main, serve_api(own, app="ops_app") as ops:
        assert httpx.get(f"{main}/metrics").status_code == 404
        assert httpx.get(f"{main}/healthz").status_code == 404
        assert httpx.get(f"{ops}/metrics").text.startswith("# HELP")
        assert httpx.get(f"{ops}/healthz").json()["status"] in ("ok", "degraded")
        assert httpx.get(f"{ops}/v1/shipments").status_code == 404
