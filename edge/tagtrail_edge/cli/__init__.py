"""``tagtrail-edge``: the gateway agent and the technician's commands (a thin CLI layer)."""

from __future__ import annotations

from typing import Annotated

import typer

from tagtrail_edge import __version__
from tagtrail_edge.cli import config, devices, doctor, init, outbox, watch
from tagtrail_edge.cli.common import DEFAULT_CONFIG, ConfigOption
from tagtrail_edge.runner import DEFAULT_SHUTDOWN_TIMEOUT, run_agent

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="The tagtrail gateway agent, and the technician's commands. See docs/cli.md.",
)
app.add_typer(devices.epc_app, name="epc")
app.add_typer(devices.gps_app, name="gps")
app.add_typer(outbox.app, name="outbox")
app.add_typer(config.app, name="config")
app.add_typer(config.service_app, name="service")
app.command("init")(init.init)
app.command("probe")(devices.probe)
app.command("devices")(devices.devices)
app.command("doctor")(doctor.doctor)
app.command("watch")(watch.watch)


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
    typer.echo(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
