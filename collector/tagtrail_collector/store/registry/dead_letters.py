"""The dead-letter table: what could not be stored or applied, with a stable reason, kept for
the operator to look at and kept only as long as the retention says."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.sql.elements import ColumnElement

from tagtrail_collector.store.registry import schema
from tagtrail_collector.store.registry.db import reader, translated
from tagtrail_collector.store.registry.records import DeadLetter, NewDeadLetter, row_dict

_T = schema.dead_letters


class DeadLetters:
    """Thread-safe (one engine, short transactions)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader = reader(engine)

    def add(self, letters: Sequence[NewDeadLetter]) -> None:
        """Keep payloads that cannot be stored, in one transaction."""
        if not letters:
            return
        now = time.time_ns()
        rows = [
            {
                "received_at": now,
                "topic": letter.topic[:300],
                "gateway_id": letter.gateway_id,
                "reason": letter.reason[:32],
                "detail": letter.detail,
                "payload": letter.payload,
            }
            for letter in letters
        ]
        with translated(), self.engine.begin() as conn:
            conn.execute(insert(_T), rows)

    def list(
        self,
        *,
        after: int | None = None,
        limit: int = 100,
        reason: str | None = None,
        gateway: str | None = None,
    ) -> list[DeadLetter]:
        """Oldest first, after the id ``after``; optionally of one reason and/or gateway."""
        query = select(_T).where(*_matching(reason, gateway)).order_by(_T.c.id).limit(limit)
        if after is not None:
            query = query.where(_T.c.id > after)
        with translated(), self.reader.connect() as conn:
            return [DeadLetter(**row_dict(row)) for row in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        """Dead letters kept, by reason."""
        query = select(_T.c.reason, func.count()).group_by(_T.c.reason)
        with translated(), self.reader.connect() as conn:
            return {reason: int(count) for reason, count in conn.execute(query)}

    def delete(self, letter_id: int) -> bool:
        """Delete one; False when there was none with that id."""
        with translated(), self.engine.begin() as conn:
            return bool(conn.execute(delete(_T).where(_T.c.id == letter_id)).rowcount)

    def purge(
        self, *, before_ns: int, reason: str | None = None, gateway: str | None = None
    ) -> int:
        """Delete those received before ``before_ns`` (of one reason/gateway); returns how many."""
        condition = [_T.c.received_at < before_ns, *_matching(reason, gateway)]
        with translated(), self.engine.begin() as conn:
            return int(conn.execute(delete(_T).where(*condition)).rowcount)


def _matching(reason: str | None, gateway: str | None) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if reason is not None:
        found.append(_T.c.reason == reason)
    if gateway is not None:
        found.append(_T.c.gateway_id == gateway)
    return found
