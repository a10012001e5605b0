"""Readers in "data output" mode that print one tag per line."""

from tagtrail_hardware.ascii.driver import AsciiReader, recognise
from tagtrail_hardware.ascii.lines import AsciiDecoder, LineFormat, format_line
from tagtrail_hardware.ascii.settings import AsciiSettings
from tagtrail_hardware.ascii.simulator import AsciiReaderSimulator
from tagtrail_hardware.contract import Device, Driver


def build(settings: AsciiSettings) -> Device[object]:
    return AsciiReader(
        name=settings.name, path=settings.path, baudrate=settings.baudrate,
        line_format=settings.line_format(),
    )  # fmt: skip


DRIVER = Driver(
    name="ascii", kind="rfid-reader", transport="serial", settings=AsciiSettings, build=build,
    summary="a reader that prints one tag per line (CSV-like), on a serial port",
    recognise=recognise,
)  # fmt: skip

__all__ = [
    "DRIVER",
    "AsciiDecoder",
    "AsciiReader",
    "AsciiReaderSimulator",
    "AsciiSettings",
    "LineFormat",
    "format_line",
]
