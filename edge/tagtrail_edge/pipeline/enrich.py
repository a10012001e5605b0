"""Enrichment: GS1 decoding of EPCs and, on mobile gateways, the position at each event's time.

EPCs that are not GS1 schemes (or are malformed) are normal: they keep their raw hex and get no
identity. Decoding goes through ``epcpy``, wrapped so that none of its errors escape.

Whether the wall clock the items are stamped with is synchronised is asked of the kernel
(adjtimex), as chrony and timedatectl do; ``ClockProbe`` caches the answer.
"""

from __future__ import annotations

import bisect
import ctypes
import ctypes.util
import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from epcpy.utils.common import ConvertException
from epcpy.utils.parsers import hex_to_tag_encodable

from tagtrail_edge.pipeline.values import Event
from tagtrail_hardware.reads import Fix
from tagtrail_protocol import (
    EpcIdentity,
    EventKind,
    FixQuality,
    ObservationItem,
    Position,
    PositionFix,
)


@dataclass(frozen=True, slots=True)
class Decoded:
    """An EPC's decoding, or the reason there is none."""

    hex: str
    identity: EpcIdentity | None
    error: str | None = None


# EPC binary headers (TDS 2.x, table 14-1) of the schemes whose tag URI we build ourselves.
_SCHEMES: Final = {
    0x30: "sgtin-96", 0x31: "sscc-96", 0x32: "sgln-96", 0x33: "grai-96", 0x34: "giai-96",
    0x35: "gid-96", 0x36: "sgtin-198", 0x37: "grai-170", 0x38: "giai-202", 0x39: "sgln-195",
    0x2C: "gdti-96", 0x2D: "gsrn-96", 0x2E: "gsrnp-96", 0x3B: "adi-var", 0x3C: "cpi-96",
    0x3D: "cpi-var", 0x3E: "gdti-174", 0x3F: "sgcn-96", 0x40: "itip-110", 0x41: "itip-212",
}  # fmt: skip


_DECODE_ERRORS: Final = (ConvertException, ValueError, TypeError, AttributeError, IndexError,
                         KeyError)  # fmt: skip


@functools.lru_cache(maxsize=4096)  # about 4 MB at most: tags in the field, not all ever seen
def decode_epc(epc_hex: str) -> Decoded:
    """Decode per the GS1 Tag Data Standard (SGTIN, SSCC, SGLN, GRAI, GIAI, GID...)."""
    try:
        scheme = _SCHEMES.get(int(epc_hex[:2], 16))
    except ValueError:
        return Decoded(epc_hex, None, "not hexadecimal")
    if scheme is None:
        return Decoded(epc_hex, None, f"header 0x{epc_hex[:2]} is not a GS1 EPC scheme")
    if scheme.endswith("-96") and len(epc_hex) != 24:
        return Decoded(epc_hex, None, f"{scheme} needs 96 bits, the EPC has {len(epc_hex) * 4}")
    try:
        tag = hex_to_tag_encodable(epc_hex)
        uri = str(tag.epc_uri)
    except _DECODE_ERRORS as exc:
        return Decoded(epc_hex, None, str(exc) or type(exc).__name__)
    body = uri.split(":", 4)[-1]
    filter_value = None if scheme == "gid-96" else (int(epc_hex[2:4], 16) >> 5)
    prefix = "" if filter_value is None else f"{filter_value}."
    try:
        gs1_key: str | None = str(tag.gs1_key())  # type: ignore[attr-defined]
    except _DECODE_ERRORS:
        gs1_key = None  # schemes without a GS1 key (GID, ADI...)
    identity = EpcIdentity(
        scheme=scheme, uri=uri, tag_uri=f"urn:epc:tag:{scheme}:{prefix}{body}",
        filter=filter_value, gs1_key=gs1_key,
    )  # fmt: skip
    return Decoded(epc_hex, identity)


class PositionHistory:
    """Recent fixes of a mobile gateway, to find where it was at an event's time."""

    def __init__(self, *, max_age_s: float = 30.0, keep: int = 3600) -> None:
        self.max_age_s = max_age_s
        self.keep = keep
        self._times: list[float] = []  # sorted, searched with bisect
        self._fixes: list[Fix] = []

    def add(self, fix: Fix, *, received: float) -> None:
        """Record a fix; its time is the receiver's UTC time, else when it was received."""
        when = fix.time.timestamp() if fix.time is not None else received
        if self._times and when < self._times[-1]:
            return  # out of order (a replayed capture, a clock step): keep the history sorted
        self._times.append(when)
        self._fixes.append(fix)
        if len(self._times) > 2 * self.keep:  # trim in bulk, not one pop per fix
            del self._times[: self.keep], self._fixes[: self.keep]

    @property
    def latest(self) -> Fix | None:
        return self._fixes[-1] if self._fixes else None

    def at(self, when: float) -> Position | None:
        """The nearest fix to ``when`` within ``max_age_s``, with its age."""
        if not self._times:
            return None
        times = self._times
        i = bisect.bisect_left(times, when)
        best = min(
            (j for j in (i - 1, i) if 0 <= j < len(times)), key=lambda j: abs(times[j] - when)
        )
        age = abs(times[best] - when)
        if age > self.max_age_s:
            return None
        fix = self._fixes[best]
        return Position(lat=fix.lat, lon=fix.lon, fix_age_s=round(age, 3), hdop=fix.hdop)


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def observation(
    event: Event, *, synced: bool, positions: PositionHistory | None
) -> ObservationItem:
    """The wire item for a smoothed event, with the EPC's identity and the position then."""
    return ObservationItem(
        epc=event.epc,
        read_point=event.read_point,
        antenna=event.antenna,
        event=EventKind(event.type),
        first_seen=utc(event.first_seen),
        last_seen=utc(event.last_seen),
        count=event.count,
        peak_rssi_dbm=event.peak_rssi,
        mono_ns=event.mono_ns,
        clock_synced=synced,
        position=positions.at(event.time) if positions is not None else None,
        identity=decode_epc(event.epc).identity,
    )


def position(fix: Fix, *, received: float, synced: bool) -> PositionFix:
    return PositionFix(
        time=fix.time or utc(received), mono_ns=fix.mono_ns, clock_synced=synced,
        lat=fix.lat, lon=fix.lon, quality=FixQuality(fix.quality.value), hdop=fix.hdop,
        speed_mps=fix.speed_mps, course_deg=fix.course_deg, alt_m=fix.alt_m,
        satellites=fix.satellites,
    )  # fmt: skip


TIME_ERROR: Final = 5  # adjtimex's answer when the kernel's clock is not synchronised


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def kernel_synced() -> bool:
    """True when NTP (or a GPS-disciplined daemon) keeps the kernel clock synchronised."""
    buffer = ctypes.create_string_buffer(512)  # struct timex, zeroed: modes = 0 means "read"
    try:
        state = _libc.adjtimex(buffer)
    except (AttributeError, OSError):
        return False
    return state not in (-1, TIME_ERROR)


class ClockProbe:
    """Caches the kernel's answer for a few seconds (it is asked once per commit)."""

    def __init__(self, *, refresh_s: float = 5.0, forced: bool | None = None) -> None:
        self.refresh_s = refresh_s
        self.forced = forced
        self._checked = -1e18
        self._synced = False

    def synced(self) -> bool:
        if self.forced is not None:
            return self.forced
        now = time.monotonic()
        if now - self._checked > self.refresh_s:
            self._synced, self._checked = kernel_synced(), now
        return self._synced
