"""The tag projection: each EPC's latest sighting (``tag_locations``) and its site visits
(``tag_visits``). Reports a visit opened, a visit closed (the tag turned up at another site) and
visits rebuilt (late data re-read from the series). What the API reads of it is in
``store/registry/reads.py``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.sql.dml import Insert

from tagtrail_collector.projections import Change, Ingested
from tagtrail_collector.projections.model import advance, rebuild
from tagtrail_collector.store.registry import schema
from tagtrail_collector.store.registry.db import execute_many, translated, upsert
from tagtrail_collector.store.registry.records import Sighting, Visit, VisitPlan

History = Callable[[Sequence[str], int], dict[str, list[tuple[int, str, str]]]]
"""(epcs, since_ns) -> per EPC its time-sorted (time_ns, site, gateway) sightings from since_ns,
read from the time series in one query."""

Observations = Callable[[Sequence[str], int], dict[str, list[Sighting]]]
"""(epcs, until_ns) -> per EPC its every stored sighting up to until_ns, in order."""


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What a rebuild from the series did."""

    epcs: int
    located: int
    visits: int


_CHUNK: Final = 2000  # EPCs per IN (...) query: below SQLite's 32,766 host parameters


class TagProjection:
    """Locations and visits. ``history`` re-reads an EPC's sightings for late data."""

    name = "tags"

    def __init__(self, engine: Engine, *, history: History, observations: Observations) -> None:
        self.engine = engine
        self.history = history
        self.observations = observations

    def apply(self, batch: Ingested) -> list[Change]:
        return self.apply_sightings(batch.sightings) if batch.sightings else []

    def apply_sightings(self, sightings: Sequence[Sighting]) -> list[Change]:
        """Fold sightings into locations and visits in one transaction; returns the changes.

        Locations are not read first: each EPC's best sighting of the batch is upserted and the
        database keeps whichever is greater (``_upsert_locations``), also against a concurrent
        collector instance.
        """
        by_epc: dict[str, list[Sighting]] = {}
        for sighting in sightings:
            by_epc.setdefault(sighting.epc, []).append(sighting)
        for group in by_epc.values():
            if len(group) > 1:
                group.sort(key=_order)
        changes: list[Change] = []
        with translated(), self.engine.begin() as conn:
            for chunk in _chunks(sorted(by_epc)):
                rows = [_location_row(max(by_epc[epc], key=_order)) for epc in chunk]
                execute_many(conn, _upsert_locations(conn), rows)
                last_visits = _last_visits(conn, chunk)
                plans = {epc: advance(last_visits.get(epc), by_epc[epc]) for epc in chunk}
                _write_visits(conn, plans.values())
                starts = {
                    epc: _rebuild_start(conn, epc, plan.rebuild_from)
                    for epc, plan in plans.items()
                    if plan.rebuild_from is not None
                }
                self._rebuild_visits(conn, starts)
                changes += [
                    change
                    for epc, plan in plans.items()
                    if plan.inserts or epc in starts  # most plans only extend a visit
                    for change in _changes(epc, last_visits.get(epc), plan, starts.get(epc))
                ]
        return changes

    def _rebuild_visits(self, conn: Connection, starts: dict[str, int]) -> None:
        """Re-derive visits from each EPC's start, with one history query for all of them."""
        if not starts:
            return
        table = schema.tag_visits
        histories = self.history(sorted(starts), min(starts.values()))
        conn.execute(
            delete(table).where(
                table.c.epc == bindparam("old_epc"), table.c.arrived >= bindparam("old_start")
            ),
            [{"old_epc": epc, "old_start": start} for epc, start in starts.items()],
        )
        rows: list[dict[str, Any]] = []
        for epc, start in starts.items():
            history = [h for h in histories.get(epc, []) if h[0] >= start]
            rows.extend(_visit_row(v) for v in rebuild(epc, history))
        if rows:
            conn.execute(insert(table), rows)

    def rebuild_from_series(self, epcs: Sequence[str], until_ns: int) -> Rebuilt:
        """Derive the EPCs' latest sightings and visits again from the stored series, up to
        ``until_ns`` (after a correction: points deleted from InfluxDB, a clock put right)."""
        histories = self.observations(sorted(set(epcs)), until_ns)
        loc, visits = schema.tag_locations, schema.tag_visits
        rows = [_location_row(h[-1]) for h in histories.values() if h]
        visit_rows = [
            _visit_row(v)
            for epc, h in histories.items()
            for v in rebuild(epc, [(x.time_ns, x.site, x.gateway) for x in h])
        ]
        with translated(), self.engine.begin() as conn:
            for chunk in _chunks(sorted(set(epcs))):
                conn.execute(delete(loc).where(loc.c.epc.in_(chunk)))
                conn.execute(delete(visits).where(visits.c.epc.in_(chunk)))
            execute_many(conn, insert(loc), rows)
            execute_many(conn, insert(visits), visit_rows)
        return Rebuilt(epcs=len(set(epcs)), located=len(rows), visits=len(visit_rows))


def _changes(epc: str, last: Visit | None, plan: VisitPlan, rebuilt: int | None) -> list[Change]:
    """What a plan changed: visits opened, the one each new visit closes, or a rebuild."""
    if rebuilt is not None:
        return [Change("visits_rebuilt", epc, rebuilt)]
    changes: list[Change] = []
    tail = plan.updates[-1] if plan.updates else last
    for visit in plan.inserts:
        if tail is not None:
            changes.append(Change("visit_closed", epc, tail.last_seen, tail.site, tail.gateway))
        changes.append(Change("visit_opened", epc, visit.arrived, visit.site, visit.gateway))
        tail = visit
    return changes


def _write_visits(conn: Connection, plans: Iterable[VisitPlan]) -> None:
    """Apply the in-place part of visit plans: one UPDATE and one INSERT for all of them."""
    table = schema.tag_visits
    updates = [{"visit_id": v.id, "new_last": v.last_seen} for p in plans for v in p.updates]
    inserts = [_visit_row(v) for p in plans for v in p.inserts]
    change = update(table).where(table.c.id == bindparam("visit_id"))
    execute_many(conn, change.values(last_seen=bindparam("new_last")), updates)
    execute_many(conn, insert(table), inserts)


def _rebuild_start(conn: Connection, epc: str, rebuild_from: int) -> int:
    """Where to re-derive an EPC's visits from: the start of the visit the late data falls in."""
    table = schema.tag_visits
    start = conn.scalar(
        select(func.max(table.c.arrived)).where(table.c.epc == epc, table.c.arrived <= rebuild_from)
    )
    return 0 if start is None else int(start)


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _last_visits(conn: Connection, epcs: list[str]) -> dict[str, Visit]:
    v = schema.tag_visits
    newest = (
        select(v.c.epc, func.max(v.c.arrived).label("arrived"))
        .where(v.c.epc.in_(epcs))
        .group_by(v.c.epc)
        .subquery()
    )
    columns = (v.c.epc, v.c.site_id, v.c.gateway_id, v.c.arrived, v.c.last_seen, v.c.id)
    query = select(*columns).join(
        newest, and_(v.c.epc == newest.c.epc, v.c.arrived == newest.c.arrived)
    )
    return {row[0]: Visit(*row) for row in conn.execute(query)}


def _order(sighting: Sighting) -> tuple[int, str, str, str]:
    return sighting.order


def _location_row(s: Sighting) -> dict[str, Any]:
    return {
        "epc": s.epc,
        "event_time": s.time_ns,
        "event": s.event,
        "gateway_id": s.gateway,
        "site_id": s.site,
        "read_point": s.read_point,
        "lat": s.lat,
        "lon": s.lon,
        "fix_age_s": s.fix_age_s,
        "sscc": s.sscc,
        "updated_at": time.time_ns(),
    }


def _visit_row(v: Visit) -> dict[str, Any]:
    return {
        "epc": v.epc,
        "site_id": v.site,
        "gateway_id": v.gateway,
        "arrived": v.arrived,
        "last_seen": v.last_seen,
    }


def _upsert_locations(conn: Connection) -> Insert:
    def newer(ex: Any, t: Any) -> Any:  # noqa: ANN401 (SQL expressions)
        key = (ex.event_time, ex.gateway_id, ex.read_point, ex.event)
        return tuple_(*key) > tuple_(t.event_time, t.gateway_id, t.read_point, t.event)

    return upsert(conn, schema.tag_locations, "epc", newer=newer)
