"""Tags in a reader's field: an ASCII reader simulator printing reads for as long as needed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from tagtrail_hardware.ascii import AsciiReaderSimulator
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.virtual import VirtualSerialPort


@contextmanager
def tags_in_field(
    port: VirtualSerialPort,
    epcs: Sequence[str],
    *,
    antenna: int = 1,
    rssi_dbm: float = -52.0,
    period_s: float = 0.1,
) -> Iterator[None]:
    """A reader in data-output mode: one line per tag every ``period_s`` until the block ends."""
    sim, stop = AsciiReaderSimulator(port), threading.Event()

    def loop() -> None:
        while not stop.is_set():
            now = time.time()
            sim.send(
                [
                    TagRead(epc=e, antenna=antenna, time=now, mono_ns=0, rssi_dbm=rssi_dbm)
                    for e in epcs
                ]
            )
            stop.wait(period_s)

    thread = threading.Thread(target=loop, name="tags-in-field", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
