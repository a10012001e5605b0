"""What drivers produce: typed, frozen tag reads and position fixes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class TagRead:
    """One raw sighting of a tag by a reader antenna.

    ``time`` is Unix seconds: the reader's own timestamp when it gives one, otherwise the host's
    wall clock when the bytes arrived. ``mono_ns`` is always the host's monotonic clock.
    """

    epc: str
    antenna: int
    time: float
    mono_ns: int
    rssi_dbm: float | None = None
    frequency_khz: int | None = None
    reader: str = ""
    reader_clock: bool = False
    """True when ``time`` is the reader's own timestamp (a buffering reader: gaps are real)."""


class Quality(StrEnum):
    """Kind of fix (NMEA GGA quality indicator / gpsd status); same names as the wire model."""

    GPS = "gps"
    DGPS = "dgps"
    PPS = "pps"
    RTK_FIXED = "rtk-fixed"
    RTK_FLOAT = "rtk-float"
    ESTIMATED = "estimated"


@dataclass(frozen=True, slots=True)
class Fix:
    """A position fix. Never built without a valid position (there is no "0,0 for no fix").

    ``time`` is the receiver's UTC time, or None while it has no date yet (GGA before the first
    RMC). ``mono_ns`` is the host's monotonic clock when the fix was completed.
    """

    lat: float
    lon: float
    quality: Quality
    mono_ns: int
    time: datetime | None = None
    hdop: float | None = None
    speed_mps: float | None = None
    course_deg: float | None = None
    alt_m: float | None = None
    satellites: int | None = None
    source: str = field(default="nmea")
