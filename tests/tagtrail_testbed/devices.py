"""Run a device driver in a thread and collect what it hands to its sink (driver tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class Running:
    """A driver running in a thread; ``items`` holds what it passed to its sink."""

    def __init__(self, device: Any) -> None:
        self.device = device
        self.items: list[Any] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=device.run, args=(self._sink, self.stop), daemon=True)
        self.thread.start()

    def _sink(self, items: list[Any]) -> None:
        with self._lock:
            self.items.extend(items)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.01)
        raise AssertionError(f"condition not met in {timeout} s; status {self.device.status()}")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "driver did not stop"
