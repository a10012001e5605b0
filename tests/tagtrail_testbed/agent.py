"""The edge agent as its own process (``tagtrail-edge run``), for tests that kill it.

Its outbox carries an audit trigger, added before the agent first runs: every item the agent
commits is copied, in the same transaction, into a table the agent never reads or deletes. That
is the truth of "what the edge committed", kill -9 or not, to hold the collector's store against.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from tagtrail_edge.config import EdgeConfig, OutboxSection
from tagtrail_edge.pipeline.outbox import Outbox
from tagtrail_protocol.settings import dump_toml
from tagtrail_testbed.errors import BedError
from tagtrail_testbed.process import Service

_AUDIT = """
CREATE TABLE IF NOT EXISTS test_audit (kind TEXT NOT NULL, body TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS test_audit_items AFTER INSERT ON items
BEGIN INSERT INTO test_audit VALUES (new.kind, new.body); END;
"""


class AgentProcess(Service):
    """``tagtrail-edge run`` for one gateway reading an ASCII reader on ``device``."""

    name = "edge-agent"
    start_timeout = 20.0

    def __init__(
        self,
        *,
        gateway: str,
        site: str,
        broker_port: int,
        device: str,
        **overrides: dict[str, Any],
    ) -> None:
        super().__init__()
        executable = Path(sys.executable).with_name("tagtrail-edge")
        if not executable.exists():
            raise BedError(f"{executable} is missing: install the edge package")
        self.executable = executable
        self.gateway = gateway
        self.outbox_path = self.workdir / "outbox.db"
        self.sections: dict[str, Any] = {
            "gateway": {"id": gateway, "site": site},
            "mqtt": {"host": "127.0.0.1", "port": broker_port, "keepalive_s": 5},
            "outbox": {"path": str(self.outbox_path)},
            "smoothing": {"observe_count": 2, "observe_s": 0.5, "lost_s": 1.0},
            "log": {"level": "INFO", "format": "text"},
        }
        for name, values in overrides.items():
            self.sections[name] = {**self.sections.get(name, {}), **values}
        reader = {
            "name": "dock", "driver": "ascii", "path": device,
            "fields": ["epc", "antenna", "rssi", "time_ms"],
        }  # fmt: skip
        self._reader = reader
        Outbox.open(OutboxSection(path=self.outbox_path)).close()
        with closing(sqlite3.connect(self.outbox_path)) as conn:
            conn.executescript(_AUDIT)
        self._start()

    @property
    def config_path(self) -> Path:
        return self.workdir / "edge.toml"

    def _prepare(self) -> list[str]:
        config = EdgeConfig.model_validate({**self.sections, "readers": [self._reader]})
        self.config_path.write_text(dump_toml(config))
        return [str(self.executable), "run", "--config", str(self.config_path)]

    def _ready(self) -> bool:
        return True  # the agent commits what it reads from the first moment; nothing to await

    def committed(self) -> list[dict[str, Any]]:
        """Every observation item the agent ever committed, in commit order."""
        with closing(self._read_only()) as conn:
            rows = conn.execute("SELECT body FROM test_audit WHERE kind = 'obs' ORDER BY rowid")
            return [json.loads(body) for (body,) in rows]

    def backlog(self) -> int:
        """Items still in the outbox (committed and not acknowledged)."""
        with closing(self._read_only()) as conn:
            return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])

    def unacked_sent(self) -> int:
        """Batches sent at least once and not acknowledged."""
        with closing(self._read_only()) as conn:
            query = "SELECT count(*) FROM batches WHERE sent_at IS NOT NULL"
            return int(conn.execute(query).fetchone()[0])

    def _read_only(self) -> sqlite3.Connection:
        conn = sqlite3.connect(f"file:{self.outbox_path}?mode=ro", uri=True, timeout=10)
        conn.execute("PRAGMA busy_timeout = 10000")
        return conn
