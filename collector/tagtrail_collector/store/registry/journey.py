"""The journey's tables: what the journey projection reads and writes, and what the API reads
(milestones, status history, lane durations for the ETA)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, tuple_, union

from tagtrail_collector.store.registry import schema
from tagtrail_collector.store.registry.db import reader, translated, upsert

_CHUNK: Final = 500
LANE_HISTORY: Final = 500  # the newest transfers of a lane that an ETA rests on


@dataclass(frozen=True, slots=True)
class StoredMilestone:
    id: str
    shipment_id: str
    time_ns: int
    seq: int
    type: str
    site_id: str | None
    country: str | None
    source: str
    biz_step: str
    disposition: str
    gateway_id: str | None
    detail: dict[str, Any]
    recorded_at: int


@dataclass(frozen=True, slots=True)
class StatusChange:
    time_ns: int
    from_status: str
    to_status: str
    cause: str
    manual: bool
    recorded_at: int


@dataclass(frozen=True, slots=True)
class GeofenceEvent:
    gateway_id: str
    kind: str
    time_ns: int
    site_id: str | None
    from_country: str | None
    to_country: str | None
    source: str
    accuracy_s: float


# -- what changed since the journey projection last looked ----------------------------------


def mark(conn: Connection, name: str) -> int:
    value = conn.scalar(
        select(schema.journey_marks.c.value).where(schema.journey_marks.c.name == name)
    )
    return int(value or 0)


def set_mark(conn: Connection, name: str, value: int) -> None:
    """Move a mark forward (never back: the greater value wins)."""
    statement = upsert(conn, schema.journey_marks, "name", newer=lambda ex, t: ex.value > t.value)
    conn.execute(statement, {"name": name, "value": value})


def new_visits(conn: Connection, after_id: int) -> tuple[set[str], int]:
    """EPCs with visits inserted after ``after_id`` (a new or rebuilt visit), and the top id."""
    v = schema.tag_visits
    rows = list(conn.execute(select(v.c.id, v.c.epc).where(v.c.id > after_id)))
    return {r[1] for r in rows}, max((int(r[0]) for r in rows), default=after_id)


def new_events(conn: Connection, after_id: int) -> tuple[dict[str, int], set[str], int]:
    """Gateways with geofence events inserted after ``after_id``, each with the earliest time
    concerned; the sites entered or left; and the top id."""
    e = schema.geofence_events
    query = select(e.c.id, e.c.gateway_id, e.c.time_ns, e.c.site_id).where(e.c.id > after_id)
    rows = list(conn.execute(query))
    earliest: dict[str, int] = {}
    for _, gateway, time_ns, _site in rows:
        earliest[gateway] = min(earliest.get(gateway, time_ns), time_ns)
    sites = {str(r[3]) for r in rows if r[3] is not None}
    return earliest, sites, max((int(r[0]) for r in rows), default=after_id)


def new_door_sightings(conn: Connection, after_id: int) -> tuple[set[str], int]:
    """EPCs seen at a dock door's sides since ``after_id``, and the top id."""
    d = schema.door_sightings
    rows = list(conn.execute(select(d.c.id, d.c.epc).where(d.c.id > after_id)))
    return {r[1] for r in rows}, max((int(r[0]) for r in rows), default=after_id)


def door_sightings(conn: Connection, epcs: Iterable[str]) -> list[tuple[str, str, str, str, int]]:
    """(epc, gateway, site, side, time_ns) of the EPCs at dock doors, in time order."""
    d = schema.door_sightings
    wanted = sorted(set(epcs))
    found: list[tuple[str, str, str, str, int]] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        query = select(d.c.epc, d.c.gateway_id, d.c.site_id, d.c.side, d.c.time_ns).where(
            d.c.epc.in_(chunk)
        )
        found += [(str(a), str(b), str(c), str(e), int(t)) for a, b, c, e, t in conn.execute(query)]
    return sorted(found, key=lambda row: (row[4], row[0]))


def inside_at(conn: Connection, site: str, at_ns: int, *, within_ns: int) -> list[tuple[str, str]]:
    """(gateway, its site) of the mobile gateways inside a site's geofence at a time: their last
    entry or exit of it, within ``within_ns`` before, was an entry."""
    e, g = schema.geofence_events, schema.gateways
    query = (
        select(e.c.gateway_id, e.c.kind)
        .where(e.c.site_id == site, e.c.kind.in_(("enter", "exit")),
               e.c.time_ns <= at_ns, e.c.time_ns >= at_ns - within_ns)
        .order_by(e.c.time_ns, e.c.id)
    )  # fmt: skip
    last: dict[str, str] = {}
    for gateway, kind in conn.execute(query):
        last[str(gateway)] = str(kind)
    inside = sorted(gateway for gateway, kind in last.items() if kind == "enter")
    if not inside:
        return []
    rows = conn.execute(select(g.c.id, g.c.site_id).where(g.c.id.in_(inside)))
    return sorted((str(gateway), str(site_id)) for gateway, site_id in rows)


def shipments_of_epcs(conn: Connection, epcs: Iterable[str]) -> set[str]:
    """Open shipments holding one of the EPCs (by EPC, or by the SSCC it carries)."""
    i, t, s = schema.shipment_identifiers, schema.tag_locations, schema.shipments
    found: set[str] = set()
    ordered = sorted(epcs)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        direct = select(i.c.shipment_id).where(i.c.epc.in_(chunk))
        by_sscc = select(i.c.shipment_id).join(t, t.c.sscc == i.c.sscc).where(t.c.epc.in_(chunk))
        ids = union(direct, by_sscc).subquery()
        query = select(s.c.id).where(s.c.id.in_(select(ids.c.shipment_id)), s.c.closed_at.is_(None))
        found |= set(conn.scalars(query))
    return found


def epcs_aboard(conn: Connection, gateway: str, since_ns: int) -> set[str]:
    """EPCs seen by a gateway (a vehicle's) on a visit that lasted until ``since_ns`` or later,
    or that is their latest visit (still aboard)."""
    v = schema.tag_visits
    rows = conn.execute(select(v.c.epc, v.c.last_seen).where(v.c.gateway_id == gateway))
    epcs = {epc for epc, last_seen in rows if last_seen >= since_ns}
    latest = select(v.c.epc, func.max(v.c.arrived).label("arrived")).group_by(v.c.epc).subquery()
    still = (
        select(v.c.epc)
        .join(latest, (latest.c.epc == v.c.epc) & (latest.c.arrived == v.c.arrived))
        .where(v.c.gateway_id == gateway)
    )
    return epcs | set(conn.scalars(still))


def shipments_aboard(conn: Connection, gateways: Iterable[str]) -> set[str]:
    """Shipments whose journey went aboard one of these vehicles' gateways."""
    v = schema.journey_vehicles
    wanted = sorted(set(gateways))
    return (
        set(conn.scalars(select(v.c.shipment_id).where(v.c.gateway_id.in_(wanted))))
        if wanted
        else set()
    )


def epcs_at_doors(conn: Connection, sites: Iterable[str], since_ns: int) -> set[str]:
    """EPCs seen at a door of these sites since a time (a vehicle docked there)."""
    d = schema.door_sightings
    wanted = sorted(set(sites))
    if not wanted:
        return set()
    query = select(d.c.epc).where(d.c.site_id.in_(wanted), d.c.time_ns >= since_ns)
    return set(conn.scalars(query))


def due_shipments(conn: Connection, now_ns: int) -> set[str]:
    d = schema.journey_due
    return set(conn.scalars(select(d.c.shipment_id).where(d.c.due_ns <= now_ns)))


def vehicle_events(conn: Connection, gateways: Iterable[str]) -> dict[str, list[GeofenceEvent]]:
    e = schema.geofence_events
    found: dict[str, list[GeofenceEvent]] = {}
    for gateway in sorted(set(gateways)):
        query = (
            select(e.c.gateway_id, e.c.kind, e.c.time_ns, e.c.site_id, e.c.from_country,
                   e.c.to_country, e.c.source, e.c.accuracy_s)
            .where(e.c.gateway_id == gateway, e.c.kind != "replay")
            .order_by(e.c.time_ns, e.c.id)
        )  # fmt: skip
        found[gateway] = [GeofenceEvent(*row) for row in conn.execute(query)]
    return found


def last_fixes(conn: Connection, gateways: Iterable[str]) -> dict[str, int]:
    p = schema.gateway_positions
    wanted = sorted(set(gateways))
    if not wanted:
        return {}
    return {
        g: int(t)
        for g, t in conn.execute(select(p.c.gateway_id, p.c.time).where(p.c.gateway_id.in_(wanted)))
    }


def manual_changes(conn: Connection, shipment_id: str) -> list[StatusChange]:
    h = schema.status_history
    query = (
        select(h.c.time_ns, h.c.from_status, h.c.to_status, h.c.cause, h.c.manual, h.c.recorded_at)
        .where(h.c.shipment_id == shipment_id, h.c.manual.is_(True))
        .order_by(h.c.time_ns, h.c.id)
    )
    return [StatusChange(*row) for row in conn.execute(query)]


# -- writing a shipment's journey -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Written:
    added: tuple[StoredMilestone, ...]
    removed: int
    status_from: str
    status_to: str


def write_journey(
    conn: Connection,
    shipment_id: str,
    *,
    milestones: Sequence[StoredMilestone],
    transitions: Sequence[StatusChange],
    status: str | None,
    transfers: Sequence[dict[str, Any]],
    due_ns: int | None,
    now_ns: int,
    vehicles: Iterable[str] = (),
) -> Written:
    """Replace what is derived of one shipment, changing only what differs (a milestone keeps
    its id and the time it was first recorded). ``status`` None: leave the status as it is."""
    m, s = schema.milestones, schema.shipments
    rows = conn.execute(select(m.c.id, m.c.seq).where(m.c.shipment_id == shipment_id))
    existing = {str(row[0]): int(row[1]) for row in rows}
    wanted = {ms.id: ms for ms in milestones}
    gone = set(existing) - set(wanted)
    for start in range(0, len(gone), _CHUNK):
        chunk = sorted(gone)[start : start + _CHUNK]
        conn.execute(delete(m).where(m.c.id.in_(chunk)))
    added = [ms for ms_id, ms in wanted.items() if ms_id not in existing]
    if added:
        conn.execute(insert(m), [_milestone_row(ms, now_ns) for ms in added])
    moved = [{"ms_id": i, "new_seq": ms.seq} for i, ms in wanted.items()
             if i in existing and existing[i] != ms.seq]  # fmt: skip
    if moved:
        statement = m.update().where(m.c.id == bindparam("ms_id"))
        conn.execute(statement.values(seq=bindparam("new_seq")), moved)
    _write_transitions(conn, shipment_id, transitions, now_ns)
    before = str(conn.scalar(select(s.c.status).where(s.c.id == shipment_id)))
    if status is not None and status != before:
        conn.execute(s.update().where(s.c.id == shipment_id).values(status=status))
    lanes = schema.lane_transfers
    conn.execute(delete(lanes).where(lanes.c.shipment_id == shipment_id))
    if transfers:
        conn.execute(insert(lanes), [{**t, "shipment_id": shipment_id} for t in transfers])
    aboard = schema.journey_vehicles
    conn.execute(delete(aboard).where(aboard.c.shipment_id == shipment_id))
    if vehicles:
        on = [{"shipment_id": shipment_id, "gateway_id": g} for g in sorted(set(vehicles))]
        conn.execute(insert(aboard), on)
    due = schema.journey_due
    conn.execute(delete(due).where(due.c.shipment_id == shipment_id))
    if due_ns is not None:
        conn.execute(insert(due).values(shipment_id=shipment_id, due_ns=due_ns))
    after = status if status is not None else before
    return Written(tuple(sorted(added, key=lambda x: (x.time_ns, x.id))), len(gone), before, after)


def _write_transitions(
    conn: Connection, shipment_id: str, transitions: Sequence[StatusChange], now_ns: int
) -> None:
    h = schema.status_history
    key = (h.c.time_ns, h.c.from_status, h.c.to_status, h.c.cause)
    present = {
        tuple(row[:4]): row[4]
        for row in conn.execute(
            select(*key, h.c.id).where(h.c.shipment_id == shipment_id, h.c.manual.is_(False))
        )
    }
    wanted = {(t.time_ns, t.from_status, t.to_status, t.cause) for t in transitions}
    stale = [row_id for k, row_id in present.items() if k not in wanted]
    if stale:
        conn.execute(delete(h).where(h.c.id.in_(stale)))
    new = [
        {"shipment_id": shipment_id, "time_ns": k[0], "from_status": k[1], "to_status": k[2],
         "cause": k[3], "manual": False, "recorded_at": now_ns}
        for k in sorted(wanted - set(present))
    ]  # fmt: skip
    if new:
        conn.execute(insert(h), new)


def _milestone_row(ms: StoredMilestone, now_ns: int) -> dict[str, Any]:
    return {
        "id": ms.id, "shipment_id": ms.shipment_id, "time_ns": ms.time_ns, "seq": ms.seq,
        "type": ms.type,
        "site_id": ms.site_id, "country": ms.country, "source": ms.source,
        "biz_step": ms.biz_step, "disposition": ms.disposition, "gateway_id": ms.gateway_id,
        "detail": json.dumps(ms.detail, sort_keys=True, separators=(",", ":")),
        "recorded_at": now_ns,
    }  # fmt: skip


# -- what the API reads ---------------------------------------------------------------------


class JourneyReads:
    """Read-only: milestones, status history, lane durations."""

    def __init__(self, engine: Engine) -> None:
        self.reader = reader(engine)

    def milestones(
        self, shipment_id: str, *, after: tuple[int, int] | None = None, limit: int = 100
    ) -> list[StoredMilestone]:
        """In the stream's order, from after the (time_ns, seq) ``after`` (keyset pagination)."""
        m = schema.milestones
        query = select(m).where(m.c.shipment_id == shipment_id)
        if after is not None:
            query = query.where(tuple_(m.c.time_ns, m.c.seq) > tuple_(*after))
        query = query.order_by(m.c.time_ns, m.c.seq).limit(limit)
        with translated(), self.reader.connect() as conn:
            return [_stored(row._mapping) for row in conn.execute(query)]

    def history(self, shipment_id: str) -> list[StatusChange]:
        h = schema.status_history
        query = (
            select(h.c.time_ns, h.c.from_status, h.c.to_status, h.c.cause, h.c.manual,
                   h.c.recorded_at)
            .where(h.c.shipment_id == shipment_id)
            .order_by(h.c.time_ns, h.c.manual, h.c.id)
        )  # fmt: skip
        with translated(), self.reader.connect() as conn:
            return [StatusChange(*row) for row in conn.execute(query)]

    def lane(self, from_site: str, from_event: str, to_site: str, *, besides: str) -> list[float]:
        """The newest durations (seconds) of a lane, other shipments than ``besides``."""
        lanes = schema.lane_transfers
        query = (
            select(lanes.c.duration_s)
            .where(lanes.c.from_site == from_site, lanes.c.from_event == from_event,
                   lanes.c.to_site == to_site, lanes.c.shipment_id != besides)
            .order_by(lanes.c.started_ns.desc())
            .limit(LANE_HISTORY)
        )  # fmt: skip
        with translated(), self.reader.connect() as conn:
            return [float(d) for d in conn.scalars(query)]


def _stored(row: Any) -> StoredMilestone:  # noqa: ANN401 (a row mapping)
    return StoredMilestone(**{**row, "detail": json.loads(row["detail"])})
