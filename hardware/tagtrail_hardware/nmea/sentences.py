"""NMEA 0183 sentences: checksum, talker, and the fields of GGA, RMC, VTG, GSA, GLL and GNS.

Every sentence must carry its ``*HH`` checksum. Each parsed sentence is a :class:`Sentence`
whose ``position_valid`` says whether its position may be used: an empty field, a void status
(``V``), a GGA quality of 0 or a mode indicator ``N`` all mean "no position", never 0,0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, time
from typing import Final

from tagtrail_hardware.errors import ParseError
from tagtrail_hardware.reads import Quality

MAX_SENTENCE: Final = 200
KNOT_MPS: Final = 1852.0 / 3600.0
TALKERS: Final = frozenset({"GP", "GN", "GL", "GA", "GB", "BD", "GQ", "GI", "QZ", "PQ"})
TYPES: Final = frozenset({"GGA", "RMC", "VTG", "GSA", "GLL", "GNS"})
_GGA_QUALITY: Final = {
    "1": Quality.GPS, "2": Quality.DGPS, "3": Quality.PPS, "4": Quality.RTK_FIXED,
    "5": Quality.RTK_FLOAT, "6": Quality.ESTIMATED,
}  # fmt: skip
_MODE_QUALITY: Final = {
    "A": Quality.GPS, "D": Quality.DGPS, "P": Quality.GPS, "R": Quality.RTK_FIXED,
    "F": Quality.RTK_FLOAT, "E": Quality.ESTIMATED,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Sentence:
    """What one sentence says; ``None`` where it says nothing."""

    talker: str
    type: str
    tod: time | None = None
    day: date | None = None
    lat: float | None = None
    lon: float | None = None
    position_valid: bool = False
    quality: Quality | None = None
    hdop: float | None = None
    speed_mps: float | None = None
    course_deg: float | None = None
    alt_m: float | None = None
    satellites: int | None = None
    fix_dims: int | None = None
    fix_ok: bool | None = None
    """What the sentence says of the fix: True (status A, quality > 0, GSA 2/3), False (status V,
    quality 0, GSA 1), None when it says nothing."""


def checked_fields(line: str) -> list[str]:
    """Verify framing and checksum; return the comma-separated fields (address first)."""
    if len(line) > MAX_SENTENCE:
        raise ParseError("too-long", f"{len(line)} characters")
    if not line.startswith("$"):
        raise ParseError("no-start", "a sentence starts with '$'")
    body, star, checksum = line[1:].partition("*")
    if not star:
        raise ParseError("no-checksum", "the sentence has no *HH checksum")
    try:
        expected = int(checksum[:2], 16) if len(checksum.strip()) == 2 else -1
    except ValueError:
        expected = -1
    actual = 0
    for char in body.encode("ascii", "replace"):
        actual ^= char
    if expected != actual:
        raise ParseError(
            "bad-checksum", f"*{checksum.strip()} but the sentence sums to {actual:02X}"
        )
    return body.split(",")


def parse_sentence(line: str) -> Sentence | None:
    """Parse one line; ``None`` for well-formed sentences of types we do not use."""
    fields = checked_fields(line.strip())
    address = fields[0]
    if len(address) != 5 or address.startswith("P"):
        return None
    talker, kind = address[:2], address[2:]
    if kind not in TYPES:
        return None
    if talker not in TALKERS:
        raise ParseError("bad-talker", repr(talker))
    try:
        return _PARSERS[kind](talker, fields)
    except (ValueError, IndexError) as exc:
        raise ParseError("bad-field", f"{address}: {exc}") from None


def _field(fields: list[str], index: int) -> str:
    return fields[index].strip() if index < len(fields) else ""


def _number(fields: list[str], index: int) -> float | None:
    text = _field(fields, index)
    if not text:
        return None
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"field {index} is not finite")
    return value


def _tod(text: str) -> time | None:
    if not text:
        return None
    if len(text) < 6 or not text[:6].isdigit():
        raise ValueError(f"bad time {text!r}")
    seconds = float(text[4:])
    whole = int(seconds)
    return time(int(text[:2]), int(text[2:4]), whole, min(999_999, round((seconds - whole) * 1e6)))


def _day(text: str) -> date | None:
    # A mangled date does not void the position beside it: the sentence has no date, that's all.
    if len(text) != 6 or not text.isdigit():
        return None
    year = int(text[4:6])
    try:
        return date(2000 + year if year < 80 else 1900 + year, int(text[2:4]), int(text[:2]))
    except ValueError:
        return None


def _angle(value: str, hemi: str, degree_digits: int) -> float | None:
    if not value or not hemi:
        return None
    head, _, _ = value.partition(".")
    if len(head) < degree_digits + 2 or not head.isdigit():
        raise ValueError(f"bad angle {value!r}")
    degrees = int(value[:degree_digits])
    minutes = float(value[degree_digits:])
    if minutes >= 60.0:
        raise ValueError(f"minutes {minutes} out of range")
    result = degrees + minutes / 60.0
    if hemi in "SW":
        result = -result
    elif hemi not in "NE":
        raise ValueError(f"bad hemisphere {hemi!r}")
    if abs(result) > (90.0 if degree_digits == 2 else 180.0):
        raise ValueError(f"angle {result} out of range")
    return result


def _latlon(fields: list[str], at: int) -> tuple[float | None, float | None]:
    lat = _angle(_field(fields, at), _field(fields, at + 1), 2)
    lon = _angle(_field(fields, at + 2), _field(fields, at + 3), 3)
    return lat, lon


def _has_position(lat: float | None, lon: float | None) -> bool:
    return lat is not None and lon is not None and not (lat == 0.0 and lon == 0.0)


def _gga(talker: str, f: list[str]) -> Sentence:
    lat, lon = _latlon(f, 2)
    quality = _GGA_QUALITY.get(_field(f, 6))
    sats = _field(f, 7)
    satellites = int(sats) if sats.isdigit() else None
    if satellites == 0 and quality is not Quality.ESTIMATED:
        quality = None  # a satellite fix from no satellites is a receiver's stale output
    return Sentence(
        talker, "GGA", tod=_tod(_field(f, 1)), lat=lat, lon=lon,
        position_valid=quality is not None and _has_position(lat, lon), quality=quality,
        satellites=satellites, hdop=_number(f, 8), alt_m=_number(f, 9),
        fix_ok=_status(quality is not None, _field(f, 6)),
    )  # fmt: skip


def _rmc(talker: str, f: list[str]) -> Sentence:
    lat, lon = _latlon(f, 3)
    mode = _field(f, 12)[:1]
    valid = _field(f, 2) == "A" and mode != "N" and _has_position(lat, lon)
    knots = _number(f, 7)
    return Sentence(
        talker, "RMC", tod=_tod(_field(f, 1)), day=_day(_field(f, 9)), lat=lat, lon=lon,
        position_valid=valid, quality=_MODE_QUALITY.get(mode, Quality.GPS) if valid else None,
        speed_mps=None if knots is None else knots * KNOT_MPS, course_deg=_course(_number(f, 8)),
        fix_ok=_status(valid, _field(f, 2)),
    )  # fmt: skip


def _vtg(talker: str, f: list[str]) -> Sentence:
    if _field(f, 9)[:1] == "N":
        return Sentence(talker, "VTG")
    kmh, knots = _number(f, 7), _number(f, 5)
    speed = kmh / 3.6 if kmh is not None else None if knots is None else knots * KNOT_MPS
    return Sentence(talker, "VTG", speed_mps=speed, course_deg=_course(_number(f, 1)))


def _gsa(talker: str, f: list[str]) -> Sentence:
    dims = _field(f, 2)
    return Sentence(talker, "GSA", fix_dims=int(dims) if dims in {"1", "2", "3"} else None,
                    hdop=_number(f, 16), fix_ok=_status(dims in {"2", "3"}, dims))  # fmt: skip


def _gll(talker: str, f: list[str]) -> Sentence:
    lat, lon = _latlon(f, 1)
    mode = _field(f, 7)[:1]
    valid = _field(f, 6) == "A" and mode != "N" and _has_position(lat, lon)
    return Sentence(talker, "GLL", tod=_tod(_field(f, 5)), lat=lat, lon=lon, position_valid=valid,
                    quality=_MODE_QUALITY.get(mode, Quality.GPS) if valid else None,
                    fix_ok=_status(valid, _field(f, 6)))  # fmt: skip


def _gns(talker: str, f: list[str]) -> Sentence:
    lat, lon = _latlon(f, 2)
    modes = _field(f, 6)
    best = next((_MODE_QUALITY[c] for c in modes if c in _MODE_QUALITY), None)
    sats = _field(f, 7)
    return Sentence(
        talker, "GNS", tod=_tod(_field(f, 1)), lat=lat, lon=lon,
        position_valid=best is not None and _has_position(lat, lon), quality=best,
        satellites=int(sats) if sats.isdigit() else None, hdop=_number(f, 8), alt_m=_number(f, 9),
    )  # fmt: skip


def _status(ok: bool, field: str) -> bool | None:  # noqa: FBT001
    return ok if field else None


def _course(value: float | None) -> float | None:
    return None if value is None else value % 360.0


_PARSERS: Final = {"GGA": _gga, "RMC": _rmc, "VTG": _vtg, "GSA": _gsa, "GLL": _gll, "GNS": _gns}
