"""What is on a serial port, and at what baud: asked of every registered serial driver.

At each candidate baud rate the port is first listened to (GPS receivers and ASCII readers talk
without being asked) and what it said is offered to each driver's ``recognise``; if none
recognises it, each driver's ``query`` may ask the port (a Mercury VERSION command). Nothing is
configured and nothing is left running on the device.
"""

from __future__ import annotations

import time
from typing import Final

import serial

from tagtrail_hardware import drivers
from tagtrail_hardware.contract import Found
from tagtrail_hardware.serial_port import open_serial, read_available

BAUD_RATES: Final = (115200, 9600, 4800, 38400, 57600, 19200, 230400)

__all__ = ["BAUD_RATES", "Found", "probe"]


def probe(path: str, *, baud_rates: tuple[int, ...] = BAUD_RATES, listen_s: float = 1.5) -> Found:
    """Identify the device on ``path``; DeviceError when the port cannot be opened."""
    for baud in baud_rates:
        port = open_serial(path, baud)
        try:
            found = _listen(path, port, baud, listen_s) or _ask(path, port, baud)
        finally:
            port.close()
        if found is not None:
            return found
    rates = ", ".join(str(b) for b in baud_rates)
    return Found(path, "unknown", None, f"nothing recognisable at {rates} baud")


def _listen(path: str, port: serial.Serial, baud: int, listen_s: float) -> Found | None:
    heard = bytearray()
    deadline = time.monotonic() + listen_s
    while time.monotonic() < deadline:
        heard += read_available(port)
        time.sleep(0.05)
    for driver in drivers.serial_drivers():
        if driver.recognise is not None and (found := driver.recognise(path, baud, bytes(heard))):
            return found
    return None


def _ask(path: str, port: serial.Serial, baud: int) -> Found | None:
    for driver in drivers.serial_drivers():
        if driver.query is not None and (found := driver.query(path, port, baud)):
            return found
    return None
