"""A worker thread fed through a bounded queue: one stage of the ingest pipeline.

Stages hand writes on in order, so a write reaches the next stage only after the previous stage
is done with it, and a bounded queue (one write waiting) keeps memory flat when a store is slow.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from tagtrail_collector.errors import StageStopped

log = logging.getLogger(__name__)
T = TypeVar("T")
_POLL_S = 0.1


class Stage(Generic[T]):
    """Runs ``work(item)`` for each item put, in order, in its own thread.

    ``work`` may raise ``StageStopped`` to end the stage (the items still queued are dropped:
    their batches stay unacknowledged and the gateways send them again). Any other exception
    ends the stage too and is raised again by the next ``put`` or by ``close``.
    """

    def __init__(self, name: str, work: Callable[[T], object], *, depth: int = 1) -> None:
        self.name = name
        self._work = work
        self._queue: queue.Queue[T | None] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._loop, name=f"ingest-{name}", daemon=True)
        self._error: BaseException | None = None
        self._thread.start()

    def put(self, item: T) -> None:
        """Hand ``item`` over, waiting while the stage is busy; raises StageStopped if it ended."""
        while True:
            self._raise_if_ended()
            try:
                self._queue.put(item, timeout=_POLL_S)
            except queue.Full:
                continue
            return

    def close(self, timeout_s: float | None = None) -> None:
        """Let the stage finish what it was given, then end its thread."""
        while self._thread.is_alive():
            try:
                self._queue.put(None, timeout=_POLL_S)
            except queue.Full:
                continue
            break
        self._thread.join(timeout_s)
        if self._error is not None:
            raise self._error

    def _raise_if_ended(self) -> None:
        if self._error is not None:
            raise self._error
        if not self._thread.is_alive():
            raise StageStopped(f"the {self.name} stage has ended")

    def _loop(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._work(item)
            except StageStopped:
                return
            except BaseException as exc:
                log.exception("ingest: the %s stage failed", self.name)
                self._error = exc
                return
