"""A serial device that comes and goes: open, run a session, reopen with backoff, report state.

Each driver subclasses :class:`SerialDevice` and implements ``_session``: what to do with an open
port until it fails or ``stop`` is set. USB adapters disappear when a cable is pulled; the device
then reports ``absent`` and is reopened with exponential backoff until it comes back.
"""

from __future__ import annotations

import logging
import random
import termios
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

import serial

from tagtrail_hardware.errors import DeviceError, HardwareError

_log = logging.getLogger(__name__)

State = Literal["ok", "starting", "absent", "error"]
T = TypeVar("T")
Sink = Callable[[list[T]], None]
"""Where a driver hands what it read; may block (the edge agent returns after committing)."""


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A snapshot of one device's health, for status messages and the CLI."""

    name: str
    kind: Literal["rfid-reader", "gps"]
    state: State
    detail: str | None
    reopens: int
    rejected: dict[str, int]
    identity: str | None = None


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: a random wait in [0, min(cap, base * 2**n)]."""

    base_s: float = 0.2
    cap_s: float = 10.0

    def delay(self, attempt: int, *, down_s: float | None = None) -> float:
        """The wait before attempt ``attempt + 1``.

        ``down_s``, how long the link has been down, bounds the wait too (but never below the
        base): a short outage is never followed by a long wait, so a link is back at most about
        twice the outage after it ends, however unlucky the jitter was before.
        """
        high = min(self.cap_s, self.base_s * 2 ** min(attempt, 30))
        if down_s is not None:
            high = min(high, max(self.base_s, down_s))
        return random.uniform(0.0, high)  # noqa: S311


class _KeepInputSerial(serial.Serial):
    """pyserial flushes the kernel's input buffer on open; for a reader those bytes are tags."""

    _opening = False

    def open(self) -> None:
        self._opening = True
        try:
            super().open()
        finally:
            self._opening = False

    def _reset_input_buffer(self) -> None:
        if not self._opening:
            super()._reset_input_buffer()  # type: ignore[misc]


def open_serial(path: str, baudrate: int, *, timeout: float = 0.1) -> serial.Serial:
    """Open a port with pyserial, keeping what the device already sent; errors: DeviceError."""
    try:
        return _KeepInputSerial(path, baudrate=baudrate, timeout=timeout, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise DeviceError(f"cannot open {path}: {exc}") from exc


class SerialDevice(Generic[T]):
    """Base of the serial drivers: the reopen loop and the status bookkeeping."""

    kind: Literal["rfid-reader", "gps"] = "rfid-reader"

    def __init__(
        self, *, name: str, path: str, baudrate: int, backoff: Backoff | None = None
    ) -> None:
        self.name = name
        self.path = path
        self.baudrate = baudrate
        self.backoff = backoff or Backoff()
        self.rejected: Counter[str] = Counter()
        self.identity: str | None = None
        self._state: State = "starting"
        self._detail: str | None = None
        self._reopens = 0
        self._lock = threading.Lock()

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
                port = open_serial(self.path, self.baudrate)
            except DeviceError as exc:
                if attempt == 0:  # once per outage: the state and its detail say the rest
                    _log.warning("device %s cannot be opened: %s; trying again", self.name, exc)
                self._set_state("absent", str(exc))
                stop.wait(self.backoff.delay(attempt))
                attempt += 1
                continue
            if attempt:
                _log.info("device %s opened after %d attempt(s)", self.name, attempt + 1)
            try:
                self._set_state("starting", None)
                self._session(port, sink, stop, on_ready=lambda: self._set_state("ok", None))
                attempt = 0
            except (DeviceError, serial.SerialException, OSError, termios.error) as exc:
                # termios.error (not an OSError) comes from tcflush on a port that just vanished.
                self._set_state("absent", f"{self.path}: {exc}")
                _log.warning("device %s lost: %s", self.name, exc)
            except HardwareError as exc:
                self._set_state("error", str(exc))
                _log.warning("device %s failed: %s", self.name, exc)
            except Exception as exc:  # noqa: BLE001  # a driver bug must not end the loop
                self._set_state("error", f"unexpected {type(exc).__name__}: {exc}")
                _log.exception("device %s crashed; reopening", self.name)
            finally:
                _close_quietly(port)
            if not stop.is_set():
                with self._lock:
                    self._reopens += 1
                stop.wait(self.backoff.delay(attempt))
                attempt += 1

    def _session(
        self,
        port: serial.Serial,
        sink: Sink[T],
        stop: threading.Event,
        *,
        on_ready: Callable[[], None],
    ) -> None:
        raise NotImplementedError

    def _set_state(self, state: State, detail: str | None) -> None:
        with self._lock:
            self._state = state
            self._detail = detail[:500] if detail else None


def read_available(port: serial.Serial, *, limit: int = 65536) -> bytes:
    """Whatever the port has now (waiting up to its timeout for the first byte)."""
    try:
        first = port.read(1)
        if not first:
            return b""
        waiting = port.in_waiting
        return first + (port.read(min(waiting, limit)) if waiting else b"")
    except (serial.SerialException, OSError) as exc:
        raise DeviceError(f"read from {port.port} failed: {exc}") from exc


def _close_quietly(port: serial.Serial) -> None:
    try:
        port.close()
    except (serial.SerialException, OSError):
        _log.debug("closing %s failed", port.port)
