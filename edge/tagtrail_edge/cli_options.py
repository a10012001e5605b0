"""Options shared by the ``tagtrail-edge`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tagtrail_edge.runner import DEFAULT_CONFIG

__all__ = ["DEFAULT_CONFIG", "ConfigOption", "JsonOption", "load"]

if TYPE_CHECKING:
    from tagtrail_edge.config import EdgeConfig

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="gateway config (env TAGTRAIL_EDGE_CONFIG)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="data as JSON, one object per line")]


def load(config: Path) -> EdgeConfig:
    """The validated configuration; on any problem, its message and exit status 2."""
    from tagtrail_edge.config import load_config  # noqa: PLC0415 (keep --help fast)
    from tagtrail_edge.errors import ConfigError  # noqa: PLC0415

    try:
        return load_config(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
