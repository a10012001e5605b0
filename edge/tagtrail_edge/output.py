"""How the technician's commands print data: JSON lines for scripts, a table for people.

Colour and table borders only when standard output is a terminal (rich decides).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import typer


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
