"""``outbox``: what the gateway holds and has not delivered yet; read-only unless asked."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TextIO

import sqlite_utils
import typer

from tagtrail_edge.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    iso,
    json_lines,
    load,
    table,
)
from tagtrail_edge.config import OutboxSection
from tagtrail_edge.errors import EdgeError, OutboxError
from tagtrail_edge.pipeline.enrich import kernel_synced
from tagtrail_edge.pipeline.outbox import Outbox, OutboxStats, files_size, read_stats

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="The outbox: backlog, drops, acks; export and purge.",
)


@app.command()
def status(config: ConfigOption = DEFAULT_CONFIG, *, as_json: JsonOption = False) -> None:
    """Backlog, age of the oldest unsent reading, bytes on disk against the cap, drops by
    reason, and the last acknowledgement. Reads the outbox without changing it, so it is safe
    while the agent runs.

    Example: tagtrail-edge outbox status --json
    """

    settings = _settings(config)
    with _findings():
        row = status_row(inspect(settings), now=time.time())
        unsynced = count_unsent(settings)[1]
    row = {
        "path": str(settings.path),
        **row,
        "clock_synced": kernel_synced(),
        "backlog_items_unsynced_clock": unsynced,
    }
    if as_json:
        json_lines([row])
        return
    table("Outbox", ("figure", "value"), [(key, _shown(value)) for key, value in row.items()])


@app.command()
def export(
    output: Annotated[Path, typer.Argument(help="JSON-lines file to write; - for stdout")],
    since: Annotated[
        str | None,
        typer.Option(help="only items committed since: ISO 8601 time, or an age like 90m, 2h, 3d"),
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Copy the unsent items to a JSON-lines file, one object per line (id, kind, created,
    batch_seq, item), in outbox order, with a progress bar. Reads the outbox without changing
    it, so it is safe while the agent runs.

    Example: tagtrail-edge outbox export /tmp/backlog.jsonl --since 2h
    """

    settings = _settings(config)
    start = 0.0 if since is None else parse_since(since, now=time.time())
    with _findings():
        total = count_unsent(settings, since=start)[0]
        if str(output) == "-":
            written = _write_items(sys.stdout, unsent(settings, since=start), None, total)
        else:
            with _progress() as progress, output.open("w", encoding="utf-8") as sink:
                written = _write_items(sink, unsent(settings, since=start), progress, total)
    typer.echo(f"exported {written} item(s) to {output}", err=True)


@app.command()
def purge(
    before: Annotated[
        str | None,
        typer.Option(help="only items committed before: ISO 8601 time, or an age like 7d"),
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    *,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Delete unsent items for good (all, or those older than --before). They are counted as
    drops with reason "purged". Asks first unless --yes; export them before if in doubt.

    Example: tagtrail-edge outbox purge --before 7d --yes
    """

    settings = _settings(config)
    cutoff = None if before is None else parse_since(before, now=time.time())
    with _findings():
        total, _ = count_unsent(settings)
        newer = 0 if cutoff is None else count_unsent(settings, since=cutoff)[0]
    doomed = total - newer
    if doomed == 0:
        typer.echo("nothing to purge")
        return
    if not yes:
        typer.confirm(f"delete {doomed} unsent item(s) from {settings.path} for good?", abort=True)
    with _findings():
        outbox = Outbox.open(settings)
        try:
            purged = outbox.purge(before=cutoff)
        finally:
            outbox.close()
    typer.echo(f"purged {purged} item(s)")


def parse_since(text: str, *, now: float) -> float:
    """An ISO 8601 time (UTC when it names no zone) or an age (``90s``, ``15m``, ``2h``, ``3d``)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].replace(".", "", 1).isdigit():
        return now - float(text[:-1]) * units[text[-1]]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is neither an ISO 8601 time nor an age like 90m, 2h or 3d"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _settings(config: Path) -> OutboxSection:
    return load(config).outbox


@contextlib.contextmanager
def _findings() -> Iterator[None]:
    """An outbox that is missing or unreadable is a finding: exit status 1 with the reason."""
    try:
        yield
    except EdgeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _progress() -> Any:  # noqa: ANN401 (rich.progress.Progress)
    from rich.progress import Progress  # noqa: PLC0415

    return Progress(transient=True)


def _write_items(sink: TextIO, items: Iterable[Any], progress: Any, total: int) -> int:  # noqa: ANN401
    task = progress.add_task("exporting", total=total) if progress else None
    written = 0
    for item in items:
        row = {
            "id": item.id, "kind": item.kind, "created": iso(item.created),
            "batch_seq": item.batch_seq, "item": json.loads(item.body),
        }  # fmt: skip
        sink.write(json.dumps(row, ensure_ascii=False) + "\n")
        written += 1
        if progress and written % 1000 == 0:
            progress.update(task, completed=written)
    if progress:
        progress.update(task, completed=written)
    return written


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
        "last_ack_at": iso(stats.last_ack_at),
        "last_ack_seq": stats.last_ack_seq,
    }


def _shown(value: Any) -> str:  # noqa: ANN401
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in sorted(value.items())) or "none"
    return "" if value is None else str(value)


_UNSENT = (
    "SELECT i.id, i.kind, i.created, b.seq AS batch_seq, i.body FROM items i"
    " LEFT JOIN batches b ON b.id = i.batch"
    " WHERE i.id > :after AND i.created >= :since ORDER BY i.id LIMIT :chunk"
)


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An unsent item as kept: outbox order, kind, commit time, its batch if any, the body."""

    id: int
    kind: str
    created: float
    batch_seq: int | None
    body: str


def disk_use(settings: OutboxSection) -> int:
    """Bytes the outbox takes on disk (database and WAL)."""
    return files_size(settings.path)


def inspect(settings: OutboxSection) -> OutboxStats:
    """An outbox's figures without changing anything in it."""
    with _read_only(settings.path) as db:
        return read_stats(db.conn, settings)


def count_unsent(settings: OutboxSection, *, since: float = 0.0) -> tuple[int, int]:
    """(items committed at or after ``since``, of those stamped by an unsynchronised clock)."""
    with _read_only(settings.path) as db:
        total = db["items"].count_where("created >= ?", [since])
        unsynced = db["items"].count_where(
            "created >= ? AND json_extract(body, '$.clock_synced') = 0", [since]
        )
    return total, unsynced


def unsent(
    settings: OutboxSection, *, since: float = 0.0, chunk: int = 5000
) -> Iterator[StoredItem]:
    """The unsent items committed at or after ``since``, in outbox order."""
    with _read_only(settings.path) as db:
        after = 0
        while True:
            rows = [
                StoredItem(**row)
                for row in db.query(_UNSENT, {"after": after, "since": since, "chunk": chunk})
            ]
            if not rows:
                return
            yield from rows
            after = rows[-1].id


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[sqlite_utils.Database]:
    if not path.exists():
        raise OutboxError(f"no outbox at {path} (has the agent run with this config?)")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.DatabaseError as exc:
        raise OutboxError(f"{path} cannot be opened: {exc}") from None
    try:
        yield sqlite_utils.Database(conn)
    except sqlite3.DatabaseError as exc:
        raise OutboxError(f"{path} cannot be read as an outbox: {exc}") from None
    finally:
        conn.close()
