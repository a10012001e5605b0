"""Group commit: reads and fixes in, smoothed and enriched items committed to the outbox.

Drivers call :meth:`Intake.put_reads` / :meth:`Intake.put_fixes` with what they just took off the
device; the call returns only after those reads are committed. One committer thread takes all
that is waiting, runs it through smoothing and enrichment, and writes it in one transaction: the
more arrives meanwhile, the bigger the group and the fewer the fsyncs. A failing commit (full
disk) is retried with the same content while the drivers wait, so nothing is applied twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tagtrail_edge.clock import ClockProbe
from tagtrail_edge.enrich import PositionHistory, decode_epc, utc
from tagtrail_edge.errors import OutboxError
from tagtrail_edge.outbox import Outbox
from tagtrail_edge.smooth import Event, Smoother
from tagtrail_hardware.reads import Fix, TagRead
from tagtrail_protocol import EventKind, FixQuality, Kind, ObservationItem, PositionFix

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Waiting:
    reads: list[TagRead] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


def observation(
    event: Event, *, synced: bool, positions: PositionHistory | None
) -> ObservationItem:
    """The wire item for a smoothed event, with the EPC's identity and the position then."""
    return ObservationItem(
        epc=event.epc,
        read_point=event.read_point,
        antenna=event.antenna,
        event=EventKind(event.type),
        first_seen=utc(event.first_seen),
        last_seen=utc(event.last_seen),
        count=event.count,
        peak_rssi_dbm=event.peak_rssi,
        mono_ns=event.mono_ns,
        clock_synced=synced,
        position=positions.at(event.time) if positions is not None else None,
        identity=decode_epc(event.epc).identity,
    )


def position(fix: Fix, *, received: float, synced: bool) -> PositionFix:
    return PositionFix(
        time=fix.time or utc(received), mono_ns=fix.mono_ns, clock_synced=synced,
        lat=fix.lat, lon=fix.lon, quality=FixQuality(fix.quality.value), hdop=fix.hdop,
        speed_mps=fix.speed_mps, course_deg=fix.course_deg, alt_m=fix.alt_m,
        satellites=fix.satellites,
    )  # fmt: skip


class Intake:
    """The committer. ``run(stop)`` in a thread; ``put_*`` from the device threads."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        smoother: Smoother,
        positions: PositionHistory | None = None,
        clock: ClockProbe | None = None,
        keep_raw: bool = False,
        tick_s: float = 0.1,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.smoother = smoother
        self.positions = positions
        self.clock = clock or ClockProbe()
        self.keep_raw = keep_raw
        self.tick_s = tick_s
        self.wall = wall
        self.committed_reads = 0
        self.commits = 0
        self.failing: str | None = None
        self._queue: list[_Waiting] = []
        self._cond = threading.Condition()
        self._running = threading.Event()
        self._stopped = threading.Event()

    def put_reads(self, reads: list[TagRead]) -> None:
        self._put(_Waiting(reads=reads))

    def put_fixes(self, fixes: list[Fix]) -> None:
        self._put(_Waiting(fixes=fixes))

    def _put(self, waiting: _Waiting) -> None:
        with self._cond:
            self._queue.append(waiting)
            self._cond.notify()
        while not waiting.done.wait(0.5):
            if self._stopped.is_set():
                raise OutboxError("the outbox committer has stopped")

    def run(self, stop: threading.Event) -> None:
        """Commit until ``stop``; then commit whatever is still queued and return."""
        self._running.set()
        self.smoother.restore(self.outbox.tracks(), now=self.wall())
        next_tick = time.monotonic() + self.tick_s
        try:
            while True:
                with self._cond:
                    if not self._queue and not stop.is_set():
                        self._cond.wait(max(0.0, next_tick - time.monotonic()))
                    group, self._queue = self._queue, []
                tick = time.monotonic() >= next_tick
                if tick:
                    next_tick = time.monotonic() + self.tick_s
                if group or tick:
                    self._commit(group, tick=tick, stop=stop)
                if stop.is_set() and not self._queue:
                    return
        finally:
            self._stopped.set()

    def _commit(self, group: list[_Waiting], *, tick: bool, stop: threading.Event) -> None:
        now = self.wall()
        synced = self.clock.synced()
        items: list[tuple[Kind, str]] = []
        reads = [r for w in group for r in w.reads]
        for w in group:
            for fix in w.fixes:
                if self.positions is not None:
                    self.positions.add(fix, received=now)
                items.append(
                    (
                        Kind.POS,
                        position(fix, received=now, synced=synced).model_dump_json(
                            exclude_none=True
                        ),
                    )
                )
        events = [e for r in reads for e in self.smoother.read(r)]
        if tick:
            events += self.smoother.tick(now)
        items += [
            (
                Kind.OBS,
                observation(e, synced=synced, positions=self.positions).model_dump_json(
                    exclude_none=True
                ),
            )
            for e in events
        ]
        saved, deleted = self.smoother.take_changes()
        raw = reads if self.keep_raw else []
        delay = 0.05
        while True:
            try:
                self.outbox.commit(items, saved=saved, deleted=deleted, raw=raw, now=now)
                break
            except OutboxError as exc:
                if self.failing is None:
                    _log.error("outbox commit failing, retrying: %s", exc)
                self.failing = str(exc)
                if stop.wait(delay) and delay >= 1.0:
                    raise  # shutting down with a dead disk: the waiting reads were never taken
                delay = min(delay * 2, 2.0)
        self.failing = None
        self.commits += 1
        self.committed_reads += len(reads)
        for w in group:
            w.done.set()
