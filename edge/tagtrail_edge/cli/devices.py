"""``devices``, ``probe``, ``gps`` and ``epc``: what is attached to this gateway and what it says:
the serial ports, what is on one, the GPS fix as the agent sees it, and what a tag's EPC is.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from tagtrail_edge.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    clock_offset,
    json_lines,
    latest_fix,
    load,
    table,
    working,
)
from tagtrail_edge.pipeline import read
from tagtrail_edge.pipeline.enrich import decode_epc, kernel_synced
from tagtrail_hardware.errors import DeviceError
from tagtrail_hardware.nmea import NmeaDecoder
from tagtrail_hardware.ports import scan
from tagtrail_hardware.probe import BAUD_RATES
from tagtrail_hardware.probe import probe as identify
from tagtrail_hardware.reads import Fix


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


gps_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="GPS: the live fix, and what an NMEA capture yields.",
)


@gps_app.command()
def status(
    config: ConfigOption = DEFAULT_CONFIG,
    *,
    wait: Annotated[float, typer.Option(help="seconds to listen for a fix, at most")] = 5.0,
    as_json: JsonOption = False,
) -> None:
    """Listen to the configured GPS (serial NMEA or gpsd) and print its latest fix: quality,
    satellites, HDOP, position, and the offset between GPS time and the system clock. The
    agent must be stopped for a serial receiver (the port is opened exclusively). Exit status 1
    when no fix comes within --wait seconds.

    Example: tagtrail-edge gps status --wait 10
    """
    loaded = load(config)
    settings, gps = loaded.gps, read.gps(loaded)
    if settings is None or gps is None:
        typer.echo('error: no GPS configured ([gps] source = "none")', err=True)
        raise typer.Exit(2)
    with working(f"waiting up to {wait:g} s for a fix..."):
        fix = latest_fix(gps, wait_s=wait)
    device = gps.status()
    where = settings.where()
    row = {
        "source": settings.source,
        "device": where,
        "device_state": device.state,
        "detail": device.detail,
        "fix": fix is not None,
        **(fix_row(fix) if fix else {}),
        "clock_offset_s": None if fix is None else clock_offset(fix),
        "clock_synced": kernel_synced(),
    }
    if as_json:
        json_lines([row])
    else:
        table("GPS", ("", ""), list(row.items()))
    if fix is None:
        typer.echo(
            f"no fix within {wait:g} s (antenna view of the sky? device state above)", err=True
        )
        raise typer.Exit(1)


@gps_app.command()
def replay(
    capture: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="NMEA capture")
    ],
    *,
    as_json: JsonOption = False,
) -> None:
    """Read an NMEA 0183 capture and print every position fix it yields.

    ``time`` is ISO 8601 UTC, or null while the capture has no date yet (GGA before the first
    RMC). Sentences that fail (checksum, garbage, unknown) are counted on standard error. Exit
    status 1 when no line of the file even starts like an NMEA sentence.

    Example: tagtrail-edge gps replay drive.nmea --json
    """

    decoder = NmeaDecoder()
    fixes = [fix_row(fix) for fix in decoder.replay(capture.read_bytes())]
    if as_json:
        json_lines(fixes)
    else:
        columns = ("time", "lat", "lon", "quality", "hdop", "speed_mps", "course")
        table(f"{capture.name}: {len(fixes)} fixes", columns, [
            [f[c] for c in columns] for f in fixes
        ])  # fmt: skip
    rejected = ", ".join(f"{reason} {n}" for reason, n in sorted(decoder.rejected.items()))
    typer.echo(
        f"{decoder.sentences} sentences, {len(fixes)} fixes"
        + (f"; rejected: {rejected}" if rejected else ""),
        err=True,
    )
    if decoder.sentences == 0 and set(decoder.rejected) <= {"no-start"}:
        typer.echo(f"error: {capture} holds no NMEA 0183 sentence", err=True)
        raise typer.Exit(1)


def fix_row(fix: Fix) -> dict[str, Any]:
    """One fix as the ``--json`` output shows it."""
    when = None if fix.time is None else fix.time.isoformat().replace("+00:00", "Z")
    return {
        "time": when,
        "lat": fix.lat,
        "lon": fix.lon,
        "quality": fix.quality.value,
        "hdop": fix.hdop,
        "speed_mps": fix.speed_mps,
        "course": fix.course_deg,
        "alt_m": fix.alt_m,
        "satellites": fix.satellites,
    }


epc_app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="EPCs: what the tags a reader reports are."
)


@epc_app.command()
def decode(
    epcs: Annotated[list[str], typer.Argument(help="EPCs in hexadecimal, as readers report them")],
    *,
    as_json: JsonOption = False,
) -> None:
    """Decode EPCs: scheme, pure identity URI, tag URI, filter and GS1 key (GTIN, SSCC, ...).

    An EPC that does not decode is reported with the reason (that is normal: not every tag
    carries a GS1 EPC); the exit status is 0 either way.

    Example: tagtrail-edge epc decode 3074257BF7194E4000001A85 --json
    """
    rows = [decoded(epc) for epc in epcs]
    if as_json:
        json_lines(rows)
        return
    keys = ("hex", "scheme", "uri", "filter", "gs1_key", "error")
    columns = ("EPC", "scheme", "identity", "filter", "GS1 key", "error")
    table("EPCs", columns, [[r.get(key) for key in keys] for r in rows])


def decoded(epc: str) -> dict[str, Any]:
    """One EPC as the ``--json`` output shows it."""

    text = epc.strip().upper().removeprefix("0X")
    result = decode_epc(text)
    if result.identity is None:
        return {"hex": text, "error": result.error}
    return {"hex": text, **result.identity.model_dump()}
