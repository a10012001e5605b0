"""Projections: what ingest keeps up to date in the registry from each stored write.

One contract: a projection takes a write's typed values (:class:`Ingested`) and returns what
changed (:class:`Change`: a tag's visit opened or closed, its visits rebuilt, a gateway moved,
a gateway's state), in a transaction of its own. The ingest pipeline applies its list of
projections in order, after the write is in InfluxDB and before the acks, and hands the changes
on (``Pipeline(on_changes=...)``): milestones, notifications and exports react there instead of
re-reading the registry.

Every projection is idempotent (a re-sent batch leaves the registry as it was and reports no
visit opened or closed again; at most a rebuild that yields the same visits) and never goes
backwards (late data is placed by its time, also against a concurrent collector instance).
A new projection is a module here implementing :class:`Projection`, added to the list in
``service.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from tagtrail_collector.store.registry.records import GatewayPosition, Sighting

ChangeKind = Literal[
    "visit_opened",
    "visit_closed",
    "visits_rebuilt",
    "gateway_moved",
    "gateway_state",
    "geofence_entered",
    "geofence_exited",
    "border_crossed",
    "geofence_replayed",
    "milestone",
    "milestones_rebuilt",
    "status_changed",
]


@dataclass(frozen=True, slots=True)
class GatewayReport:
    """A gateway's status message, reduced to what the projections keep."""

    gateway_id: str
    site_id: str
    time_ns: int
    state: str
    payload: str


@dataclass(frozen=True, slots=True)
class Ingested:
    """What one stored write brings to the projections."""

    sightings: tuple[Sighting, ...] = ()
    positions: tuple[GatewayPosition, ...] = ()
    reports: tuple[GatewayReport, ...] = ()


@dataclass(frozen=True, slots=True)
class Change:
    """Something a projection changed. ``subject`` is the EPC (visits) or the gateway id."""

    kind: ChangeKind
    subject: str
    time_ns: int
    site: str | None = None
    gateway: str | None = None
    detail: str | None = None


class Projection(Protocol):
    """Folds a write into the registry; returns what changed (empty when nothing did)."""

    name: str

    def apply(self, batch: Ingested) -> list[Change]: ...
