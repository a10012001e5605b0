"""Geofences of sites: a circle (centre and radius) or a polygon (GeoJSON), and a spatial index
over all of them (shapely's STRtree). No I/O.

Distances are signed: negative inside the fence, positive outside, in metres, measured in a
local frame centred on the fence (``geo.Frame``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import shapely
from shapely.errors import ShapelyError
from shapely.geometry import LineString, Point, box, shape
from shapely.geometry.base import BaseGeometry

from tagtrail_collector.journey.geo import Frame, degrees_for, haversine_m

_PAD_M: Final = 1_000.0  # index boxes are grown by this: accuracy plus margin stay below it
_BISECT: Final = 24  # halvings of a segment when locating a boundary crossing


class FenceError(ValueError):
    """A geofence that cannot be used (bad GeoJSON, not a polygon, too large)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """How sure the tracker must be before it records an exit (and an entry).

    ``confirm_fixes`` fixes in a row, or fixes spanning ``confirm_s`` seconds, each outside the
    fence by more than its accuracy plus ``margin_m`` (inside it, for an entry)."""

    confirm_fixes: int = 3
    confirm_s: float = 60.0
    margin_m: float = 25.0


class Fence:
    """One site's geofence."""

    def __init__(
        self,
        site_id: str,
        *,
        rule: Rule,
        centre: tuple[float, float] | None = None,
        radius_m: float | None = None,
        geojson: dict[str, Any] | None = None,
    ) -> None:
        self.site_id = site_id
        self.rule = rule
        self._radius = radius_m
        if geojson is not None:
            polygon = polygon_of(geojson)
            lon0, lat0 = polygon.centroid.x, polygon.centroid.y
            self.frame = Frame(lat0, lon0)
            self._shape: BaseGeometry | None = shapely.transform(polygon, self.frame.project)
            shapely.prepare(self._shape)
            self._boundary = self._shape.boundary
            self.bounds = polygon.bounds
        elif centre is not None and radius_m is not None:
            self.frame = Frame(*centre)
            self._shape = None
            dlat, dlon = degrees_for(radius_m, centre[0])
            self.bounds = (centre[1] - dlon, centre[0] - dlat, centre[1] + dlon, centre[0] + dlat)
        else:
            raise FenceError(f"site {site_id}: a geofence needs a polygon or a centre and radius")

    @property
    def centre(self) -> tuple[float, float]:
        """(lat, lon): the circle's centre, the polygon's centroid."""
        return self.frame.lat0, self.frame.lon0

    def signed_m(self, lat: float, lon: float) -> float:
        """Distance to the fence's edge: negative inside."""
        if self._shape is None:
            return haversine_m(self.frame.lat0, self.frame.lon0, lat, lon) - (self._radius or 0.0)
        point = Point(self.frame.xy(lat, lon))
        distance = float(self._boundary.distance(point))
        return -distance if self._shape.contains(point) else distance

    def deepest_m(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        """How far inside the segment a-b goes (negative: it stays outside by that much)."""
        ax, ay = self.frame.xy(*a)
        bx, by = self.frame.xy(*b)
        if self._shape is None:
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
            return (self._radius or 0.0) - math.hypot(ax + t * dx, ay + t * dy)
        line = LineString([(ax, ay), (bx, by)])
        inside = line.intersection(self._shape)
        if inside.is_empty:
            return -float(line.distance(self._shape))
        points = shapely.get_coordinates(inside)
        samples = [Point(x, y) for x, y in points]
        mids = [Point((p.x + q.x) / 2, (p.y + q.y) / 2) for p, q in itertools.pairwise(samples)]
        return max(float(self._boundary.distance(p)) for p in samples + mids)

    def crossing(self, a: tuple[float, float], b: tuple[float, float], *, entering: bool) -> float:
        """Where (0..1 along a-b) the segment first crosses the edge in the given direction.

        ``a`` must be on the starting side (outside when entering, inside when leaving); with
        both ends outside (a pass through the fence), the first entry or the last exit."""
        inside_at = self._inside_point(a, b)
        if entering:
            return self._bisect(a, b, 0.0, inside_at, want_inside=True)
        return self._bisect(a, b, inside_at, 1.0, want_inside=False)

    def _inside_point(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        """A parameter along a-b that lies inside (the deepest sample of 64, or an end)."""
        best_t, best_d = 0.0, self.signed_m(*a)
        for i in range(1, 65):
            t = i / 64
            d = self.signed_m(*_along(a, b, t))
            if d < best_d:
                best_t, best_d = t, d
        return best_t

    def _bisect(
        self, a: tuple[float, float], b: tuple[float, float], lo: float, hi: float,
        *, want_inside: bool,
    ) -> float:  # fmt: skip
        """Between lo (one side) and hi (the other), where the edge lies."""
        for _ in range(_BISECT):
            mid = (lo + hi) / 2
            inside = self.signed_m(*_along(a, b, mid)) <= 0
            if inside == want_inside:
                hi = mid
            else:
                lo = mid
        return (lo + hi) / 2


def _along(a: tuple[float, float], b: tuple[float, float], t: float) -> tuple[float, float]:
    return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t


def polygon_of(geojson: dict[str, Any]) -> BaseGeometry:
    """A GeoJSON Polygon or MultiPolygon (or a Feature of one), repaired if invalid."""
    if not isinstance(geojson, dict):
        raise FenceError("a geofence is a GeoJSON object")
    geometry = geojson.get("geometry") if geojson.get("type") == "Feature" else geojson
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise FenceError("a polygon geofence must be a GeoJSON Polygon or MultiPolygon")
    try:
        polygon = shape(geometry)
        valid = polygon.is_valid
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, ShapelyError) as exc:
        raise FenceError(f"not a valid GeoJSON polygon: {exc}") from None
    if polygon.is_empty:
        raise FenceError("the polygon is empty")
    west, south, east, north = polygon.bounds
    if not (west >= -180 and east <= 180 and south >= -90 and north <= 90):
        raise FenceError("coordinates must be [longitude, latitude] in degrees")
    if east - west > 5 or north - south > 5:
        raise FenceError("a geofence may span at most 5 degrees (a site, not a region)")
    if not valid:
        polygon = shapely.make_valid(polygon, method="structure", keep_collapsed=False)
    if polygon.is_empty or polygon.area == 0:
        raise FenceError("the polygon has no area")
    return polygon


class FenceIndex:
    """All geofences, indexed by their boxes grown by 1 km."""

    def __init__(self, fences: Iterable[Fence]) -> None:
        self.fences = tuple(fences)
        boxes = []
        for fence in self.fences:
            west, south, east, north = fence.bounds
            dlat, dlon = degrees_for(_PAD_M, max(abs(south), abs(north)))
            boxes.append(box(west - dlon, south - dlat, east + dlon, north + dlat))
        self._tree = shapely.STRtree(boxes)
        self.by_site = {fence.site_id: fence for fence in self.fences}

    def near(self, points: Sequence[tuple[float, float]]) -> list[Fence]:
        """Fences whose grown box holds one of the points or the segments between them."""
        if not self.fences or not points:
            return []
        lats = [p[0] for p in points]
        lons = [p[1] for p in points]
        hits = self._tree.query(box(min(lons), min(lats), max(lons), max(lats)))
        return [self.fences[int(i)] for i in sorted(hits.tolist())]
