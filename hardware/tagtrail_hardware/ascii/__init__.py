"""Readers in "data output" mode that print one tag per line."""

from tagtrail_hardware.ascii.driver import AsciiReader
from tagtrail_hardware.ascii.lines import AsciiDecoder, LineFormat, format_line
from tagtrail_hardware.ascii.simulator import AsciiReaderSimulator

__all__ = ["AsciiDecoder", "AsciiReader", "AsciiReaderSimulator", "LineFormat", "format_line"]
