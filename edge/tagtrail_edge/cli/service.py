"""``tagtrail-edge service``: run the agent under systemd."""

from __future__ import annotations

import pwd
import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from tagtrail_edge.cli.common import DEFAULT_CONFIG, ConfigOption, load
from tagtrail_edge.systemd import unit

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="The agent as a systemd service."
)


@app.command()
def install(
    config: ConfigOption = DEFAULT_CONFIG,
    *,
    user: Annotated[str, typer.Option(help="service user (in group dialout)")] = "tagtrail",
    name: Annotated[str, typer.Option(help="unit name")] = "tagtrail-edge",
    unit_dir: Annotated[Path, typer.Option(help="where units go")] = Path("/etc/systemd/system"),
    enable: Annotated[
        bool, typer.Option("--enable/--no-enable", help="systemctl enable --now after writing")
    ] = True,
    show: Annotated[bool, typer.Option("--print", help="print the unit, write nothing")] = False,
) -> None:
    """Write a hardened systemd unit running `tagtrail-edge run` with this config (restart
    always, watchdog, read-only system, writable only its state folder), then enable and start
    it. Put secrets in /etc/tagtrail/edge.env (TAGTRAIL_EDGE_MQTT__PASSWORD=...), mode 0600.

    Example: sudo tagtrail-edge service install --config /etc/tagtrail/edge.toml
    """

    settings = load(config)
    text = unit(config.resolve(), settings, user=user)
    if show:
        typer.echo(text, nl=False)
        return
    try:
        pwd.getpwnam(user)
    except KeyError:
        typer.echo(
            f"warning: no user {user!r}; create it: "
            f"useradd --system --no-create-home --groups dialout {user}",
            err=True,
        )
    target = unit_dir / f"{name}.service"
    try:
        unit_dir.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"error: cannot write {target}: {exc.strerror} (run as root?)", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {target}")
    if enable:
        _systemctl("daemon-reload")
        _systemctl("enable", "--now", f"{name}.service")
        typer.echo(f"enabled and started {name}; follow it with: journalctl -fu {name}")


def _systemctl(*args: str) -> None:
    program = shutil.which("systemctl")
    if program is None:
        typer.echo("error: systemctl not found (is this a systemd system?)", err=True)
        raise typer.Exit(1)
    done = subprocess.run([program, *args], check=False, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        typer.echo(f"error: systemctl {' '.join(args)}: {done.stderr.strip()}", err=True)
        raise typer.Exit(1)
