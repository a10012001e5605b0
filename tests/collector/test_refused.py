"""A batch the collector can never store is answered with a rejecting ack, not left to be sent
for ever: the real agent drops it, counts it by reason, and its outbox empties; the collector
keeps it as a dead letter. The rest of the stream is stored as usual."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tagtrail_collector.service import Collector
from tagtrail_edge.agent import Agent
from tagtrail_edge.clock import ClockProbe
from tagtrail_edge.config import EdgeConfig
from tagtrail_hardware.ascii import AsciiReaderSimulator
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_testbed.gateway import FakeGateway
from tagtrail_testbed.mosquitto import Broker


def test_a_batch_too_large_for_the_collector_is_rejected_and_dropped_by_the_agent(
    collector_factory: Callable[..., Collector], mosquitto: Broker, tmp_path: Path
) -> None:
    collector = collector_factory(ingest={"max_payload_bytes": 4096})
    config = EdgeConfig.model_validate({
        "gateway": {"id": "gate-9", "site": "port-a"},
        "mqtt": {"host": "127.0.0.1", "port": mosquitto.port, "compress_above": None,
                 "batch_max_items": 1000, "resend_after_s": 1.0, "status_interval_s": 1.0},
        "outbox": {"path": tmp_path / "outbox.db"},
        "smoothing": {"observe_count": 1, "observe_s": 0.0, "lost_s": 0.5},
        "readers": [{"name": "dock", "driver": "ascii", "path": "/dev/null"}],
    })  # fmt: skip
    with VirtualSerialPort() as port:
        reader = config.readers[0].model_copy(update={"path": port.device_path})
        config = config.model_copy(update={"readers": (reader,)})
        agent = Agent(config, clock=ClockProbe(forced=True))
        agent.start()
        try:
            now = time.time()
            many = [TagRead(f"3034257BF7194E40{n:08X}", 1, now, 0, -50.0) for n in range(60)]
            AsciiReaderSimulator(port).send(many)  # 60 arrivals in one batch: over 4 KiB
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not agent.outbox.stats().drops:
                time.sleep(0.1)
            stats = agent.outbox.stats()
        finally:
            agent.stop()
    assert stats.backlog_items == 0, "the agent still holds the refused batch"
    assert sum(n for reason, n in stats.drops.items() if reason.startswith("rejected-")) > 0
    assert any("too-large" in reason for reason in stats.drops), stats.drops
    letters = collector.dead_letters.list()
    assert {letter.reason for letter in letters} >= {"too_large"}
    assert all(letter.gateway_id == "gate-9" for letter in letters)


def test_garbage_that_names_no_batch_is_only_dead_lettered(
    collector_factory: Callable[..., Collector], mosquitto: Broker
) -> None:
    collector = collector_factory()
    with FakeGateway("127.0.0.1", mosquitto.port, site="port-a", gateway="gate-9") as gw:
        gw.publish_raw("obs", b'{"v":"1.2","kind":"obs","gateway":"gate-9","seq":"x"}')
        gw.publish_raw("obs", b"\x00\x01garbage")
        gw.publish_raw("obs", b'{"v":"1.2","kind":"obs","gateway":"gate-8","seq":3,'
                              b'"boot_id":"0b9a6c1e-4f57-4d2c-9c1a-8d3b2a1f0e11"}')  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and sum(collector.dead_letters.counts().values()) < 3:
            time.sleep(0.05)
        time.sleep(0.5)
        assert gw.ack_messages == 0  # nothing names one of this gateway's batches
    assert sum(collector.dead_letters.counts().values()) == 3
