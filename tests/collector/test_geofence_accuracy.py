"""Geofence and border accuracy on generated tracks (the tracker alone, on the world's borders).

Border crossings: every stay of 30 s or more in a country must be found; a crossing the
tracker reports must be one of the path's, counting stays of 10 s or more (a road along the
border wiggles across the map's line; between 10 and 30 s either answer is right).

Noise model (``tagtrail_testbed.routes.Noise``): Gaussian error of 12 m per axis (about 15 m
typical), 2 % of fixes thrown 100 m away, HDOP 0.8 to 2.0; a fix every 5 s, and on a quarter of
the legs a gap of 2 to 10 minutes without fixes. Trucks drive between 120 sites (circles and
polygons, 150 m to 1 km across) spread over the Dutch-German border region at 25 m/s and stand
2 to 15 minutes inside each. The truth is the noiseless path: when it crosses each fence, and
each country change on the map that lasts a minute or more.

Required: every visit and every crossing found (0 missed), no exit that did not happen (0 false
exits), and times within the stated accuracy.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tagtrail_collector.journey import borders
from tagtrail_collector.journey.fences import Fence, FenceIndex, Rule
from tagtrail_collector.journey.geo import Frame, haversine_m
from tagtrail_collector.journey.tracker import FenceEvent, Fix, Settings, Tracker
from tagtrail_testbed.routes import Drive, Leg, Noise

SEED = 20261130
FIX_EVERY_S = 5
SPEED = 25.0
T0 = 1_795_000_000 * 10**9


@dataclass
class Site:
    id: str
    lat: float
    lon: float
    radius_m: float
    fence: Fence


def make_sites(rng: random.Random, count: int) -> list[Site]:
    sites: list[Site] = []
    while len(sites) < count:
        lat, lon = rng.uniform(51.0, 51.9), rng.uniform(5.7, 6.9)
        r = rng.uniform(150, 500)
        if any(haversine_m(lat, lon, s.lat, s.lon) < r + s.radius_m + 4000 for s in sites):
            continue
        sid = f"s{len(sites):03d}"
        if len(sites) % 2:
            fence = Fence(sid, rule=Rule(), centre=(lat, lon), radius_m=r)
        else:  # a rotated rectangle, as GeoJSON
            frame, angle = Frame(lat, lon), rng.uniform(0, math.pi)
            w, h = r, r * rng.uniform(0.5, 1.0)
            corners = []
            for x, y in ((-w, -h), (w, -h), (w, h), (-w, h), (-w, -h)):
                xr = x * math.cos(angle) - y * math.sin(angle)
                yr = x * math.sin(angle) + y * math.cos(angle)
                clat, clon = frame.latlon(xr, yr)
                corners.append([clon, clat])
            geojson = {"type": "Polygon", "coordinates": [corners]}
            fence = Fence(sid, rule=Rule(), geojson=geojson)
            r = h
        sites.append(Site(sid, lat, lon, r, fence))
    return sites


def clear_of_others(a: Site, b: Site, sites: list[Site]) -> bool:
    """The straight drive a -> b passes no other site within 1.5 km of its edge."""
    steps = max(2, int(haversine_m(a.lat, a.lon, b.lat, b.lon) / 250))
    for i in range(steps + 1):
        lat = a.lat + (b.lat - a.lat) * i / steps
        lon = a.lon + (b.lon - a.lon) * i / steps
        for s in sites:
            if (
                s is not a
                and s is not b
                and haversine_m(lat, lon, s.lat, s.lon) < s.radius_m * 2 + 1500
            ):
                return False
    return True


def itinerary(rng: random.Random, sites: list[Site], legs: int) -> list[tuple[Site, float]]:
    here = rng.choice(sites)
    stops = [(here, rng.uniform(120, 900))]
    while len(stops) < legs:
        near = [
            s
            for s in sites
            if s is not here and haversine_m(here.lat, here.lon, s.lat, s.lon) < 40_000
        ]
        rng.shuffle(near)
        nxt = next((s for s in near if clear_of_others(here, s, sites)), None)
        if nxt is None:
            break
        stops.append((nxt, rng.uniform(120, 900)))
        here = nxt
    return stops


def drive_of(stops: list[tuple[Site, float]]) -> Drive:
    legs: list[Leg] = []
    for index, (site, dwell) in enumerate(stops):
        if index:
            prev = stops[index - 1][0]
            legs.append(Leg(((prev.lat, prev.lon), (site.lat, site.lon)), speed_mps=SPEED))
        legs.append(Leg(((site.lat, site.lon),), stop_s=dwell))
    return Drive(tuple(legs))


def fixes_of(drive: Drive, rng: random.Random, noise: Noise) -> list[Fix]:
    """Noisy fixes every 5 s, with gaps of 2-10 minutes on a quarter of the drives between
    stops. A gap may begin in the second half of a stop or end in the first half of the next
    (the gateway was off when the truck left or arrived), never hide a whole stay: a stay no
    fix sees, off the straight line between the fixes around it, is invisible to any tracker."""
    fixes: list[Fix] = []
    gaps: list[tuple[float, float]] = []
    starts, t = [], 0.0
    for leg in drive.legs:
        starts.append(t)
        t += leg.duration_s
    for i, leg in enumerate(drive.legs):
        if leg.stop_s or rng.random() >= 0.25:
            continue
        earliest = starts[i] - drive.legs[i - 1].duration_s / 2
        latest = starts[i] + leg.duration_s
        limit = latest + (drive.legs[i + 1].duration_s / 2 if i + 1 < len(drive.legs) else 0)
        begin = rng.uniform(earliest, latest)
        gaps.append((begin, min(limit, begin + rng.uniform(120, 600))))
    t = 0.0
    while t <= drive.duration_s:
        if not any(a <= t < b for a, b in gaps):
            lat, lon, _, _ = drive.state(t)
            nlat, nlon, hdop = noise.apply(rng, lat, lon)
            fixes.append(Fix(T0 + int(t * 1e9), nlat, nlon, hdop * 5.0))
        t += FIX_EVERY_S
    return fixes


Crossing = tuple[float, str, str]


def truth(
    drive: Drive, sites: list[Site], world: borders.Borders
) -> tuple[dict[str, list[list[float | None]]], tuple[list[Crossing], list[Crossing]]]:
    """True fence crossings (site -> [[enter_s, exit_s]]) and country changes, from the
    noiseless path sampled every 5 s, each change located to 0.1 s by bisection."""
    index = FenceIndex([s.fence for s in sites])

    def inside(t: float) -> frozenset[str]:
        lat, lon, _, _ = drive.state(t)
        return frozenset(f.site_id for f in index.near([(lat, lon)]) if f.signed_m(lat, lon) <= 0)

    def country(t: float) -> str | None:
        lat, lon, _, _ = drive.state(t)
        found = world.country(lat, lon)
        return None if found is None else found.code

    def when(probe: Callable[[float], object], a: float, b: float) -> float:
        """The first time in (a, b] where probe(t) != probe(a), to 0.1 s."""
        start = probe(a)
        while b - a > 0.1:
            mid = (a + b) / 2
            a, b = (mid, b) if probe(mid) == start else (a, mid)
        return b

    visits: dict[str, list[list[float | None]]] = {}
    countries: list[tuple[float, str]] = []
    t, was_in, was_country = 0.0, inside(0.0), country(0.0)
    for sid in was_in:
        visits[sid] = [[0.0, None]]
    if was_country is not None:
        countries.append((0.0, was_country))
    while t < drive.duration_s:
        nxt = min(t + 5.0, drive.duration_s)
        now_in, now_country = inside(nxt), country(nxt)
        if now_in != was_in:
            at = when(inside, t, nxt)
            for sid in now_in - was_in:
                visits.setdefault(sid, []).append([at, None])
            for sid in was_in - now_in:
                visits[sid][-1][1] = at
        if now_country != was_country and now_country is not None:
            at = when(country, t, nxt)
            if not countries or countries[-1][1] != now_country:
                countries.append((at, now_country))
        t, was_in, was_country = nxt, now_in, now_country
    return visits, (collapse(countries, 30.0, drive), collapse(countries, 10.0, drive))


def collapse(countries: list[tuple[float, str]], shortest_s: float, drive: Drive) -> list[Crossing]:
    """Crossings between the countries held at least ``shortest_s`` (a road along the border
    wiggles across it on the map)."""
    kept: list[tuple[float, str]] = []
    for i, (at, code) in enumerate(countries):
        end = countries[i + 1][0] if i + 1 < len(countries) else drive.duration_s
        if (end - at >= shortest_s or i + 1 == len(countries)) and (
            not kept or kept[-1][1] != code
        ):
            kept.append((at, code))
    return [(b[0], a[1], b[1]) for a, b in itertools.pairwise(kept)]


@pytest.mark.timeout(600)
def test_no_false_exit_and_no_missed_crossing_over_a_thousand_visits_and_crossings() -> None:
    rng = random.Random(SEED)
    world = borders.load()
    sites = make_sites(rng, 120)
    index = FenceIndex([s.fence for s in sites])
    noise = Noise()
    totals = {"visits": 0, "crossings": 0, "interpolated": 0, "false_exits": 0, "missed": 0}
    worst = {"fence_s": 0.0, "border_s": 0.0}
    truck = 0
    while totals["visits"] + totals["crossings"] < 1000:
        truck += 1
        stops = itinerary(rng, sites, 16)
        drive = drive_of(stops)
        fixes = fixes_of(drive, rng, noise)
        tracker = Tracker(None, index, world, Settings())
        events = tracker.feed(fixes)
        true_visits, (must, may) = truth(drive, sites, world)
        found: dict[str, list[list[float | None]]] = {}
        accuracy: dict[tuple[str, str, int], float] = {}
        for e in events:
            if e.kind in ("enter", "exit"):
                accuracy[(e.site_id or "", e.kind, len(found.get(e.site_id or "", [])))] = (
                    e.accuracy_s
                )
            if e.kind == "enter":
                found.setdefault(e.site_id or "", []).append([(e.time_ns - T0) / 1e9, None])
            elif e.kind == "exit":
                assert found.get(e.site_id or ""), (
                    f"truck {truck}: exit of {e.site_id} without entry"
                )
                found[e.site_id or ""][-1][1] = (e.time_ns - T0) / 1e9
            if e.source == "interpolated":
                totals["interpolated"] += 1
        for sid in set(true_visits) | set(found):
            want, got = true_visits.get(sid, []), found.get(sid, [])
            totals["false_exits"] += max(0, len(got) - len(want))
            totals["missed"] += max(0, len(want) - len(got))
            for n, ((a_in, a_out), (b_in, b_out)) in enumerate(zip(want, got, strict=False)):
                assert a_in is not None
                assert b_in is not None
                # within the span between the fixes around it, and a fix's noise at 25 m/s
                allowed = accuracy[(sid, "enter", n)] + 2 if n or a_in else 0
                assert abs(a_in - b_in) <= allowed, f"truck {truck}: {sid} entry off"
                worst["fence_s"] = max(worst["fence_s"], abs(a_in - b_in))
                assert (a_out is None) == (b_out is None), f"truck {truck}: {sid} open/closed"
                if a_out is not None and b_out is not None:
                    allowed = accuracy[(sid, "exit", n + 1)] + 2
                    assert abs(a_out - b_out) <= allowed, f"truck {truck}: {sid} exit off"
                    worst["fence_s"] = max(worst["fence_s"], abs(a_out - b_out))
            totals["visits"] += len(want)
        crossed = [e for e in events if e.kind == "cross"]

        def matches(c: FenceEvent, ref: tuple[float, str, str]) -> bool:
            at, a, b = ref
            error = abs((c.time_ns - T0) / 1e9 - at)
            return (c.from_country, c.to_country) == (a, b) and error <= c.accuracy_s + 2

        missed = [ref for ref in must if not any(matches(c, ref) for c in crossed)]
        invented = [c for c in crossed if not any(matches(c, ref) for ref in may)]
        assert missed == [], f"truck {truck}: crossings missed"
        assert invented == [], f"truck {truck}: crossings that did not happen"
        for c in crossed:
            at = min(abs((c.time_ns - T0) / 1e9 - ref[0]) for ref in may if matches(c, ref))
            worst["border_s"] = max(worst["border_s"], at)
        totals["crossings"] += len(must)
    figures = f"{totals}, worst time errors {worst}, {truck} trucks"
    assert totals["false_exits"] == 0, figures
    assert totals["missed"] == 0, figures
    assert totals["crossings"] >= 100
    assert totals["interpolated"] > 0
