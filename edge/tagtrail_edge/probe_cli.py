"""``tagtrail-edge probe``: what is on a serial port, and at which baud rate."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from tagtrail_edge.cli_options import JsonOption
from tagtrail_edge.output import json_lines, table, working


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
    from tagtrail_hardware.errors import DeviceError  # noqa: PLC0415
    from tagtrail_hardware.probe import BAUD_RATES  # noqa: PLC0415
    from tagtrail_hardware.probe import probe as identify  # noqa: PLC0415

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
