"""From NMEA sentences to fixes: one fix per receiver epoch, the date joined from RMC.

A receiver reports each epoch (one instant) across several sentences that share its UTC time.
:class:`FixBuilder` merges them and emits the fix when the epoch ends: when a sentence with a
different time arrives, or when the sentence that ended the previous epoch comes again. The last
valid position of the epoch wins, as in gpsd. GGA carries no date: the date of the latest RMC is
used, moved by a day when the time of day wrapped past midnight since that RMC.
"""

from __future__ import annotations

import time as _time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as TimeOfDay  # noqa: N812 (a type, named as one)
from typing import Final

from tagtrail_hardware.errors import ParseError
from tagtrail_hardware.nmea.sentences import Sentence, parse_sentence
from tagtrail_hardware.reads import Fix, Quality

MAX_LINE: Final = 512
_HALF_DAY: Final = 12 * 3600


def _seconds(tod: TimeOfDay) -> float:
    return tod.hour * 3600 + tod.minute * 60 + tod.second + tod.microsecond / 1e6


class FixBuilder:
    """Stateful merger of parsed sentences into :class:`Fix` values."""

    def __init__(self) -> None:
        self._epoch: list[Sentence] = []
        self._tod: TimeOfDay | None = None
        self._ender: str | None = None
        self._day: tuple[date, float] | None = None  # date of the last RMC and its time of day

    def add(self, sentence: Sentence, *, mono_ns: int | None = None) -> list[Fix]:
        mono = _time.monotonic_ns() if mono_ns is None else mono_ns
        fixes: list[Fix] = []
        if sentence.tod is not None and self._tod is not None and sentence.tod != self._tod:
            self._ender = self._epoch[-1].type if self._epoch else None
            fixes += self._flush(mono)
        if sentence.tod is not None:
            self._tod = sentence.tod
        if sentence.day is not None and sentence.tod is not None:
            self._day = (sentence.day, _seconds(sentence.tod))
        self._epoch.append(sentence)
        if sentence.type == self._ender and self._tod is not None:
            fixes += self._flush(mono)
        return fixes

    def flush(self, *, mono_ns: int | None = None) -> list[Fix]:
        """Emit what the current epoch has (at the end of a capture)."""
        return self._flush(_time.monotonic_ns() if mono_ns is None else mono_ns)

    def _flush(self, mono_ns: int) -> list[Fix]:
        epoch, tod = self._epoch, self._tod
        self._epoch, self._tod = [], None
        with_position = [s for s in epoch if s.position_valid]
        # The receiver's latest word on the fix decides (gpsd does the same): a GSA "no fix"
        # left over from the last epoch is overruled by this epoch's GGA, an RMC "V" is not.
        verdicts = [s.fix_ok for s in epoch if s.fix_ok is not None]
        if not with_position or (verdicts and not verdicts[-1]):
            return []
        last = with_position[-1]
        if last.lat is None or last.lon is None:  # position_valid guarantees both; for mypy
            return []
        gga = next(
            (s for s in reversed(epoch) if s.type in ("GGA", "GNS") and s.position_valid), None
        )
        return [
            Fix(
                lat=last.lat,
                lon=last.lon,
                quality=(gga or last).quality or Quality.GPS,
                mono_ns=mono_ns,
                time=self._when(tod),
                hdop=_first(epoch, "hdop"),
                speed_mps=_first(epoch, "speed_mps"),
                course_deg=_first(epoch, "course_deg"),
                alt_m=_first(epoch, "alt_m"),
                satellites=next((s.satellites for s in reversed(epoch) if s.satellites), None),
            )
        ]

    def _when(self, tod: TimeOfDay | None) -> datetime | None:
        if tod is None or self._day is None:
            return None
        day, day_tod = self._day
        delta = _seconds(tod) - day_tod
        if delta < -_HALF_DAY:
            day += timedelta(days=1)  # time of day wrapped past midnight since the last RMC
        elif delta > _HALF_DAY:
            day -= timedelta(days=1)
        return datetime.combine(day, tod, tzinfo=UTC)


def _first(epoch: list[Sentence], name: str) -> float | None:
    for sentence in reversed(epoch):
        value = getattr(sentence, name)
        if value is not None:
            return float(value)
    return None


class NmeaDecoder:
    """Streaming decoder: bytes in, fixes out; bad sentences are counted by reason and skipped."""

    def __init__(self) -> None:
        self.builder = FixBuilder()
        self.rejected: Counter[str] = Counter()
        self.sentences = 0
        self.talkers: Counter[str] = Counter()
        self._pending = b""

    def replay(self, capture: bytes) -> list[Fix]:
        """Every fix of a recorded capture, its last epoch included. Lines starting with ``#``
        are a capture's comments (gpsd's test logs have them), not receiver output."""
        fixes: list[Fix] = []
        for line in capture.split(b"\n"):
            if not line.startswith(b"#"):
                fixes += self.line(line)
        return fixes + self.builder.flush()

    def feed(self, data: bytes, *, mono_ns: int | None = None) -> list[Fix]:
        lines = (self._pending + data).split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > MAX_LINE:
            self.rejected["too-long"] += 1
            self._pending = b""
        fixes: list[Fix] = []
        for raw in lines:
            fixes += self.line(raw, mono_ns=mono_ns)
        return fixes

    def line(self, raw: bytes, *, mono_ns: int | None = None) -> list[Fix]:
        raw = raw.strip()
        if not raw:
            return []
        start = raw.find(b"$")
        if start < 0:
            self.rejected["no-start"] += 1
            return []
        if start:
            self.rejected["garbage"] += 1
        try:
            sentence = parse_sentence(raw[start:].decode("ascii"))
        except UnicodeDecodeError:
            self.rejected["not-ascii"] += 1
            return []
        except ParseError as exc:
            self.rejected[exc.reason] += 1
            return []
        if sentence is None:
            return []
        self.sentences += 1
        self.talkers[sentence.talker] += 1
        return self.builder.add(sentence, mono_ns=mono_ns)
