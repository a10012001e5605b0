"""Virtual serial ports: a pty pair whose device side real pyserial opens like a USB adapter.

A device simulator writes on the controller side; the driver under test opens ``device_path``
with pyserial and reads exactly what a serial adapter would deliver. ``unplug()`` makes the
device side fail as a pulled USB cable does.
"""

from __future__ import annotations

import contextlib
import os
import select
import termios
import tty
from types import TracebackType
from typing import Self

from tagtrail_hardware.errors import VirtualPortError


class VirtualSerialPort:
    """A pty pair in raw mode. Use as a context manager; ``close()`` is idempotent."""

    def __init__(self) -> None:
        try:
            self._controller, self._device = os.openpty()
        except OSError as exc:
            raise VirtualPortError(f"cannot open a pty pair: {exc}") from exc
        for fd in (self._controller, self._device):
            tty.setraw(fd, termios.TCSANOW)
        self.device_path = os.ttyname(self._device)
        self._closed = False

    def write(self, data: bytes) -> None:
        """Send bytes towards the reader of ``device_path`` (as the device would)."""
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._controller_fd(), view)
            except BlockingIOError:
                select.select([], [self._controller], [], 1.0)
                continue
            except OSError as exc:
                raise VirtualPortError(f"write to {self.device_path} failed: {exc}") from exc
            view = view[written:]

    def read(self, size: int = 4096, *, timeout: float = 1.0) -> bytes:
        """What the driver wrote to ``device_path``; b"" when nothing came within ``timeout``."""
        ready, _, _ = select.select([self._controller_fd()], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self._controller, size)
        except OSError as exc:
            raise VirtualPortError(f"read from {self.device_path} failed: {exc}") from exc

    def unplug(self) -> None:
        """Close both sides: the device path disappears and open readers get an error."""
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for fd in (self._controller, self._device):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _controller_fd(self) -> int:
        if self._closed:
            raise VirtualPortError(f"virtual port {self.device_path} is closed")
        return self._controller

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
