"""The ``mercury`` driver's settings: one ``[[readers]]`` entry (see README.md, sample.toml)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tagtrail_hardware.contract import ReaderSettings, SerialSettings

Region = Literal["na", "eu", "in", "jp", "prc", "kr", "au", "nz", "open"]


class MercurySettings(ReaderSettings, SerialSettings):
    driver: Literal["mercury"]
    """"mercury": a ThingMagic Mercury module (M6e Nano, M6e Micro...)"""
    region: Region = "eu"
    """na, eu, in, jp, prc, kr, au, nz, open"""
    read_power_cdbm: Annotated[int, Field(ge=0, le=3150)] = 2000
    """read power in 1/100 dBm (0..3150)"""
    antennas: Annotated[tuple[Annotated[int, Field(ge=1, le=15)], ...], Field(min_length=1)] = (1,)
    """antenna ports to search"""
