"""The serial transport: open a port with pyserial (keeping what the device already sent),
read what is there, and the device loop of the drivers on a serial port."""

from __future__ import annotations

import logging
import termios
from typing import ClassVar, TypeVar

import serial

from tagtrail_hardware.contract import Backoff
from tagtrail_hardware.errors import DeviceError
from tagtrail_hardware.loop import DeviceLoop

_log = logging.getLogger(__name__)
T = TypeVar("T")


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


class SerialDevice(DeviceLoop[serial.Serial, T]):
    """A device on a serial port: USB adapters disappear when a cable is pulled; the device
    then reports ``absent`` and is reopened until it comes back."""

    # termios.error (not an OSError) comes from tcflush on a port that just vanished.
    lost_errors: ClassVar[tuple[type[BaseException], ...]] = (
        serial.SerialException, OSError, termios.error,
    )  # fmt: skip

    def __init__(
        self, *, name: str, path: str, baudrate: int, backoff: Backoff | None = None
    ) -> None:
        super().__init__(name=name, backoff=backoff)
        self.path = path
        self.baudrate = baudrate

    @property
    def where(self) -> str:
        return self.path

    def _open(self) -> serial.Serial:
        return open_serial(self.path, self.baudrate)

    def _close(self, handle: serial.Serial) -> None:
        try:
            handle.close()
        except (serial.SerialException, OSError):
            _log.debug("closing %s failed", handle.port)
