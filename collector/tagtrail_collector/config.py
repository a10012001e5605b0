"""Collector configuration: a TOML file plus ``TAGTRAIL_COLLECTOR_*`` environment variables.

Validated at start-up; errors name the key, the bad value and what is allowed. Every option is
in ``deploy/collector/collector.example.toml`` (a test checks it). Environment variables use
``__`` for nesting, e.g. ``TAGTRAIL_COLLECTOR_INFLUX__PASSWORD``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tagtrail_collector.errors import ConfigError
from tagtrail_protocol.errors import SettingsError
from tagtrail_protocol.ids import Identifier
from tagtrail_protocol.settings import (
    BrokerSection,
    LogSection,
    Port,
    Positive,
    Secret,
    Section,
    describe,
    read_toml,
)


class MqttSection(BrokerSection):
    """The broker link, plus how the collector subscribes over it."""

    share_group: Identifier | None = None
    """several instances: the $share group they split the gateways' batches in"""
    session_expiry_s: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None
    """how long the broker keeps this instance's session; omitted: a day, a minute in a group"""
    backoff_cap_s: Positive = 30.0
    """reconnect backoff cap, seconds"""

    @property
    def session_expiry(self) -> int:
        """Seconds the broker keeps this instance's session: a day alone; a minute in a shared
        group, where the broker hands a share of the batches to a stopped member's session
        until it expires (enough for a restart, not for a host that is gone)."""
        if self.session_expiry_s is not None:
            return self.session_expiry_s
        return 60 if self.share_group is not None else 86_400


class InfluxSection(Section):
    url: Annotated[str, Field(pattern=r"^https?://")] = "http://127.0.0.1:8086"
    database: Identifier = "tagtrail"
    retention_policy: Identifier | None = None
    retention: Annotated[str, Field(pattern=r"^(INF|\d+[hdw])$")] | None = None
    username: str | None = None
    password: Secret | None = None
    token: Secret | None = None
    timeout_s: Positive = 10.0
    create_database: bool = True

    @model_validator(mode="after")
    def _one_auth(self) -> InfluxSection:
        if self.token is not None and self.username is not None:
            raise ValueError("set either username/password or token, not both")
        if (self.retention is None) != (self.retention_policy is None):
            raise ValueError("retention_policy and retention go together")
        return self


class RegistrySection(Section):
    url: SecretStr = SecretStr("sqlite:////var/lib/tagtrail/registry.db")


class IngestSection(Section):
    batch_max_points: Annotated[int, Field(ge=1, le=100_000)] = 5000
    batch_max_delay_s: Annotated[float, Field(ge=0, le=60)] = 0.2
    queue_max_messages: Annotated[int, Field(ge=1, le=1_000_000)] = 2000
    max_payload_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    retry_base_s: Positive = 0.5
    retry_cap_s: Positive = 30.0
    max_clock_ahead_s: Positive = 300.0
    dead_letter_retention_days: Positive = 30.0
    tick_s: Annotated[float, Field(gt=0, le=60)] = 1.0


class ApiSection(Section):
    host: str = "127.0.0.1"
    port: Port = 8080
    page_size: Annotated[int, Field(ge=1, le=1000)] = 100
    stale_after_s: Positive = 900.0
    max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    metrics_host: str = "127.0.0.1"
    metrics_port: Port | None = None

    @model_validator(mode="after")
    def _own_metrics_port(self) -> ApiSection:
        if self.metrics_port is not None and self.metrics_port == self.port:
            raise ValueError("metrics_port must differ from port (or be left out)")
        return self


class DwellLimits(Section):
    """Hours a shipment may stay at a site of each kind before it is an exception."""

    port: Positive = 168.0
    terminal: Positive = 168.0
    warehouse: Positive = 720.0
    bonded_warehouse: Positive = 720.0
    customs: Positive = 24.0
    border_crossing: Positive = 6.0
    yard: Positive = 72.0
    distribution_centre: Positive = 168.0

    def by_kind(self) -> dict[str, float]:
        """Hours per site kind (a vehicle has no limit)."""
        return {
            "port": self.port, "terminal": self.terminal, "warehouse": self.warehouse,
            "bonded_warehouse": self.bonded_warehouse, "customs": self.customs,
            "border_crossing": self.border_crossing, "yard": self.yard,
            "distribution_centre": self.distribution_centre,
        }  # fmt: skip


class JourneySection(Section):
    """Geofences, border crossings, milestones, exceptions and ETA."""

    confirm_fixes: Annotated[int, Field(ge=1, le=100)] = 3
    """an exit (or entry) needs this many fixes in a row beyond the fence's edge ..."""
    confirm_s: Positive = 60.0
    """... or fixes beyond it spanning this many seconds, whichever comes first"""
    margin_m: Annotated[float, Field(ge=0, le=5000)] = 25.0
    """a fix is outside only beyond its accuracy plus this margin"""
    uere_m: Positive = 5.0
    """a fix's accuracy is its HDOP times this (the receiver's range error) ..."""
    accuracy_m: Positive = 15.0
    """... or this, for a fix without HDOP"""
    gap_s: Positive = 120.0
    """an entry, exit or crossing found across a longer span between fixes is 'interpolated'"""
    max_speed_kmh: Positive = 250.0
    """a fix implying a faster move from the previous one is an outlier (dropped, counted)"""
    replay_after_s: Annotated[float, Field(ge=0, le=3600)] = 5.0
    """late fixes are replayed together once none has come for this long"""
    max_travel_kmh: Positive = 1000.0
    """one EPC at two places farther apart than this speed allows: impossible travel"""
    silent_hours: Positive = 48.0
    """in transit with no sighting nor fix of its vehicle for this long: an exception"""
    split_minutes: Positive = 120.0
    """a shipment's tags at different places for this long: a split consignment"""
    dwell_hours: DwellLimits = DwellLimits()


class CollectorConfig(BaseSettings):
    """The whole collector configuration."""

    model_config = SettingsConfigDict(
        env_prefix="TAGTRAIL_COLLECTOR_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    mqtt: MqttSection = MqttSection()
    influx: InfluxSection = InfluxSection()
    registry: RegistrySection = RegistrySection()
    ingest: IngestSection = IngestSection()
    api: ApiSection = ApiSection()
    journey: JourneySection = JourneySection()
    log: LogSection = LogSection()

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


def load_config(path: Path | None) -> CollectorConfig:
    """Read and validate ``path`` (None: environment and defaults only)."""
    try:
        data = {} if path is None else read_toml(path)
    except SettingsError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        return CollectorConfig(**data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, path or "environment")) from None
