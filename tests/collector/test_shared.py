"""Two stateless collectors on one shared subscription split the load, each batch stored once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from tagtrail_collector.service import Collector
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
