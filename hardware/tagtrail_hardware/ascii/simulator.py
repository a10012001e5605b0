"""Simulator of an ASCII line reader: prints reads on a virtual serial port."""

from __future__ import annotations

from collections.abc import Iterable

from tagtrail_hardware.ascii.lines import LineFormat, format_line
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.virtual import VirtualSerialPort


class AsciiReaderSimulator:
    """Writes each read as one line, exactly as a reader in data output mode would."""

    def __init__(self, port: VirtualSerialPort, line_format: LineFormat | None = None) -> None:
        self.port = port
        self.format = line_format or LineFormat()

    def send(self, reads: Iterable[TagRead]) -> int:
        data = b"".join(format_line(read, self.format) for read in reads)
        self.port.write(data)
        return len(data)
