"""The settings both programs read the same way: the broker link, logging, the TOML file.

The gateway's ``[mqtt]`` and the collector's ``[mqtt]`` extend :class:`BrokerSection` with what
only they need; ``[log]`` is :class:`LogSection` on both sides. :func:`read_toml` and
:func:`describe` turn a file and a validation failure into one :class:`SettingsError` message
that names the file, each bad key and its value (secrets shown as ``***``). A secret left at a
placeholder of the example files (``change-me``) is refused at start-up, not sent to a broker.
"""

from __future__ import annotations

import json
import tomllib
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from tagtrail_protocol.errors import SettingsError

PLACEHOLDERS: Final = frozenset(
    {"change-me", "changeme", "change_me", "replace-me", "replaceme", "secret", "password", "xxx"}
)
"""Secrets that are an example's placeholder, never a real credential (compared lower-case)."""
SECRET_WORDS: Final = ("password", "token", "secret", "registry.url")
"""A key containing one of these has its value shown as ``***`` in error messages."""


def _not_placeholder(value: SecretStr) -> SecretStr:
    if value.get_secret_value().strip().lower() in PLACEHOLDERS:
        raise ValueError("still the example's placeholder: set the real secret")
    return value


Secret = Annotated[SecretStr, AfterValidator(_not_placeholder)]
"""A secret setting: hidden in logs and ``repr``, refused while it is a placeholder."""
Positive = Annotated[float, Field(gt=0)]
Port = Annotated[int, Field(ge=1, le=65535)]


class Section(BaseModel):
    """A settings section: unknown keys refused, frozen, each key documented by its docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class BrokerSection(Section):
    """Where the MQTT broker is and how to prove who we are to it."""

    host: str = "127.0.0.1"
    """the MQTT broker"""
    port: Port = 8883
    """8883 for TLS, 1883 plain"""
    client_id: str = ""
    """empty: tagtrail-edge-<gateway id>, tagtrail-collector-<host>-<API port>"""
    username: str | None = None
    """this program's own credential"""
    password: Secret | None = None
    """better: TAGTRAIL_EDGE_MQTT__PASSWORD (or _COLLECTOR_) in the service environment"""
    ca_file: Path | None = None
    """CA that signed the broker's certificate; enables TLS"""
    cert_file: Path | None = None
    """client certificate, when the broker requires one"""
    key_file: Path | None = None
    """its key (cert_file and key_file go together)"""
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    """MQTT keepalive, seconds"""
    backoff_cap_s: Positive = 60.0
    """reconnect backoff cap, seconds"""

    @model_validator(mode="after")
    def _client_cert_pairs(self) -> BrokerSection:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: set both or neither")
        if self.cert_file is not None and self.ca_file is None:
            raise ValueError("a client certificate needs TLS: set ca_file too")
        return self


class LogSection(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """DEBUG, INFO, WARNING, ERROR"""
    format: Literal["json", "text"] = "json"
    """json (one object per line) or text"""


def read_text(path: Path) -> str:
    """A settings file's text; :class:`SettingsError` when it is missing, unreadable or not
    UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{path} is not UTF-8 text (a bad byte at offset {exc.start}); save it as UTF-8"
        ) from None


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML document at ``path``; :class:`SettingsError` says why it cannot be read."""
    text = read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from exc


def describe(exc: ValidationError, source: Path | str) -> str:
    """One line for the file, then one per bad key: its value (secrets hidden) and why."""
    lines = [f"{source}: {exc.error_count()} invalid setting(s)"]
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "(top level)"
        secret = any(word in key for word in SECRET_WORDS)
        shown = "***" if secret else repr(error.get("input"))[:80]
        lines.append(f"  {key} = {shown}: {error['msg']}")
    return "\n".join(lines)


def dump_toml(settings: BaseModel, *, header: str = "") -> str:
    """A TOML document of the settings that were set on ``settings`` (defaults left out), with
    secrets written out: what a generated config file holds, built from a validated model."""
    data = settings.model_dump(exclude_unset=True, serialize_as_any=True)
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict | list | tuple)}
    lines += [f"{key} = {_toml_value(value)}" for key, value in scalars.items()]
    for key, value in data.items():
        if isinstance(value, dict):
            lines += ["", f"[{key}]", *_toml_pairs(value)]
        elif isinstance(value, list | tuple) and value and isinstance(value[0], dict):
            for entry in value:
                lines += ["", f"[[{key}]]", *_toml_pairs(entry)]
        elif isinstance(value, list | tuple):
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines).lstrip("\n") + "\n"


def _toml_pairs(table: dict[str, Any]) -> list[str]:
    return [f"{key} = {_toml_value(value)}" for key, value in table.items() if value is not None]


def _toml_value(value: object) -> str:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string
