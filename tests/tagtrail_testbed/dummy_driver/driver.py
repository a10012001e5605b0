"""The dummy reader: the device loop over an in-memory transport."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tagtrail_hardware.contract import Backoff, Sink
from tagtrail_hardware.errors import DeviceError
from tagtrail_hardware.loop import DeviceLoop
from tagtrail_hardware.reads import TagRead
from tagtrail_testbed.dummy_driver.settings import DummySettings


class _Transport:
    """What a socket or a port would be: counts its rounds, fails when told to."""

    def __init__(self, fail_after: int | None) -> None:
        self.rounds = 0
        self.fail_after = fail_after
        self.closed = False

    def round(self) -> None:
        self.rounds += 1
        if self.fail_after is not None and self.rounds > self.fail_after:
            raise DeviceError("the dummy transport failed, as a pulled cable does")


class DummyReader(DeviceLoop[_Transport, TagRead]):
    kind = "rfid-reader"

    def __init__(self, settings: DummySettings, *, backoff: Backoff | None = None) -> None:
        super().__init__(name=settings.name, backoff=backoff or Backoff(0.01, 0.05))
        self.settings = settings
        self.identity = "dummy reader"
        self.opened = 0

    @property
    def where(self) -> str:
        return self.settings.where()

    def _open(self) -> _Transport:
        self.opened += 1
        return _Transport(self.settings.fail_after)

    def _close(self, handle: _Transport) -> None:
        handle.closed = True

    def _session(
        self, handle: _Transport, sink: Sink[TagRead], stop: threading.Event, *,
        on_ready: Callable[[], None],
    ) -> None:  # fmt: skip
        on_ready()
        s = self.settings
        while not stop.wait(s.period_s):
            handle.round()
            now, mono = time.time(), time.monotonic_ns()
            sink([
                TagRead(epc=epc, antenna=s.antenna, time=now, mono_ns=mono, reader=s.name)
                for epc in s.epcs
            ])  # fmt: skip
