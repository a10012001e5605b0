"""Line format of ASCII readers: fields in a configurable order, split by a separator.

Fields: ``epc`` (hex, required), ``antenna`` (integer), ``rssi`` (dBm, decimal), ``time_ms``
(the reader's Unix time in milliseconds) and ``-`` for a column to ignore. Examples::

    E2801160600002054E2A0B3C,1,-61.5          fields = ["epc", "antenna", "rssi"]
    1;E2801160600002054E2A0B3C                fields = ["antenna", "epc"], separator ";"
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Final, Literal

from tagtrail_hardware.errors import ParseError
from tagtrail_hardware.reads import TagRead

Field = Literal["epc", "antenna", "rssi", "time_ms", "-"]
MAX_LINE: Final = 512
_HEX: Final = frozenset(b"0123456789ABCDEFabcdef")


@dataclass(frozen=True, slots=True)
class LineFormat:
    """How one reader model prints a tag; ``antenna`` is used when the line has none."""

    fields: tuple[Field, ...] = ("epc", "antenna", "rssi")
    separator: str = ","
    antenna: int = 1

    def __post_init__(self) -> None:
        if self.fields.count("epc") != 1:
            raise ValueError("the line format needs exactly one 'epc' field")
        named = [f for f in self.fields if f != "-"]
        if len(set(named)) != len(named):
            raise ValueError("a field is listed twice in the line format")
        if not self.separator or self.separator in "\r\n":
            raise ValueError("the separator must be a non-empty string without line breaks")


def _epc(text: str) -> str:
    raw = text.strip().encode("ascii", "replace")
    if not raw or len(raw) % 4 or len(raw) > 124 or not set(raw) <= _HEX:
        raise ParseError("bad-epc", f"{text!r} is not whole 16-bit hex words")
    return raw.decode().upper()


def _antenna(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ParseError("bad-antenna", repr(text)) from None
    if not 0 <= value <= 255:
        raise ParseError("bad-antenna", f"{value} is outside 0..255")
    return value


def _rssi(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ParseError("bad-rssi", repr(text)) from None
    if not -150.0 <= value <= 30.0:  # also refuses nan and inf
        raise ParseError("bad-rssi", f"{value} dBm is not a plausible RSSI")
    return value


def _time_ms(text: str) -> float:
    try:
        value = int(text)
    except ValueError:
        raise ParseError("bad-time", repr(text)) from None
    if not 0 < value < 2**53:
        raise ParseError("bad-time", f"{value} ms is not a plausible Unix time")
    return value / 1000.0


def parse_line(line: str, fmt: LineFormat, *, now: float, mono_ns: int, reader: str) -> TagRead:
    """One line (without its line break) to a read; :class:`ParseError` says why not."""
    parts = line.split(fmt.separator)
    if len(parts) != len(fmt.fields):
        raise ParseError("field-count", f"{len(parts)} fields, expected {len(fmt.fields)}")
    epc, antenna, rssi, when, stamped = "", fmt.antenna, None, now, False
    for name, text in zip(fmt.fields, parts, strict=True):
        if name == "epc":
            epc = _epc(text)
        elif name == "antenna":
            antenna = _antenna(text)
        elif name == "rssi":
            rssi = _rssi(text)
        elif name == "time_ms":
            when, stamped = _time_ms(text), True
    return TagRead(
        epc=epc,
        antenna=antenna,
        time=when,
        mono_ns=mono_ns,
        rssi_dbm=rssi,
        reader=reader,
        reader_clock=stamped,
    )


def format_line(read: TagRead, fmt: LineFormat) -> bytes:
    """The bytes a reader prints for ``read`` (used by the simulator and in tests)."""
    texts: list[str] = []
    for name in fmt.fields:
        if name == "epc":
            texts.append(read.epc)
        elif name == "antenna":
            texts.append(str(read.antenna))
        elif name == "rssi":
            texts.append("" if read.rssi_dbm is None else f"{read.rssi_dbm:.1f}")
        elif name == "time_ms":
            texts.append(str(math.floor(read.time * 1000 + 0.5)))
        else:
            texts.append("0")
    return (fmt.separator.join(texts) + "\r\n").encode("ascii")


class AsciiDecoder:
    """Streaming decoder: feed any chunks of bytes, get reads; bad lines are counted and skipped."""

    def __init__(self, fmt: LineFormat, *, reader: str = "") -> None:
        self.fmt = fmt
        self.reader = reader
        self.rejected: Counter[str] = Counter()
        self._pending = b""

    def feed(self, data: bytes, *, now: float, mono_ns: int) -> list[TagRead]:
        lines = (self._pending + data).split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > MAX_LINE:
            self.rejected["line-too-long"] += 1
            self._pending = b""
        reads: list[TagRead] = []
        for raw in lines:
            read = self._line(raw.rstrip(b"\r"), now, mono_ns)
            if read is not None:
                reads.append(read)
        return reads

    def _line(self, raw: bytes, now: float, mono_ns: int) -> TagRead | None:
        if not raw.strip():
            return None
        if len(raw) > MAX_LINE:
            self.rejected["line-too-long"] += 1
            return None
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            self.rejected["not-ascii"] += 1
            return None
        try:
            return parse_line(text, self.fmt, now=now, mono_ns=mono_ns, reader=self.reader)
        except ParseError as exc:
            self.rejected[exc.reason] += 1
            return None
