"""``tagtrail-edge``: the gateway agent and the technician's commands (a thin CLI layer)."""

from __future__ import annotations

from typing import Annotated

import typer

from tagtrail_edge import (
    config_cli,
    devices_cli,
    doctor_cli,
    epc_cli,
    gps_cli,
    init_cli,
    outbox_cli,
    probe_cli,
    service_cli,
    watch_cli,
)
from tagtrail_edge.cli_options import DEFAULT_CONFIG, ConfigOption
from tagtrail_edge.runner import DEFAULT_SHUTDOWN_TIMEOUT, run_agent

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="The tagtrail gateway agent, and the technician's commands. See docs/cli.md.",
)
app.add_typer(epc_cli.app, name="epc")
app.add_typer(gps_cli.app, name="gps")
app.add_typer(outbox_cli.app, name="outbox")
app.add_typer(config_cli.app, name="config")
app.add_typer(service_cli.app, name="service")
app.command("init")(init_cli.init)
app.command("probe")(probe_cli.probe)
app.command("devices")(devices_cli.devices)
app.command("doctor")(doctor_cli.doctor)
app.command("watch")(watch_cli.watch)


@app.command()
def run(
    config: ConfigOption = DEFAULT_CONFIG,
    shutdown_timeout: Annotated[
        float, typer.Option(help="seconds allowed to drain on SIGTERM")
    ] = DEFAULT_SHUTDOWN_TIMEOUT,
) -> None:
    """Run the agent until SIGTERM or SIGINT.

    Example: tagtrail-edge run --config /etc/tagtrail/edge.toml
    """
    status = run_agent(config, shutdown_timeout)
    if status:
        raise typer.Exit(status)


@app.command()
def version() -> None:
    """Print the agent's version. Example: tagtrail-edge version"""
    from tagtrail_edge import __version__  # noqa: PLC0415

    typer.echo(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
