"""``devices`` and ``probe``: the serial ports on this gateway, and what is on one."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from tagtrail_edge.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    json_lines,
    load,
    table,
    working,
)
from tagtrail_hardware.errors import DeviceError
from tagtrail_hardware.ports import scan
from tagtrail_hardware.probe import BAUD_RATES
from tagtrail_hardware.probe import probe as identify


def devices(config: ConfigOption = DEFAULT_CONFIG, *, as_json: JsonOption = False) -> None:
    """List serial ports with their USB vendor:product, stable /dev/serial/by-id name, and
    whether the current user may open them (with the group to join when not). Devices the
    config names are listed too, also when unplugged. Exit status 1 when a configured device
    is missing or cannot be opened.

    Example: tagtrail-edge devices --json
    """
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


def probe(
    port: Annotated[str, typer.Argument(help="serial device, e.g. /dev/ttyUSB0")],
    *,
    baud: Annotated[
        list[int] | None, typer.Option("--baud", help="baud rate to try (repeat); default: common")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Find out what is on a port (Mercury reader, ASCII reader, NMEA GPS) and at which baud
    rate, and print its identity: the reader's firmware, or the GPS talker and fix. Nothing on
    the device is changed. Exit status 1 when nothing is recognised, 2 when the port cannot be
    opened.

    Example: tagtrail-edge probe /dev/ttyUSB0 --json
    """

    try:
        with working(f"listening on {port} at each baud rate..."):
            found = identify(port, baud_rates=tuple(baud) if baud else BAUD_RATES)
    except DeviceError as exc:
        typer.echo(f"error: {exc} (is the user in the dialout group?)", err=True)
        raise typer.Exit(2) from None
    row = asdict(found)
    if as_json:
        json_lines([row])
    else:
        shown = [(key, row[key]) for key in ("path", "kind", "baudrate", "identity")]
        table(f"probe {port}", ("", ""), shown)
    if found.kind == "unknown":
        raise typer.Exit(1)
