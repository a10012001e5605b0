"""The journey projection: each open shipment's milestones, status history, lane transfers and
when time alone may change them (``journey.milestones``, ``journey.status``, ``journey.eta``).

It runs after the tag and geofence projections on every write (an idle collector ticks it with
empty writes). What it rebuilds is found from the registry itself, so nothing is missed if the
collector stops between two projections: visits inserted since its mark (a new or rebuilt
visit; their ids only grow), geofence events inserted since its mark (entries, exits, crossings
and replays of the vehicles a shipment was aboard), and shipments whose ``due`` time has come.
Each affected shipment's stream is derived whole from its inputs and written as a difference,
so a rebuild never duplicates a milestone and a milestone keeps its id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Final

from sqlalchemy import Connection, Engine, select

from tagtrail_collector.journey import eta, status
from tagtrail_collector.journey.milestones import (
    DoorSighting,
    Inputs,
    Limits,
    Milestone,
    SiteInfo,
    TagVisit,
    VehicleEvent,
    derive,
    door_passages,
)
from tagtrail_collector.projections import Change, Ingested
from tagtrail_collector.store.registry import journey as store
from tagtrail_collector.store.registry import schema
from tagtrail_collector.store.registry.db import reader, translated
from tagtrail_collector.store.registry.reads import ShipmentReads

log = logging.getLogger(__name__)
_SITES_TTL_S: Final = 2.0
_ABOARD_LOOKBACK_NS: Final = 7 * 86_400 * 10**9


class JourneyProjection:
    name = "journey"

    def __init__(
        self,
        engine: Engine,
        *,
        limits: Limits,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.engine = engine
        self.reader = reader(engine)
        self.limits = limits
        self.clock = clock
        self.reads = ShipmentReads(engine)
        self._sites: dict[str, SiteInfo] = {}
        self._sites_at = float("-inf")

    def apply(self, batch: Ingested) -> list[Change]:
        now = self.clock()
        with translated(), self.reader.connect() as conn:
            visits_mark, events_mark = store.mark(conn, "visits"), store.mark(conn, "events")
            doors_mark = store.mark(conn, "doors")
            epcs, visits_top = store.new_visits(conn, visits_mark)
            at_doors, doors_top = store.new_door_sightings(conn, doors_mark)
            epcs |= at_doors
            gateways, fenced, events_top = store.new_events(conn, events_mark)
            for gateway, since in gateways.items():
                epcs |= store.epcs_aboard(conn, gateway, since - _ABOARD_LOOKBACK_NS)
            if gateways:  # a vehicle at a door: what went out through it may be aboard
                since = min(gateways.values()) - _ABOARD_LOOKBACK_NS
                epcs |= store.epcs_at_doors(conn, fenced, since)
            affected = store.shipments_of_epcs(conn, epcs) if epcs else set()
            affected |= store.shipments_aboard(conn, gateways)
            affected |= store.due_shipments(conn, now)
        changes: list[Change] = []
        for shipment_id in sorted(affected):
            changes += self.rebuild(shipment_id, now_ns=now)
        tops = {"visits": (visits_mark, visits_top), "events": (events_mark, events_top),
                "doors": (doors_mark, doors_top)}  # fmt: skip
        if any(mark != top for mark, top in tops.values()):
            with translated(), self.engine.begin() as conn:
                for name, (_, top) in tops.items():
                    store.set_mark(conn, name, top)
        return changes

    def rebuild(self, shipment_id: str, *, now_ns: int | None = None) -> list[Change]:
        """Derive one shipment's journey again and write what differs."""
        now = self.clock() if now_ns is None else now_ns
        s = schema.shipments
        visits = [
            TagVisit(v.epc, v.site, v.gateway, v.arrived, v.last_seen)
            for v in self.reads.visits(shipment_id)
        ]
        with translated(), self.reader.connect() as conn:
            row = conn.execute(
                select(s.c.destination_site, s.c.closed_at).where(s.c.id == shipment_id)
            ).first()
            if row is None:
                return []
            destination, closed_at = row
            sites = self.sites({v.site for v in visits} | ({destination} if destination else set()))
            doors = _within_visits(store.door_sightings(conn, {v.epc for v in visits}), visits)
            docked = _docked(conn, doors)
            if docked:
                sites = self.sites({site for _, site in docked.values()})
            vehicles = {v.gateway for v in visits if _kind(sites, v.site) == "vehicle"}
            vehicles |= {gateway for gateway, _ in docked.values()}
            events = {
                g: [VehicleEvent(e.kind, e.time_ns, e.source, e.site_id, e.from_country,
                                 e.to_country, e.accuracy_s) for e in found]
                for g, found in store.vehicle_events(conn, vehicles).items()
            }  # fmt: skip
            heard = store.last_fixes(conn, vehicles)
            manual = store.manual_changes(conn, shipment_id)
        journey = derive(
            Inputs(visits, sites, events, heard, now if closed_at is None else closed_at,
                   destination, self.limits, doors, docked)
        )  # fmt: skip
        pairs = [(m.id_in(shipment_id), m) for m in journey.milestones]
        manual_steps = [
            status.Transition(c.time_ns, c.from_status, c.to_status, c.cause, manual=True)
            for c in manual
        ]
        derived, current = status.transitions(pairs, manual_steps)
        with translated(), self.engine.begin() as conn:
            written = store.write_journey(
                conn,
                shipment_id,
                milestones=[_stored(shipment_id, n, mid, m) for n, (mid, m) in enumerate(pairs)],
                transitions=[
                    store.StatusChange(
                        t.time_ns,
                        t.from_status,
                        t.to_status,
                        t.cause,
                        manual=False,
                        recorded_at=now,
                    )
                    for t in derived
                ],
                status=None if closed_at is not None else current,
                transfers=[
                    {
                        "from_site": t.from_site,
                        "from_event": t.from_event,
                        "to_site": t.to_site,
                        "started_ns": t.started_ns,
                        "duration_s": t.duration_s,
                    }
                    for t in eta.transfers([m for _, m in pairs])
                ],
                due_ns=None if closed_at is not None else journey.due_ns,
                now_ns=now,
                vehicles=vehicles,
            )
        changes = [
            Change("milestone", shipment_id, m.time_ns, m.site_id, m.gateway_id, m.type)
            for m in written.added
        ]
        if written.removed:
            changes.append(
                Change("milestones_rebuilt", shipment_id, now, detail=str(written.removed))
            )
        if written.status_to != written.status_from:
            moved = f"{written.status_from}->{written.status_to}"
            changes.append(Change("status_changed", shipment_id, now, detail=moved))
        return changes

    def sites(self, needed: Iterable[str] = ()) -> dict[str, SiteInfo]:
        """Sites as the derivation needs them, re-read every 2 s at most, and at once when one
        of ``needed`` is not known yet (a site registered a moment ago)."""
        fresh = time.monotonic() - self._sites_at < _SITES_TTL_S
        if fresh and all(site in self._sites for site in needed):
            return self._sites
        s, g = schema.sites, schema.gateways
        with translated(), self.reader.connect() as conn:
            fixed = set(conn.scalars(select(g.c.site_id).where(g.c.mobile.is_(False))))
            self._sites = {
                r.id: SiteInfo(r.id, r.kind, r.country, r.lat, r.lon, r.radius_m, r.id in fixed)
                for r in conn.execute(
                    select(s.c.id, s.c.kind, s.c.country, s.c.lat, s.c.lon, s.c.radius_m)
                )
            }
        self._sites_at = time.monotonic()
        return self._sites


def _docked(conn: Connection, doors: list[DoorSighting]) -> dict[tuple[str, int], tuple[str, str]]:
    """For each way out through a door, the one mobile gateway inside the site's geofence then
    (none when there are several: which one it was aboard is not known)."""
    found: dict[tuple[str, int], tuple[str, str]] = {}
    for site in sorted({d.site for d in doors}):
        for at, _, direction in door_passages(doors, site):
            if direction == "out":
                inside = store.inside_at(conn, site, at, within_ns=_ABOARD_LOOKBACK_NS)
                if len(inside) == 1:
                    found[(site, at)] = inside[0]
    return found


def _within_visits(
    rows: list[tuple[str, str, str, str, int]], visits: list[TagVisit]
) -> list[DoorSighting]:
    """Door sightings of the shipment's own spans: within a visit of the EPC at that door."""
    spans: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for v in visits:
        spans.setdefault((v.epc, v.gateway), []).append((v.arrived, v.last_seen))
    return [
        DoorSighting(epc, gateway, site, side, t)
        for epc, gateway, site, side, t in rows
        if any(a <= t <= b for a, b in spans.get((epc, gateway), ()))
    ]


def _kind(sites: dict[str, SiteInfo], site_id: str) -> str:
    site = sites.get(site_id)
    return site.kind if site is not None else "unknown"


def _stored(shipment_id: str, seq: int, milestone_id: str, m: Milestone) -> store.StoredMilestone:
    biz_step, disposition = m.biz
    return store.StoredMilestone(
        id=milestone_id, shipment_id=shipment_id, time_ns=m.time_ns, seq=seq, type=m.type,
        site_id=m.site, country=m.country, source=m.source, biz_step=biz_step,
        disposition=disposition, gateway_id=m.gateway,
        detail={k: list(v) if isinstance(v, tuple) else v for k, v in m.detail}, recorded_at=0,
    )  # fmt: skip
