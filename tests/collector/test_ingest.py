"""Ingest against the real broker and InfluxDB: store, then ack; replays change nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from tagtrail_collector.service import Collector
from tagtrail_protocol import EventKind, ObservationBatch, ObservationItem
from tagtrail_testbed.gateway import T0, FakeGateway, item
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker
from tagtrail_testbed.waiting import wait_for


def test_a_batch_is_stored_then_acked_and_a_replay_changes_nothing(
    collector_factory: Callable[..., Collector],
    mosquitto: Broker,
    influxdb: tuple[InfluxServer, str],
) -> None:
    server, db = influxdb
    collector = collector_factory()
    epcs = [f"30340000000000000000{i:04X}" for i in range(50)]
    with FakeGateway("127.0.0.1", mosquitto.port, site="port-a", gateway="gate-1") as gw:
        items = [item(epc, at=T0 + timedelta(milliseconds=i)) for i, epc in enumerate(epcs)]
        # Two tags in the same millisecond at one read point: both must be kept.
        items.append(item("3034AAAA0000000000000001", at=T0))
        seq = gw.send_observations(items)
        assert gw.wait_acked(30)
        assert seq in gw.acked
        assert server.count(db) == 51
        gw.resend_pending()
        gw.publish_raw("obs", gw.codec.encode(_replay(gw, items, seq)))
        assert wait_for(lambda: gw.ack_messages >= 2)
    assert server.count(db) == 51
    registry_epcs = set(epcs)
    assert registry_epcs <= _located(collector)
    assert collector.dead_letters.counts() == {}


def _replay(gw: FakeGateway, items: list[ObservationItem], seq: int) -> ObservationBatch:
    return ObservationBatch(
        gateway=gw.topic.gateway, boot_id=gw.boot_id, seq=seq, sent_at=T0, items=tuple(items)
    )


def _located(collector: Collector) -> set[str]:
    from sqlalchemy import select  # noqa: PLC0415

    from tagtrail_collector.store.registry import schema  # noqa: PLC0415

    with collector.engine.connect() as conn:
        return set(conn.scalars(select(schema.tag_locations.c.epc)))


def test_malformed_payloads_are_dead_lettered_and_ingest_goes_on(
    collector_factory: Callable[..., Collector],
    mosquitto: Broker,
    influxdb: tuple[InfluxServer, str],
) -> None:
    server, db = influxdb
    collector = collector_factory()
    with FakeGateway("127.0.0.1", mosquitto.port, site="port-a", gateway="gate-2") as gw:
        garbage = [b"", b"{", b"[]", b'{"v":"9.0","kind":"obs"}', b"\x78\x9c\x00", b"null"]
        for payload in garbage:
            gw.publish_raw("obs", payload)
        gw.publish_raw("pos", b'{"v":"1.0","kind":"obs"}')
        seq = gw.send_observations([item("3034BBBB0000000000000001", event=EventKind.DEPART)])
        assert gw.wait_acked(30)
        assert seq in gw.acked
    assert wait_for(lambda: sum(collector.dead_letters.counts().values()) == 7)
    counts = collector.dead_letters.counts()
    assert counts["malformed"] >= 3
    assert counts["bad_version"] == 1
    letters = collector.dead_letters.list(limit=10)
    assert {letter.payload for letter in letters} >= set(garbage)
    assert server.count(db) == 1
