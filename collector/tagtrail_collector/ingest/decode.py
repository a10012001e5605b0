"""Received MQTT messages -> typed work for the store (pure: no I/O).

A payload that does not decode becomes a ``Reject`` carrying the topic, a stable reason code and
the raw bytes, for the dead-letter table; nothing of it is applied. Of a payload over the size
limit only the first 64 KiB are kept, so that no sender can fill the registry with one message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from tagtrail_collector.ingest.subscriber import Received
from tagtrail_collector.store.points import batch_lines, ns, status_point
from tagtrail_collector.store.projection import Sighting
from tagtrail_collector.store.records import GatewayPosition, NewDeadLetter
from tagtrail_protocol import (
    Codec,
    ObservationBatch,
    Ping,
    PositionBatch,
    ProtocolError,
    Status,
    Topic,
)

KEEP_OF_TOO_LARGE: Final = 64 * 1024

ReadPointName = Callable[[str, int], str | None]
"""(gateway, antenna) -> the registered read point name, if any."""


@dataclass(frozen=True, slots=True)
class BatchWork:
    """A decoded obs/pos batch: what to store, and the ack it earns once stored."""

    topic: Topic
    boot_id: UUID
    seq: int
    sent_at_ns: int
    lines: tuple[str, ...]
    sightings: tuple[Sighting, ...] = ()
    positions: tuple[GatewayPosition, ...] = ()


@dataclass(frozen=True, slots=True)
class StatusWork:
    topic: Topic
    status: Status
    line: str


@dataclass(frozen=True, slots=True)
class PingWork:
    """A gateway's ping, answered once everything received before it is stored."""

    topic: Topic
    ping: Ping


Reject = NewDeadLetter
"""A payload that failed decoding, for the dead-letter table."""

Work = BatchWork | StatusWork | PingWork | Reject


def decode(received: Received, codec: Codec, read_point_name: ReadPointName) -> Work:
    gateway = None
    try:
        topic = Topic.parse(received.topic)
        gateway = topic.gateway
        message = codec.decode_for(topic, received.payload)
    except ProtocolError as exc:
        payload, detail = received.payload, exc.detail
        if exc.reason == "too_large" and len(payload) > KEEP_OF_TOO_LARGE:
            payload = payload[:KEEP_OF_TOO_LARGE]
            detail = f"{detail}; its first {KEEP_OF_TOO_LARGE} bytes are kept"
        return Reject(received.topic, gateway, exc.reason, detail, payload)
    if isinstance(message, Status):
        return StatusWork(topic, message, status_point(topic.site, message).line())
    if isinstance(message, ObservationBatch | PositionBatch):
        return _batch(topic, message, read_point_name)
    if isinstance(message, Ping):
        return PingWork(topic, message)
    return Reject(
        received.topic, gateway, "topic_mismatch", "acks are not accepted", received.payload
    )


def _batch(
    topic: Topic, batch: ObservationBatch | PositionBatch, read_point_name: ReadPointName
) -> BatchWork:
    lines = tuple(batch_lines(topic.site, batch))
    sent_at = ns(batch.sent_at)
    if isinstance(batch, PositionBatch):
        positions = tuple(
            GatewayPosition(
                batch.gateway, ns(f.time), f.lat, f.lon, f.hdop, f.speed_mps, f.course_deg
            )
            for f in batch.fixes
        )
        return BatchWork(topic, batch.boot_id, batch.seq, sent_at, lines, positions=positions)
    sightings = tuple(
        Sighting(
            epc=item.epc,
            time_ns=ns(item.event_time),
            site=topic.site,
            gateway=batch.gateway,
            read_point=read_point_name(batch.gateway, item.antenna) or item.read_point,
            event=item.event.value,
            lat=item.position.lat if item.position else None,
            lon=item.position.lon if item.position else None,
            fix_age_s=item.position.fix_age_s if item.position else None,
            sscc=_sscc(item.identity.scheme, item.identity.gs1_key) if item.identity else None,
        )
        for item in batch.items
    )
    return BatchWork(topic, batch.boot_id, batch.seq, sent_at, lines, sightings=sightings)


def _sscc(scheme: str, gs1_key: str | None) -> str | None:
    return gs1_key if scheme.startswith("sscc") and gs1_key else None
