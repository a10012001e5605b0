"""Gateway configuration: a TOML file plus ``TAGTRAIL_EDGE_*`` environment variables.

Validated at start-up; errors name the key, the bad value and what is allowed. Every option is
in ``deploy/edge/edge.example.toml`` (a test checks it). Environment variables use ``__`` for
nesting, e.g. ``TAGTRAIL_EDGE_MQTT__PASSWORD``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tagtrail_edge.errors import ConfigError
from tagtrail_edge.outbox import OutboxSettings, Overflow
from tagtrail_protocol.ids import Identifier

Positive = Annotated[float, Field(gt=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GatewaySection(_Section):
    id: Identifier
    site: Identifier
    mobile: bool = False


class MqttSection(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8883
    client_id: str = ""
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    window: Annotated[int, Field(ge=1, le=1000)] = 8
    batch_max_items: Annotated[int, Field(ge=1, le=10_000)] = 500
    resend_after_s: Positive = 15.0
    status_interval_s: Positive = 30.0
    backoff_base_s: Positive = 0.5
    backoff_cap_s: Positive = 60.0
    compress_above: Annotated[int, Field(ge=0)] | None = 4096

    @model_validator(mode="after")
    def _client_cert_pairs(self) -> MqttSection:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: set both or neither")
        if self.cert_file is not None and self.ca_file is None:
            raise ValueError("a client certificate needs TLS: set ca_file too")
        return self


class OutboxSection(_Section):
    path: Path = Path("/var/lib/tagtrail/outbox.db")
    cap_mb: Annotated[float, Field(ge=1.0)] = 256.0
    overflow: Overflow = Overflow.DROP_OLDEST
    retention_days: Annotated[float, Field(gt=0)] = 30.0
    synchronous: Literal["FULL", "NORMAL"] = "FULL"
    keep_raw_reads: bool = False

    def settings(self) -> OutboxSettings:
        """What the outbox itself takes (bytes and seconds)."""
        return OutboxSettings(
            path=self.path,
            cap_bytes=int(self.cap_mb * 1024 * 1024),
            overflow=self.overflow,
            retention_s=self.retention_days * 86400,
            synchronous=self.synchronous,
        )


class Thresholds(_Section):
    observe_count: Annotated[int, Field(ge=1)] = 2
    observe_s: Annotated[float, Field(ge=0)] = 1.0
    lost_s: Positive = 3.0
    summary_s: Positive | None = None


class ReaderSection(_Section):
    name: Identifier
    driver: Literal["ascii", "mercury"]
    path: str
    baudrate: Annotated[int, Field(ge=300, le=4_000_000)] = 115200
    fields: tuple[Literal["epc", "antenna", "rssi", "time_ms", "-"], ...] = (
        "epc",
        "antenna",
        "rssi",
    )
    separator: str = ","
    region: str = "eu"
    read_power_cdbm: Annotated[int, Field(ge=0, le=3150)] = 2000
    antennas: tuple[Annotated[int, Field(ge=1, le=15)], ...] = (1,)


class ReadPointSection(Thresholds):
    name: Identifier
    reader: Identifier
    antenna: Annotated[int, Field(ge=0, le=255)]


class GpsSection(_Section):
    source: Literal["none", "nmea", "gpsd"] = "none"
    path: str = "/dev/ttyACM0"
    baudrate: Annotated[int, Field(ge=300, le=4_000_000)] = 9600
    gpsd_host: str = "127.0.0.1"
    gpsd_port: Annotated[int, Field(ge=1, le=65535)] = 2947
    max_fix_age_s: Positive = 30.0


class LogSection(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


class EdgeConfig(BaseSettings):
    """The whole gateway configuration."""

    model_config = SettingsConfigDict(
        env_prefix="TAGTRAIL_EDGE_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    gateway: GatewaySection
    mqtt: MqttSection = MqttSection()
    outbox: OutboxSection = OutboxSection()
    smoothing: Thresholds = Thresholds()
    readers: tuple[ReaderSection, ...] = ()
    read_points: tuple[ReadPointSection, ...] = ()
    gps: GpsSection = GpsSection()
    log: LogSection = LogSection()

    @model_validator(mode="after")
    def _consistent(self) -> EdgeConfig:
        names = [r.name for r in self.readers]
        if len(set(names)) != len(names):
            raise ValueError("two readers have the same name")
        for point in self.read_points:
            if point.reader not in names:
                raise ValueError(f"read point {point.name!r} names unknown reader {point.reader!r}")
        return self

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
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    try:
        return EdgeConfig(**data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, path)) from None


def describe(exc: ValidationError, path: Path) -> str:
    lines = [f"{path}: {exc.error_count()} invalid setting(s)"]
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "(top level)"
        shown = "***" if "password" in key else repr(error.get("input"))[:80]
        lines.append(f"  {key} = {shown}: {error['msg']}")
    return "\n".join(lines)
