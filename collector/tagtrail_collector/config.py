"""Collector configuration: a TOML file plus ``TAGTRAIL_COLLECTOR_*`` environment variables.

Validated at start-up; errors name the key, the bad value and what is allowed. Every option is
in ``deploy/collector/collector.example.toml`` (a test checks it). Environment variables use
``__`` for nesting, e.g. ``TAGTRAIL_COLLECTOR_INFLUX__PASSWORD``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tagtrail_collector.errors import ConfigError
from tagtrail_collector.store.influx import InfluxSettings
from tagtrail_protocol.ids import Identifier

Positive = Annotated[float, Field(gt=0)]
Port = Annotated[int, Field(ge=1, le=65535)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSection(_Section):
    host: str = "127.0.0.1"
    port: Port = 8883
    client_id: str = ""
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    share_group: Identifier | None = None
    session_expiry_s: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None
    backoff_cap_s: Positive = 30.0

    @property
    def session_expiry(self) -> int:
        """Seconds the broker keeps this instance's session: a day alone; a minute in a shared
        group, where the broker hands a share of the batches to a stopped member's session
        until it expires (enough for a restart, not for a host that is gone)."""
        if self.session_expiry_s is not None:
            return self.session_expiry_s
        return 60 if self.share_group is not None else 86_400

    @model_validator(mode="after")
    def _client_cert_pairs(self) -> MqttSection:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: set both or neither")
        if self.cert_file is not None and self.ca_file is None:
            raise ValueError("a client certificate needs TLS: set ca_file too")
        return self


class InfluxSection(_Section):
    url: Annotated[str, Field(pattern=r"^https?://")] = "http://127.0.0.1:8086"
    database: Identifier = "tagtrail"
    retention_policy: Identifier | None = None
    retention: Annotated[str, Field(pattern=r"^(INF|\d+[hdw])$")] | None = None
    username: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None
    timeout_s: Positive = 10.0
    create_database: bool = True

    @model_validator(mode="after")
    def _one_auth(self) -> InfluxSection:
        if self.token is not None and self.username is not None:
            raise ValueError("set either username/password or token, not both")
        if (self.retention is None) != (self.retention_policy is None):
            raise ValueError("retention_policy and retention go together")
        return self

    def client_settings(self) -> InfluxSettings:
        return InfluxSettings(
            url=self.url,
            database=self.database,
            retention_policy=self.retention_policy,
            username=self.username,
            password=self.password,
            token=self.token,
            timeout_s=self.timeout_s,
        )


class RegistrySection(_Section):
    url: SecretStr = SecretStr("sqlite:////var/lib/tagtrail/registry.db")


class IngestSection(_Section):
    batch_max_points: Annotated[int, Field(ge=1, le=100_000)] = 5000
    batch_max_delay_s: Annotated[float, Field(ge=0, le=60)] = 0.2
    queue_max_messages: Annotated[int, Field(ge=1, le=1_000_000)] = 2000
    max_payload_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    retry_base_s: Positive = 0.5
    retry_cap_s: Positive = 30.0
    max_clock_ahead_s: Positive = 300.0
    dead_letter_retention_days: Positive = 30.0


class ApiSection(_Section):
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


class LogSection(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


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


SECRET_KEYS = ("password", "token", "registry.url")


def load_config(path: Path | None) -> CollectorConfig:
    """Read and validate ``path`` (None: environment and defaults only)."""
    data = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{path} is not UTF-8 text (a bad byte at offset {exc.start}); save it as UTF-8"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    try:
        return CollectorConfig(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None


def _describe(exc: ValidationError, path: Path | None) -> str:
    lines = [f"{path or 'environment'}: {exc.error_count()} invalid setting(s)"]
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "(top level)"
        secret = any(word in key for word in SECRET_KEYS)
        shown = "***" if secret else repr(error.get("input"))[:80]
        lines.append(f"  {key} = {shown}: {error['msg']}")
    return "\n".join(lines)
