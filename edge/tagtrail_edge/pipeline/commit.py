"""Group commit: the hand-over from the device threads to the outbox.

Drivers call :meth:`Intake.put_reads` / :meth:`Intake.put_fixes` with what they just took off the
device; the call returns only after those reads are committed. One committer thread takes all
that is waiting, turns it into a :class:`Commit` with the ``transform`` the wiring gives it
(smoothing and enrichment, in ``agent.py``), and writes it with ``store`` in one transaction:
the more arrives meanwhile, the bigger the group and the fewer the fsyncs. A periodic tick
(``tick=True``) lets smoothing close tracks that went silent. A failing commit (full disk) is
retried with the same content while the drivers wait, so nothing is applied twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from tagtrail_edge.errors import OutboxError
from tagtrail_edge.pipeline.values import Commit
from tagtrail_hardware.reads import Fix, TagRead

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Waiting:
    reads: list[TagRead] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


class Transform(Protocol):
    """Reads and fixes of one group (and whether it is a tick) -> what to commit."""

    def __call__(
        self, reads: list[TagRead], fixes: list[Fix], *, tick: bool, now: float
    ) -> Commit: ...


class Intake:
    """The committer. ``run(stop)`` in a thread; ``put_*`` from the device threads."""

    def __init__(
        self,
        *,
        transform: Transform,
        store: Callable[[Commit, float], None],
        tick_s: float = 0.1,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.transform = transform
        self.store = store
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
        reads = [r for w in group for r in w.reads]
        fixes = [f for w in group for f in w.fixes]
        commit = self.transform(reads, fixes, tick=tick, now=now)
        delay = 0.05
        while True:
            try:
                self.store(commit, now)
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
