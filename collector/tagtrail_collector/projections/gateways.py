"""The gateway projection: each gateway's latest position and latest status (greatest time).

Reports a gateway moved (a newer fix) and a gateway's state (a newer status). Executed row by
row (one row per gateway and write): the database says whether the row was newer, and only then
is it reported.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

from tagtrail_collector.projections import Change, GatewayReport, Ingested
from tagtrail_collector.store.registry import schema
from tagtrail_collector.store.registry.db import translated, upsert
from tagtrail_collector.store.registry.records import GatewayPosition


class GatewayProjection:
    name = "gateways"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def apply(self, batch: Ingested) -> list[Change]:
        changes = self.apply_positions(batch.positions) if batch.positions else []
        for report in batch.reports:
            changes += self.apply_report(report)
        return changes

    def apply_positions(self, positions: Iterable[GatewayPosition]) -> list[Change]:
        """Keep each gateway's latest fix (greatest time)."""
        best: dict[str, GatewayPosition] = {}
        for position in positions:
            if position.gateway_id not in best or position.time > best[position.gateway_id].time:
                best[position.gateway_id] = position
        changes = []
        table = schema.gateway_positions
        with translated(), self.engine.begin() as conn:
            statement = upsert(conn, table, "gateway_id", newer=lambda ex, t: ex.time > t.time)
            for p in best.values():
                row = {name: getattr(p, name) for name in GatewayPosition.__slots__}
                if conn.execute(statement, row).rowcount:
                    moved = Change("gateway_moved", p.gateway_id, p.time, gateway=p.gateway_id)
                    changes.append(moved)
        return changes

    def apply_report(self, report: GatewayReport) -> list[Change]:
        """Keep the gateway's latest status (a later or equal time replaces it)."""
        row = {
            "gateway_id": report.gateway_id,
            "site_id": report.site_id,
            "time": report.time_ns,
            "state": report.state,
            "payload": report.payload,
        }
        table = schema.gateway_status
        with translated(), self.engine.begin() as conn:
            statement = upsert(conn, table, "gateway_id", newer=lambda ex, t: ex.time >= t.time)
            stored = conn.execute(statement, row).rowcount
        if not stored:
            return []
        return [
            Change(
                "gateway_state", report.gateway_id, report.time_ns, site=report.site_id,
                gateway=report.gateway_id, detail=report.state,
            )
        ]  # fmt: skip
