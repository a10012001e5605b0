"""What every technician command shares: the config option and its loading, and how data is printed
(JSON lines for scripts, a table for people; colour and borders only on a terminal). Listening
to a device for a while (``Listener``), for ``watch``, ``gps`` and ``doctor``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any, Generic, TypeVar

import typer

from tagtrail_edge.config import DEFAULT_CONFIG, EdgeConfig, load_config
from tagtrail_edge.errors import ConfigError
from tagtrail_hardware.reads import Fix

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


T = TypeVar("T")


class Listener(Generic[T]):
    """``with Listener(driver) as heard: ... heard.take()``; the driver reopens on failure."""

    def __init__(self, device: Any) -> None:  # noqa: ANN401 (any SerialDevice or GpsdClient)
        self.device = device
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._items: list[T] = []
        self.arrived = threading.Event()
        self._thread = threading.Thread(
            target=device.run, args=(self._sink, self._stop), name=f"listen-{device.name}",
            daemon=True,
        )  # fmt: skip

    def __enter__(self) -> Listener[T]:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)

    def take(self) -> list[T]:
        """What arrived since the last call."""
        with self._lock:
            items, self._items = self._items, []
        self.arrived.clear()
        return items

    def _sink(self, items: list[T]) -> None:
        with self._lock:
            self._items.extend(items)
        self.arrived.set()


def latest_fix(gps: Any, *, wait_s: float) -> Fix | None:  # noqa: ANN401 (a GPS driver)
    """The newest fix heard within ``wait_s`` (one with a date is waited for, if it comes)."""
    latest: Fix | None = None
    deadline = time.monotonic() + wait_s
    with Listener[Fix](gps) as heard:
        while (remaining := deadline - time.monotonic()) > 0:
            heard.arrived.wait(remaining)
            fixes = heard.take()
            latest = fixes[-1] if fixes else latest
            if latest is not None and latest.time is not None:
                break
    return latest


def clock_offset(fix: Fix) -> float | None:
    """GPS time minus the system clock at the fix, in seconds (includes the receiver's delay)."""
    if fix.time is None:
        return None
    wall, mono = time.time(), time.monotonic_ns()
    system_at_fix = wall - (mono - fix.mono_ns) / 1e9
    return round(fix.time.timestamp() - system_at_fix, 3)
