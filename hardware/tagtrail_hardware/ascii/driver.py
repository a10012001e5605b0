"""Driver of an ASCII line reader: the reopen loop of ``SerialDevice`` around ``AsciiDecoder``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import serial

from tagtrail_hardware.ascii.lines import AsciiDecoder, LineFormat
from tagtrail_hardware.contract import Backoff, Found, Sink
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.serial_port import SerialDevice, read_available


class AsciiReader(SerialDevice[TagRead]):
    """A reader that prints one tag per line; it needs no start-up commands."""

    kind = "rfid-reader"

    def __init__(
        self,
        *,
        name: str,
        path: str,
        baudrate: int = 115200,
        line_format: LineFormat | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(name=name, path=path, baudrate=baudrate, backoff=backoff)
        self.decoder = AsciiDecoder(line_format or LineFormat(), reader=name)
        self.rejected = self.decoder.rejected
        self.identity = "ascii line reader"

    def _session(
        self,
        port: serial.Serial,
        sink: Sink[TagRead],
        stop: threading.Event,
        *,
        on_ready: Callable[[], None],
    ) -> None:
        on_ready()
        while not stop.is_set():
            data = read_available(port)
            if data:
                reads = self.decoder.feed(data, now=time.time(), mono_ns=time.monotonic_ns())
                if reads:
                    sink(reads)


def recognise(path: str, baudrate: int, heard: bytes) -> Found | None:
    """An ASCII reader, if what the port said unasked holds tag lines (default format)."""
    reads = AsciiDecoder(LineFormat()).feed(
        heard + b"\n", now=time.time(), mono_ns=time.monotonic_ns()
    )
    if not reads:
        return None
    epcs = sorted({r.epc for r in reads})
    return Found(
        path, "ascii-reader", baudrate, f"ASCII tag reader, {len(reads)} reads of {len(epcs)} tags",
        {"reads": len(reads), "epcs": epcs[:20]},
    )  # fmt: skip
