"""``tagtrail-edge config``: the gateway's configuration, validated, with secrets masked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from tagtrail_edge.cli_options import DEFAULT_CONFIG, ConfigOption, load

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="The configuration: show, get, set, validate."
)


def _effective(config: Path) -> dict[str, Any]:
    """The validated configuration with every default filled in, each read point with the
    thresholds it runs with (its own, or [smoothing]'s); secrets are masked."""
    loaded = load(config)
    found: dict[str, Any] = loaded.model_dump(mode="json")
    for point, shown in zip(loaded.read_points, found["read_points"], strict=True):
        shown.update(point.thresholds(loaded.smoothing).model_dump(mode="json"))
    return found


@app.command()
def show(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Print the whole effective configuration (defaults included) as JSON; secrets masked.

    Example: tagtrail-edge config show --config /etc/tagtrail/edge.toml
    """
    typer.echo(json.dumps(_effective(config), indent=2))


@app.command()
def get(
    key: Annotated[str, typer.Argument(help="dotted key, e.g. mqtt.host or outbox.cap_mb")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Print one setting's effective value (JSON for sections and lists); secrets masked.

    Example: tagtrail-edge config get mqtt.host
    """
    value: Any = _effective(config)
    for part in key.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            known = ", ".join(sorted(value)) if isinstance(value, dict) else "none"
            typer.echo(f"error: no setting {key!r} (at {part!r}, known: {known})", err=True)
            raise typer.Exit(2)
    typer.echo(value if isinstance(value, str) else json.dumps(value))


@app.command("set")
def set_(
    key: Annotated[str, typer.Argument(help="dotted key, e.g. mqtt.host or readers.0.path")],
    value: Annotated[str, typer.Argument(help="a TOML value (8883, true, [1, 2]) or plain text")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Change one setting in the file, keeping its comments and layout. The file is replaced
    only when the whole result is valid; otherwise the error names the key, the bad value and
    what is allowed (exit status 2). Restart the agent to apply.

    Example: tagtrail-edge config set mqtt.host broker.example.net
    """
    from tagtrail_edge.config_file import set_value  # noqa: PLC0415
    from tagtrail_edge.errors import ConfigError  # noqa: PLC0415

    try:
        set_value(config, key, value)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    shown = "***" if _secret(key) else value
    typer.echo(f"{config}: {key} = {shown}")


def _secret(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in ("password", "token")


@app.command()
def validate(
    file: Annotated[Path | None, typer.Argument(help="file to check (default: --config)")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Check a configuration file; each problem names the key, the bad value and what is
    allowed. Exit status 0 when valid, 2 otherwise.

    Example: tagtrail-edge config validate /tmp/new-edge.toml
    """
    path = file or config
    _effective(path)
    typer.echo(f"{path}: valid")
