"""Collector fixtures: an in-process collector on the real broker, InfluxDB and a SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tagtrail_collector.config import CollectorConfig
from tagtrail_collector.service import Collector
from tagtrail_testbed.api import serve_api
from tagtrail_testbed.collector import collector_sections
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker


def make_config(
    broker: Broker, influx: InfluxServer, db: str, registry: Path, **sections: Any
) -> CollectorConfig:
    return CollectorConfig(**collector_sections(broker, influx, db, registry, **sections))


@pytest.fixture
def collector_factory(
    mosquitto: Broker, influxdb: tuple[InfluxServer, str], tmp_path: Path
) -> Iterator[Callable[..., Collector]]:
    server, db = influxdb
    started: list[Collector] = []

    def start(*, broker: Broker | None = None, **sections: Any) -> Collector:
        registry = sections.pop("registry_path", tmp_path / "registry.db")
        collector = Collector(make_config(broker or mosquitto, server, db, registry, **sections))
        collector.start()
        started.append(collector)
        # Messages published before the collector's subscription is granted go nowhere.
        assert collector.subscriber.subscribed.wait(10), "collector did not subscribe"
        return collector

    yield start
    for collector in started:
        collector.stop()


@pytest.fixture
def api(collector: Collector) -> Iterator[httpx.Client]:
    """An HTTP client on the module's ``collector`` fixture, served by a real uvicorn."""
    with serve_api(collector) as base_url, httpx.Client(base_url=base_url, timeout=10) as client:
        yield client
