"""Writing the time series: typed wire messages in, InfluxDB line protocol built here, out.

Ingest hands over what it decoded (batches and statuses, as the protocol's models, with the
site from their topic); the point design (``points.py``) turns them into lines, and the points
InfluxDB refuses for good come back named by measurement and gateway, for the dead letters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tagtrail_collector.store.series.influx import Influx, WriteResult
from tagtrail_collector.store.series.lineproto import describe
from tagtrail_collector.store.series.points import batch_lines, ingest_point, ns, status_point
from tagtrail_protocol import ObservationBatch, PositionBatch, Status

Batch = ObservationBatch | PositionBatch


@dataclass(frozen=True, slots=True)
class RefusedPoint:
    """A point InfluxDB refused for good: which measurement and gateway, why, and its line."""

    measurement: str
    gateway: str | None
    reason: str
    line: str


class SeriesWriter:
    """Builds the lines of a write and stores them (retries are the caller's)."""

    def __init__(self, influx: Influx) -> None:
        self.influx = influx

    def write(
        self,
        batches: Sequence[tuple[str, Batch]],
        statuses: Sequence[tuple[str, Status]] = (),
        *,
        now_ns: int,
    ) -> tuple[WriteResult, list[RefusedPoint]]:
        """Store the batches' points, one ``ingest`` point per batch, and the statuses."""
        lines = [line for site, batch in batches for line in batch_lines(site, batch)]
        lines += [status_point(site, status).line() for site, status in statuses]
        lines += [_ingest_line(site, batch, now_ns) for site, batch in batches]
        result = self.influx.write(lines)
        refused = []
        for rejected in result.rejected:
            measurement, tags = describe(rejected.line)
            refused.append(
                RefusedPoint(measurement, tags.get("gateway"), rejected.reason, rejected.line)
            )
        return result, refused


def _ingest_line(site: str, batch: Batch, now_ns: int) -> str:
    if isinstance(batch, ObservationBatch):
        kind, items = "obs", len(batch.items)
    else:
        kind, items = "pos", len(batch.fixes)
    return ingest_point(
        site, batch.gateway, kind, sent_ns=ns(batch.sent_at), items=items, now_ns=now_ns
    ).line()
