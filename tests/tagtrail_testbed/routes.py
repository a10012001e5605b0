"""Generated tracks: the drives of ``tagtrail_hardware.nmea.simulator`` (legs and stops, the
Venlo-Straelen road across the Dutch-German border) and a GPS noise model."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from tagtrail_collector.journey.geo import Frame
from tagtrail_hardware.nmea.simulator import (
    STRAELEN_DC,
    VENLO_TERMINAL,
    VENLO_TO_STRAELEN,
    Drive,
    Leg,
)

__all__ = ["STRAELEN_DC", "VENLO_TERMINAL", "VENLO_TO_STRAELEN", "Drive", "Leg", "Noise"]


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
