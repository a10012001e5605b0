"""The outbox: every event committed to SQLite before the reader's next chunk, kept until acked.

WAL mode with ``synchronous=FULL`` (by default) survives power loss; a commit is one transaction
holding the events and the smoothing state they came from (group commit: one fsync for all the
reads that arrived meanwhile). Items are batched per (boot id, sequence) and leave only when the
collector acknowledges their batch. The files (database + WAL) stay under a hard cap, with an
overflow policy; retention by age; every dropped item is counted by reason. At start-up the file
is checked and, if corrupt, moved aside (never deleted) and replaced by a fresh one.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tagtrail_edge.config import OutboxSection, Overflow
from tagtrail_edge.errors import OutboxError
from tagtrail_edge.pipeline.outbox_schema import migrate
from tagtrail_edge.pipeline.values import Batch, Track
from tagtrail_hardware.reads import TagRead
from tagtrail_protocol import Kind

_log = logging.getLogger(__name__)
ITEM_OVERHEAD: Final = 64  # row header, rowid and index entries, per item, in bytes (measured)


_PENDING_OLDEST: Final = "SELECT id, attempts FROM batches ORDER BY id LIMIT ?"
_PENDING_NEWEST: Final = "SELECT id, attempts FROM batches ORDER BY id DESC LIMIT ?"


@dataclass(frozen=True, slots=True)
class OutboxStats:
    backlog_batches: int
    backlog_items: int
    oldest_created: float | None
    bytes_on_disk: int
    cap_bytes: int
    drops: dict[str, int]
    last_ack_at: float | None
    last_ack_seq: int | None
    recovered_from: str | None


class Outbox:
    """One SQLite file; thread-safe (one connection behind a lock). Open with :meth:`open`."""

    def __init__(
        self, settings: OutboxSection, conn: sqlite3.Connection, recovered: str | None
    ) -> None:
        self.settings = settings
        self.recovered_from = recovered
        self._conn = conn
        self._lock = threading.RLock()
        self._page = self._pragma("page_size")
        wal_budget = max(settings.cap_bytes // 10, 16 * self._page)
        self._wal_budget = wal_budget
        self._conn.execute(f"PRAGMA journal_size_limit = {wal_budget}")
        self._conn.execute(f"PRAGMA wal_autocheckpoint = {max(4, wal_budget // self._page // 2)}")

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(cls, settings: OutboxSection) -> Outbox:
        settings.path.parent.mkdir(parents=True, exist_ok=True)
        recovered = None
        if settings.path.exists() and not _healthy(settings.path):
            recovered = _move_aside(settings.path)
            _log.error("outbox %s was corrupt; moved aside to %s", settings.path, recovered)
        try:
            conn = sqlite3.connect(settings.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only takes effect on a new file
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {settings.synchronous}")
            conn.execute("PRAGMA busy_timeout = 5000")
            migrate(conn)
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox {settings.path}: {exc}") from exc
        return cls(settings, conn, recovered)

    @property
    def conn(self) -> sqlite3.Connection:
        """The outbox's connection, for reading figures beside it (writes go through methods)."""
        return self._conn

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._conn.close()

    # -- writing: the group commit ----------------------------------------------------------

    def commit(
        self,
        items: Sequence[tuple[Kind, str]],
        *,
        saved: Iterable[Track] = (),
        deleted: Iterable[tuple[str, str]] = (),
        raw: Sequence[TagRead] = (),
        now: float | None = None,
    ) -> int:
        """Commit new items (kind, JSON body) with the smoothing state; returns items stored."""
        now = time.time() if now is None else now
        with self._lock, self._transaction():
            stored = self._make_room(items)
            kept = items[:stored]
            self._conn.executemany(
                "INSERT INTO items (kind, body, created) VALUES (?, ?, ?)",
                [(kind, body, now) for kind, body in kept],
            )
            self._save_tracks(saved, deleted)
            if raw:
                self._conn.executemany(
                    "INSERT INTO raw_reads (epc, antenna, reader, time, rssi, created)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [(r.epc, r.antenna, r.reader, r.time, r.rssi_dbm, now) for r in raw],
                )
            return stored

    def _save_tracks(self, saved: Iterable[Track], deleted: Iterable[tuple[str, str]]) -> None:
        self._conn.executemany(
            "INSERT OR REPLACE INTO tracks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (t.epc, t.read_point, t.antenna, t.first_seen, t.last_seen, t.count,
                 t.peak_rssi, t.mono_ns, int(t.observed), t.summarised_at)
                for t in saved
            ],
        )  # fmt: skip
        self._conn.executemany("DELETE FROM tracks WHERE epc = ? AND read_point = ?", deleted)

    def _make_room(self, items: Sequence[tuple[Kind, str]]) -> int:
        """Apply the overflow policy; returns how many of ``items`` may be stored."""
        if not items:
            return 0
        need = sum(len(body) + ITEM_OVERHEAD for _, body in items)
        room = self._room()
        short = need - room
        if short <= 0:
            return len(items)
        if self.settings.overflow is Overflow.REFUSE_NEWEST:
            fits = 0
            for _, body in items:
                room -= len(body) + ITEM_OVERHEAD
                if room < 0:
                    break
                fits += 1
            self._count_drop("refused-full", len(items) - fits)
            return fits
        while short > 0:
            dropped = self._drop_oldest(max(16, short // 256))
            if not dropped:
                break
            short = need - self._room()
        return len(items) if short <= 0 else 0

    def _room(self) -> int:
        """Bytes that may still be written before the files reach the cap."""
        pages = self._pragma("page_count")
        free = self._pragma("freelist_count")
        return self.settings.cap_bytes - self._wal_budget - (pages - free) * self._page

    def _drop_oldest(self, count: int) -> int:
        cursor = self._conn.execute(
            "DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY id LIMIT ?)", (count,)
        )
        self._delete_empty_batches()
        self._count_drop("overflow", cursor.rowcount)
        return cursor.rowcount

    def _delete_empty_batches(self) -> None:
        self._conn.execute(
            "DELETE FROM batches WHERE id NOT IN (SELECT batch FROM items WHERE batch IS NOT NULL)"
        )

    def _count_drop(self, reason: str, count: int) -> None:
        if count > 0:
            self._conn.execute(
                "INSERT INTO drops VALUES (?, ?) ON CONFLICT (reason)"
                " DO UPDATE SET count = count + excluded.count",
                (reason, count),
            )
            _log.warning("outbox dropped %d items: %s", count, reason)

    # -- batching, sending, acknowledging --------------------------------------------------

    def form_batches(self, boot_id: str, next_seq: int, *, max_items: int) -> int:
        """Group unbatched items into batches of one kind; returns the next free sequence."""
        with self._lock, self._transaction():
            for kind in (Kind.OBS, Kind.POS):
                while True:
                    ids = [
                        row[0]
                        for row in self._conn.execute(
                            "SELECT id FROM items WHERE batch IS NULL AND kind = ? ORDER BY id"
                            " LIMIT ?",
                            (kind, max_items),
                        )
                    ]
                    if not ids:
                        break
                    cursor = self._conn.execute(
                        "INSERT INTO batches (boot_id, seq, kind, items, created)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (boot_id, next_seq, kind, len(ids), time.time()),
                    )
                    self._conn.execute(
                        "UPDATE items SET batch = ? WHERE batch IS NULL AND kind = ? AND id <= ?",
                        (cursor.lastrowid, kind, ids[-1]),
                    )
                    next_seq += 1
        return next_seq

    def pending(self, *, limit: int, newest: bool = False) -> list[tuple[int, int]]:
        """(batch id, attempts so far) of unacknowledged batches, oldest first (or newest first
        with ``newest``). When to send which is the publisher's choice: it knows what is in
        flight on its connection."""
        query = _PENDING_NEWEST if newest else _PENDING_OLDEST
        with self._lock:
            return self._conn.execute(query, (limit,)).fetchall()

    def batch(self, batch_id: int) -> Batch | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT boot_id, seq, kind, attempts FROM batches WHERE id = ?", (batch_id,)
            ).fetchone()
            if row is None:
                return None
            bodies = tuple(
                r[0]
                for r in self._conn.execute(
                    "SELECT body FROM items WHERE batch = ? ORDER BY id", (batch_id,)
                )
            )
        return Batch(batch_id, row[0], row[1], Kind(row[2]), bodies, row[3])

    def mark_sent(self, batch_id: int, *, now: float) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE batches SET sent_at = ?, attempts = attempts + 1 WHERE id = ?",
                (now, batch_id),
            )

    def acknowledge(
        self, boot_id: str, stored: Iterable[int], rejected: Iterable[tuple[int, str]] = ()
    ) -> int:
        """Delete acknowledged batches and their items; rejected ones are counted as drops."""
        removed = 0
        with self._lock, self._transaction():
            for seq in stored:
                count = self._remove(boot_id, seq)
                if count:
                    removed += count
                    self._set_meta("last_ack_seq", str(seq))
                    self._set_meta("last_ack_at", repr(time.time()))
            for seq, reason in rejected:
                self._count_drop(f"rejected-{_reason_id(reason)}", self._remove(boot_id, seq))
        return removed

    def _remove(self, boot_id: str, seq: int) -> int:
        row = self._conn.execute(
            "SELECT id FROM batches WHERE boot_id = ? AND seq = ?", (boot_id, seq)
        ).fetchone()
        if row is None:
            return 0  # a duplicate ack, or a batch dropped meanwhile
        count = self._conn.execute("DELETE FROM items WHERE batch = ?", (row[0],)).rowcount
        self._conn.execute("DELETE FROM batches WHERE id = ?", (row[0],))
        return count

    # -- retention, state, figures ---------------------------------------------------------

    def expire(self, *, now: float | None = None) -> int:
        """Delete items (and raw reads) older than the retention; returns items deleted."""
        cutoff = (time.time() if now is None else now) - self.settings.retention_s
        with self._lock, self._transaction():
            count = self._conn.execute("DELETE FROM items WHERE created < ?", (cutoff,)).rowcount
            self._conn.execute("DELETE FROM raw_reads WHERE created < ?", (cutoff,))
            self._delete_empty_batches()
            self._count_drop("expired", count)
        if count:
            with self._lock:
                self._conn.execute("PRAGMA incremental_vacuum")
        return count

    def purge(self, *, before: float | None = None) -> int:
        """Delete unsent items created before ``before`` (all when None), counted as "purged"."""
        cutoff = float("inf") if before is None else before
        with self._lock, self._transaction():
            count = self._conn.execute("DELETE FROM items WHERE created < ?", (cutoff,)).rowcount
            self._delete_empty_batches()
            self._count_drop("purged", count)
        if count:
            with self._lock:
                self._conn.execute("PRAGMA incremental_vacuum")
        return count

    def tracks(self) -> list[Track]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM tracks").fetchall()
        return [
            Track(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), summarised_at=r[9])
            for r in rows
        ]

    def stats(self) -> OutboxStats:
        with self._lock:
            return read_stats(self._conn, self.settings, recovered_from=self.recovered_from)

    def bytes_on_disk(self) -> int:
        return files_size(self.settings.path)

    def _set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _pragma(self, name: str) -> int:
        return int(self._conn.execute(f"PRAGMA {name}").fetchone()[0])

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)


def read_stats(
    conn: sqlite3.Connection, settings: OutboxSection, *, recovered_from: str | None = None
) -> OutboxStats:
    """What an outbox holds; reads only."""
    (batches,) = conn.execute("SELECT count(*) FROM batches").fetchone()
    items, oldest = conn.execute("SELECT count(*), min(created) FROM items").fetchone()
    drops = dict(conn.execute("SELECT reason, count FROM drops").fetchall())
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    unbatched = 1 if items and not batches else 0
    return OutboxStats(
        backlog_batches=batches + unbatched,
        backlog_items=items,
        oldest_created=oldest,
        bytes_on_disk=files_size(settings.path),
        cap_bytes=settings.cap_bytes,
        drops=drops,
        last_ack_at=float(meta["last_ack_at"]) if "last_ack_at" in meta else None,
        last_ack_seq=int(meta["last_ack_seq"]) if "last_ack_seq" in meta else None,
        recovered_from=recovered_from,
    )


def files_size(path: Path) -> int:
    """Bytes an outbox at ``path`` takes on disk: the database and its WAL (what the cap bounds)."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error (sqlite errors become OutboxError)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc_type is None:
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as error:
                self._conn.execute("ROLLBACK")
                raise OutboxError(f"outbox commit failed: {error}") from error
            return
        self._conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise OutboxError(f"outbox write failed: {exc}") from exc


def _healthy(path: Path) -> bool:
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        _log.error("outbox %s failed to open for its integrity check: %s", path, exc)
        return False
    if rows != [("ok",)]:
        _log.error("outbox %s failed its integrity check: %s", path, rows[:5])
        return False
    return True


def _move_aside(path: Path) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(Path(f"{target}{suffix}"))
    return str(target)


def _reason_id(reason: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in reason.lower())[:40].strip("-")
    return cleaned or "unspecified"
