"""The ``nmea`` GPS driver's settings: the ``[gps]`` section (see README.md, sample.toml)."""

from __future__ import annotations

from typing import Literal

from tagtrail_hardware.contract import Baudrate, GpsSettings, SerialSettings


class NmeaSettings(GpsSettings, SerialSettings):
    source: Literal["nmea"]
    """"nmea": a receiver streaming NMEA 0183 on a serial port"""
    path: str = "/dev/ttyACM0"
    """serial port; /dev/serial/by-id/... survives re-plugging"""
    baudrate: Baudrate = 9600
    """serial speed (most receivers: 9600 or 4800)"""
