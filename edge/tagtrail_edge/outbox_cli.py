"""``tagtrail-edge outbox``: what the gateway holds that the collector has not acknowledged."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import typer

from tagtrail_edge.cli_options import DEFAULT_CONFIG, ConfigOption, JsonOption
from tagtrail_edge.errors import ConfigError, EdgeError
from tagtrail_edge.output import json_lines, table

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="The outbox: backlog, drops, acks."
)


@app.command()
def status(config: ConfigOption = DEFAULT_CONFIG, *, as_json: JsonOption = False) -> None:
    """Backlog, age of the oldest unsent reading, bytes on disk against the cap, drops by
    reason, and the last acknowledgement. Reads the outbox without changing it, so it is safe
    while the agent runs.

    Example: tagtrail-edge outbox status --json
    """
    from tagtrail_edge.config import load_config  # noqa: PLC0415
    from tagtrail_edge.outbox import inspect  # noqa: PLC0415

    try:
        settings = load_config(config).outbox.settings()
        row = status_row(inspect(settings), now=time.time())
    except EdgeError as exc:  # a bad config is a usage error (2); a missing outbox a finding (1)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2 if isinstance(exc, ConfigError) else 1) from None
    row = {"path": str(settings.path), **row}
    if as_json:
        json_lines([row])
        return
    table("Outbox", ("figure", "value"), [(key, _shown(value)) for key, value in row.items()])


def status_row(stats: Any, *, now: float) -> dict[str, Any]:  # noqa: ANN401 (OutboxStats)
    oldest = stats.oldest_created
    return {
        "backlog_items": stats.backlog_items,
        "backlog_batches": stats.backlog_batches,
        "oldest_unsent_age_s": None if oldest is None else round(max(0.0, now - oldest), 3),
        "bytes_on_disk": stats.bytes_on_disk,
        "cap_bytes": stats.cap_bytes,
        "used_of_cap": round(stats.bytes_on_disk / stats.cap_bytes, 4),
        "drops": dict(stats.drops),
        "last_ack_at": _iso(stats.last_ack_at),
        "last_ack_seq": stats.last_ack_seq,
    }


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _shown(value: Any) -> str:  # noqa: ANN401
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in sorted(value.items())) or "none"
    return "" if value is None else str(value)
