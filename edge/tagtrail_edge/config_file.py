"""Writing gateway config files: a new commented TOML (``init``), one setting changed (``set``).

The comments come from the settings' own documentation (the docstrings in config.py); a change
keeps the file's comments and layout (tomlkit). A file is replaced atomically, and only once the
whole result validates, so a typo never leaves a gateway with a config it cannot start with.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import tempfile
import typing
from pathlib import Path
from typing import Annotated, Any

import tomlkit
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError
from tomlkit.exceptions import ParseError
from tomlkit.items import AoT, Table

from tagtrail_edge.config import EdgeConfig, validate
from tagtrail_edge.errors import ConfigError
from tagtrail_protocol.errors import SettingsError
from tagtrail_protocol.settings import read_text

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
                tables.append(_table(model, entry))
            doc.add(section, tables)
        else:
            doc.add(tomlkit.nl())
            doc.add(section, _table(model, value))
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
    settings = validate(doc.unwrap(), path)
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


def _model_in(annotation: Any) -> type[BaseModel] | None:  # noqa: ANN401
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
