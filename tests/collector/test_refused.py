"""Batches the collector cannot store, through the real broker.

A batch that can never be stored (invalid: no collector will ever accept it) is dead-lettered
whole and answered with a rejecting ack, so its gateway stops sending it. A batch that a setting
or an upgrade could still store (over the collector's size limit) is not rejected: the real agent
keeps it and sends it again, and once the operator raises the limit it is stored, nothing lost.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from tagtrail_collector.service import Collector
from tagtrail_edge.agent import Agent
from tagtrail_edge.config import EdgeConfig
from tagtrail_edge.pipeline.enrich import ClockProbe
from tagtrail_hardware.ascii import AsciiReaderSimulator
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_testbed.gateway import FakeGateway, item
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker


def test_an_invalid_batch_is_rejected_back_and_kept_whole(
    collector_factory: Callable[..., Collector], mosquitto: Broker
) -> None:
    collector = collector_factory()
    with FakeGateway("127.0.0.1", mosquitto.port, site="port-a", gateway="gate-9") as gw:
        good = item("3034257BF7194E4000001A85").model_dump(mode="json", exclude_none=True)
        bad = {**good, "epc": "not hex"}
        seq = gw.next_seq()
        payload = json.dumps({
            "v": "1.2", "kind": "obs", "gateway": "gate-9", "boot_id": str(gw.boot_id),
            "seq": seq, "sent_at": "2026-11-30T00:00:00Z", "items": [good, bad],
        }).encode()  # fmt: skip
        gw.send_payload(seq, gw.topic.kind, payload)
        assert gw.wait_acked(30)  # nothing left pending: it was answered
        assert gw.rejected == {seq: "invalid"}
        assert seq not in gw.acked
    (letter,) = collector.dead_letters.list()
    assert (letter.reason, letter.gateway_id, letter.payload) == ("invalid", "gate-9", payload)


def test_garbage_that_names_no_batch_is_only_dead_lettered(
    collector_factory: Callable[..., Collector], mosquitto: Broker
) -> None:
    collector = collector_factory()
    with FakeGateway("127.0.0.1", mosquitto.port, site="port-a", gateway="gate-9") as gw:
        gw.publish_raw("obs", b'{"v":"1.2","kind":"obs","gateway":"gate-9","seq":"x"}')
        gw.publish_raw("obs", b"\x00\x01garbage")
        gw.publish_raw("obs", b'{"v":"1.2","kind":"obs","gateway":"gate-8","seq":3,'
                              b'"boot_id":"0b9a6c1e-4f57-4d2c-9c1a-8d3b2a1f0e11"}')  # fmt: skip
        gw.publish_raw("obs", b'{"v":"9.0","kind":"obs","gateway":"gate-9","seq":4,'
                              b'"boot_id":"0b9a6c1e-4f57-4d2c-9c1a-8d3b2a1f0e11"}')  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and sum(collector.dead_letters.counts().values()) < 4:
            time.sleep(0.05)
        time.sleep(0.5)
        assert gw.ack_messages == 0  # none names a batch that can never be stored
    assert sum(collector.dead_letters.counts().values()) == 4


def test_a_batch_over_the_limit_is_kept_by_the_agent_until_the_limit_is_raised(
    mosquitto: Broker, influxdb: tuple[InfluxServer, str], tmp_path: Path,
    collector_factory: Callable[..., Collector],
) -> None:  # fmt: skip
    small = collector_factory(ingest={"max_payload_bytes": 4096}, registry_path=tmp_path / "r.db")
    config = EdgeConfig.model_validate({
        "gateway": {"id": "gate-9", "site": "port-a"},
        "mqtt": {"host": "127.0.0.1", "port": mosquitto.port, "compress_above": None,
                 "batch_max_items": 1000, "resend_after_s": 1.0, "status_interval_s": 1.0},
        "outbox": {"path": tmp_path / "outbox.db"},
        "smoothing": {"observe_count": 1, "observe_s": 0.0, "lost_s": 60.0},
        "readers": [{"name": "dock", "driver": "ascii", "path": "/dev/null"}],
    })  # fmt: skip
    with VirtualSerialPort() as port:
        reader = config.readers[0].model_copy(update={"path": port.device_path})
        agent = Agent(
            config.model_copy(update={"readers": (reader,)}), clock=ClockProbe(forced=True)
        )
        agent.start()
        try:
            now = time.time()
            many = [TagRead(f"3034257BF7194E40{n:08X}", 1, now, 0, -50.0) for n in range(60)]
            AsciiReaderSimulator(port).send(many)  # 60 arrivals in one batch: over 4 KiB
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and agent.publisher.resent < 2:
                time.sleep(0.1)
            assert agent.publisher.resent >= 2  # sent, not acked, sent again: kept
            assert agent.outbox.stats().backlog_items == 60
            assert agent.outbox.stats().drops == {}
            assert {x.reason for x in small.dead_letters.list()} == {"too_large"}
            small.stop()  # the operator raises the limit and restarts the collector
            collector_factory(registry_path=tmp_path / "r.db")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and agent.outbox.stats().backlog_items:
                time.sleep(0.2)
            assert agent.outbox.stats().backlog_items == 0
        finally:
            agent.stop()
    server, db = influxdb
    stored = server.query(
        'SELECT count("count") FROM "observation" WHERE gateway = \'gate-9\'', db=db
    )
    assert stored["results"][0]["series"][0]["values"][0][1] == 60
