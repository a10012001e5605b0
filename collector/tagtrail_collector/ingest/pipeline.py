"""The ingest loop: gather messages into a write, store it, then acknowledge it.

Order per write, and why: InfluxDB first, then the registry projections, then the acks. A crash
anywhere before the ack leaves the batch unacknowledged, so the gateway re-sends it; both stores
are idempotent (same points, upserts by greatest time), so the re-send changes nothing twice.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar
from uuid import UUID

from tagtrail_collector.config import IngestSection
from tagtrail_collector.errors import CollectorError, StageStopped, StoreUnavailable
from tagtrail_collector.ingest.decode import (
    BatchWork,
    PingWork,
    ReadPointName,
    RefusedBatch,
    Reject,
    StatusWork,
    Work,
    decode,
)
from tagtrail_collector.ingest.stages import Stage
from tagtrail_collector.ingest.subscriber import Received
from tagtrail_collector.metrics import Metrics
from tagtrail_collector.projections import Change, GatewayReport, Ingested, Projection
from tagtrail_collector.store.registry.dead_letters import DeadLetters
from tagtrail_collector.store.series.points import ns
from tagtrail_collector.store.series.writer import Batch as SeriesBatch
from tagtrail_collector.store.series.writer import SeriesWriter
from tagtrail_protocol import Ack, Codec, Kind, Rejection, Status, Topic

log = logging.getLogger(__name__)
T = TypeVar("T")
Publish = Callable[[str, bytes], bool]


@dataclass(frozen=True, slots=True)
class Flushed:
    """What one write did (for tests and logs)."""

    batches: int
    points: int
    dead_lettered: int
    acks: int
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, slots=True)
class _Write:
    """What one InfluxDB write carries, sorted by kind."""

    batches: tuple[BatchWork, ...]
    statuses: tuple[StatusWork, ...]
    rejects: tuple[Reject, ...]
    pings: tuple[PingWork, ...]
    refused: tuple[RefusedBatch, ...]

    @classmethod
    def of(cls, works: list[Work]) -> _Write:
        return cls(
            tuple(w for w in works if isinstance(w, BatchWork)),
            tuple(w for w in works if isinstance(w, StatusWork)),
            tuple(w for w in works if isinstance(w, Reject)),
            tuple(w for w in works if isinstance(w, PingWork)),
            tuple(w for w in works if isinstance(w, RefusedBatch)),
        )


class Pipeline:
    """``run(stop)`` until ``stop`` is set, then finishes the writes under way.

    Three stages, each in its own thread, so that decoding, InfluxDB and the registry work at
    the same time on consecutive writes: gather and decode (the calling thread) -> write the
    points to InfluxDB -> apply the projections and acknowledge. Each write passes the stages in
    order, and a stage holds at most one write waiting.
    """

    def __init__(
        self,
        *,
        settings: IngestSection,
        inbox: queue.Queue[Received],
        series: SeriesWriter,
        projections: Sequence[Projection],
        dead_letters: DeadLetters,
        publish: Publish,
        read_point_name: ReadPointName,
        metrics: Metrics,
        on_changes: Sequence[Callable[[Sequence[Change]], None]] = (),
    ) -> None:
        self.settings = settings
        self.inbox = inbox
        self.series = series
        self.projections = tuple(projections)
        self.on_changes = tuple(on_changes)
        self.dead_letters = dead_letters
        self.publish = publish
        self.read_point_name = read_point_name
        self.metrics = metrics
        self.codec = Codec(max_payload_bytes=settings.max_payload_bytes)
        self._max_ahead_ns = int(settings.max_clock_ahead_s * 1e9)
        self.flushes = 0

    def run(self, stop: threading.Event) -> None:
        registry: Stage[tuple[_Write, list[Reject]]] = Stage(
            "registry", lambda stored: self._finish(*stored, stop)
        )
        series: Stage[_Write] = Stage(
            "influx", lambda write: registry.put((write, self._write_series(write, stop)))
        )
        last = time.monotonic()
        try:
            while not stop.is_set():
                works = self._gather(stop)
                if works or time.monotonic() - last >= self.settings.tick_s:
                    # An empty write is a tick: the projections do what time alone brings.
                    series.put(_Write.of(works))
                    last = time.monotonic()
        except StageStopped:
            pass
        finally:
            try:
                series.close()
            finally:
                registry.close()

    def _gather(self, stop: threading.Event) -> list[Work]:
        """Messages until the write is full or the oldest has waited ``batch_max_delay_s``."""
        works: list[Work] = []
        points = 0
        deadline: float | None = None
        while points < self.settings.batch_max_points and not stop.is_set():
            timeout = 0.25 if deadline is None else deadline - time.monotonic()
            if timeout <= 0:
                break
            try:
                received = self.inbox.get(timeout=timeout)
            except queue.Empty:
                break
            deadline = deadline or time.monotonic() + self.settings.batch_max_delay_s
            work = decode(
                received, self.codec, self.read_point_name, max_ahead_ns=self._max_ahead_ns
            )
            works.append(work)
            points += work.size if isinstance(work, BatchWork) else 1
        self.metrics.queue_depth.set(self.inbox.qsize())
        return works

    def flush(self, works: list[Work], stop: threading.Event | None = None) -> Flushed:
        """Store ``works`` and acknowledge their batches, in this thread; retries until stored."""
        stop = stop or threading.Event()
        write = _Write.of(works)
        return self._finish(write, self._write_series(write, stop), stop)

    def _write_series(self, write: _Write, stop: threading.Event) -> list[Reject]:
        """Stage 2: the points to InfluxDB; returns the points it refused, as dead letters."""
        for work in write.batches + write.statuses:
            self.metrics.received.labels(work.topic.gateway, work.topic.kind.value).inc()
        batches = [(b.topic.site, b.batch) for b in write.batches]
        statuses = [(s.topic.site, s.status) for s in write.statuses]
        return self._store_points(batches, statuses, stop)

    def _finish(self, write: _Write, dead: list[Reject], stop: threading.Event) -> Flushed:
        """Stage 3: the registry projections and dead letters, then the acks."""
        changes = self._retry("registry", stop, lambda: self._apply(write.batches, write.statuses))
        rejects = [
            *write.rejects,
            *(q for b in write.batches for q in b.quarantined),
            *(r.letter for r in write.refused),
        ]
        self._retry("registry", stop, lambda: self.dead_letters.add(rejects + dead))
        for reject in rejects:
            self.metrics.rejected.labels(reject.gateway_id or "unknown", reject.reason).inc()
        for letter in rejects + dead:
            self.metrics.dead_lettered.labels(letter.gateway_id or "unknown", letter.reason).inc()
        acks = self._acknowledge(write.batches) + self._reject(write.refused)
        self._answer(write.pings)
        self.flushes += 1
        points = sum(b.size for b in write.batches) + len(write.statuses)
        for react in self.on_changes:
            react(changes)
        return Flushed(len(write.batches), points, len(dead) + len(rejects), acks, tuple(changes))

    def _store_points(
        self,
        batches: list[tuple[str, SeriesBatch]],
        statuses: list[tuple[str, Status]],
        stop: threading.Event,
    ) -> list[Reject]:
        """Write to InfluxDB; the points it refuses for good come back as dead letters."""
        if not batches and not statuses:
            return []
        now_ns = time.time_ns()
        result, refused = self._retry(
            "influx", stop, lambda: self.series.write(batches, statuses, now_ns=now_ns)
        )
        self.metrics.write_latency.observe(result.seconds)
        dead = []
        for point in refused:
            log.warning("ingest: InfluxDB rejected a point: %s", point.reason)
            dead.append(
                Reject(
                    topic=f"influx:{point.measurement}",
                    gateway_id=point.gateway,
                    reason="influx_rejected",
                    detail=point.reason,
                    payload=point.line.encode(),
                )
            )
        return dead

    def _apply(
        self, batches: tuple[BatchWork, ...], statuses: tuple[StatusWork, ...]
    ) -> list[Change]:
        """Every projection, in order, on the write's typed values; what they changed."""
        ingested = Ingested(
            sightings=tuple(s for b in batches for s in b.sightings),
            positions=tuple(p for b in batches for p in b.positions),
            reports=tuple(_report(w) for w in statuses),
        )
        return [change for p in self.projections for change in p.apply(ingested)]

    def _acknowledge(self, batches: tuple[BatchWork, ...]) -> int:
        groups: dict[tuple[Topic, UUID], set[int]] = defaultdict(set)
        for work in batches:
            groups[(work.topic.sibling(Kind.ACK), work.boot_id)].add(work.seq)
            self.metrics.stored.labels(work.topic.gateway, work.topic.kind.value).inc(work.size)
            self.metrics.ingest_lag.observe(max(0.0, (time.time_ns() - work.sent_at_ns) / 1e9))
        for (topic, boot_id), seqs in groups.items():
            ack = Ack(
                gateway=topic.gateway,
                boot_id=boot_id,
                time=datetime.now(UTC),
                stored=tuple(sorted(seqs)),
            )
            if self.publish(str(topic), self.codec.encode(ack)):
                self.metrics.acked.labels(topic.gateway).inc(len(seqs))
        return len(groups)

    def _reject(self, refused: tuple[RefusedBatch, ...]) -> int:
        """Tell gateways which batches will never be stored (they drop and count them)."""
        groups: dict[tuple[Topic, UUID], dict[int, str]] = defaultdict(dict)
        for work in refused:
            groups[(work.topic.sibling(Kind.ACK), work.boot_id)][work.seq] = work.letter.reason
        for (topic, boot_id), seqs in groups.items():
            ack = Ack(
                gateway=topic.gateway, boot_id=boot_id, time=datetime.now(UTC),
                rejected=tuple(Rejection(seq=s, reason=r) for s, r in sorted(seqs.items())),
            )  # fmt: skip
            self.publish(str(topic), self.codec.encode(ack))
        return len(groups)

    def _answer(self, pings: tuple[PingWork, ...]) -> None:
        for work in pings:
            ack = Ack(
                gateway=work.ping.gateway, boot_id=work.ping.boot_id, time=datetime.now(UTC),
                pong=True,
            )  # fmt: skip
            self.publish(str(work.topic.sibling(Kind.ACK)), self.codec.encode(ack))

    def _retry(self, store: str, stop: threading.Event, call: Callable[[], T]) -> T:
        attempt = 0
        failing_since = 0.0
        while True:
            try:
                result = call()
            except CollectorError as exc:
                self.metrics.write_retries.labels(store).inc()
                delay = _delay(self.settings, attempt, exc)
                log.warning("ingest: %s failed (%s); retrying in %.2f s", store, exc, delay)
                if not attempt:
                    failing_since = time.monotonic()
                attempt += 1
                if stop.wait(delay):
                    log.warning(
                        "ingest: stopping while %s fails; the writes under way stay"
                        " unacknowledged and their gateways send them again", store,
                    )  # fmt: skip
                    raise StageStopped(f"stopped while {store} was failing") from None
            else:
                if attempt:
                    log.info(
                        "ingest: %s is back after %d failed attempt(s) over %.1f s",
                        store, attempt, time.monotonic() - failing_since,
                    )  # fmt: skip
                return result


def _report(work: StatusWork) -> GatewayReport:
    status = work.status
    return GatewayReport(
        gateway_id=status.gateway, site_id=work.topic.site, time_ns=ns(status.time),
        state=status.state.value, payload=status.model_dump_json(exclude_none=True),
    )  # fmt: skip


def _delay(settings: IngestSection, attempt: int, exc: CollectorError) -> float:
    """Exponential backoff with equal jitter: [ceiling/2, ceiling], never an instant retry."""
    if isinstance(exc, StoreUnavailable) and exc.retry_after_s is not None:
        return max(settings.retry_base_s, min(settings.retry_cap_s, exc.retry_after_s))
    ceiling = min(settings.retry_cap_s, settings.retry_base_s * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not security)
