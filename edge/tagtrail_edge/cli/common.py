"""What every technician command shares: the config option and its loading, and how data is printed
(JSON lines for scripts, a table for people; colour and borders only on a terminal).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from tagtrail_edge.config import EdgeConfig, load_config
from tagtrail_edge.errors import ConfigError
from tagtrail_edge.runner import DEFAULT_CONFIG

__all__ = ["DEFAULT_CONFIG", "ConfigOption", "JsonOption", "iso", "json_lines", "load", "table"]


ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="gateway config (env TAGTRAIL_EDGE_CONFIG)")
]


JsonOption = Annotated[bool, typer.Option("--json", help="data as JSON, one object per line")]


def load(config: Path) -> EdgeConfig:
    """The validated configuration; on any problem, its message and exit status 2."""

    try:
        return load_config(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def iso(epoch: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC with a Z, as every command prints times."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def json_lines(rows: Iterable[dict[str, Any]]) -> None:
    for row in rows:
        typer.echo(json.dumps(row, ensure_ascii=False))


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    from rich.console import Console  # noqa: PLC0415 (only people need it)
    from rich.table import Table  # noqa: PLC0415

    shown = Table(title=title)
    for column in columns:
        shown.add_column(column, overflow="fold")  # an EPC is never cut short
    for row in rows:
        shown.add_row(*(_cell(cell) for cell in row))
    Console().print(shown)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.7f}".rstrip("0").rstrip(".")
    return str(value)


def working(message: str) -> Any:  # noqa: ANN401 (a rich status, used as a context manager)
    """A spinner on standard error while something slow runs (shown only on a terminal)."""
    from rich.console import Console  # noqa: PLC0415

    return Console(stderr=True).status(message, spinner="dots")
