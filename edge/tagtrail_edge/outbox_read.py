"""Reading an outbox from outside the agent: the technician's ``outbox`` commands.

Read-only (``mode=ro``), so safe beside a running agent, through sqlite-utils. The agent's own
process writes through :mod:`tagtrail_edge.outbox` and does not load this module.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from tagtrail_edge.errors import OutboxError
from tagtrail_edge.outbox import OutboxSettings, OutboxStats, read_stats

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


def inspect(settings: OutboxSettings) -> OutboxStats:
    """An outbox's figures without changing anything in it."""
    with _read_only(settings.path) as db:
        return read_stats(db.conn, settings)


def count_unsent(settings: OutboxSettings, *, since: float = 0.0) -> tuple[int, int]:
    """(items committed at or after ``since``, of those stamped by an unsynchronised clock)."""
    with _read_only(settings.path) as db:
        total = db["items"].count_where("created >= ?", [since])
        unsynced = db["items"].count_where(
            "created >= ? AND json_extract(body, '$.clock_synced') = 0", [since]
        )
    return total, unsynced


def unsent(
    settings: OutboxSettings, *, since: float = 0.0, chunk: int = 5000
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
