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

from tagtrail_collector.store.lineproto import FieldValue, Point
from tagtrail_protocol import ObservationBatch, ObservationItem, PositionBatch, PositionFix, Status


def ns(moment: datetime) -> int:
    """Epoch nanoseconds of an aware datetime, exactly (no float rounding)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def observation_point(site: str, batch: ObservationBatch, item: ObservationItem) -> Point:
    fields: dict[str, FieldValue | None] = {
        "count": item.count,
        "first_seen_ns": ns(item.first_seen),
        "last_seen_ns": ns(item.last_seen),
        "dwell_s": (item.last_seen - item.first_seen).total_seconds(),
        "peak_rssi_dbm": item.peak_rssi_dbm,
        "antenna": item.antenna,
        "clock_synced": item.clock_synced,
        "boot_id": str(batch.boot_id),
        "seq": batch.seq,
    }
    if item.position is not None:
        fields |= {
            "lat": item.position.lat,
            "lon": item.position.lon,
            "fix_age_s": item.position.fix_age_s,
            "hdop": item.position.hdop,
        }
    if item.identity is not None:
        fields |= {"scheme": item.identity.scheme, "gs1_key": item.identity.gs1_key}
    tags = {
        "site": site,
        "gateway": batch.gateway,
        "read_point": item.read_point,
        "event": item.event.value,
        "epc": item.epc,
    }
    return Point.make("observation", tags, fields, ns(item.event_time))


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


def batch_points(site: str, batch: ObservationBatch | PositionBatch) -> list[Point]:
    if isinstance(batch, ObservationBatch):
        return [observation_point(site, batch, item) for item in batch.items]
    return [position_point(site, batch, fix) for fix in batch.fixes]
