"""Distances on the Earth and a local metric frame (no I/O).

Geofences are small (a port is a few kilometres across) and the segments between two fixes are
at most a few hundred kilometres, so an equirectangular frame centred on the fence is accurate
to well under 1 % of the distance measured, far below GPS noise at a fence's edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

EARTH_RADIUS_M: Final = 6_371_008.8  # mean radius (IUGG)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class Frame:
    """Metres east (x) and north (y) of an origin."""

    lat0: float
    lon0: float

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        k = math.radians(1) * EARTH_RADIUS_M
        return (lon - self.lon0) * k * math.cos(math.radians(self.lat0)), (lat - self.lat0) * k

    def project(self, lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
        """(lon, lat) rows -> (x, y) rows (for ``shapely.transform``)."""
        k = math.radians(1) * EARTH_RADIUS_M
        x = (lonlat[:, 0] - self.lon0) * k * math.cos(math.radians(self.lat0))
        return np.column_stack([x, (lonlat[:, 1] - self.lat0) * k])

    def latlon(self, x: float, y: float) -> tuple[float, float]:
        k = math.radians(1) * EARTH_RADIUS_M
        return self.lat0 + y / k, self.lon0 + x / (k * math.cos(math.radians(self.lat0)))


def degrees_for(metres: float, lat: float) -> tuple[float, float]:
    """(degrees of latitude, degrees of longitude) spanning ``metres`` at a latitude."""
    k = math.radians(1) * EARTH_RADIUS_M
    return metres / k, metres / (k * max(0.01, math.cos(math.radians(lat))))
