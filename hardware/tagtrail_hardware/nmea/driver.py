"""Driver of an NMEA 0183 GPS receiver on a serial port."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import serial

from tagtrail_hardware.contract import Backoff, Found, Sink
from tagtrail_hardware.errors import DeviceTimeout
from tagtrail_hardware.nmea.fixes import NmeaDecoder
from tagtrail_hardware.reads import Fix
from tagtrail_hardware.serial_port import SerialDevice, read_available


class NmeaGps(SerialDevice[Fix]):
    """A receiver that streams NMEA sentences; fixes go to the sink as their epoch completes."""

    kind = "gps"

    def __init__(
        self,
        *,
        name: str,
        path: str,
        baudrate: int = 9600,
        silence_timeout_s: float = 5.0,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(name=name, path=path, baudrate=baudrate, backoff=backoff)
        self.decoder = NmeaDecoder()
        self.rejected = self.decoder.rejected
        self.silence_timeout_s = silence_timeout_s
        self.last_fix: Fix | None = None

    def _session(
        self,
        port: serial.Serial,
        sink: Sink[Fix],
        stop: threading.Event,
        *,
        on_ready: Callable[[], None],
    ) -> None:
        last_heard = time.monotonic()
        ready = False
        while not stop.is_set():
            data = read_available(port)
            if not data:
                if time.monotonic() - last_heard > self.silence_timeout_s:
                    raise DeviceTimeout(f"{self.path}: no NMEA for {self.silence_timeout_s} s")
                continue
            last_heard = time.monotonic()
            before = self.decoder.sentences
            fixes = self.decoder.feed(data)
            if not ready and self.decoder.sentences > before:
                ready = True
                talkers = ", ".join(sorted(self.decoder.talkers))
                self.identity = f"NMEA 0183 receiver ({talkers})"
                on_ready()
            if fixes:
                self.last_fix = fixes[-1]
                sink(fixes)


def recognise(path: str, baudrate: int, heard: bytes) -> Found | None:
    """An NMEA receiver, if what the port said unasked holds valid sentences."""
    gps = NmeaDecoder()
    fixes = gps.replay(heard)
    if not gps.sentences:
        return None
    talkers = ",".join(sorted(gps.talkers))
    fix = fixes[-1] if fixes else None
    where = f"fix {fix.lat:.6f},{fix.lon:.6f} ({fix.quality.value})" if fix else "no fix"
    details: dict[str, object] = {"talkers": sorted(gps.talkers), "sentences": gps.sentences}
    if fix is not None:
        details |= {"lat": fix.lat, "lon": fix.lon, "quality": fix.quality.value}
    return Found(path, "nmea-gps", baudrate, f"NMEA GPS, talker {talkers}, {where}", details)
