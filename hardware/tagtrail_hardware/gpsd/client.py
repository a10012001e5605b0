"""gpsd's JSON protocol: the preferred position source when gpsd runs on the gateway.

Connects to gpsd, sends ``?WATCH={"enable":true,"json":true}``, and turns each TPV report with a
2D/3D fix into a :class:`Fix` (hdop and satellites from the latest SKY). Reconnects with backoff.
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Final

from tagtrail_hardware.contract import Backoff, DeviceStatus, Sink
from tagtrail_hardware.errors import DeviceError
from tagtrail_hardware.loop import DeviceLoop
from tagtrail_hardware.reads import Fix, Quality

WATCH: Final = b'?WATCH={"enable":true,"json":true};\n'
MAX_REPORT: Final = 1 << 20
_STATUS_QUALITY: Final = {2: Quality.DGPS, 3: Quality.RTK_FIXED, 4: Quality.RTK_FLOAT,
                          6: Quality.ESTIMATED}  # fmt: skip


def _number(report: dict[str, Any], key: str) -> float | None:
    value = report.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _time(report: dict[str, Any]) -> datetime | None:
    text = report.get("time")
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class GpsdReports:
    """Pure part: JSON lines in, fixes out; counts what it rejects."""

    def __init__(self) -> None:
        self.rejected: Counter[str] = Counter()
        self.hdop: float | None = None
        self.satellites: int | None = None
        self.version: str | None = None

    def line(self, raw: bytes, *, mono_ns: int | None = None) -> Fix | None:
        try:
            report = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            self.rejected["bad-json"] += 1
            return None
        if not isinstance(report, dict):
            self.rejected["bad-json"] += 1
            return None
        cls = report.get("class")
        if cls == "VERSION":
            self.version = str(report.get("release", "?"))
        elif cls == "SKY":
            self.hdop = _number(report, "hdop") or self.hdop
            used = report.get("uSat")
            self.satellites = used if isinstance(used, int) else self.satellites
        elif cls == "TPV":
            return self._tpv(report, time.monotonic_ns() if mono_ns is None else mono_ns)
        return None

    def _tpv(self, report: dict[str, Any], mono_ns: int) -> Fix | None:
        lat, lon = _number(report, "lat"), _number(report, "lon")
        mode = report.get("mode")
        if not isinstance(mode, int) or mode < 2 or lat is None or lon is None:
            return None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
            self.rejected["bad-position"] += 1
            return None
        course = _number(report, "track")
        return Fix(
            lat=lat,
            lon=lon,
            quality=_STATUS_QUALITY.get(report.get("status", 1), Quality.GPS),
            mono_ns=mono_ns,
            time=_time(report),
            hdop=self.hdop,
            speed_mps=_number(report, "speed"),
            course_deg=None if course is None else course % 360.0,
            alt_m=_number(report, "altMSL") or _number(report, "alt"),
            satellites=self.satellites,
            source="gpsd",
        )


class GpsdClient(DeviceLoop[socket.socket, Fix]):
    """A position source reading gpsd over TCP: the device loop of the serial drivers, on a
    socket (gpsd restarted or gone: ``absent``, and reconnected with backoff)."""

    kind = "gps"
    lost_errors: ClassVar[tuple[type[BaseException], ...]] = (OSError,)

    def __init__(
        self, *, name: str, host: str = "127.0.0.1", port: int = 2947,
        backoff: Backoff | None = None, silence_timeout_s: float = 10.0,
    ) -> None:  # fmt: skip
        super().__init__(name=name, backoff=backoff)
        self.host = host
        self.port = port
        self.silence_timeout_s = silence_timeout_s
        self.reports = GpsdReports()
        self.rejected = self.reports.rejected
        self.last_fix: Fix | None = None

    @property
    def where(self) -> str:
        return f"gpsd at {self.host}:{self.port}"

    def status(self) -> DeviceStatus:
        version = self.reports.version
        self.identity = f"gpsd {version}" if version else None
        return super().status()

    def _open(self) -> socket.socket:
        try:
            return socket.create_connection((self.host, self.port), timeout=2.0)
        except OSError as exc:
            raise DeviceError(f"cannot reach {self.where}: {exc}") from exc

    def _close(self, handle: socket.socket) -> None:
        handle.close()

    def _session(
        self, sock: socket.socket, sink: Sink[Fix], stop: threading.Event, *,
        on_ready: Callable[[], None],
    ) -> None:  # fmt: skip
        sock.sendall(WATCH)
        sock.settimeout(0.2)
        on_ready()
        pending, heard = b"", time.monotonic()
        while not stop.is_set():
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                if time.monotonic() - heard > self.silence_timeout_s:
                    raise TimeoutError(f"{self.where} sent nothing") from None
                continue
            if not chunk:
                raise ConnectionResetError("gpsd closed the connection")
            heard = time.monotonic()
            *lines, pending = (pending + chunk).split(b"\n")
            if len(pending) > MAX_REPORT:
                self.reports.rejected["too-long"] += 1
                pending = b""
            fixes = [f for f in map(self.reports.line, lines) if f is not None]
            if fixes:
                self.last_fix = fixes[-1]
                sink(fixes)
