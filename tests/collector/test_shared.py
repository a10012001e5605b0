"""Two stateless collectors on one shared subscription split the load, each batch stored once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from tagtrail_collector.config import MqttSection
from tagtrail_collector.service import Collector
from tagtrail_testbed.collector import CollectorProcess, collector_sections
from tagtrail_testbed.gateway import T0, FakeGateway, item
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker


def stored(collector: Collector) -> float:
    total = 0.0
    for metric in collector.metrics.stored.collect():
        total += sum(s.value for s in metric.samples if s.name.endswith("_total"))
    return total


def test_two_instances_store_every_batch_exactly_once(
    collector_factory: Callable[..., Collector],
    mosquitto: Broker,
    influxdb: tuple[InfluxServer, str],
    tmp_path: Path,
) -> None:
    server, db = influxdb
    shared = {"share_group": "ingest"}
    first = collector_factory(mqtt=shared, registry_path=tmp_path / "shared.db")
    second = collector_factory(mqtt=shared, registry_path=tmp_path / "shared.db")
    batches, per_batch = 120, 10
    with FakeGateway("127.0.0.1", mosquitto.port, site="port-a", gateway="gate-9") as gw:
        for b in range(batches):
            at = T0 + timedelta(seconds=b)
            gw.send_observations([item(f"3034{b:010X}{i:010X}", at=at) for i in range(per_batch)])
        assert gw.wait_acked(60)
    total = batches * per_batch
    body = server.query('SELECT count("count") FROM "observation"', db=db)
    assert body["results"][0]["series"][0]["values"][0][1] == total
    # Each batch went to one instance only: the stored counts add up to the total.
    assert stored(first) + stored(second) == total
    assert stored(first) > 0
    assert stored(second) > 0


def test_a_shared_member_killed_for_good_does_not_keep_a_share_for_ever(
    broker_factory: Callable[..., Broker], influxdb: tuple[InfluxServer, str], tmp_path: Path
) -> None:
    """The broker hands a share of the batches to a stopped member's session until it expires:
    with a short expiry (a minute by default in a group; 10 s here) the gateways' re-sends reach
    the member that is left, and every batch is stored."""
    server, db = influxdb
    broker = broker_factory()
    shared = {"share_group": "ingest", "session_expiry_s": 10, "keepalive_s": 5}
    sections = collector_sections(broker, server, db, tmp_path / "shared.db", mqtt=shared)
    survivor = CollectorProcess(sections)
    doomed = CollectorProcess({**sections, "mqtt": {**sections["mqtt"], "client_id": "doomed"}})
    try:
        doomed.kill()  # gone for good, its session left behind
        with FakeGateway("127.0.0.1", broker.port, site="port-a", gateway="gate-8") as gw:
            for b in range(40):
                gw.send_observations([item(f"3034{b:010X}{0:010X}", at=T0 + timedelta(seconds=b))])
            assert gw.wait_acked(60, resend_every=3.0)
        body = server.query(
            'SELECT count("count") FROM "observation" WHERE gateway = \'gate-8\'', db=db
        )
        assert body["results"][0]["series"][0]["values"][0][1] == 40
    finally:
        survivor.close()
        doomed.close()


def test_a_shared_group_keeps_sessions_short_by_default() -> None:
    assert MqttSection().session_expiry == 86_400
    assert MqttSection(share_group="ingest").session_expiry == 60
    assert MqttSection(share_group="ingest", session_expiry_s=5).session_expiry == 5
