"""A collector stopped while InfluxDB is away says what it leaves unacknowledged (its gateways
send it again; the operator should still know), and a restarted one stores it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tagtrail_collector.service import Collector
from tagtrail_testbed.gateway import FakeGateway, item
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker
from tagtrail_testbed.waiting import wait_for

from .conftest import make_config


def test_stopping_under_load_says_what_is_left_unacked(
    mosquitto: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with InfluxServer() as influx:
        config = make_config(mosquitto, influx, "shutdown", tmp_path / "registry.db")
        first = Collector(config)
        first.start()
        assert first.subscriber.subscribed.wait(10)
        influx.stop()  # the write under way cannot finish
        with FakeGateway("127.0.0.1", mosquitto.port, site="port-a", gateway="gate-1") as gw:
            for n in range(30):
                gw.send_observations([item(f"3034257BF7194E40{n:08X}")])
            assert wait_for(
                lambda: first.subscriber.messages >= 30, 10
            )  # all reached the collector
            with caplog.at_level(logging.WARNING, logger="tagtrail_collector"):
                first.stop(timeout_s=3.0)
            said = " ".join(r.getMessage() for r in caplog.records)
            assert "unacknowledged" in said
            assert "their gateways send them again" in said
            assert gw.in_flight == 30  # nothing was acknowledged
            influx.start()
            again = Collector(config)
            again.start()
            try:
                assert gw.wait_acked(60)  # re-sent, stored, acknowledged
                assert influx.count("shutdown") == 30
            finally:
                again.stop()
