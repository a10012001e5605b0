"""Run a device driver in the background for a while and collect what it reads (for the CLI)."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any, Generic, TypeVar

from tagtrail_hardware.reads import Fix

T = TypeVar("T")


class Listener(Generic[T]):
    """``with Listener(driver) as heard: ... heard.take()``; the driver reopens on failure."""

    def __init__(self, device: Any) -> None:  # noqa: ANN401 (any SerialDevice or GpsdClient)
        self.device = device
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._items: list[T] = []
        self.arrived = threading.Event()
        self._thread = threading.Thread(
            target=device.run, args=(self._sink, self._stop), name=f"listen-{device.name}",
            daemon=True,
        )  # fmt: skip

    def __enter__(self) -> Listener[T]:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)

    def take(self) -> list[T]:
        """What arrived since the last call."""
        with self._lock:
            items, self._items = self._items, []
        self.arrived.clear()
        return items

    def _sink(self, items: list[T]) -> None:
        with self._lock:
            self._items.extend(items)
        self.arrived.set()


def latest_fix(gps: Any, *, wait_s: float) -> Fix | None:  # noqa: ANN401 (a GPS driver)
    """The newest fix heard within ``wait_s`` (one with a date is waited for, if it comes)."""
    latest: Fix | None = None
    deadline = time.monotonic() + wait_s
    with Listener[Fix](gps) as heard:
        while (remaining := deadline - time.monotonic()) > 0:
            heard.arrived.wait(remaining)
            fixes = heard.take()
            latest = fixes[-1] if fixes else latest
            if latest is not None and latest.time is not None:
                break
    return latest


def clock_offset(fix: Fix) -> float | None:
    """GPS time minus the system clock at the fix, in seconds (includes the receiver's delay)."""
    if fix.time is None:
        return None
    wall, mono = time.time(), time.monotonic_ns()
    system_at_fix = wall - (mono - fix.mono_ns) / 1e9
    return round(fix.time.timestamp() - system_at_fix, 3)
