"""The device loop every driver runs: open the transport, run a session, reopen with backoff.

The loop knows no transport. A driver says how to open and close its handle (a serial port, a
TCP socket, an HTTP stream), which exceptions mean "the device is gone" (``lost_errors``: the
device then reports ``absent``), and what a session does with an open handle until it fails or
``stop`` is set. Any other tagtrail_hardware error reports ``error``; an unexpected exception
(a driver bug) is logged and the device reopened, never the end of the loop.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import ClassVar, Generic, TypeVar

from tagtrail_hardware.contract import Backoff, DeviceKind, DeviceStatus, Sink, State
from tagtrail_hardware.errors import DeviceError, HardwareError

_log = logging.getLogger(__name__)
H = TypeVar("H")
T = TypeVar("T")


class DeviceLoop(Generic[H, T]):
    """Base of the drivers: the reopen loop and the status bookkeeping."""

    kind: DeviceKind = "rfid-reader"
    lost_errors: ClassVar[tuple[type[BaseException], ...]] = (OSError,)
    """Exceptions of the transport that mean the device went away (beyond DeviceError)."""

    def __init__(self, *, name: str, backoff: Backoff | None = None) -> None:
        self.name = name
        self.backoff = backoff or Backoff()
        self.rejected: Counter[str] = Counter()
        self.identity: str | None = None
        self._state: State = "starting"
        self._detail: str | None = None
        self._reopens = 0
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        """The device's address for messages (a port path, host:port)."""
        raise NotImplementedError

    def status(self) -> DeviceStatus:
        with self._lock:
            return DeviceStatus(
                name=self.name,
                kind=self.kind,
                state=self._state,
                detail=self._detail,
                reopens=self._reopens,
                rejected=dict(self.rejected),
                identity=self.identity,
            )

    def run(self, sink: Sink[T], stop: threading.Event) -> None:
        """Read until ``stop`` is set, reopening the device whenever it fails."""
        attempt = 0
        while not stop.is_set():
            try:
                handle = self._open()
            except DeviceError as exc:
                if attempt == 0:  # once per outage: the state and its detail say the rest
                    _log.warning("device %s cannot be opened: %s; trying again", self.name, exc)
                self._set_state("absent", str(exc))
                stop.wait(self.backoff.delay(attempt))
                attempt += 1
                continue
            if attempt:
                _log.info("device %s opened after %d attempt(s)", self.name, attempt + 1)
            if self._serve(handle, sink, stop):
                attempt = 0
            if not stop.is_set():
                with self._lock:
                    self._reopens += 1
                stop.wait(self.backoff.delay(attempt))
                attempt += 1

    def _serve(self, handle: H, sink: Sink[T], stop: threading.Event) -> bool:
        """One session on an open handle; True when it ended without a failure."""
        try:
            self._set_state("starting", None)
            self._session(handle, sink, stop, on_ready=lambda: self._set_state("ok", None))
        except (DeviceError, *self.lost_errors) as exc:  # type: ignore[misc]  # a tuple at run time
            self._set_state("absent", f"{self.where}: {exc}")
            _log.warning("device %s lost: %s", self.name, exc)
        except HardwareError as exc:
            self._set_state("error", str(exc))
            _log.warning("device %s failed: %s", self.name, exc)
        except Exception as exc:  # noqa: BLE001  # a driver bug must not end the loop
            self._set_state("error", f"unexpected {type(exc).__name__}: {exc}")
            _log.exception("device %s crashed; reopening", self.name)
        else:
            return True
        finally:
            self._close(handle)
        return False

    def _open(self) -> H:
        """Open the transport; DeviceError when the device is not there (yet)."""
        raise NotImplementedError

    def _close(self, handle: H) -> None:
        raise NotImplementedError

    def _session(
        self, handle: H, sink: Sink[T], stop: threading.Event, *, on_ready: Callable[[], None]
    ) -> None:
        raise NotImplementedError

    def _set_state(self, state: State, detail: str | None) -> None:
        with self._lock:
            self._state = state
            self._detail = detail[:500] if detail else None
