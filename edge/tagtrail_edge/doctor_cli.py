"""``tagtrail-edge doctor``: every check from config to collector, with the fix for each failure."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from tagtrail_edge.cli_options import DEFAULT_CONFIG, ConfigOption, JsonOption

MARKS = {"pass": ("PASS", "green"), "fail": ("FAIL", "bold red"), "skip": ("skip", "dim")}


def doctor(
    config: ConfigOption = DEFAULT_CONFIG,
    *,
    gps_wait: Annotated[float, typer.Option(help="seconds to wait for a GPS fix")] = 5.0,
    ack_wait: Annotated[float, typer.Option(help="seconds to wait for the collector")] = 10.0,
    as_json: JsonOption = False,
) -> None:
    """Check, in order: config valid, devices present and readable, GPS fix, clock
    synchronised, disk space, broker reachable, TLS trust, credentials accepted, and an ack
    round trip to the collector. Prints pass/fail per check, with the fix for each failure;
    checks that depend on a failed one are skipped. Exit status 1 when any check fails.
    Changes nothing; stop the agent first to check a serial GPS (its port is exclusive).

    Example: tagtrail-edge doctor --config /etc/tagtrail/edge.toml
    """
    from rich.console import Console  # noqa: PLC0415

    from tagtrail_edge.doctor import NAMES, Waits, diagnose  # noqa: PLC0415
    from tagtrail_edge.output import json_lines  # noqa: PLC0415

    console = Console(highlight=False)
    failed = 0
    checks = diagnose(config, Waits(gps_s=gps_wait, ack_s=ack_wait))
    for index, name in enumerate(NAMES):
        if as_json:
            check = next(checks)
            json_lines([asdict(check)])
        else:
            with console.status(f"checking {name}...", spinner="dots"):
                check = next(checks)
            mark, style = MARKS[check.verdict]
            console.print(f"[{style}]{mark}[/] {index + 1}. {check.name}: {check.detail}")
            if check.fix:
                console.print(f"       fix: {check.fix}")
        failed += check.verdict == "fail"
    if failed:
        raise typer.Exit(1)
