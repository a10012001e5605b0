"""A shipment's milestones, derived from what its tags and its vehicles did (no I/O).

The stream is a function of its inputs: the shipment's tag visits (cut to the time its
identifiers were attached), the geofence events of the mobile gateways it was aboard, and the
time now (for the exceptions that time alone raises). Deriving it again from the same inputs
gives the same milestones with the same ids, so late and out-of-order data rebuild the stream
instead of adding to it.

- A stay at a site seen by a fixed gateway: ``arrived`` (source ``sighting``), then
  ``departed`` when the next stay begins; at a customs site ``customs_hold`` and
  ``customs_released``; at the destination ``delivered``.
- A stay aboard a vehicle (a site of kind ``vehicle``): ``loaded``, the vehicle's entries and
  exits of geofenced sites as ``arrived``/``departed`` (source ``geofence`` or
  ``interpolated``), its border crossings as ``crossed_border``, then ``unloaded``. Loaded
  inside a site's geofence, the shipment departs that site when the vehicle leaves the fence.
- Exceptions, each a milestone with a reason: ``dwell`` (longer at a site than its kind
  allows), ``silent`` (in transit and nothing heard), ``impossible_travel`` (one EPC at two
  places farther apart than anything travels in the time between), ``split_consignment`` (the
  shipment's tags at different places for longer than a hand-over takes).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from tagtrail_collector.journey.geo import haversine_m

NS: Final = 1_000_000_000
_VEHICLE: Final = "vehicle"
_CUSTOMS: Final = "customs"

# CBV 2.0 business step and disposition of each milestone type (exceptions: per reason).
BIZ: Final[dict[str, tuple[str, str]]] = {
    "arrived": ("arriving", "in_progress"),
    "departed": ("departing", "in_transit"),
    "loaded": ("loading", "in_transit"),
    "unloaded": ("unloading", "in_progress"),
    "crossed_border": ("transporting", "in_transit"),
    "customs_hold": ("holding", "unavailable"),
    "customs_released": ("inspecting", "conformant"),
    "delivered": ("receiving", "in_progress"),
}
EXCEPTION_BIZ: Final[dict[str, tuple[str, str]]] = {
    "dwell": ("holding", "in_progress"),
    "silent": ("transporting", "unknown"),
    "impossible_travel": ("inspecting", "unknown"),
    "split_consignment": ("inspecting", "mismatch_quantity"),
}
TYPES: Final = (*BIZ, "exception")


@dataclass(frozen=True, slots=True)
class SiteInfo:
    id: str
    kind: str
    country: str | None = None
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    fixed_gateways: bool = False


@dataclass(frozen=True, slots=True)
class TagVisit:
    epc: str
    site: str
    gateway: str
    arrived: int
    last_seen: int


@dataclass(frozen=True, slots=True)
class VehicleEvent:
    """A mobile gateway's geofence entry/exit or border crossing."""

    kind: str  # enter, exit, cross
    time_ns: int
    source: str
    site_id: str | None = None
    from_country: str | None = None
    to_country: str | None = None
    accuracy_s: float = 0.0


@dataclass(frozen=True, slots=True)
class DoorSighting:
    """A tag seen by one side of a dock door (``inside`` or ``outside``)."""

    epc: str
    gateway: str
    site: str
    side: str
    time_ns: int


@dataclass(frozen=True, slots=True)
class Limits:
    dwell_s: Mapping[str, float] = field(default_factory=dict)  # per site kind
    silent_s: float = 48 * 3600.0
    split_s: float = 7200.0
    max_travel_mps: float = 1000 / 3.6


@dataclass(frozen=True, slots=True)
class Milestone:
    type: str
    time_ns: int
    source: str  # sighting, geofence, interpolated, derived
    site: str | None = None
    country: str | None = None
    gateway: str | None = None
    detail: tuple[tuple[str, Any], ...] = ()

    @property
    def biz(self) -> tuple[str, str]:
        if self.type == "exception":
            return EXCEPTION_BIZ.get(str(dict(self.detail).get("reason")), ("other", "unknown"))
        return BIZ[self.type]

    def id_in(self, shipment_id: str) -> str:
        """The same milestone of the same shipment has the same id, whenever it is derived."""
        key = json.dumps(
            [shipment_id, self.type, self.time_ns, self.site, self.country, self.gateway,
             sorted(self.detail)], separators=(",", ":"), default=str,
        )  # fmt: skip
        return "ms_" + hashlib.sha256(key.encode()).hexdigest()[:29]


@dataclass(frozen=True, slots=True)
class Journey:
    """What :func:`derive` found: the milestones in time order, and when time alone may add
    one (an exception that is not yet due), or None."""

    milestones: tuple[Milestone, ...]
    due_ns: int | None


@dataclass(frozen=True, slots=True)
class Inputs:
    visits: Sequence[TagVisit]
    sites: Mapping[str, SiteInfo]
    vehicle_events: Mapping[str, Sequence[VehicleEvent]]  # per mobile gateway, time-sorted
    last_heard: Mapping[str, int]  # per mobile gateway: its latest fix
    now_ns: int
    destination: str | None = None
    limits: Limits = Limits()
    doors: Sequence[DoorSighting] = ()
    docked: Mapping[tuple[str, int], tuple[str, str]] = field(default_factory=dict)
    """(site, time) -> (gateway, vehicle site) of the one mobile gateway inside the site's
    geofence when the shipment went out through its door"""


@dataclass(frozen=True, slots=True)
class _Stay:
    site: str
    gateway: str
    arrived: int
    last_seen: int
    door: str | None = None  # aboard a vehicle seen by no reader: the door it left through


def stays_of(visits: Iterable[TagVisit]) -> list[_Stay]:
    """The shipment's stays: its tags' visits in time order, consecutive ones at a site merged."""
    stays: list[_Stay] = []
    for v in sorted(visits, key=lambda v: (v.arrived, v.last_seen, v.site, v.epc)):
        if stays and stays[-1].site == v.site:
            last = stays[-1]
            stays[-1] = _Stay(
                last.site, last.gateway, last.arrived, max(last.last_seen, v.last_seen)
            )
        else:
            stays.append(_Stay(v.site, v.gateway, v.arrived, v.last_seen))
    return stays


def derive(inputs: Inputs) -> Journey:
    walk = _Walk(inputs)
    walk.run()
    found = walk.out + _impossible_travel(inputs) + walk.split()
    found.sort(key=lambda m: m.time_ns)  # stable: at one time, the walk's own order
    due = [d for d in walk.due if d > inputs.now_ns]
    return Journey(tuple(found), min(due) if due else None)


class _Walk:
    """One pass over the stays, keeping where the shipment is now (``here``)."""

    def __init__(self, inputs: Inputs) -> None:
        self.i = inputs
        self.out: list[Milestone] = []
        self.due: list[int] = []
        self.here: str | None = None
        self.here_since = 0
        self.delivered = False

    def site(self, site_id: str) -> SiteInfo:
        return self.i.sites.get(site_id) or SiteInfo(site_id, "unknown")

    def run(self) -> None:
        stays = self._with_docked(stays_of(self.i.visits))
        for index, stay in enumerate(stays):
            after = stays[index + 1] if index + 1 < len(stays) else None
            if self.site(stay.site).kind == _VEHICLE:
                self._aboard(stay, after)
            else:
                before = stays[index - 1] if index else None
                self._at(stay, after, before)
        if self.here is not None and not self.delivered:
            self._dwell(self.here, self.here_since, None)
        if stays and not self.delivered:
            self._silent(stays[-1])

    def _with_docked(self, stays: list[_Stay]) -> list[_Stay]:
        """Stays aboard the vehicles a shipment was loaded on through a door, where the vehicle
        has no reader but its GPS put it at the door: from the passage to the next sighting."""
        found: list[_Stay] = []
        for index, stay in enumerate(stays):
            found.append(stay)
            after = stays[index + 1] if index + 1 < len(stays) else None
            if self.site(stay.site).kind == _VEHICLE:
                continue
            if after is not None and self.site(after.site).kind == _VEHICLE:
                continue
            end = after.arrived if after is not None else self.i.now_ns
            for at, gateway, direction in door_passages(self.i.doors, stay.site):
                vehicle = self.i.docked.get((stay.site, at))
                if direction == "out" and vehicle is not None and stay.arrived <= at <= end:
                    last = after.arrived if after is not None else at
                    found.append(_Stay(vehicle[1], vehicle[0], at, last, door=gateway))
                    break
        return found

    # a stay at a site seen by its own gateways
    def _at(self, stay: _Stay, after: _Stay | None, before: _Stay | None) -> None:
        self._arrive(stay.site, stay.arrived, "sighting", stay.gateway, by_sighting=True)
        self._doors(stay, after, before)
        if after is None:
            return
        if self.site(after.site).kind == _VEHICLE and stay.site in self._inside(
            after.gateway, after.arrived
        ):
            return  # loaded inside the fence: it departs with the vehicle
        self._depart(stay.site, stay.last_seen, "sighting", stay.gateway)

    def _doors(self, stay: _Stay, after: _Stay | None, before: _Stay | None) -> None:
        """Passages through a dock door of the site during the stay: in from outside is an
        unloading, out from inside a loading, unless a vehicle's reader saw it already."""
        end = after.arrived if after is not None else self.i.now_ns
        seen_aboard = {
            "in": before is not None and self.site(before.site).kind == _VEHICLE,
            "out": after is not None and self.site(after.site).kind == _VEHICLE,
        }
        for at, gateway, direction in door_passages(self.i.doors, stay.site):
            if stay.arrived <= at <= end and not seen_aboard[direction]:
                kind = "unloaded" if direction == "in" else "loaded"
                self._add(kind, at, "sighting", stay.site, gateway, detail={"via": "door"})

    # a stay aboard a vehicle
    def _aboard(self, stay: _Stay, after: _Stay | None) -> None:
        vehicle = self.site(stay.site)
        if stay.door is None:
            self._add("loaded", stay.arrived, "sighting", vehicle.id, stay.gateway)
        else:
            self._add("loaded", stay.arrived, "sighting", vehicle.id, stay.door,
                      detail={"via": "door"})  # fmt: skip
        loaded_inside = self._inside(stay.gateway, stay.arrived)
        if self.here is not None and self.here not in loaded_inside:
            self._depart(self.here, stay.arrived, "sighting", stay.gateway)
        end = after.arrived if after is not None else self.i.now_ns
        for event in self.i.vehicle_events.get(stay.gateway, ()):
            if not stay.arrived < event.time_ns <= end:
                continue
            if event.kind == "cross":
                self._add(
                    "crossed_border", event.time_ns, event.source, None, stay.gateway,
                    country=event.to_country, detail={"from": event.from_country,
                    "to": event.to_country, "accuracy_s": event.accuracy_s},
                )  # fmt: skip
            elif event.kind == "enter" and event.site_id is not None:
                self._arrive(event.site_id, event.time_ns, event.source, stay.gateway,
                             by_sighting=False)  # fmt: skip
            elif event.kind == "exit" and self._leaves(event.site_id, loaded_inside):
                self._depart(event.site_id or "", event.time_ns, event.source, stay.gateway)
        if after is not None:
            self._add("unloaded", stay.last_seen, "sighting", vehicle.id, stay.gateway)

    def _leaves(self, site_id: str | None, loaded_inside: set[str]) -> bool:
        """Whether an exit of the vehicle from a site is the shipment's departure from it."""
        if site_id is None:
            return False
        return self.here == site_id or (self.here is None and site_id in loaded_inside)

    def _inside(self, gateway: str, at_ns: int) -> set[str]:
        """Sites whose geofence the mobile gateway was inside at a time."""
        inside: set[str] = set()
        for event in self.i.vehicle_events.get(gateway, ()):
            if event.time_ns > at_ns:
                break
            if event.kind == "enter" and event.site_id:
                inside.add(event.site_id)
            elif event.kind == "exit" and event.site_id:
                inside.discard(event.site_id)
        return inside

    def _arrive(
        self, site_id: str, at: int, source: str, gateway: str, *, by_sighting: bool
    ) -> None:
        site = self.site(site_id)
        if self.here != site_id:
            if self.here is not None:
                self._depart(self.here, at, source, gateway)
            self._add("arrived", at, source, site_id, gateway)
            self.here, self.here_since = site_id, at
            if site.kind == _CUSTOMS:
                self._add("customs_hold", at, source, site_id, gateway)
        arrived = site_id == self.i.destination and not self.delivered
        if arrived and (by_sighting or not site.fixed_gateways):
            self._add("delivered", at, source, site_id, gateway)
            self.delivered = True

    def _depart(self, site_id: str, at: int, source: str, gateway: str) -> None:
        if self.here != site_id and self.here is not None:
            return
        site = self.site(site_id)
        self._dwell(site_id, self.here_since, at)
        if site.kind == _CUSTOMS:
            self._add("customs_released", at, source, site_id, gateway)
        self._add("departed", at, source, site_id, gateway)
        self.here = None

    def _dwell(self, site_id: str, since: int, until: int | None) -> None:
        if site_id == self.i.destination and self.delivered:
            return
        site = self.site(site_id)
        limit = self.i.limits.dwell_s.get(site.kind)
        if limit is None:
            return
        due = since + int(limit * NS)
        if due <= (until if until is not None else self.i.now_ns):
            self._add("exception", due, "derived", site_id, None,
                      detail={"reason": "dwell", "limit_h": round(limit / 3600, 2)})  # fmt: skip
        elif until is None:
            self.due.append(due)

    def _silent(self, last: _Stay) -> None:
        """In transit (aboard, or departed and not yet seen) with nothing heard for too long."""
        if self.here is not None:
            return
        heard = last.last_seen
        if self.site(last.site).kind == _VEHICLE:
            heard = max(heard, self.i.last_heard.get(last.gateway, 0))
        limit = self.i.limits.silent_s
        due = heard + int(limit * NS)
        if due <= self.i.now_ns:
            detail = {"reason": "silent", "limit_h": round(limit / 3600, 2)}
            self._add("exception", due, "derived", None, None, detail=detail)
        else:
            self.due.append(due)

    def split(self) -> list[Milestone]:
        """The shipment's tags at different places for longer than ``split_s``."""
        starts = sorted(self.i.visits, key=lambda v: (v.arrived, v.epc, v.site))
        where: dict[str, str] = {}
        since: int | None = None
        found: list[Milestone] = []
        limit = int(self.i.limits.split_s * NS)

        def close(start: int, until: int | None) -> None:
            due = start + limit
            if due <= (until if until is not None else self.i.now_ns):
                sites = sorted(set(where_at_split))
                found.append(Milestone("exception", due, "derived", detail=(
                    ("reason", "split_consignment"), ("sites", tuple(sites)))))  # fmt: skip
            elif until is None:
                self.due.append(due)

        where_at_split: list[str] = []
        for visit in starts:
            where[visit.epc] = visit.site
            apart = len(set(where.values())) > 1
            if apart and since is None:
                since, where_at_split = visit.arrived, list(where.values())
            elif not apart and since is not None:
                close(since, visit.arrived)
                since = None
        if since is not None and not self.delivered:
            close(since, None)
        return found

    def _add(
        self, kind: str, at: int, source: str, site_id: str | None, gateway: str | None,
        *, country: str | None = None, detail: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        if country is None and site_id is not None:
            country = self.site(site_id).country
        items = tuple(sorted((detail or {}).items()))
        self.out.append(Milestone(kind, at, source, site_id, country, gateway, items))


def door_passages(sightings: Iterable[DoorSighting], site: str) -> list[tuple[int, str, str]]:
    """(time, gateway, "in" or "out") each time a shipment's tags at a door of the site change
    side: the first sighting on the new side is the passage."""
    found: list[tuple[int, str, str]] = []
    last: dict[str, str] = {}
    for s in sorted((s for s in sightings if s.site == site), key=lambda s: (s.time_ns, s.epc)):
        before = last.get(s.gateway)
        if before is not None and before != s.side:
            found.append((s.time_ns, s.gateway, "in" if s.side == "inside" else "out"))
        last[s.gateway] = s.side
    return found


def _impossible_travel(inputs: Inputs) -> list[Milestone]:
    """One EPC at two fixed places farther apart than ``max_travel_mps`` allows."""
    found = []
    by_epc: dict[str, list[TagVisit]] = {}
    for visit in inputs.visits:
        by_epc.setdefault(visit.epc, []).append(visit)
    for epc, visits in sorted(by_epc.items()):
        visits.sort(key=lambda v: v.arrived)
        for a, b in itertools.pairwise(visits):
            sa, sb = inputs.sites.get(a.site), inputs.sites.get(b.site)
            if sa is None or sb is None or sa.lat is None or sb.lat is None:
                continue
            if sa.lon is None or sb.lon is None:
                continue
            gap_m = haversine_m(sa.lat, sa.lon, sb.lat, sb.lon)
            gap_m -= (sa.radius_m or 0.0) + (sb.radius_m or 0.0)
            seconds = max(1.0, (b.arrived - a.last_seen) / NS)
            if gap_m > 0 and gap_m / seconds > inputs.limits.max_travel_mps:
                found.append(Milestone(
                    "exception", b.arrived, "derived", b.site, sb.country, b.gateway,
                    (("epc", epc), ("from_site", a.site), ("km", round(gap_m / 1000, 1)),
                     ("reason", "impossible_travel"), ("seconds", round(seconds, 1))),
                ))  # fmt: skip
    return found
