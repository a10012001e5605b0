"""Wire messages -> InfluxDB points: the measurement, tag and field design.

Measurements (see docs/storage.md for the cardinality reasoning):

``observation``  tags site, gateway, read_point, event, epc; time = the event's time
                 (first sighting for arrive, last sighting otherwise). The EPC is a tag because
                 a point is identified by series + time: with the EPC as a field, two tags read
                 in the same millisecond at one read point would overwrite each other.
``position``     tags site, gateway; time = the fix's time.
``gateway_status`` tags site, gateway; time = the status's time.
``ingest``       tags site, gateway, kind; one point per stored batch: ``items`` and ``lag_s``
                 (from the gateway sending it to the collector storing it); time = when sent.

A replayed batch yields the very same points, so rewriting it changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from tagtrail_collector.store.series.lineproto import FieldValue, Point, field_value
from tagtrail_protocol import (
    EventKind,
    ObservationBatch,
    ObservationItem,
    PositionBatch,
    PositionFix,
    Status,
)


def ns(moment: datetime) -> int:
    """Epoch nanoseconds of an aware datetime, exactly (no float rounding)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def observation_lines(site: str, batch: ObservationBatch) -> list[str]:
    """The batch's ``observation`` points as lines, formatted directly (the ingest hot path).

    The text is exactly what ``Point.make(...).line()`` gives for the same tags and fields
    (sorted keys, None fields left out). No tag needs escaping: site, gateway and read point are
    validated identifiers, the EPC is hex and the event an enum value.
    """
    boot = f'boot_id="{batch.boot_id}"'
    seq = f"seq={batch.seq}i"
    head = f",gateway={batch.gateway},read_point="
    return [_observation_line(site, head, boot, seq, item) for item in batch.items]


def _observation_line(site: str, head: str, boot: str, seq: str, item: ObservationItem) -> str:
    first, last = ns(item.first_seen), ns(item.last_seen)
    event = item.event.value
    fields = [
        f"antenna={item.antenna}i",
        boot,
        "clock_synced=true" if item.clock_synced else "clock_synced=false",
        f"count={item.count}i",
        f"dwell_s={(last - first) / 1_000_000_000!r}",
        f"first_seen_ns={first}i",
    ]
    position, identity = item.position, item.identity
    if position is not None:
        fields.append(f"fix_age_s={position.fix_age_s!r}")
    if identity is not None and identity.gs1_key is not None:
        fields.append(f"gs1_key={field_value(identity.gs1_key)}")
    if position is not None and position.hdop is not None:
        fields.append(f"hdop={position.hdop!r}")
    fields.append(f"last_seen_ns={last}i")
    if position is not None:
        fields.append(f"lat={position.lat!r},lon={position.lon!r}")
    if item.peak_rssi_dbm is not None:
        fields.append(f"peak_rssi_dbm={item.peak_rssi_dbm!r}")
    if identity is not None:
        fields.append(f"scheme={field_value(identity.scheme)}")
    fields.append(seq)
    when = first if item.event is EventKind.ARRIVE else last
    tags = f"observation,epc={item.epc},event={event}{head}{item.read_point},site={site}"
    return f"{tags} {','.join(fields)} {when}"


def position_point(site: str, batch: PositionBatch, fix: PositionFix) -> Point:
    fields: dict[str, FieldValue | None] = {
        "lat": fix.lat,
        "lon": fix.lon,
        "quality": fix.quality.value,
        "hdop": fix.hdop,
        "speed_mps": fix.speed_mps,
        "course_deg": fix.course_deg,
        "alt_m": fix.alt_m,
        "satellites": fix.satellites,
        "clock_synced": fix.clock_synced,
        "boot_id": str(batch.boot_id),
        "seq": batch.seq,
    }
    return Point.make("position", {"site": site, "gateway": batch.gateway}, fields, ns(fix.time))


def status_point(site: str, status: Status) -> Point:
    fields: dict[str, FieldValue | None] = {
        "state": status.state.value,
        "agent_version": status.agent_version,
    }
    if status.health is not None:
        health = status.health
        fields |= {
            "backlog_batches": health.backlog_batches,
            "backlog_items": health.backlog_items,
            "oldest_unsent_age_s": health.oldest_unsent_age_s,
            "outbox_bytes": health.outbox_bytes,
            "outbox_cap_bytes": health.outbox_cap_bytes,
            "drops": sum(health.drops.values()),
            "alerts": len(health.alerts),
        }
    if status.clock is not None:
        fields["clock_synced"] = status.clock.synced
    tags = {"site": site, "gateway": status.gateway}
    return Point.make("gateway_status", tags, fields, ns(status.time))


def ingest_point(
    site: str, gateway: str, kind: str, *, sent_ns: int, items: int, now_ns: int
) -> Point:
    """The collector's own record of storing one batch (a re-sent batch overwrites it)."""
    fields: dict[str, FieldValue | None] = {
        "items": items,
        "lag_s": round(max(0, now_ns - sent_ns) / 1e9, 3),
    }
    tags = {"site": site, "gateway": gateway, "kind": kind}
    return Point.make("ingest", tags, fields, sent_ns)


def batch_lines(site: str, batch: ObservationBatch | PositionBatch) -> list[str]:
    if isinstance(batch, ObservationBatch):
        return observation_lines(site, batch)
    return [position_point(site, batch, fix).line() for fix in batch.fixes]
