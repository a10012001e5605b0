"""Publisher choices that need no broker: the live/backlog lanes, re-sends past the window."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from tagtrail_edge.config import MqttSection, OutboxSection
from tagtrail_edge.pipeline.outbox import Outbox
from tagtrail_edge.pipeline.publish import Publisher
from tagtrail_protocol import GatewayState, Kind, ObservationItem, Status
from tagtrail_testbed.samples import obs_dict


def publisher(tmp_path: Path) -> Publisher:
    outbox = Outbox.open(OutboxSection(path=tmp_path / "o.db"))
    boot = uuid.uuid4()

    def status(state: GatewayState) -> Status:
        return Status(gateway="gate-1", boot_id=boot, time=datetime.now(UTC), state=state)

    return Publisher(settings=MqttSection(), site="port-rtm", gateway="gate-1", boot_id=boot,
                     outbox=outbox, status=status)  # fmt: skip


def test_live_data_is_not_starved_by_a_backlog(tmp_path: Path) -> None:
    p = publisher(tmp_path)
    backlog = list(range(1, 1001))
    first = p._alternate(backlog[:4], backlog[::-1][:4])
    second = p._alternate(backlog[:4], backlog[::-1][:4])
    assert first[:2] == [1000, 1]  # newest, oldest...
    assert second[:2] == [1, 1000]  # ...and the lanes take turns leading
    assert sorted(first) == [1, 2, 3, 4, 997, 998, 999, 1000]
    assert sorted(p._alternate([1, 2], [2, 1])) == [1, 2]  # a short outbox: each batch once


class _Sent:
    """What paho's publish returns, for a publisher that is not connected to anything."""

    rc = 0

    def is_published(self) -> bool:
        return True


def sending(tmp_path: Path, *, window: int, resend_after_s: float) -> Publisher:
    p = publisher(tmp_path)
    p.settings = MqttSection(window=window, resend_after_s=resend_after_s, batch_max_items=1)

    def publish(topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> _Sent:
        return _Sent()

    p._link.publish = publish  # type: ignore[method-assign]
    assert isinstance(p.outbox, Outbox)
    p.outbox.commit([(Kind.OBS, _body(n)) for n in range(20)])
    return p


def _body(n: int) -> str:
    item = {**obs_dict()["items"][0], "mono_ns": n}
    return ObservationItem.model_validate(item).model_dump_json(exclude_none=True)


def test_a_full_window_whose_acks_never_come_is_sent_again(tmp_path: Path) -> None:
    p = sending(tmp_path, window=4, resend_after_s=10.0)
    p.pump(1000.0)
    assert (p.sent, p.inflight, p.resent) == (4, 4, 0)  # the window is full
    p.pump(1005.0)
    assert p.sent == 4  # nothing new while the window is full, nothing due yet
    p.pump(1010.0)
    assert (p.sent, p.resent, p.inflight) == (8, 4, 4)  # the same four again, window or not
    assert p.oldest_unacked_age_s(1010.0) == 10.0
    p.pump(1025.0)
    assert p.resent == 4  # the second wait doubles: 20 s
    p.pump(1030.0)
    assert p.resent == 8


def test_an_ack_after_silence_hurries_what_waited(tmp_path: Path) -> None:
    p = sending(tmp_path, window=4, resend_after_s=10.0)
    p.pump(1000.0)
    p.pump(1010.0)  # re-sent; next due at 1030
    first = p.outbox.batch(min(p._inflight))
    assert first is not None
    p.outbox.acknowledge(first.boot_id, [first.seq])
    p._forget(first.boot_id, first.seq)
    p._hurry(1021.0)  # the collector answers again: 11 s since the last send
    p.pump(1021.0)
    assert p.resent == 4 + 3  # the other three went again at once, plus one new batch
    assert p.inflight == 4


def test_a_batch_dropped_while_in_flight_leaves_the_window(tmp_path: Path) -> None:
    p = sending(tmp_path, window=4, resend_after_s=10.0)
    p.pump(1000.0)
    assert p.inflight == 4
    assert isinstance(p.outbox, Outbox)
    p.outbox.purge()  # e.g. the technician purged the outbox, or retention ran
    p.pump(1010.0)  # their re-sends find nothing: they leave the window
    assert p.inflight == 0
