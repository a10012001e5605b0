"""The ``gpsd`` GPS driver's settings: the ``[gps]`` section (see README.md, sample.toml)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tagtrail_hardware.contract import GpsSettings


class GpsdSettings(GpsSettings):
    source: Literal["gpsd"]
    """"gpsd": positions from the gpsd daemon (preferred when it runs on the gateway)"""
    gpsd_host: str = "127.0.0.1"
    """gpsd's address"""
    gpsd_port: Annotated[int, Field(ge=1, le=65535)] = 2947
    """gpsd's port"""

    def where(self) -> str:
        return f"{self.gpsd_host}:{self.gpsd_port}"
