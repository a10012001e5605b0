"""InfluxDB line protocol: frozen points and their exact encoding (escaping per the v1 spec)."""

from __future__ import annotations

import math
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
        fields = ",".join(f"{_key(k)}={_value(v)}" for k, v in self.fields)
        return f"{head}{tags} {fields} {self.time_ns}"


def _key(text: str) -> str:
    # Tag values here are identifiers, EPC hex or enum values; escaping covers anything else.
    return text.translate(_KEY_ESCAPES)


def _value(value: FieldValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"InfluxDB cannot store the float {value}")
        return repr(value)
    return f'"{value.translate(_STRING_ESCAPES)}"'


def encode(points: list[Point] | tuple[Point, ...]) -> bytes:
    """The request body for ``/write`` (one line per point, newline-terminated)."""
    return "".join(f"{point.line()}\n" for point in points).encode()
