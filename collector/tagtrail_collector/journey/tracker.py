"""A mobile gateway's fixes -> entries into and exits from geofences, and border crossings.

Pure logic (no I/O): a :class:`Tracker` takes fixes in time order and returns the events they
confirm; its whole state is a JSON-able dict, so a projection can keep it between writes and
replay from a saved state when late fixes arrive.

How it resists the two ways GPS lies:

- **Jitter**: a fix counts as outside only when it is outside by more than its accuracy plus
  the fence's margin; an exit (and an entry) needs ``confirm_fixes`` such fixes in a row, or
  fixes spanning ``confirm_s`` seconds. A fix that implies a speed above ``max_speed_mps`` from
  the last accepted one is an outlier and is dropped (and counted).
- **Gaps**: the time of an entry or exit is where the segment between the last fix on one
  side and the first on the other crosses the edge, interpolated along it. A segment that passes
  through a fence with both ends outside yields the entry and exit it implies. Events found over
  a span longer than ``gap_s`` (a gateway that was offline) are marked ``interpolated``.

A country change needs the same confirmation; its time is found by bisecting the segment
between the last fix in the old country and the first in the new one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from tagtrail_collector.journey.borders import Borders, Country
from tagtrail_collector.journey.fences import Fence, FenceIndex, Rule
from tagtrail_collector.journey.geo import degrees_for, haversine_m

EventKind = Literal["enter", "exit", "cross"]
Source = Literal["geofence", "interpolated"]
BORDER_ERROR_M: Final = 1_000.0  # Natural Earth 1:10m near Venlo: right within about 1 km
_RECENT: Final = 64
_AROUND: Final = tuple(k * math.pi / 4 for k in range(8))
_STEP_M: Final = 250.0  # points along a long segment between fixes, for its country
_BORDER_RULE: Final = Rule()
_KIND_ORDER: Final = {"exit": 0, "cross": 1, "enter": 2}


@dataclass(frozen=True, slots=True)
class Fix:
    time_ns: int
    lat: float
    lon: float
    accuracy_m: float


@dataclass(frozen=True, slots=True)
class FenceEvent:
    """An entry, an exit or a border crossing. ``emitted_by`` is the time of the fix that
    confirmed it (a replay from a saved state deletes what fixes after that state emitted)."""

    kind: EventKind
    time_ns: int
    source: Source
    emitted_by: int
    site_id: str | None = None
    from_country: str | None = None
    to_country: str | None = None
    accuracy_s: float = 0.0

    @property
    def order(self) -> tuple[int, int, str]:
        return (self.time_ns, _KIND_ORDER[self.kind], self.site_id or self.to_country or "")


@dataclass(frozen=True, slots=True)
class Settings:
    gap_s: float = 120.0
    max_speed_mps: float = 70.0
    border_rule: Rule = _BORDER_RULE


_P = list[Any]  # a fix in the state: [time_ns, lat, lon, accuracy_m]


def _p(fix: Fix) -> _P:
    return [fix.time_ns, fix.lat, fix.lon, fix.accuracy_m]


def _fix(p: _P) -> Fix:
    return Fix(int(p[0]), float(p[1]), float(p[2]), float(p[3]))


class Tracker:
    """One gateway's geofence and country state."""

    def __init__(
        self,
        state: dict[str, Any] | None,
        fences: FenceIndex,
        borders: Borders | None,
        settings: Settings,
    ) -> None:
        self.state: dict[str, Any] = state or {
            "last": None, "recent": [], "inside": {}, "entering": {},
            "country": None, "country_fix": None, "to_country": None, "rejected": 0,
        }  # fmt: skip
        self.fences = fences
        self.borders = borders
        self.settings = settings
        self._before: _P | None = None

    @property
    def last_time(self) -> int | None:
        last = self.state["last"]
        return None if last is None else int(last[0])

    def seen(self, time_ns: int) -> bool:
        """Whether a fix at this time was among the last ones fed (a re-sent batch)."""
        return time_ns in self.state["recent"]

    def feed(self, fixes: Iterable[Fix]) -> list[FenceEvent]:
        """Fixes in time order, all later than :attr:`last_time`; the events they confirm."""
        events: list[FenceEvent] = []
        for fix in fixes:
            events += self._one(fix)
        events.sort(key=lambda e: e.order)
        return events

    def _one(self, fix: Fix) -> list[FenceEvent]:
        state = self.state
        state["recent"] = [*state["recent"][-(_RECENT - 1) :], fix.time_ns]
        prev = None if state["last"] is None else _fix(state["last"])
        if prev is not None:
            if fix.time_ns <= prev.time_ns:
                return []
            seconds = (fix.time_ns - prev.time_ns) / 1e9
            if (
                haversine_m(prev.lat, prev.lon, fix.lat, fix.lon) / seconds
                > self.settings.max_speed_mps
            ):
                state["rejected"] += 1
                return []
        self._before = state.get("before")
        state["before"], state["last"] = state["last"], _p(fix)
        events = self._fences(prev, fix)
        if self.borders is not None:
            events += self._countries(prev, fix)
        return events

    # -- geofences ---------------------------------------------------------------------------

    def _fences(self, prev: Fix | None, fix: Fix) -> list[FenceEvent]:
        state = self.state
        near = {f.site_id: f for f in self.fences.near([(fix.lat, fix.lon)] + (
            [(prev.lat, prev.lon)] if prev is not None else []))}  # fmt: skip
        for site in list(state["inside"]) + list(state["entering"]):
            fence = self.fences.by_site.get(site)
            if fence is None:  # its geofence was removed: forget it
                state["inside"].pop(site, None)
                state["entering"].pop(site, None)
            else:
                near[site] = fence
        events: list[FenceEvent] = []
        for site in sorted(near):
            fence = near[site]
            if site in state["inside"]:
                events += self._while_inside(fence, fix)
            elif site in state["entering"]:
                events += self._while_entering(fence, fix)
            else:
                events += self._while_outside(fence, prev, fix)
        return events

    def _while_inside(self, fence: Fence, fix: Fix) -> list[FenceEvent]:
        st = self.state["inside"][fence.site_id]
        d = fence.signed_m(fix.lat, fix.lon)
        if d <= fix.accuracy_m + fence.rule.margin_m:
            st["out"] = None
            if d <= 0:
                st["last_in"] = _p(fix)
            return []
        out = st["out"] or {"first": _p(fix), "n": 0}
        out["n"] += 1
        st["out"] = out
        if not _confirmed(out["first"][0], fix.time_ns, out["n"], fence.rule):
            return []
        del self.state["inside"][fence.site_id]
        return [self._crossing(fence, _fix(st["last_in"]), _fix(out["first"]), "exit", fix)]

    def _while_entering(self, fence: Fence, fix: Fix) -> list[FenceEvent]:  # noqa: PLR0911
        st = self.state["entering"][fence.site_id]
        d = fence.signed_m(fix.lat, fix.lon)
        margin = fix.accuracy_m + fence.rule.margin_m
        if d <= 0:
            st["n"] += 1
            st["last"] = _p(fix)
            st["out"] = None
            if not _confirmed(st["first"][0], fix.time_ns, st["n"], fence.rule):
                return []
            del self.state["entering"][fence.site_id]
            return [self._entered(fence, st, fix)]
        if d <= margin:
            return []  # at the edge: neither in nor clearly out
        out = st.get("out") or {"first": _p(fix), "n": 0}
        out["n"] += 1
        st["out"] = out
        if not _confirmed(out["first"][0], fix.time_ns, out["n"], fence.rule):
            return []  # an outlier, until more fixes say otherwise
        del self.state["entering"][fence.site_id]
        prev, first_out = (None if st["prev"] is None else _fix(st["prev"])), _fix(out["first"])
        if st["n"] >= 2 and prev is not None:  # a short stay, seen by too few fixes to confirm
            enter = self._crossing(fence, prev, _fix(st["first"]), "enter", fix)
            return [enter, self._crossing(fence, _fix(st["last"]), first_out, "exit", fix)]
        if prev is not None and self._passes(fence, prev, first_out):
            return self._pass(fence, prev, first_out, fix)
        return []  # jitter at the edge

    def _while_outside(self, fence: Fence, prev: Fix | None, fix: Fix) -> list[FenceEvent]:
        d = fence.signed_m(fix.lat, fix.lon)
        margin = fix.accuracy_m + fence.rule.margin_m
        if d <= 0:
            st = {"prev": self._anchor(prev), "first": _p(fix), "last": _p(fix), "n": 1,
                  "out": None}  # fmt: skip
            if _confirmed(fix.time_ns, fix.time_ns, 1, fence.rule):
                return [self._entered(fence, st, fix)]
            self.state["entering"][fence.site_id] = st
            return []
        if prev is None or d <= margin:
            return []
        return self._pass(fence, prev, fix, fix) if self._passes(fence, prev, fix) else []

    @staticmethod
    def _passes(fence: Fence, a: Fix, b: Fix) -> bool:
        """Whether the segment a-b, from a fix outside, goes into the fence by more than its
        margin (a pass between two fixes; b is clearly outside)."""
        if fence.signed_m(a.lat, a.lon) <= 0:
            return False
        if haversine_m(a.lat, a.lon, b.lat, b.lon) < 2 * fence.rule.margin_m:
            return False
        return fence.deepest_m((a.lat, a.lon), (b.lat, b.lon)) >= fence.rule.margin_m

    def _anchor(self, prev: Fix | None) -> _P | None:
        """The outside fix an entry is measured from: the previous fix, unless it is the first
        after a gap (a lone fix there may be an outlier): then the last fix before the gap,
        and the entry is interpolated across it."""
        if prev is None:
            return None
        before = self._before
        if before is not None and (prev.time_ns - int(before[0])) / 1e9 > self.settings.gap_s:
            return list(before)
        return _p(prev)

    def _entered(self, fence: Fence, st: dict[str, Any], fix: Fix) -> FenceEvent:
        self.state["inside"][fence.site_id] = {"last_in": st["last"], "out": None}
        first = _fix(st["first"])
        if st["prev"] is None:  # the gateway's first fix: it was here when it started
            return FenceEvent("enter", first.time_ns, "geofence", fix.time_ns, fence.site_id)
        return self._crossing(fence, _fix(st["prev"]), first, "enter", fix)

    def _pass(self, fence: Fence, a: Fix, b: Fix, by: Fix) -> list[FenceEvent]:
        """Both ends outside, the segment through the fence: the entry and exit it implies."""
        return [self._crossing(fence, a, b, "enter", by), self._crossing(fence, a, b, "exit", by)]

    def _crossing(
        self, fence: Fence, a: Fix, b: Fix, kind: Literal["enter", "exit"], by: Fix
    ) -> FenceEvent:
        t = fence.crossing((a.lat, a.lon), (b.lat, b.lon), entering=kind == "enter")
        span = (b.time_ns - a.time_ns) / 1e9
        source: Source = "interpolated" if span > self.settings.gap_s else "geofence"
        at = a.time_ns + round((b.time_ns - a.time_ns) * t)
        return FenceEvent(kind, at, source, by.time_ns, fence.site_id, accuracy_s=span)

    # -- countries ---------------------------------------------------------------------------

    def _countries(self, prev: Fix | None, fix: Fix) -> list[FenceEvent]:
        """The fix's country, after points every ``_STEP_M`` along a long segment from the
        previous fix: a crossing (and back) between two sparse fixes lies on the segment."""
        if prev is None:
            return self._country(fix, fix, 0.0)
        span = (fix.time_ns - prev.time_ns) / 1e9
        steps = int(haversine_m(prev.lat, prev.lon, fix.lat, fix.lon) // _STEP_M)
        events: list[FenceEvent] = []
        for i in range(1, steps):
            f = i / steps
            point = Fix(
                prev.time_ns + round((fix.time_ns - prev.time_ns) * f),
                prev.lat + (fix.lat - prev.lat) * f, prev.lon + (fix.lon - prev.lon) * f,
                fix.accuracy_m,
            )  # fmt: skip
            events += self._country(point, fix, span)
        return events + self._country(fix, fix, span)

    def _country(self, fix: Fix, by: Fix, span_s: float) -> list[FenceEvent]:
        state = self.state
        found = self._clear_country(fix)
        if found is None:  # at sea, off the map's coastline, or too near a border to tell
            return []
        code = found.code
        if state["country"] is None or code == state["country"]:
            state["country"], state["country_fix"], state["to_country"] = code, _p(fix), None
            return []
        pending = state["to_country"]
        if pending is None or pending["code"] != code:
            pending = {"code": code, "first": _p(fix), "n": 0}
        pending["n"] += 1
        state["to_country"] = pending
        if not _confirmed(
            pending["first"][0], fix.time_ns, pending["n"], self.settings.border_rule
        ):
            return []
        event = self._border(_fix(state["country_fix"]), _fix(pending["first"]), code, by, span_s)
        state["country"], state["country_fix"], state["to_country"] = code, _p(fix), None
        return [event]

    def _border(self, a: Fix, b: Fix, code: str, by: Fix, span_s: float) -> FenceEvent:
        """Bisect a-b for where the new country begins; accuracy from the map's error, or half
        the span between the real fixes when a gap was bridged (``span_s``)."""
        lo, hi = 0.0, 1.0
        for _ in range(20):
            mid = (lo + hi) / 2
            where = self._country_at(a.lat + (b.lat - a.lat) * mid, a.lon + (b.lon - a.lon) * mid)
            if where is not None and where.code == code:
                hi = mid
            else:
                lo = mid
        span = (b.time_ns - a.time_ns) / 1e9
        speed = haversine_m(a.lat, a.lon, b.lat, b.lon) / max(span, 1e-9)
        bridged = max(span, span_s)
        interpolated = bridged > self.settings.gap_s
        # The crossing lies between the two points; off the gap, the map's own error adds.
        accuracy = bridged if interpolated else span + BORDER_ERROR_M / max(speed, 0.1)
        return FenceEvent(
            "cross", a.time_ns + round((b.time_ns - a.time_ns) * hi),
            "interpolated" if interpolated else "geofence", by.time_ns,
            from_country=self.state["country"], to_country=code, accuracy_s=round(accuracy, 1),
        )  # fmt: skip

    def _clear_country(self, fix: Fix) -> Country | None:
        """The fix's country if every point within its accuracy plus the margin lies in it (or
        at sea); None at sea or within that distance of a border (a truck waiting at a border
        post must not cross it at every fix)."""
        found = self._country_at(fix.lat, fix.lon)
        if found is None or self.borders is None or self.borders.whole_tile(fix.lat, fix.lon):
            return found
        dlat, dlon = degrees_for(fix.accuracy_m + self.settings.border_rule.margin_m, fix.lat)
        around = [(fix.lat + dlat * math.sin(a), fix.lon + dlon * math.cos(a)) for a in _AROUND]
        for other in self.borders.countries_of(around):
            if other is not None and other.code != found.code:
                return None
        return found

    def _country_at(self, lat: float, lon: float) -> Country | None:
        return None if self.borders is None else self.borders.country(lat, lon)


def _confirmed(first_ns: int, now_ns: int, n: int, rule: Rule) -> bool:
    return n >= rule.confirm_fixes or (n >= 2 and now_ns - first_ns >= rule.confirm_s * 1e9)


def accuracy_m(hdop: float | None, uere_m: float, default_m: float) -> float:
    """A fix's horizontal accuracy: HDOP times the receiver's range error, or a default."""
    return default_m if hdop is None else max(1.0, hdop * uere_m)


def fixes_of(
    rows: Sequence[tuple[int, float, float, float | None]], uere_m: float, default_m: float
) -> list[Fix]:
    """(time_ns, lat, lon, hdop) rows -> fixes, sorted, one per time."""
    unique = {row[0]: row for row in rows}
    return [
        Fix(t, lat, lon, accuracy_m(hdop, uere_m, default_m))
        for t, lat, lon, hdop in (unique[k] for k in sorted(unique))
    ]
