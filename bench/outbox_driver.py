"""Drives one store-and-forward store through the same steps; run by ``outbox_vs_thingsboard.py``.

Runs in either virtual environment: ``--store tagtrail`` needs tagtrail's, ``--store
thingsboard`` the peer's (thingsboard-gateway), so it imports only the store it drives and
prints its figures as one JSON object.

- ``put``: put the payloads in batches of ``--batch``; each batch counts once it is durable
  (stopping early after ``--budget-s``: a slow store is measured on what it managed).
  tagtrail's ``commit`` returns after its transaction is committed. ThingsBoard's ``put`` only
  queues in memory and a writer thread inserts in the background, so the driver waits until the
  batch's rows are committed in the SQLite file (read through a second connection).
- ``stream``: ThingsBoard only: every payload put without waiting, then the clock runs until
  the last one is committed (the peer's best case, with no durability per put).
- ``drain``: fill the store (not timed), then take batches out and confirm each as delivered:
  tagtrail's form_batches, batch, mark_sent, acknowledge; ThingsBoard's get_event_pack and
  event_pack_processing_done. The clock stops when the store is empty.
- ``kill``: put batches and print, after each put returns, how many payloads were accepted;
  the parent sends SIGKILL then, and counts what the file holds.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol


class Store(Protocol):
    """The steps the benchmark needs of a store."""

    def put(self, payloads: list[str]) -> None: ...
    def durable(self) -> int: ...
    def drain_step(self, size: int) -> int: ...
    def close(self) -> None: ...


class TagtrailStore:
    """tagtrail's edge outbox with its defaults (WAL, synchronous=FULL)."""

    def __init__(self, folder: Path) -> None:
        from tagtrail_edge.config import OutboxSection  # noqa: PLC0415
        from tagtrail_edge.pipeline.outbox import Outbox  # noqa: PLC0415
        from tagtrail_protocol import Kind  # noqa: PLC0415 (not in the peer's environment)

        self.obs = Kind.OBS
        self.outbox = Outbox.open(OutboxSection(path=folder / "outbox.db"))
        self.boot = str(uuid.uuid4())
        self.seq = 0

    def put(self, payloads: list[str]) -> None:
        self.outbox.commit([(self.obs, body) for body in payloads])

    def durable(self) -> int:
        return int(self.outbox.conn.execute("SELECT count(*) FROM items").fetchone()[0])

    def drain_step(self, size: int) -> int:
        self.seq = self.outbox.form_batches(self.boot, self.seq, max_items=size)
        due = self.outbox.pending(limit=1)
        if not due:
            return 0
        batch = self.outbox.batch(due[0][0])
        if batch is None:
            return 0
        self.outbox.mark_sent(batch.id, now=time.time())
        self.outbox.acknowledge(batch.boot_id, [batch.seq])
        return len(batch.bodies)

    def close(self) -> None:
        self.outbox.close()


class _QuietLogger(logging.Logger):
    """ThingsBoard's storage logs through a ``trace`` level of its own."""

    def trace(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        pass


class ThingsboardStore:
    """ThingsBoard IoT Gateway's SQLiteEventStorage, standalone, with its default settings."""

    def __init__(self, folder: Path, read_size: int) -> None:
        from thingsboard_gateway.storage.sqlite.sqlite_event_storage import (  # noqa: PLC0415
            SQLiteEventStorage,
        )

        self.file = folder / "data.db"
        log = _QuietLogger("storage", logging.ERROR)
        config = {"data_file_path": f"{folder}/", "max_read_records_count": read_size}
        self.storage = SQLiteEventStorage(config, log, threading.Event())
        self.reader = sqlite3.connect(self.file, timeout=30)

    def put(self, payloads: list[str]) -> None:
        for body in payloads:
            if not self.storage.put(body):
                raise RuntimeError("thingsboard storage refused a put")

    def durable(self) -> int:
        return int(self.reader.execute("SELECT count(*) FROM messages").fetchone()[0])

    def drain_step(self, size: int) -> int:
        pack = self.storage.get_event_pack()
        if pack:
            self.storage.event_pack_processing_done()
        return len(pack)

    def close(self) -> None:
        self.reader.close()
        self.storage.stop()


def open_store(kind: str, folder: Path, batch: int) -> Store:
    return TagtrailStore(folder) if kind == "tagtrail" else ThingsboardStore(folder, batch)


def wait_durable(store: Store, total: int, poll_s: float = 0.0005) -> None:
    deadline = time.monotonic() + 300
    while store.durable() < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {store.durable()} of {total} payloads were ever stored")
        time.sleep(poll_s)


def chunks(payloads: list[str], size: int) -> Iterator[list[str]]:
    for at in range(0, len(payloads), size):
        yield payloads[at : at + size]


def put(store: Store, payloads: list[str], size: int, budget_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    done = 0
    for chunk in chunks(payloads, size):
        store.put(chunk)
        done += len(chunk)
        wait_durable(store, done)
        if time.perf_counter() - started > budget_s:
            break  # a slow store is measured on the events it managed in the budget
    elapsed = time.perf_counter() - started
    return {"events": done, "seconds": elapsed, "events_per_s": done / elapsed}


def stream(store: Store, payloads: list[str], size: int, budget_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    for chunk in chunks(payloads, size):
        store.put(chunk)
    wait_durable(store, len(payloads))
    elapsed = time.perf_counter() - started
    return {"events": len(payloads), "seconds": elapsed, "events_per_s": len(payloads) / elapsed}


def drain(store: Store, payloads: list[str], size: int, budget_s: float) -> dict[str, Any]:
    for chunk in chunks(payloads, 1000):
        store.put(chunk)
    wait_durable(store, len(payloads))
    started = time.perf_counter()
    taken = 0
    idle_since = time.monotonic()
    while taken < len(payloads):
        got = store.drain_step(size)
        taken += got
        if got:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > 30:
            raise RuntimeError(f"drain stalled after {taken} of {len(payloads)}")
    elapsed = time.perf_counter() - started
    left = store.durable()
    return {"events": taken, "seconds": elapsed, "events_per_s": taken / elapsed, "left": left}


def kill(store: Store, payloads: list[str], size: int, budget_s: float) -> dict[str, Any]:
    accepted = 0
    for chunk in chunks(payloads, size):
        store.put(chunk)
        accepted += len(chunk)
        sys.stdout.write(f"{accepted}\n")
        sys.stdout.flush()
    time.sleep(3600)  # the parent kills the process before this ends
    return {}


MODES: dict[str, Callable[[Store, list[str], int, float], dict[str, Any]]] = {
    "put": put, "stream": stream, "drain": drain, "kill": kill,
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("tagtrail", "thingsboard"), required=True)
    parser.add_argument("--mode", choices=sorted(MODES), required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--payloads", type=Path, required=True, help="JSON list of strings")
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--budget-s", type=float, default=15.0, help="time limit of 'put'")
    args = parser.parse_args()
    payloads = json.loads(args.payloads.read_text())
    args.folder.mkdir(parents=True, exist_ok=True)
    store = open_store(args.store, args.folder, args.batch)
    try:
        figures = MODES[args.mode](store, payloads, args.batch, args.budget_s)
    finally:
        store.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
