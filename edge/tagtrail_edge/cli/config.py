"""``config show|set|check``, and writing config files: a new commented TOML (``init``), one
setting changed (``set``). The comments come from the settings' own documentation; a change
keeps the file's comments and layout (tomlkit); a file is replaced atomically, and only once the
whole result validates, so a typo never leaves a gateway with a config it cannot start with.
``service install``: the systemd unit that runs the agent with this config.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import typing
from pathlib import Path
from typing import Annotated, Any

import tomlkit
import typer
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError
from tomlkit.exceptions import ParseError
from tomlkit.items import AoT, Table

from tagtrail_edge.cli.common import DEFAULT_CONFIG, ConfigOption, load
from tagtrail_edge.config import EdgeConfig
from tagtrail_edge.config import validate as validate_settings
from tagtrail_edge.errors import ConfigError
from tagtrail_edge.systemd import unit
from tagtrail_hardware import drivers
from tagtrail_hardware.contract import GpsSettings, ReaderSettings
from tagtrail_protocol.errors import SettingsError
from tagtrail_protocol.settings import read_text

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="The configuration: show, get, set, validate."
)


def _effective(config: Path) -> dict[str, Any]:
    """The validated configuration with every default filled in, each read point with the
    thresholds it runs with (its own, or [smoothing]'s); secrets are masked."""
    loaded = load(config)
    found: dict[str, Any] = loaded.model_dump(mode="json")
    for point, shown in zip(loaded.read_points, found["read_points"], strict=True):
        shown.update(point.thresholds(loaded.smoothing).model_dump(mode="json"))
    return found


@app.command()
def show(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Print the whole effective configuration (defaults included) as JSON; secrets masked.

    Example: tagtrail-edge config show --config /etc/tagtrail/edge.toml
    """
    typer.echo(json.dumps(_effective(config), indent=2))


@app.command()
def get(
    key: Annotated[str, typer.Argument(help="dotted key, e.g. mqtt.host or outbox.cap_mb")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Print one setting's effective value (JSON for sections and lists); secrets masked.

    Example: tagtrail-edge config get mqtt.host
    """
    value: Any = _effective(config)
    for part in key.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            known = ", ".join(sorted(value)) if isinstance(value, dict) else "none"
            typer.echo(f"error: no setting {key!r} (at {part!r}, known: {known})", err=True)
            raise typer.Exit(2)
    typer.echo(value if isinstance(value, str) else json.dumps(value))


@app.command("set")
def set_(
    key: Annotated[str, typer.Argument(help="dotted key, e.g. mqtt.host or readers.0.path")],
    value: Annotated[str, typer.Argument(help="a TOML value (8883, true, [1, 2]) or plain text")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Change one setting in the file, keeping its comments and layout. The file is replaced
    only when the whole result is valid; otherwise the error names the key, the bad value and
    what is allowed (exit status 2). Restart the agent to apply.

    Example: tagtrail-edge config set mqtt.host broker.example.net
    """

    try:
        set_value(config, key, value)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    shown = "***" if _secret(key) else value
    typer.echo(f"{config}: {key} = {shown}")


def _secret(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in ("password", "token")


@app.command()
def validate(
    file: Annotated[Path | None, typer.Argument(help="file to check (default: --config)")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Check a configuration file; each problem names the key, the bad value and what is
    allowed. Exit status 0 when valid, 2 otherwise.

    Example: tagtrail-edge config validate /tmp/new-edge.toml
    """
    path = file or config
    _effective(path)
    typer.echo(f"{path}: valid")


HEADER = (
    "tagtrail edge agent configuration (tagtrail-edge run --config FILE).",
    "Settings left out take their defaults: tagtrail-edge config show lists them all.",
    "Environment variables override the file: TAGTRAIL_EDGE_<SECTION>__<KEY>.",
)


def render(data: dict[str, Any]) -> str:
    """A new config file holding ``data`` (sections of settings), each setting commented."""
    doc = tomlkit.document()
    for line in HEADER:
        doc.add(tomlkit.comment(line))
    for section, value in data.items():
        model = _section_model(section)
        if isinstance(value, list):
            tables = tomlkit.aot()
            for entry in value:
                tables.append(_table(_driver_model(model, entry), entry))
            doc.add(section, tables)
        else:
            doc.add(tomlkit.nl())
            doc.add(section, _table(_driver_model(model, value), value))
    return tomlkit.dumps(doc)


def set_value(path: Path, key: str, text: str) -> EdgeConfig:
    """Set the dotted ``key`` to ``text`` (a TOML value; anything else is taken as a string)."""
    parts = key.split(".")
    model = _setting_model(parts)
    try:
        doc = tomlkit.parse(read_text(path))
    except SettingsError as exc:
        raise ConfigError(str(exc)) from exc
    except ParseError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    entry = _entry(doc.unwrap(), parts[:-1])
    model = _driver_model(model, entry)
    if entry is not None and parts[-1] not in model.model_fields:
        known = ", ".join(model.model_fields)
        raise ConfigError(f"no setting {key!r}: {'.'.join(parts[:-1])} has {known}")
    container: Any = doc
    for i, part in enumerate(parts[:-1]):
        if part.isdigit():
            if not isinstance(container, AoT | list) or int(part) >= len(container):
                raise ConfigError(f"{'.'.join(parts[: i + 1])}: there is no entry {part} in {path}")
            container = container[int(part)]
        else:
            container = container.setdefault(part, tomlkit.table())
    item = parse_value(text)
    existing = container.item(parts[-1]) if parts[-1] in container else None
    if existing is not None and existing.trivia.comment:
        item.trivia.comment = existing.trivia.comment  # the file's own comment stays
    elif described := _description(model, parts[-1]):
        item.comment(described)
    container[parts[-1]] = item
    settings = validate_settings(doc.unwrap(), path)
    write_atomically(path, tomlkit.dumps(doc))
    return settings


def parse_value(text: str) -> Any:  # noqa: ANN401 (a tomlkit item)
    """``8883`` is a number, ``true`` a boolean, ``[1, 2]`` a list; other text is a string."""
    try:
        return tomlkit.parse(f"v = {text}")["v"]
    except ParseError:
        return tomlkit.string(text)


def write_atomically(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Replace ``path`` in one step (a crash leaves the old file or the new, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        mode = path.stat().st_mode & 0o777
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_setting(model: type[BaseModel], key: str, value: object) -> Any:  # noqa: ANN401
    """Validate one setting on its own (as it is typed in); ConfigError says what is allowed."""
    field = model.model_fields[key]
    typed: Any = (
        Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    )
    adapter: TypeAdapter[Any] = TypeAdapter(typed)
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        reason = "; ".join(error["msg"] for error in exc.errors())
        raise ConfigError(f"{key} = {value!r}: {reason}") from None


def _table(model: type[BaseModel], values: dict[str, Any]) -> Table:
    table = tomlkit.table()
    for key, value in values.items():
        if value is None:
            continue  # TOML has no null: a setting left out takes its default
        item = tomlkit.item(_plain(value))
        if described := _description(model, key):
            item.comment(described)
        table.add(key, item)
    return table


def _plain(value: Any) -> Any:  # noqa: ANN401
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _description(model: type[BaseModel], key: str) -> str | None:
    field = model.model_fields.get(key)
    return None if field is None or not field.description else field.description.strip()


def _section_model(section: str) -> type[BaseModel]:
    field = EdgeConfig.model_fields.get(section)
    model = None if field is None else _model_in(field.annotation)
    if model is None:
        raise ConfigError(f"no section {section!r}: there are {', '.join(EdgeConfig.model_fields)}")
    return model


def _setting_model(parts: list[str]) -> type[BaseModel]:
    """The model holding the setting ``parts`` names; ConfigError listing what exists if none."""
    model: type[BaseModel] = EdgeConfig
    for i, part in enumerate(parts):
        if part.isdigit() and i > 0:
            continue
        fields = model.model_fields
        if part not in fields and i == len(parts) - 1 and model in (ReaderSettings, GpsSettings):
            return model  # a key of the driver the entry names: set_value looks it up
        if part not in fields:
            where = ".".join(parts[:i]) or "the top level"
            raise ConfigError(f"no setting {'.'.join(parts)!r}: {where} has {', '.join(fields)}")
        inner = _model_in(fields[part].annotation)
        if inner is None:
            if i != len(parts) - 1:
                raise ConfigError(f"{'.'.join(parts[: i + 1])} is a setting, not a section")
            return model
        model = inner
    if model is EdgeConfig or parts[-1] in EdgeConfig.model_fields or parts[-1].isdigit():
        raise ConfigError(f"{'.'.join(parts)} is a section; name one of its settings")
    return model


def _driver_model(model: type[BaseModel], entry: object) -> type[BaseModel]:
    """A reader's or the GPS's keys are those of the driver the entry names."""
    key = {ReaderSettings: "driver", GpsSettings: "source"}.get(model)
    if key is None or not isinstance(entry, dict):
        return model
    name = entry.get(key)
    known = {d.name: d for d in drivers.of_kind("gps" if model is GpsSettings else "rfid-reader")}
    return known[name].settings if name in known else model


def _entry(data: dict[str, Any], parts: list[str]) -> object:
    """The table (or array entry) ``parts`` names in ``data``; None where there is none."""
    found: Any = data
    for part in parts:
        if part.isdigit() and isinstance(found, list) and int(part) < len(found):
            found = found[int(part)]
        elif isinstance(found, dict):
            found = found.get(part)
        else:
            return None
    return found


def _model_in(annotation: Any) -> type[BaseModel] | None:  # noqa: ANN401
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


service_app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="The agent as a systemd service."
)


@service_app.command()
def install(
    config: ConfigOption = DEFAULT_CONFIG,
    *,
    user: Annotated[str, typer.Option(help="service user (in group dialout)")] = "tagtrail",
    name: Annotated[str, typer.Option(help="unit name")] = "tagtrail-edge",
    unit_dir: Annotated[Path, typer.Option(help="where units go")] = Path("/etc/systemd/system"),
    enable: Annotated[
        bool, typer.Option("--enable/--no-enable", help="systemctl enable --now after writing")
    ] = True,
    show: Annotated[bool, typer.Option("--print", help="print the unit, write nothing")] = False,
) -> None:
    """Write a hardened systemd unit running `tagtrail-edge run` with this config (restart
    always, watchdog, read-only system, writable only its state folder), then enable and start
    it. Put secrets in /etc/tagtrail/edge.env (TAGTRAIL_EDGE_MQTT__PASSWORD=...), mode 0600.

    Example: sudo tagtrail-edge service install --config /etc/tagtrail/edge.toml
    """

    settings = load(config)
    text = unit(config.resolve(), settings, user=user)
    if show:
        typer.echo(text, nl=False)
        return
    try:
        pwd.getpwnam(user)
    except KeyError:
        typer.echo(
            f"warning: no user {user!r}; create it: "
            f"useradd --system --no-create-home --groups dialout {user}",
            err=True,
        )
    target = unit_dir / f"{name}.service"
    try:
        unit_dir.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"error: cannot write {target}: {exc.strerror} (run as root?)", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {target}")
    if enable:
        _systemctl("daemon-reload")
        _systemctl("enable", "--now", f"{name}.service")
        typer.echo(f"enabled and started {name}; follow it with: journalctl -fu {name}")


def _systemctl(*args: str) -> None:
    program = shutil.which("systemctl")
    if program is None:
        typer.echo("error: systemctl not found (is this a systemd system?)", err=True)
        raise typer.Exit(1)
    done = subprocess.run([program, *args], check=False, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        typer.echo(f"error: systemctl {' '.join(args)}: {done.stderr.strip()}", err=True)
        raise typer.Exit(1)
