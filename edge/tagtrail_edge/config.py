"""Gateway configuration: a TOML file plus ``TAGTRAIL_EDGE_*`` environment variables.

Validated at start-up; errors name the key, the bad value and what is allowed. Every option is
in ``deploy/edge/edge.example.toml`` (a test checks it). Environment variables use ``__`` for
nesting, e.g. ``TAGTRAIL_EDGE_MQTT__PASSWORD``.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tagtrail_edge.errors import ConfigError
from tagtrail_hardware.drivers import GpsConfig, ReaderConfig
from tagtrail_protocol.errors import SettingsError
from tagtrail_protocol.ids import Identifier
from tagtrail_protocol.settings import (
    BrokerSection,
    LogSection,
    Positive,
    Section,
    describe,
    read_toml,
)

DEFAULT_CONFIG: Final = Path(os.environ.get("TAGTRAIL_EDGE_CONFIG", "/etc/tagtrail/edge.toml"))
"""Where the agent and the technician's commands look for the config (``--config`` overrides)."""


class GatewaySection(Section):
    id: Identifier
    """this gateway's id: a-z, 0-9, '.', '_', '-' (at most 64)"""
    site: Identifier
    """the site it is installed at (same rules)"""
    mobile: bool = False
    """true on trucks: each event is stamped with the GPS position"""


class MqttSection(BrokerSection):
    """The broker link, plus how the gateway sends over it."""

    window: Annotated[int, Field(ge=1, le=1000)] = 8
    """batches sent and not yet acknowledged, at most"""
    batch_max_items: Annotated[int, Field(ge=1, le=10_000)] = 500
    """events per batch"""
    resend_after_s: Positive = 15.0
    """re-send an unacknowledged batch after this (doubling, up to 16x)"""
    status_interval_s: Positive = 30.0
    """retained status message period"""
    backoff_base_s: Positive = 0.5
    """reconnect backoff: random wait in [0, min(cap, base * 2^n)]"""
    compress_above: Annotated[int, Field(ge=0)] | None = 4096
    """zlib-compress payloads above this many bytes (omit: never)"""


class Overflow(StrEnum):
    DROP_OLDEST = "drop-oldest"
    REFUSE_NEWEST = "refuse-newest"


class OutboxSection(Section):
    path: Path = Path("/var/lib/tagtrail/outbox.db")
    """SQLite outbox (WAL); its folder must be writable"""
    cap_mb: Annotated[float, Field(ge=1.0)] = 256.0
    """hard cap for database + WAL on disk"""
    overflow: Overflow = Overflow.DROP_OLDEST
    """at the cap: "drop-oldest" or "refuse-newest"; drops are counted"""
    retention_days: Annotated[float, Field(gt=0)] = 30.0
    """unsent items older than this are deleted (counted as "expired")"""
    synchronous: Literal["FULL", "NORMAL"] = "FULL"
    """"FULL" survives power loss; "NORMAL" may lose the last commits"""
    keep_raw_reads: bool = False
    """also keep every raw read (audit), same retention"""

    @property
    def cap_bytes(self) -> int:
        return int(self.cap_mb * 1024 * 1024)

    @property
    def retention_s(self) -> float:
        return self.retention_days * 86400


class Thresholds(Section):
    observe_count: Annotated[int, Field(ge=1)] = 2
    """reads before a tag counts as arrived..."""
    observe_s: Annotated[float, Field(ge=0)] = 1.0
    """...or seconds since its first read"""
    lost_s: Positive = 3.0
    """silence after which it has departed"""
    summary_s: Positive | None = None
    """optional "observe" event for a dwelling tag, this often"""


class ReadPointSection(Section):
    name: Identifier
    """the name carriers see"""
    reader: Identifier
    """the reader it belongs to"""
    antenna: Annotated[int, Field(ge=0, le=255)]
    """that reader's antenna port"""
    observe_count: Annotated[int, Field(ge=1)] | None = None
    """this read point's own threshold; omitted: [smoothing]'s"""
    observe_s: Annotated[float, Field(ge=0)] | None = None
    """omitted: [smoothing]'s"""
    lost_s: Positive | None = None
    """omitted: [smoothing]'s"""
    summary_s: Annotated[float, Field(ge=0)] | None = None
    """omitted: [smoothing]'s; 0 turns the summary off here"""

    def thresholds(self, defaults: Thresholds) -> Thresholds:
        """This read point's thresholds: its own where set, [smoothing]'s elsewhere."""
        summary = defaults.summary_s if self.summary_s is None else (self.summary_s or None)
        return Thresholds(
            observe_count=self.observe_count or defaults.observe_count,
            observe_s=defaults.observe_s if self.observe_s is None else self.observe_s,
            lost_s=self.lost_s or defaults.lost_s,
            summary_s=summary,
        )


class EdgeConfig(BaseSettings):
    """The whole gateway configuration."""

    model_config = SettingsConfigDict(
        env_prefix="TAGTRAIL_EDGE_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    gateway: GatewaySection
    mqtt: MqttSection = MqttSection()
    outbox: OutboxSection = OutboxSection()
    smoothing: Thresholds = Thresholds()
    readers: tuple[ReaderConfig, ...] = ()
    read_points: tuple[ReadPointSection, ...] = ()
    gps: GpsConfig = None
    log: LogSection = LogSection()

    @model_validator(mode="after")
    def _consistent(self) -> EdgeConfig:
        names = [r.name for r in self.readers]
        if len(set(names)) != len(names):
            raise ValueError("two readers have the same name")
        for point in self.read_points:
            if point.reader not in names:
                raise ValueError(f"read point {point.name!r} names unknown reader {point.reader!r}")
        if not self.readers and self.gps is None:
            raise ValueError(
                "nothing to read: add a [[readers]] section (tagtrail-edge init asks for one)"
                ' or a GPS ([gps] source = "nmea" or "gpsd")'
            )
        return self

    def thresholds_for(self, read_point: str) -> Thresholds:
        """The smoothing thresholds of a read point (a named one's own, else [smoothing])."""
        for point in self.read_points:
            if point.name == read_point:
                return point.thresholds(self.smoothing)
        return self.smoothing

    def serial_devices(self) -> dict[str, str]:
        """Serial path -> what uses it (``reader dock``, ``gps``), for the devices on one."""
        named = {path: f"reader {r.name}" for r in self.readers if (path := r.serial_path())}
        if self.gps is not None and (path := self.gps.serial_path()):
            named[path] = "gps"
        return named

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return env_settings, init_settings  # the environment overrides the file


def load_config(path: Path) -> EdgeConfig:
    """Read and validate ``path``; :class:`ConfigError` names every problem."""
    try:
        data = read_toml(path)
    except SettingsError as exc:
        raise ConfigError(str(exc)) from exc
    return validate(data, path)


def validate(data: dict[str, Any], path: Path) -> EdgeConfig:
    """Validate settings read from ``path`` (the environment still overrides them)."""
    try:
        return EdgeConfig(**data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, path)) from None
