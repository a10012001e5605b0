"""Received MQTT messages -> typed work for the stores (pure: no I/O). How the work is stored
(InfluxDB lines, registry rows) is the stores' business, not decoding's.

A payload that does not decode becomes a ``Reject`` carrying the topic, a stable reason code and
the raw bytes, for the dead-letter table; nothing of it is applied. Of a payload over the size
limit only the first 64 KiB are kept, so that no sender can fill the registry with one message.

An event, fix or status stamped further ahead of the collector's clock than ``max_ahead_ns`` (a
gateway clock that jumped) is quarantined: kept as a dead letter (reason ``clock_ahead``, or
``clock_ahead_unsynced`` when the gateway said its clock was not synchronised), counted, and
neither stored in the series nor applied to any projection, where it would pin a shipment to a
time no later sighting can beat. The rest of its batch goes on, and the batch is acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

from tagtrail_collector.ingest.subscriber import Received
from tagtrail_collector.store.registry.records import GatewayPosition, NewDeadLetter, Sighting
from tagtrail_collector.store.series.points import ns
from tagtrail_protocol import (
    MAX_SEQ,
    Codec,
    Kind,
    ObservationBatch,
    ObservationItem,
    Ping,
    PositionBatch,
    PositionFix,
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
    batch: ObservationBatch | PositionBatch
    """the batch as stored (without what was quarantined)"""
    sightings: tuple[Sighting, ...] = ()
    positions: tuple[GatewayPosition, ...] = ()
    quarantined: tuple[NewDeadLetter, ...] = ()

    @property
    def size(self) -> int:
        """Points this batch writes."""
        b = self.batch
        return len(b.items) if isinstance(b, ObservationBatch) else len(b.fixes)


@dataclass(frozen=True, slots=True)
class StatusWork:
    topic: Topic
    status: Status


@dataclass(frozen=True, slots=True)
class PingWork:
    """A gateway's ping, answered once everything received before it is stored."""

    topic: Topic
    ping: Ping


Reject = NewDeadLetter
"""A payload that failed decoding, for the dead-letter table."""


REFUSED_FOR: Final = frozenset({"invalid", "malformed"})
"""Reasons no collector upgrade or setting can change: such a batch is rejected back. A batch
over ``max_payload_bytes`` or of a newer protocol major is not (a bigger limit or an upgraded
collector will store it): its gateway keeps it and sends it again."""


@dataclass(frozen=True, slots=True)
class RefusedBatch:
    """A gateway's batch that can never be stored, as bytes that do not decode whatever the
    tries, but that still name their (boot id, sequence): dead-lettered (whole: such a payload
    is under the size limit), and answered with an ack that rejects it, so the gateway drops it
    (counted) instead of sending it for ever."""

    topic: Topic
    boot_id: UUID
    seq: int
    letter: NewDeadLetter


Work = BatchWork | StatusWork | PingWork | Reject | RefusedBatch


def decode(
    received: Received, codec: Codec, read_point_name: ReadPointName, *, max_ahead_ns: int
) -> Work:
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
        letter = Reject(received.topic, gateway, exc.reason, detail, payload)
        return _refused(received, letter, codec) or letter
    # One datetime per message; entries are compared as they were decoded (no per-item ns()).
    latest = datetime.fromtimestamp((received.received_ns + max_ahead_ns) / 1e9, UTC)
    if isinstance(message, Status):
        if message.time > latest:
            synced = message.clock is None or message.clock.synced
            return _ahead(received, message, message.time, synced=synced)
        return StatusWork(topic, message)
    if isinstance(message, ObservationBatch | PositionBatch):
        return _batch(topic, *_quarantine(message, received, latest), read_point_name)
    if isinstance(message, Ping):
        return PingWork(topic, message)
    return Reject(
        received.topic, gateway, "topic_mismatch", "acks are not accepted", received.payload
    )


def _refused(received: Received, letter: NewDeadLetter, codec: Codec) -> RefusedBatch | None:
    """The refusal of a batch whose JSON names its gateway, boot id and sequence, if it does."""
    if letter.reason not in REFUSED_FOR:
        return None
    try:
        topic = Topic.parse(received.topic)
    except ProtocolError:
        return None
    if topic.kind not in (Kind.OBS, Kind.POS):
        return None
    obj = codec.peek(received.payload)
    seq = obj.get("seq")
    if obj.get("gateway") != topic.gateway or type(seq) is not int or not 0 <= seq <= MAX_SEQ:
        return None
    try:
        boot_id = UUID(str(obj.get("boot_id")))
    except ValueError:
        return None
    return RefusedBatch(topic, boot_id, seq, letter)


def _quarantine(
    batch: ObservationBatch | PositionBatch, received: Received, latest: datetime
) -> tuple[ObservationBatch | PositionBatch, tuple[NewDeadLetter, ...]]:
    """The batch without what is stamped after ``latest``, and that as dead letters."""
    stamped: list[tuple[ObservationItem | PositionFix, datetime]]
    if isinstance(batch, ObservationBatch):
        stamped = [(item, item.event_time) for item in batch.items]
    else:
        stamped = [(fix, fix.time) for fix in batch.fixes]
    ahead = [(entry, when) for entry, when in stamped if when > latest]
    if not ahead:
        return batch, ()
    letters = tuple(_ahead(received, e, when, synced=e.clock_synced) for e, when in ahead)
    kept = tuple(entry for entry, when in stamped if when <= latest)
    field = "items" if isinstance(batch, ObservationBatch) else "fixes"
    return batch.model_copy(update={field: kept}), letters


def _ahead(
    received: Received,
    entry: ObservationItem | PositionFix | Status,
    when: datetime,
    *,
    synced: bool,
) -> NewDeadLetter:
    """A dead letter for ``entry``, stamped ``when``: too far ahead of the collector."""
    what = {ObservationItem: "event", PositionFix: "fix", Status: "status"}[type(entry)]
    ahead_s = (ns(when) - received.received_ns) / 1e9
    reason = "clock_ahead" if synced else "clock_ahead_unsynced"
    detail = (
        f"{what} stamped {when.isoformat()}, {ahead_s:.0f} s ahead of the collector's clock"
        f" (clock_synced={str(synced).lower()}); kept here, not applied"
    )
    payload = entry.model_dump_json(exclude_none=True).encode()
    gateway = Topic.parse(received.topic).gateway
    return NewDeadLetter(received.topic, gateway, reason, detail, payload)


def _batch(
    topic: Topic,
    batch: ObservationBatch | PositionBatch,
    quarantined: tuple[NewDeadLetter, ...],
    read_point_name: ReadPointName,
) -> BatchWork:
    sent_at = ns(batch.sent_at)
    if isinstance(batch, PositionBatch):
        positions = tuple(
            GatewayPosition(
                batch.gateway, ns(f.time), f.lat, f.lon, f.hdop, f.speed_mps, f.course_deg
            )
            for f in batch.fixes
        )
        return BatchWork(
            topic, batch.boot_id, batch.seq, sent_at, batch, positions=positions,
            quarantined=quarantined,
        )  # fmt: skip
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
    return BatchWork(
        topic, batch.boot_id, batch.seq, sent_at, batch, sightings=sightings,
        quarantined=quarantined,
    )  # fmt: skip


def _sscc(scheme: str, gs1_key: str | None) -> str | None:
    return gs1_key if scheme.startswith("sscc") and gs1_key else None
