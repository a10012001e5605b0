"""Outbox schema migrations: registered functions, each run once in its own transaction."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(name: str) -> Callable[[Migration], Migration]:
    def register(func: Migration) -> Migration:
        MIGRATIONS.append((name, func))
        return func

    return register


@migration("0001_initial")
def _initial(conn: sqlite3.Connection) -> None:
    script = """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE items (
            id INTEGER PRIMARY KEY,      -- outbox order: by sequence, never by wall clock
            kind TEXT NOT NULL,          -- 'obs' or 'pos'
            body TEXT NOT NULL,          -- the wire model's JSON
            created REAL NOT NULL,       -- wall time of the commit, for retention
            batch INTEGER                -- batches.id once batched
        );
        CREATE INDEX items_unbatched ON items (kind, id) WHERE batch IS NULL;
        CREATE INDEX items_batch ON items (batch);
        CREATE TABLE batches (
            id INTEGER PRIMARY KEY,
            boot_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            items INTEGER NOT NULL,
            created REAL NOT NULL,
            sent_at REAL,
            attempts INTEGER NOT NULL DEFAULT 0,
            UNIQUE (boot_id, seq)
        );
        CREATE TABLE tracks (
            epc TEXT NOT NULL, read_point TEXT NOT NULL, antenna INTEGER NOT NULL,
            first_seen REAL NOT NULL, last_seen REAL NOT NULL, count INTEGER NOT NULL,
            peak_rssi REAL, mono_ns INTEGER NOT NULL, observed INTEGER NOT NULL,
            summarised_at REAL NOT NULL,
            PRIMARY KEY (epc, read_point)
        );
        CREATE TABLE drops (reason TEXT PRIMARY KEY, count INTEGER NOT NULL);
    """
    # executescript() would commit on its own; statements one by one stay in our transaction.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


@migration("0002_raw_reads")
def _raw_reads(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE raw_reads (
            id INTEGER PRIMARY KEY, epc TEXT NOT NULL, antenna INTEGER NOT NULL,
            reader TEXT NOT NULL, time REAL NOT NULL, rssi REAL, created REAL NOT NULL)"""
    )


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations in order; returns the names applied."""
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied REAL)")
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    applied = []
    for name, func in MIGRATIONS:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")  # the schema change and its bookkeeping row, or neither
        try:
            func(conn)
            conn.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(name)
    return applied
