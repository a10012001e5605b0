"""Where simulated trucks drive: real coordinates around Venlo on the Dutch-German border, a
drive with stops for the NMEA simulator, and a GPS noise model for generated tracks.

The demo geography: a container terminal gate in Venlo (NL) and a distribution centre in
Straelen-Herongen (DE), about 5.5 km apart by the waypoints below, which cross the border where
Natural Earth's 1:10m boundary runs (about 6.205 E at 51.39 N).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from tagtrail_collector.journey.geo import Frame, haversine_m

# (lat, lon): the terminal gate, the road east, the border, the distribution centre.
VENLO_TERMINAL = (51.3880, 6.1630)
STRAELEN_DC = (51.3975, 6.2450)
VENLO_TO_STRAELEN: tuple[tuple[float, float], ...] = (
    VENLO_TERMINAL,
    (51.3890, 6.1750),
    (51.3905, 6.1900),
    (51.3915, 6.2050),
    (51.3935, 6.2200),
    (51.3960, 6.2350),
    STRAELEN_DC,
)


@dataclass(frozen=True, slots=True)
class Leg:
    """Drive through ``waypoints`` at ``speed_mps``, or stand still at the first for
    ``stop_s`` (a leg of one waypoint)."""

    waypoints: tuple[tuple[float, float], ...]
    speed_mps: float = 25.0
    stop_s: float = 0.0

    @property
    def duration_s(self) -> float:
        if self.stop_s:
            return self.stop_s
        return length_m(self.waypoints) / self.speed_mps

    def at(self, t: float) -> tuple[float, float, float, float]:
        """(lat, lon, course, speed) ``t`` seconds into the leg."""
        if self.stop_s or len(self.waypoints) < 2:
            lat, lon = self.waypoints[0]
            return lat, lon, 0.0, 0.0
        travelled = t * self.speed_mps
        for a, b in zip(self.waypoints, self.waypoints[1:], strict=False):
            d = haversine_m(*a, *b)
            if travelled <= d and d:
                f = travelled / d
                course = _bearing(a, b)
                return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, course, self.speed_mps
            travelled -= d
        lat, lon = self.waypoints[-1]
        return lat, lon, 0.0, 0.0


@dataclass(frozen=True)
class Drive:
    """Legs one after the other; after the last, the truck stands at its end. Duck-types the
    NMEA simulator's ``Route`` (``position(elapsed)``, ``speed_mps``)."""

    legs: tuple[Leg, ...]
    speed_mps: float = 0.0
    starts: tuple[float, ...] = field(init=False)

    def __post_init__(self) -> None:
        starts, t = [], 0.0
        for leg in self.legs:
            starts.append(t)
            t += leg.duration_s
        object.__setattr__(self, "starts", (*starts, t))

    @property
    def duration_s(self) -> float:
        return self.starts[-1]

    def state(self, elapsed_s: float) -> tuple[float, float, float, float]:
        i = bisect.bisect_right(self.starts, elapsed_s) - 1
        if 0 <= i < len(self.legs):
            return self.legs[i].at(elapsed_s - self.starts[i])
        lat, lon = self.legs[-1].waypoints[-1 if i >= 0 else 0]
        return lat, lon, 0.0, 0.0

    def position(self, elapsed_s: float) -> tuple[float, float, float]:
        lat, lon, course, _ = self.state(elapsed_s)
        return lat, lon, course


def length_m(points: Sequence[tuple[float, float]]) -> float:
    return sum(haversine_m(*a, *b) for a, b in itertools.pairwise(points))


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    dl = math.radians(b[1] - a[1])
    x = math.sin(dl) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dl)
    return (math.degrees(math.atan2(x, y)) + 360) % 360


@dataclass(frozen=True, slots=True)
class Noise:
    """The GPS noise model of generated tracks: Gaussian error of ``sigma_m`` per axis (so a
    typical error of about 1.25 sigma, 15 m with the default), a fraction ``outliers`` of fixes
    thrown ``outlier_m`` away in a random direction, and HDOP reported between 0.8 and 2.0."""

    sigma_m: float = 12.0
    outliers: float = 0.02
    outlier_m: float = 100.0

    def apply(self, rng: random.Random, lat: float, lon: float) -> tuple[float, float, float]:
        frame = Frame(lat, lon)
        if rng.random() < self.outliers:
            angle = rng.uniform(0, 2 * math.pi)
            dx, dy = self.outlier_m * math.cos(angle), self.outlier_m * math.sin(angle)
        else:
            dx, dy = rng.gauss(0, self.sigma_m), rng.gauss(0, self.sigma_m)
        noisy_lat, noisy_lon = frame.latlon(dx, dy)
        return noisy_lat, noisy_lon, round(rng.uniform(0.8, 2.0), 1)


def sample(drive: Drive, *, every_s: float, start_ns: int) -> Iterator[tuple[int, float, float]]:
    """The true positions along a drive every ``every_s`` seconds: (time_ns, lat, lon)."""
    t = 0.0
    while t <= drive.duration_s:
        lat, lon, _, _ = drive.state(t)
        yield start_ns + int(t * 1e9), lat, lon
        t += every_s
