"""Pure projection logic: the latest sighting per EPC and its site visits (no I/O). The values
it works on (``Sighting``, ``Visit``, ``VisitPlan``) are records of the registry.

Latest means greatest event time, not last arrival: late data never moves a tag backwards. Ties
are broken by (gateway, read point, event) so that every collector instance, whatever order it
sees the data in, keeps the same answer. A visit is a maximal run of sightings at one site; a
visit ends where the next one (at another site) begins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from tagtrail_collector.store.registry.records import Sighting, Visit, VisitPlan


def latest(current: Sighting | None, sightings: Iterable[Sighting]) -> Sighting | None:
    """The greatest sighting among ``current`` and ``sightings`` (None if there are none)."""
    best = current
    for sighting in sightings:
        if best is None or sighting.order > best.order:
            best = sighting
    return best


def advance(last: Visit | None, sightings: Sequence[Sighting]) -> VisitPlan:
    """Extend an EPC's visits with new sightings (sorted by time) in the common, in-order case.

    Sightings that fall before the latest visit's end at another site mean the history between
    must be re-read: the plan then asks for a rebuild from the start of the affected visit.
    """
    inserts: list[Visit] = []
    updated: Visit | None = None
    for sighting in sightings:
        tail = inserts[-1] if inserts else (updated or last)
        if tail is None:
            inserts.append(_open(sighting))
        elif sighting.time_ns < tail.arrived:
            return VisitPlan(rebuild_from=sighting.time_ns)
        elif sighting.site == tail.site:
            if sighting.time_ns <= tail.last_seen:
                continue
            extended = Visit(
                tail.epc, tail.site, tail.gateway, tail.arrived, sighting.time_ns, tail.id
            )
            if inserts:
                inserts[-1] = extended
            else:
                updated = extended
        elif sighting.time_ns >= tail.last_seen:
            inserts.append(_open(sighting))
        else:
            return VisitPlan(rebuild_from=sighting.time_ns)
    updates = (updated,) if updated is not None and updated != last else ()
    return VisitPlan(updates=updates, inserts=tuple(inserts))


def rebuild(epc: str, history: Iterable[tuple[int, str, str]]) -> list[Visit]:
    """Visits from a time-sorted history of (time_ns, site, gateway) sightings."""
    visits: list[Visit] = []
    for time_ns, site, gateway in history:
        if visits and visits[-1].site == site:
            visits[-1] = replace(visits[-1], last_seen=time_ns)
        else:
            visits.append(Visit(epc, site, gateway, time_ns, time_ns))
    return visits


def merge_visits(visits: Iterable[Visit]) -> list[Visit]:
    """One shipment's stays from its tags' visits: consecutive visits at one site become one."""
    merged: list[Visit] = []
    for visit in sorted(visits, key=lambda v: (v.arrived, v.last_seen, v.site)):
        if merged and merged[-1].site == visit.site:
            merged[-1] = replace(merged[-1], last_seen=max(merged[-1].last_seen, visit.last_seen))
        else:
            merged.append(visit)
    return merged


def _open(sighting: Sighting) -> Visit:
    return Visit(sighting.epc, sighting.site, sighting.gateway, sighting.time_ns, sighting.time_ns)
