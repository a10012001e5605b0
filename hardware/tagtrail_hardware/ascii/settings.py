"""The ``ascii`` driver's settings: one ``[[readers]]`` entry (see README.md, sample.toml)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from tagtrail_hardware.ascii.lines import Field, LineFormat
from tagtrail_hardware.contract import ReaderSettings, SerialSettings


class AsciiSettings(ReaderSettings, SerialSettings):
    driver: Literal["ascii"]
    """"ascii": a reader that prints one tag per line"""
    fields: tuple[Field, ...] = ("epc", "antenna", "rssi")
    """column order, of "epc", "antenna", "rssi", "time_ms" and "-" (ignored)"""
    separator: str = ","
    """column separator"""

    @model_validator(mode="after")
    def _a_line_format(self) -> AsciiSettings:
        self.line_format()  # exactly one "epc", no column twice, a usable separator
        return self

    def line_format(self) -> LineFormat:
        return LineFormat(fields=self.fields, separator=self.separator)
