"""``tagtrail-edge gps``: what a GPS receiver's NMEA output yields."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tagtrail_edge.cli_options import JsonOption
from tagtrail_edge.output import json_lines, table
from tagtrail_hardware.reads import Fix

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="GPS: what a receiver's NMEA output yields."
)


@app.command()
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
    from tagtrail_hardware.nmea import NmeaDecoder  # noqa: PLC0415

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
