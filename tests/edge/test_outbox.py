"""The outbox on real SQLite files: acks, cap under a flood, retention, corruption, migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tagtrail_edge.config import OutboxSection, Overflow
from tagtrail_edge.pipeline.outbox import Outbox
from tagtrail_edge.pipeline.outbox_schema import MIGRATIONS, migrate
from tagtrail_edge.pipeline.values import Track
from tagtrail_protocol import Kind

BOOT = "0b9a6c1e-4f57-4d2c-9c1a-8d3b2a1f0e11"


def body(i: int, size: int = 300) -> str:
    return '{"n":%d,"pad":"%s"}' % (i, "x" * size)  # noqa: UP031 (a fixed-size body)


def open_outbox(tmp_path: Path, **options: object) -> Outbox:
    return Outbox.open(OutboxSection(path=tmp_path / "outbox.db", **options))  # type: ignore[arg-type]


def test_items_leave_only_when_their_batch_is_acked(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path)
    outbox.commit([(Kind.OBS, body(i)) for i in range(25)] + [(Kind.POS, body(99))])
    next_seq = outbox.form_batches(BOOT, 0, max_items=10)
    assert next_seq == 4  # 10 + 10 + 5 obs, 1 pos: one sequence space for both kinds
    pending = outbox.pending(limit=100)
    batches = [outbox.batch(b) for b, _ in pending]
    assert [(b.seq, b.kind, len(b.bodies)) for b in batches if b] == [
        (0, "obs", 10),
        (1, "obs", 10),
        (2, "obs", 5),
        (3, "pos", 1),
    ]
    assert outbox.acknowledge(BOOT, [0, 2]) == 15
    assert outbox.acknowledge(BOOT, [0]) == 0  # a duplicate ack changes nothing
    stats = outbox.stats()
    assert (stats.backlog_items, stats.last_ack_seq) == (11, 2)
    outbox.acknowledge(BOOT, [], [(3, "invalid message: bad lat")])
    assert outbox.stats().drops == {"rejected-invalid-message--bad-lat": 1}


def test_pending_batches_come_oldest_or_newest_first_with_their_attempts(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path)
    outbox.commit([(Kind.OBS, body(i)) for i in range(3)])
    outbox.form_batches(BOOT, 0, max_items=1)
    (first, _), (second, _), (third, _) = outbox.pending(limit=10)
    outbox.mark_sent(second, now=100.0)
    outbox.mark_sent(second, now=105.0)
    assert outbox.pending(limit=2) == [(first, 0), (second, 2)]
    assert outbox.pending(limit=2, newest=True) == [(third, 0), (second, 2)]
    outbox.acknowledge(BOOT, [1])
    assert outbox.pending(limit=10) == [(first, 0), (third, 0)]


def test_batches_survive_a_reopen_with_their_identity(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path)
    outbox.commit([(Kind.OBS, body(i)) for i in range(3)])
    outbox.form_batches(BOOT, 7, max_items=10)
    outbox.close()
    again = open_outbox(tmp_path)
    ((batch_id, _),) = again.pending(limit=10)
    batch = again.batch(batch_id)
    assert batch is not None
    assert (batch.boot_id, batch.seq, len(batch.bodies)) == (BOOT, 7, 3)


@pytest.mark.parametrize("policy", [Overflow.DROP_OLDEST, Overflow.REFUSE_NEWEST])
def test_cap_is_respected_under_a_flood(tmp_path: Path, policy: Overflow) -> None:
    cap = 2 * 1024 * 1024
    outbox = open_outbox(tmp_path, cap_mb=2.0, overflow=policy)
    peak = 0
    offered = stored = 0
    for round_ in range(400):
        group = [(Kind.OBS, body(round_ * 50 + i)) for i in range(50)]
        offered += len(group)
        stored += outbox.commit(group)
        peak = max(peak, outbox.bytes_on_disk())
    assert peak <= cap * 1.05, f"{peak} bytes on disk for a {cap} cap"
    stats = outbox.stats()
    reason = "overflow" if policy is Overflow.DROP_OLDEST else "refused-full"
    dropped = stats.drops[reason]
    if policy is Overflow.DROP_OLDEST:
        assert stored == offered
        assert stats.backlog_items + dropped == offered  # every item kept or counted
        oldest = outbox.conn.execute("SELECT body FROM items ORDER BY id LIMIT 1").fetchone()
        assert '"n":0,' not in oldest[0]  # the oldest went first
    else:
        assert stored + dropped == offered
        assert stats.backlog_items == stored
    assert stats.backlog_items > 2000  # the cap is used, not wasted


def test_retention_deletes_old_items_and_counts_them(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path, retention_days=1 / 24)
    outbox.commit([(Kind.OBS, body(i)) for i in range(10)], now=1_000_000.0)
    outbox.commit([(Kind.OBS, body(i)) for i in range(4)], now=1_003_000.0)
    outbox.form_batches(BOOT, 0, max_items=3)
    assert outbox.expire(now=1_004_000.0) == 10
    stats = outbox.stats()
    assert (stats.backlog_items, stats.drops) == (4, {"expired": 10})
    pending = outbox.pending(limit=99)
    sizes = [len(b.bodies) for b in (outbox.batch(i) for i, _ in pending) if b]
    assert sizes == [2, 2]  # survivors stay in their batch; no empty batch is left behind


def test_smoothing_state_is_committed_with_the_items(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path)
    track = Track("AAAA", "dock-a1", 1, 1.0, 2.0, 5, -50.0, 7, True, summarised_at=1.0)
    outbox.commit([(Kind.OBS, body(1))], saved=[track])
    assert outbox.tracks() == [track]
    outbox.commit([], deleted=[("AAAA", "dock-a1")])
    assert outbox.tracks() == []


def test_a_corrupt_outbox_is_moved_aside_and_replaced(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path)
    outbox.commit([(Kind.OBS, body(i)) for i in range(2000)])
    outbox.close()
    path = tmp_path / "outbox.db"
    data = bytearray(path.read_bytes())
    data[4096 * 2 : 4096 * 2 + 2000] = b"\x5a" * 2000  # scribble over a b-tree page
    path.write_bytes(bytes(data))
    fresh = open_outbox(tmp_path)
    aside = fresh.stats().recovered_from
    assert aside is not None
    assert Path(aside).read_bytes() == bytes(data)  # kept, byte for byte, for forensics
    assert fresh.stats().backlog_items == 0
    fresh.commit([(Kind.OBS, body(1))])
    assert fresh.stats().backlog_items == 1


def test_a_file_that_is_not_sqlite_is_moved_aside(tmp_path: Path) -> None:
    (tmp_path / "outbox.db").write_bytes(b"this is not a database" * 100)
    outbox = open_outbox(tmp_path)
    assert outbox.stats().recovered_from
    assert outbox.commit([(Kind.OBS, body(1))]) == 1


def test_migrations_run_once_each_and_are_recorded(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    assert migrate(conn) == [name for name, _ in MIGRATIONS]
    assert migrate(conn) == []
    recorded = [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY name")]
    assert recorded == sorted(name for name, _ in MIGRATIONS)


def test_settings_on_the_connection(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path)
    conn = outbox.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
