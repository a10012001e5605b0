"""The HTTP API against its own OpenAPI document, driven by schemathesis.

Every operation gets generated requests, valid and invalid, over real HTTP to a real uvicorn
in front of a collector on the real broker, InfluxDB and a SQLite registry seeded with
carriers, sites, gateways, shipments and ingested sightings. No answer may be a 5xx, and
every answer must match the document: a documented status code, its media type, its schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tagtrail_collector.config import CollectorConfig
from tagtrail_collector.service import Collector
from tagtrail_collector.store.registry.records import Role, SiteKind
from tagtrail_testbed.api import serve_api
from tagtrail_testbed.collector import collector_sections
from tagtrail_testbed.gateway import T0, FakeGateway, fix, item
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker

SSCC = "106141412345678908"
EXAMPLES = 30  # per operation and mode
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


class LiveApi:
    def __init__(self, url: str, carrier_key: str, admin_key: str) -> None:
        self.url, self.carrier_key, self.admin_key = url, carrier_key, admin_key


@pytest.fixture(scope="module")
def live_api(
    mosquitto: Broker, influxdb_server: InfluxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApi]:
    db = f"openapi_{uuid.uuid4().hex[:8]}"
    influxdb_server.create_database(db)
    registry_path = tmp_path_factory.mktemp("openapi") / "registry.db"
    sections = collector_sections(mosquitto, influxdb_server, db, registry_path)
    collector = Collector(CollectorConfig(**sections))
    collector.start()
    assert collector.subscriber.subscribed.wait(10)
    try:
        keys = _seed(collector, mosquitto)
        with serve_api(collector) as url:
            yield LiveApi(url, *keys)
    finally:
        collector.stop()
        influxdb_server.drop_database(db)


def _seed(collector: Collector, broker: Broker) -> tuple[str, str]:
    registry = collector.registry
    registry.create_carrier("northwind", "Northwind Haulage")
    carrier_key = registry.create_key(Role.CARRIER, carrier_id="northwind")
    admin_key = registry.create_key(Role.ADMIN, label="schemathesis")
    registry.create_site(
        "port-a", name="Port A", kind=SiteKind.PORT, lat=51.95, lon=4.05, radius_m=500
    )
    registry.create_site("truck-7", name="Truck 7", kind=SiteKind.VEHICLE)
    registry.create_gateway("gate-1", site_id="port-a")
    registry.create_gateway("truck-7", site_id="truck-7", mobile=True)
    registry.set_read_point("gate-1", 1, name="gate-1-in", zone="gate")
    registry.create_shipment("northwind", reference="NW-1", epcs=["3034AAAA0000000000000001"])
    registry.create_shipment("northwind", reference="NW-2", sscc=SSCC)
    with (
        FakeGateway("127.0.0.1", broker.port, site="port-a", gateway="gate-1") as gate,
        FakeGateway("127.0.0.1", broker.port, site="truck-7", gateway="truck-7") as truck,
    ):
        gate.send_observations(
            [item("3034AAAA0000000000000001", at=T0 + timedelta(seconds=s)) for s in range(5)]
        )
        truck.send_fixes([fix(51.9, 4.1, at=T0 + timedelta(minutes=1))])
        assert gate.wait_acked(30)
        assert truck.wait_acked(30)
    return carrier_key, admin_key


def operations(url: str) -> list[Any]:
    schema: Any = schemathesis.openapi.from_url(f"{url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def fuzz(operation: Any, url: str, key: str, mode: GenerationMode) -> bool:
    """Run the checks on generated requests; False when the mode has nothing to generate."""

    @given(case=operation.as_strategy(generation_mode=mode, headers={"X-API-Key": key}))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.call_and_validate(base_url=url, checks=CHECKS)

    try:
        check()
    except Unsatisfiable:  # e.g. no invalid request exists for an endpoint without parameters
        return False
    return True


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_documented(live_api: LiveApi, mode: GenerationMode) -> None:
    found = operations(live_api.url)
    assert len(found) >= 20  # every route is in the document
    fuzzed = []
    for operation in found:
        admin = operation.path.startswith("/v1/admin")
        key = live_api.admin_key if admin else live_api.carrier_key
        if fuzz(operation, live_api.url, key, mode):
            fuzzed.append(operation.label)
    if mode is GenerationMode.POSITIVE:
        expected = [op.label for op in found]
    else:  # only query parameters and bodies have values that can be wrong
        expected = [op.label for op in found if _takes_query_or_body(op)]
    assert set(fuzzed) >= set(expected), f"not fuzzed: {set(expected) - set(fuzzed)}"
    assert "POST /v1/shipments" in fuzzed


def _takes_query_or_body(operation: Any) -> bool:
    return any(parameter.location in ("query", "body") for parameter in operation.iter_parameters())
