"""What ``watch`` shows: per tag and read point, the live figures for aligning antennas.

Pure: reads go in with their monotonic clock, rows come out for the time asked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tagtrail_edge.enrich import decode_epc
from tagtrail_hardware.reads import TagRead


@dataclass(slots=True)
class _Line:
    epc: str
    read_point: str
    antenna: int
    identity: str
    rssi_now: float | None = None
    rssi_peak: float | None = None
    reads: int = 0
    last_ns: int = 0
    recent: deque[int] = field(default_factory=deque)


def identity(epc: str) -> str:
    """A short decoded identity: scheme and GS1 key, or why the EPC does not decode."""
    decoded = decode_epc(epc)
    if decoded.identity is None:
        return f"not GS1: {decoded.error}"
    found = decoded.identity
    return f"{found.scheme} {found.gs1_key}" if found.gs1_key else found.uri


class TagBoard:
    """Live figures per (EPC, read point): RSSI now and peak, reads/s over ``window_s``."""

    def __init__(self, read_point: Callable[[str, int], str], *, window_s: float = 5.0) -> None:
        self.read_point = read_point
        self.window_ns = int(window_s * 1e9)
        self.total = 0
        self._lines: dict[tuple[str, str], _Line] = {}

    def add(self, reads: Iterable[TagRead]) -> None:
        for read in reads:
            point = self.read_point(read.reader, read.antenna)
            line = self._lines.get((read.epc, point))
            if line is None:
                line = _Line(read.epc, point, read.antenna, identity(read.epc))
                self._lines[(read.epc, point)] = line
            line.reads += 1
            line.rssi_now = read.rssi_dbm
            if read.rssi_dbm is not None and (
                line.rssi_peak is None or read.rssi_dbm > line.rssi_peak
            ):
                line.rssi_peak = read.rssi_dbm
            line.last_ns = max(line.last_ns, read.mono_ns)
            line.recent.append(read.mono_ns)
            self.total += 1

    def rows(self, now_ns: int) -> list[dict[str, Any]]:
        """One row per tag and read point, by read point then EPC (rows do not jump around)."""
        rows = []
        for key in sorted(self._lines, key=lambda k: (k[1], k[0])):
            line = self._lines[key]
            while line.recent and line.recent[0] < now_ns - self.window_ns:
                line.recent.popleft()
            rows.append({
                "epc": line.epc, "identity": line.identity, "read_point": line.read_point,
                "antenna": line.antenna, "rssi_now": line.rssi_now, "rssi_peak": line.rssi_peak,
                "reads_per_s": round(len(line.recent) * 1e9 / self.window_ns, 1),
                "reads": line.reads, "last_seen_s": round(max(0, now_ns - line.last_ns) / 1e9, 1),
            })  # fmt: skip
        return rows
