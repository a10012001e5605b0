"""The ``dummy`` driver's settings: one ``[[readers]]`` entry (see README.md, sample.toml)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tagtrail_hardware.contract import ReaderSettings


class DummySettings(ReaderSettings):
    driver: Literal["dummy"]
    """"dummy": repeats a fixed list of tags"""
    epcs: Annotated[
        tuple[Annotated[str, Field(pattern=r"^[0-9A-F]{8,62}$")], ...], Field(min_length=1)
    ]
    """the EPCs it reads, in hexadecimal"""
    antenna: Annotated[int, Field(ge=1, le=64)] = 1
    """the antenna it reports them on"""
    period_s: Annotated[float, Field(gt=0)] = 0.05
    """time between rounds"""
    fail_after: Annotated[int, Field(ge=1)] | None = None
    """its transport fails after this many rounds (then reopens)"""

    def where(self) -> str:
        return f"dummy:{self.name}"
