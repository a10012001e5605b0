"""``tagtrail-edge devices``: the serial ports, their USB identity, and whether we may open them."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from tagtrail_edge.cli_options import DEFAULT_CONFIG, ConfigOption, JsonOption, load
from tagtrail_edge.output import json_lines, table


def devices(config: ConfigOption = DEFAULT_CONFIG, *, as_json: JsonOption = False) -> None:
    """List serial ports with their USB vendor:product, stable /dev/serial/by-id name, and
    whether the current user may open them (with the group to join when not). Devices the
    config names are listed too, also when unplugged. Exit status 1 when a configured device
    is missing or cannot be opened.

    Example: tagtrail-edge devices --json
    """
    from tagtrail_hardware.ports import scan  # noqa: PLC0415

    ports = scan(configured_devices(config))
    rows = [asdict(p) | {"usable": p.usable} for p in ports]
    if as_json:
        json_lines(rows)
    else:
        columns = ("path", "role", "usb_id", "product", "by_id", "access")
        table("Serial ports", columns, [[row[c] for c in columns] for row in rows])
    if any(p.role and not p.usable for p in ports):
        raise typer.Exit(1)


def configured_devices(config: Path) -> dict[str, str]:
    """Serial path -> role for the readers and GPS in ``config``; empty when there is none."""
    return load(config).serial_devices() if config.exists() else {}
