"""Is the wall clock synchronised? Asked of the kernel (adjtimex), as chrony and timedatectl do."""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from typing import Final

TIME_ERROR: Final = 5  # adjtimex's answer when the kernel's clock is not synchronised
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def kernel_synced() -> bool:
    """True when NTP (or a GPS-disciplined daemon) keeps the kernel clock synchronised."""
    buffer = ctypes.create_string_buffer(512)  # struct timex, zeroed: modes = 0 means "read"
    try:
        state = _libc.adjtimex(buffer)
    except (AttributeError, OSError):
        return False
    return state not in (-1, TIME_ERROR)


class ClockProbe:
    """Caches the kernel's answer for a few seconds (it is asked once per commit)."""

    def __init__(self, *, refresh_s: float = 5.0, forced: bool | None = None) -> None:
        self.refresh_s = refresh_s
        self.forced = forced
        self._checked = -1e18
        self._synced = False

    def synced(self) -> bool:
        if self.forced is not None:
            return self.forced
        now = time.monotonic()
        if now - self._checked > self.refresh_s:
            self._synced, self._checked = kernel_synced(), now
        return self._synced
