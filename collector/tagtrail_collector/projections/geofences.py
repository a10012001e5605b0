"""The geofence projection: mobile gateways' fixes -> entries into and exits from sites'
geofences, and border crossings (``geofence_events``), through ``journey.tracker``.

Each gateway's tracker state is saved after every write, one saved state per hour of fix time
(``geofence_states``). Fixes come in time order from a gateway's outbox; a fix older than the
last one applied (a backlog drained after an outage, a re-sent batch that was not among the
last ones) marks the gateway for a replay (``geofence_dirty``): once no late fix has come for
``replay_after_s``, the events from the saved state before the earliest late fix are derived
again from the stored series, and whatever the fixes after that state emitted is replaced.
Derived again from the same fixes, the events come out the same: late and out-of-order data
yield what on-time data would have.

Only gateways registered as mobile are tracked; sites' geofences are re-read when a site
changes. A replay leaves a ``replay`` row behind (its time is where the replay began), so that
the journey projection rebuilds the milestones that depended on what was replaced.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from tagtrail_collector.journey.borders import Borders
from tagtrail_collector.journey.fences import Fence, FenceError, FenceIndex, Rule
from tagtrail_collector.journey.tracker import FenceEvent, Fix, Settings, Tracker, fixes_of
from tagtrail_collector.projections import Change, ChangeKind, Ingested
from tagtrail_collector.store.registry import schema
from tagtrail_collector.store.registry.db import reader, translated, upsert
from tagtrail_collector.store.registry.records import GatewayPosition, Site, SiteKind

log = logging.getLogger(__name__)

PositionHistory = Callable[[str, int, int], list[tuple[int, float, float, float | None]]]
"""(gateway, after_ns, until_ns) -> its stored fixes (time_ns, lat, lon, hdop) in
(after_ns, until_ns], in time order."""

HOUR_NS: Final = 3_600 * 10**9
_SITES_TTL_S: Final = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackerConfig:
    """What the projection needs of ``[journey]`` (kept apart from the config module)."""

    rule: Rule
    settings: Settings
    uere_m: float
    accuracy_m: float
    replay_after_s: float


class GeofenceProjection:
    name = "geofences"

    def __init__(
        self,
        engine: Engine,
        *,
        positions: PositionHistory,
        config: TrackerConfig,
        borders: Callable[[], Borders | None],
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.engine = engine
        self.reader = reader(engine)
        self.positions = positions
        self.config = config
        self.borders = borders
        self.clock = clock
        self._index = FenceIndex([])
        self._mobile: frozenset[str] = frozenset()
        self._known: frozenset[str] = frozenset()
        self._version: tuple[Any, ...] | None = None
        self._checked = float("-inf")
        self.rejected_fixes = 0

    # -- the projection contract --------------------------------------------------------------

    def apply(self, batch: Ingested) -> list[Change]:
        # A gateway registered a moment ago must not lose its first fixes to the cache.
        self.refresh(force=any(p.gateway_id not in self._known for p in batch.positions))
        by_gateway: dict[str, list[GatewayPosition]] = {}
        for p in batch.positions:
            if p.gateway_id in self._mobile:
                by_gateway.setdefault(p.gateway_id, []).append(p)
        changes: list[Change] = []
        for gateway, positions in sorted(by_gateway.items()):
            changes += self._advance(gateway, positions)
        return changes + self.replay_due()

    def refresh(self, *, force: bool = False) -> None:
        """Re-read sites' geofences and the mobile gateways when either changed."""
        if not force and time.monotonic() - self._checked < _SITES_TTL_S:
            return
        self._checked = time.monotonic()
        s, g = schema.sites, schema.gateways
        with translated(), self.reader.connect() as conn:
            version = (
                *conn.execute(select(func.count(), func.max(s.c.updated_at))).one(),
                *conn.execute(select(func.count(), func.max(g.c.created_at))).one(),
            )
            if version == self._version:
                return
            sites = [
                Site(**{**r._mapping, "kind": SiteKind(r.kind)}) for r in conn.execute(select(s))
            ]
            gateways = list(conn.execute(select(g.c.id, g.c.mobile)))
        self._index = FenceIndex(self._fences(sites))
        self._mobile = frozenset(gateway for gateway, mobile in gateways if mobile)
        self._known = frozenset(gateway for gateway, _ in gateways)
        self._version = version

    def _fences(self, sites: Iterable[Site]) -> list[Fence]:
        fences = []
        for site in sites:
            if site.kind is SiteKind.VEHICLE or not site.fenced:
                continue
            base = self.config.rule
            rule = Rule(
                site.confirm_fixes or base.confirm_fixes,
                site.confirm_s or base.confirm_s,
                base.margin_m if site.margin_m is None else site.margin_m,
            )
            try:
                if site.geofence is not None:
                    fences.append(Fence(site.id, rule=rule, geojson=json.loads(site.geofence)))
                elif site.lat is not None and site.lon is not None:
                    fences.append(Fence(site.id, rule=rule, centre=(site.lat, site.lon),
                                        radius_m=site.radius_m))  # fmt: skip
            except (FenceError, ValueError) as exc:  # stored before a check that refuses it now
                log.warning("geofence of site %s cannot be used: %s", site.id, exc)
        return fences

    # -- in order -----------------------------------------------------------------------------

    def _advance(self, gateway: str, positions: Sequence[GatewayPosition]) -> list[Change]:
        rows = [(p.time, p.lat, p.lon, p.hdop) for p in positions]
        fixes = fixes_of(rows, self.config.uere_m, self.config.accuracy_m)
        with translated(), self.engine.begin() as conn:
            saved = _latest_state(conn, gateway, None)
            tracker = self._tracker(saved[1] if saved else None)
            last = tracker.last_time
            late = [f for f in fixes if last is not None and f.time_ns <= last]
            late = [f for f in late if not tracker.seen(f.time_ns)]  # not a re-sent batch
            dirty = schema.geofence_dirty
            if late or conn.scalar(select(dirty.c.since_ns).where(dirty.c.gateway_id == gateway)):
                # Marked for a replay, which takes the fresh fixes too; late ones push it back.
                if late:
                    self._mark(conn, gateway, min(f.time_ns for f in late))
                return []
            fresh = [f for f in fixes if last is None or f.time_ns > last]
            if not fresh:
                return []
            events = tracker.feed(fresh)
            self._save(conn, gateway, tracker)
            _insert_events(conn, gateway, events)
        return [_change(gateway, e) for e in events]

    def _tracker(self, state: dict[str, Any] | None) -> Tracker:
        borders = self.borders()
        return Tracker(state, self._index, borders, self.config.settings)

    def _save(self, conn: Connection, gateway: str, tracker: Tracker) -> None:
        at = tracker.last_time
        if at is None:
            return
        self.rejected_fixes = max(self.rejected_fixes, int(tracker.state["rejected"]))
        row = {"gateway_id": gateway, "bucket": at // HOUR_NS, "time_ns": at,
               "state": json.dumps(tracker.state, separators=(",", ":"))}  # fmt: skip
        statement = upsert(
            conn, schema.geofence_states, ("gateway_id", "bucket"),
            newer=lambda ex, t: ex.time_ns >= t.time_ns,
        )  # fmt: skip
        conn.execute(statement, row)

    def _mark(self, conn: Connection, gateway: str, since_ns: int) -> None:
        """Mark the gateway for a replay from ``since_ns`` (or earlier); the wait for quiet
        starts again."""
        d = schema.geofence_dirty
        now = self.clock()
        current = conn.scalar(select(d.c.since_ns).where(d.c.gateway_id == gateway))
        if current is None:
            row = {"since_ns": since_ns, "marked_at": now, "first_marked_at": now}
            conn.execute(insert(d).values(gateway_id=gateway, **row))
        else:
            since = min(current, since_ns)
            conn.execute(update(d).where(d.c.gateway_id == gateway).values(
                since_ns=since, marked_at=now))  # fmt: skip

    # -- late fixes ---------------------------------------------------------------------------

    def replay_due(self) -> list[Change]:
        """Replay the gateways whose late fixes have been quiet for ``replay_after_s``, or that
        have waited twelve times that (a long drain still shows its events as it goes)."""
        d = schema.geofence_dirty
        wait = int(self.config.replay_after_s * 1e9)
        now = self.clock()
        with translated(), self.reader.connect() as conn:
            waited = (d.c.marked_at <= now - wait) | (d.c.first_marked_at <= now - 12 * wait)
            query = select(d.c.gateway_id, d.c.since_ns, d.c.marked_at).where(waited)
            due = list(conn.execute(query))
        changes: list[Change] = []
        for gateway, since_ns, marked_at in due:
            changes += self.replay(gateway, since_ns, marked_at=marked_at)
        return changes

    def replay(self, gateway: str, since_ns: int, *, marked_at: int | None = None) -> list[Change]:
        """Derive the gateway's events again from its saved state before ``since_ns``."""
        self.refresh()
        with translated(), self.reader.connect() as conn:
            saved = _latest_state(conn, gateway, since_ns)
        start, state = (saved[0], saved[1]) if saved else (0, None)
        rows = self.positions(gateway, start, self.clock() + 366 * 86_400 * 10**9)
        fixes = fixes_of(rows, self.config.uere_m, self.config.accuracy_m)
        tracker = self._tracker(state)
        events: list[FenceEvent] = []
        states: list[tuple[int, str]] = []
        for hour in _by_hour(fixes):
            events += tracker.feed(hour)
            if tracker.last_time is not None:
                states.append((tracker.last_time, json.dumps(tracker.state, separators=(",", ":"))))
        e, s, d = schema.geofence_events, schema.geofence_states, schema.geofence_dirty
        with translated(), self.engine.begin() as conn:
            if marked_at is not None:
                left = conn.scalar(select(d.c.marked_at).where(d.c.gateway_id == gateway))
                if left != marked_at:  # more late fixes came meanwhile: the next replay
                    return []
            conn.execute(delete(e).where(e.c.gateway_id == gateway, e.c.emitted_by > start))
            conn.execute(delete(s).where(s.c.gateway_id == gateway, s.c.time_ns > start))
            latest: dict[int, dict[str, Any]] = {
                t // HOUR_NS: {
                    "gateway_id": gateway,
                    "bucket": t // HOUR_NS,
                    "time_ns": t,
                    "state": st,
                }
                for t, st in states
            }
            if latest:
                conn.execute(delete(s).where(s.c.gateway_id == gateway,
                                             s.c.bucket.in_(list(latest))))  # fmt: skip
                conn.execute(insert(s), list(latest.values()))
            _insert_events(conn, gateway, events)
            replay_at = self.clock()
            conn.execute(insert(e).values(
                gateway_id=gateway, kind="replay", time_ns=since_ns, source="replay",
                accuracy_s=0.0, emitted_by=replay_at))  # fmt: skip
            conn.execute(delete(d).where(d.c.gateway_id == gateway))
        log.info("geofences: %s replayed from %d: %d fixes, %d events", gateway, start,
                 len(fixes), len(events))  # fmt: skip
        return [Change("geofence_replayed", gateway, since_ns, gateway=gateway)] + [
            _change(gateway, ev) for ev in events if ev.time_ns >= since_ns
        ]


def _by_hour(fixes: Sequence[Fix]) -> Iterable[list[Fix]]:
    chunk: list[Fix] = []
    for fix in fixes:
        if chunk and fix.time_ns // HOUR_NS != chunk[-1].time_ns // HOUR_NS:
            yield chunk
            chunk = []
        chunk.append(fix)
    if chunk:
        yield chunk


def _latest_state(
    conn: Connection, gateway: str, before_ns: int | None
) -> tuple[int, dict[str, Any]] | None:
    s = schema.geofence_states
    query = select(s.c.time_ns, s.c.state).where(s.c.gateway_id == gateway)
    if before_ns is not None:
        query = query.where(s.c.time_ns < before_ns)
    row = conn.execute(query.order_by(s.c.time_ns.desc()).limit(1)).first()
    return None if row is None else (int(row[0]), json.loads(row[1]))


def _insert_events(conn: Connection, gateway: str, events: Sequence[FenceEvent]) -> None:
    if events:
        conn.execute(insert(schema.geofence_events), [
            {"gateway_id": gateway, "kind": e.kind, "time_ns": e.time_ns, "site_id": e.site_id,
             "from_country": e.from_country, "to_country": e.to_country, "source": e.source,
             "accuracy_s": e.accuracy_s, "emitted_by": e.emitted_by}
            for e in events
        ])  # fmt: skip


_KINDS: Final[dict[str, ChangeKind]] = {
    "enter": "geofence_entered",
    "exit": "geofence_exited",
    "cross": "border_crossed",
}


def _change(gateway: str, event: FenceEvent) -> Change:
    detail = f"{event.from_country}->{event.to_country}" if event.kind == "cross" else event.source
    return Change(_KINDS[event.kind], gateway, event.time_ns, event.site_id, gateway, detail)
