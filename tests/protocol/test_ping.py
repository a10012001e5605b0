"""Protocol 1.1's ping and its answer, an ack with ``pong`` and no sequences."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tagtrail_protocol import Ack, Codec, Kind, Ping, Topic, TopicMismatch

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def test_a_ping_travels_on_its_own_topic_and_decodes_there() -> None:
    codec = Codec()
    ping = Ping(gateway="gate-1", boot_id=uuid.uuid4(), time=NOW)
    topic = Topic("port-a", "gate-1", Kind.PING)
    assert str(topic) == "tagtrail/v1/port-a/gate-1/ping"
    assert codec.decode_for(topic, codec.encode(ping)) == ping
    with pytest.raises(TopicMismatch):  # a ping is not an observation batch
        codec.decode_for(topic.sibling(Kind.OBS), codec.encode(ping))


def test_a_pong_names_no_sequence_and_an_ack_names_at_least_one() -> None:
    codec = Codec()
    session = uuid.uuid4()
    pong = Ack(gateway="gate-1", boot_id=session, time=NOW, pong=True)
    assert codec.decode(codec.encode(pong)) == pong
    with pytest.raises(ValueError, match="names no sequence"):
        Ack(gateway="gate-1", boot_id=session, time=NOW, pong=True, stored=(1,))
    with pytest.raises(ValueError, match="at least one stored or rejected"):
        Ack(gateway="gate-1", boot_id=session, time=NOW)


def test_a_1_0_ack_still_decodes() -> None:
    old = (
        b'{"v":"1.0","kind":"ack","gateway":"gate-1","boot_id":"'
        + str(uuid.uuid4()).encode()
        + b'","time":"2026-11-22T08:00:00Z","stored":[3]}'
    )
    ack = Codec().decode(old)
    assert isinstance(ack, Ack)
    assert (ack.stored, ack.pong) == ((3,), False)
