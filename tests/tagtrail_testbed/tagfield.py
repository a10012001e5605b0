"""A simulated field of tags: visits (arrive, dwell, depart) and the raw reads they produce.

Deterministic for a seed. Each visit is one tag at one antenna, read every ``period_s`` for its
dwell; visits of the same tag are separated by more than ``gap_s`` so the expected smoothing is
unambiguous: one arrive and one depart per visit.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from tagtrail_hardware.ascii import AsciiReaderSimulator, LineFormat
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.virtual import VirtualSerialPort


@dataclass(frozen=True, slots=True)
class Visit:
    epc: str
    antenna: int
    start: float
    reads: int
    period_s: float

    @property
    def last(self) -> float:
        return self.start + (self.reads - 1) * self.period_s


def plan(
    *, total_reads: int, tags: int = 200, start: float = 0.0, rate: float = 4000.0,
    period_s: float = 0.01, dwell_s: tuple[float, float] = (0.8, 2.0), gap_s: float = 3.0,
    antennas: int = 2, seed: int = 1,
) -> list[Visit]:  # fmt: skip
    """Visits adding up to about ``total_reads`` reads at about ``rate`` reads per second."""
    rng = random.Random(seed)
    free_at = {f"3074{i:020X}": start + rng.uniform(0, 2.0) for i in range(tags)}
    visits: list[Visit] = []
    count = 0
    concurrency = max(1, round(rate * period_s))
    clock = start
    while count < total_reads:
        ready = sorted(free_at.items(), key=lambda kv: kv[1])[:concurrency]
        for epc, free in ready:
            begin = max(free, clock + rng.uniform(0, 0.3))
            n = max(3, round(rng.uniform(*dwell_s) / period_s))
            n = min(n, total_reads - count) if total_reads - count >= 3 else 3
            visit = Visit(epc, 1 + rng.randrange(antennas), round(begin, 3), n, period_s)
            visits.append(visit)
            count += n
            free_at[epc] = visit.last + gap_s + rng.uniform(0, 2.0)
            if count >= total_reads:
                break
        clock = min(free_at.values())
    return visits


def reads(visits: list[Visit], *, reader: str = "") -> list[TagRead]:
    """All raw reads of the visits, in time order."""
    out = [
        TagRead(
            epc=v.epc,
            antenna=v.antenna,
            time=round(v.start + k * v.period_s, 3),
            mono_ns=0,
            rssi_dbm=-70.0 + (k % 25),
            reader=reader,
        )
        for v in visits
        for k in range(v.reads)
    ]
    out.sort(key=lambda r: r.time)
    return out


class ReadStream(threading.Thread):
    """Writes reads to a reader simulator when their time comes (wall clock), blocking while the
    pty's buffer is full, as a reader's own buffer does when nobody reads it."""

    def __init__(self, port: VirtualSerialPort, reads: list[TagRead], fmt: LineFormat) -> None:
        super().__init__(daemon=True, name="read-stream")
        self.sim = AsciiReaderSimulator(port, fmt)
        self.reads = reads
        self.sent = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while self.sent < len(self.reads) and not self.stop.is_set():
            now = time.time()
            end = self.sent
            while end < len(self.reads) and self.reads[end].time <= now:
                end += 1
            if end > self.sent:
                self.sim.send(self.reads[self.sent : end])
                self.sent = end
            time.sleep(0.005)
