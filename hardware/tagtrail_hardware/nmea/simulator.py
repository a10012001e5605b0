"""Simulator of an NMEA GPS: drives a route and prints GGA, RMC, VTG and GSA once per epoch.

A ``Route`` goes back and forth at one speed; a ``Drive`` is legs one after the other, each a
stretch of road at its speed or a stop, once or over again. ``VENLO_TO_STRAELEN`` is the demo
road: waypoints from a terminal gate in Venlo (NL) east across the border to a distribution
centre in Straelen-Herongen (DE), about 5.5 km.
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tagtrail_hardware.nmea.sentences import KNOT_MPS
from tagtrail_hardware.virtual import VirtualSerialPort

_EARTH_M = 6_371_000.0


def with_checksum(body: str) -> str:
    """``$body*HH\\r\\n`` for a sentence body without ``$``."""
    checksum = 0
    for char in body.encode("ascii"):
        checksum ^= char
    return f"${body}*{checksum:02X}\r\n"


def _angle(value: float, degree_digits: int, hemis: str) -> tuple[str, str]:
    hemi = hemis[0] if value >= 0 else hemis[1]
    value = abs(value)
    degrees = int(value)
    minutes = (value - degrees) * 60.0
    return f"{degrees:0{degree_digits}d}{minutes:010.7f}", hemi


VENLO_TERMINAL: tuple[float, float] = (51.3880, 6.1630)
STRAELEN_DC: tuple[float, float] = (51.3975, 6.2450)
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
class Route:
    """Waypoints driven at a constant speed, back and forth."""

    waypoints: tuple[tuple[float, float], ...]
    speed_mps: float = 15.0

    def position(self, elapsed_s: float) -> tuple[float, float, float]:
        """(lat, lon, course in degrees) after ``elapsed_s`` seconds."""
        legs = list(zip(self.waypoints, self.waypoints[1:], strict=False))
        legs += [(b, a) for a, b in reversed(legs)]
        lengths = [_distance(a, b) for a, b in legs]
        total = sum(lengths)
        travelled = (elapsed_s * self.speed_mps) % total if total else 0.0
        for (a, b), length in zip(legs, lengths, strict=True):
            if travelled <= length and length:
                f = travelled / length
                return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, _bearing(a, b)
            travelled -= length
        return self.waypoints[0][0], self.waypoints[0][1], 0.0

    def speed(self, elapsed_s: float) -> float:
        return self.speed_mps


@dataclass(frozen=True, slots=True)
class Leg:
    """Drive through ``waypoints`` at ``speed_mps``, or stand still at the first for ``stop_s``
    (a leg of one waypoint)."""

    waypoints: tuple[tuple[float, float], ...]
    speed_mps: float = 25.0
    stop_s: float = 0.0

    @property
    def duration_s(self) -> float:
        if self.stop_s or len(self.waypoints) < 2:
            return self.stop_s
        return sum(_distance(a, b) for a, b in itertools.pairwise(self.waypoints)) / self.speed_mps

    def at(self, t: float) -> tuple[float, float, float, float]:
        """(lat, lon, course, speed) ``t`` seconds into the leg."""
        if not self.stop_s and len(self.waypoints) >= 2:
            travelled = t * self.speed_mps
            for a, b in itertools.pairwise(self.waypoints):
                d = _distance(a, b)
                if travelled <= d and d:
                    f = travelled / d
                    lat, lon = a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
                    return lat, lon, _bearing(a, b), self.speed_mps
                travelled -= d
        lat, lon = self.waypoints[-1] if not self.stop_s else self.waypoints[0]
        return lat, lon, 0.0, 0.0


@dataclass(frozen=True)
class Drive:
    """Legs one after the other, then standing at the end; or, with ``cycle``, over again."""

    legs: tuple[Leg, ...]
    cycle: bool = False
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
        """(lat, lon, course, speed) after ``elapsed_s`` seconds."""
        if self.cycle and self.duration_s:
            elapsed_s %= self.duration_s
        i = bisect.bisect_right(self.starts, elapsed_s) - 1
        if 0 <= i < len(self.legs):
            return self.legs[i].at(elapsed_s - self.starts[i])
        lat, lon = self.legs[-1].waypoints[-1] if i >= 0 else self.legs[0].waypoints[0]
        return lat, lon, 0.0, 0.0

    def position(self, elapsed_s: float) -> tuple[float, float, float]:
        lat, lon, course, _ = self.state(elapsed_s)
        return lat, lon, course

    def speed(self, elapsed_s: float) -> float:
        return self.state(elapsed_s)[3]


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_M * math.asin(math.sqrt(h))


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return math.degrees(math.atan2(y, x)) % 360.0


def epoch_sentences(
    when: datetime, lat: float | None, lon: float | None, *, talker: str = "GN",
    speed_mps: float = 0.0, course: float = 0.0, satellites: int = 9, hdop: float = 0.9,
) -> str:  # fmt: skip
    """The sentences of one epoch; ``lat=None`` prints a receiver without a fix."""
    hms = when.strftime("%H%M%S.") + f"{when.microsecond // 10000:02d}"
    dmy = when.strftime("%d%m%y")
    if lat is None or lon is None:
        return "".join(
            with_checksum(body)
            for body in (
                f"{talker}RMC,{hms},V,,,,,,,{dmy},,,N",
                f"{talker}GGA,{hms},,,,,0,00,99.99,,,,,,",
                f"{talker}GSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99",
            )
        )
    la, ns = _angle(lat, 2, "NS")
    lo, ew = _angle(lon, 3, "EW")
    knots = speed_mps / KNOT_MPS
    return "".join(
        with_checksum(body)
        for body in (
            f"{talker}RMC,{hms},A,{la},{ns},{lo},{ew},{knots:.3f},{course:.2f},{dmy},,,A",
            f"{talker}VTG,{course:.2f},T,,M,{knots:.3f},N,{speed_mps * 3.6:.3f},K,A",
            f"{talker}GGA,{hms},{la},{ns},{lo},{ew},1,{satellites:02d},{hdop:.2f},12.0,M,47.0,M,,",
            f"{talker}GSA,A,3,01,02,03,04,05,06,07,08,09,,,,1.50,{hdop:.2f},1.20",
        )
    )


class NmeaSimulator:
    """Prints one epoch every ``period_s`` on a virtual serial port while running."""

    def __init__(
        self,
        port: VirtualSerialPort,
        route: Route | Drive,
        *,
        period_s: float = 1.0,
        talker: str = "GN",
    ) -> None:
        self.port = port
        self.route = route
        self.period_s = period_s
        self.talker = talker
        self.has_fix = threading.Event()
        self.has_fix.set()
        self._stop = threading.Event()
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="nmea-sim", daemon=True)

    def start(self) -> NmeaSimulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def epoch(self, when: datetime | None = None) -> str:
        when = when or datetime.now(UTC)
        if not self.has_fix.is_set():
            return epoch_sentences(when, None, None, talker=self.talker)
        elapsed = time.monotonic() - self._start
        lat, lon, course = self.route.position(elapsed)
        speed = self.route.speed(elapsed)
        return epoch_sentences(when, lat, lon, talker=self.talker, speed_mps=speed, course=course)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.port.write(self.epoch().encode("ascii"))
            except OSError:
                return
