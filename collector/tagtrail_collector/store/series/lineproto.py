"""InfluxDB line protocol: frozen points and their exact encoding (escaping per the v1 spec).

What the store writes is lines (``str``): ``Point.line()`` encodes any point, and the hot path in
``points.py`` formats observations straight to the same text. ``describe`` reads a line's
measurement and tags back, for naming a point InfluxDB refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

FieldValue = bool | int | float | str

_KEY_ESCAPES: Final = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_MEASUREMENT_ESCAPES: Final = str.maketrans({",": r"\,", " ": r"\ "})
_STRING_ESCAPES: Final = str.maketrans({'"': r"\"", "\\": "\\\\"})


@dataclass(frozen=True, slots=True)
class Point:
    """One point. Tags and fields are sorted tuples so equal points compare and hash equal."""

    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, FieldValue], ...]
    time_ns: int

    @classmethod
    def make(
        cls,
        measurement: str,
        tags: dict[str, str],
        fields: dict[str, FieldValue | None],
        time_ns: int,
    ) -> Point:
        """Build a point, leaving out empty tag values and None fields (neither can be stored)."""
        kept_fields = tuple(sorted((k, v) for k, v in fields.items() if v is not None))
        if not kept_fields:
            raise ValueError(f"a {measurement} point needs at least one field")
        return cls(
            measurement,
            tuple(sorted((k, v) for k, v in tags.items() if v)),
            kept_fields,
            time_ns,
        )

    def line(self) -> str:
        head = self.measurement.translate(_MEASUREMENT_ESCAPES)
        tags = "".join(f",{_key(k)}={_key(v)}" for k, v in self.tags)
        fields = ",".join(f"{_key(k)}={field_value(v)}" for k, v in self.fields)
        return f"{head}{tags} {fields} {self.time_ns}"


def _key(text: str) -> str:
    # Tag values here are identifiers, EPC hex or enum values; escaping covers anything else.
    return text.translate(_KEY_ESCAPES)


def field_value(value: FieldValue) -> str:
    """A field value as line protocol writes it (integers with ``i``, strings quoted)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"InfluxDB cannot store the float {value}")
        return repr(value)
    return f'"{value.translate(_STRING_ESCAPES)}"'


def encode(lines: Sequence[str]) -> bytes:
    """The request body for ``/write`` (one line per point, newline-terminated)."""
    return ("\n".join(lines) + "\n").encode() if lines else b""


_UNESCAPED_SPACE: Final = re.compile(r"(?<!\\) ")
_UNESCAPED_COMMA: Final = re.compile(r"(?<!\\),")
_UNESCAPED_EQUALS: Final = re.compile(r"(?<!\\)=")
_UNESCAPE: Final = re.compile(r"\\([,= ])")


def describe(line: str) -> tuple[str, dict[str, str]]:
    """A line's measurement and tags (unescaped), read back from its text."""
    key = _UNESCAPED_SPACE.split(line, maxsplit=1)[0]
    measurement, *pairs = _UNESCAPED_COMMA.split(key)
    tags = {}
    for pair in pairs:
        name, value = [*_UNESCAPED_EQUALS.split(pair, maxsplit=1), ""][:2]
        tags[_UNESCAPE.sub(r"\1", name)] = _UNESCAPE.sub(r"\1", value)
    return _UNESCAPE.sub(r"\1", measurement), tags
