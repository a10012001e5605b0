"""The keys of a configuration model, for the tests that hold docs and code against it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, get_args, get_origin

from pydantic import BaseModel

from tagtrail_hardware import drivers
from tagtrail_hardware.contract import DriverSettings, GpsSettings, ReaderSettings


def leaf_fields(model: type[BaseModel], prefix: str = "") -> dict[str, str]:
    """Dotted key (``mqtt.host``) -> attribute name (``host``), for every leaf setting; the
    keys of a ``[[readers]]`` entry or of ``[gps]`` are those of every registered driver."""
    found: dict[str, str] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        inner = [get_args(a)[0] if get_origin(a) is Annotated else a for a in _args(annotation)]
        nested = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
        for model_ in _driver_models(nested[0]) if nested else ():
            found |= leaf_fields(model_, f"{prefix}{name}.")
        if not nested:
            found[f"{prefix}{name}"] = name
    return found


def _args(annotation: object) -> tuple[object, ...]:
    return getattr(annotation, "__args__", (annotation,))


def _driver_models(model: type[BaseModel]) -> list[type[BaseModel]]:
    if model is ReaderSettings:
        return [d.settings for d in drivers.of_kind("rfid-reader")]
    if model is GpsSettings:
        return [d.settings for d in drivers.of_kind("gps")]
    if issubclass(model, DriverSettings):
        return [model]
    return [model]


def documented_keys(example: Path) -> set[str]:
    """``section.key`` of every setting an example file shows, set or commented out."""
    found, section = set(), ""
    for line in example.read_text().splitlines():
        header = re.match(r"^#?\s*\[\[?([a-z_]+(?:\.[a-z_]+)*)\]?\]\s*(#.*)?$", line)
        section = header.group(1) if header else section
        option = re.match(r"^#?\s*([a-z_]+)\s*=", line)
        if option and section:
            found.add(f"{section}.{option.group(1)}")
    return found
