"""What is on a serial port: a Mercury reader, an ASCII reader or an NMEA GPS, and at what baud.

At each candidate baud rate the port is first listened to (GPS receivers and ASCII readers talk
without being asked); if nothing recognisable comes, a Mercury VERSION command is sent. Nothing
is configured and nothing is left running on the device.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

import serial

from tagtrail_hardware.ascii.lines import AsciiDecoder, LineFormat
from tagtrail_hardware.device import open_serial, read_available
from tagtrail_hardware.errors import ParseError
from tagtrail_hardware.mercury import messages as m
from tagtrail_hardware.mercury.frames import FrameDecoder, encode_command
from tagtrail_hardware.nmea.fixes import NmeaDecoder

BAUD_RATES: Final = (115200, 9600, 4800, 38400, 57600, 19200, 230400)


@dataclass(frozen=True, slots=True)
class Found:
    """What was found: ``kind`` is mercury-reader, ascii-reader, nmea-gps or unknown."""

    path: str
    kind: str
    baudrate: int | None
    identity: str
    details: dict[str, object] = field(default_factory=dict)


def probe(path: str, *, baud_rates: tuple[int, ...] = BAUD_RATES, listen_s: float = 1.5) -> Found:
    """Identify the device on ``path``; DeviceError when the port cannot be opened."""
    for baud in baud_rates:
        port = open_serial(path, baud)
        try:
            found = _listen(path, port, baud, listen_s) or _ask_mercury(path, port, baud)
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
    data = bytes(heard)
    gps = NmeaDecoder()
    fixes = gps.replay(data)
    if gps.sentences:
        talkers = ",".join(sorted(gps.talkers))
        fix = fixes[-1] if fixes else None
        where = f"fix {fix.lat:.6f},{fix.lon:.6f} ({fix.quality.value})" if fix else "no fix"
        details: dict[str, object] = {"talkers": sorted(gps.talkers), "sentences": gps.sentences}
        if fix is not None:
            details |= {"lat": fix.lat, "lon": fix.lon, "quality": fix.quality.value}
        return Found(path, "nmea-gps", baud, f"NMEA GPS, talker {talkers}, {where}", details)
    reader = AsciiDecoder(LineFormat())
    reads = reader.feed(data + b"\n", now=time.time(), mono_ns=time.monotonic_ns())
    if reads:
        epcs = sorted({r.epc for r in reads})
        return Found(
            path, "ascii-reader", baud, f"ASCII tag reader, {len(reads)} reads of {len(epcs)} tags",
            {"reads": len(reads), "epcs": epcs[:20]},
        )  # fmt: skip
    return None


def _ask_mercury(path: str, port: serial.Serial, baud: int) -> Found | None:
    port.write(encode_command(m.Op.MULTI_PROTOCOL_TAG_OP, m.STOP_CONTINUOUS))
    time.sleep(0.05)
    port.reset_input_buffer()
    port.write(encode_command(m.Op.VERSION))
    decoder = FrameDecoder("response")
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        for frame in decoder.feed(read_available(port)):
            if frame.opcode == m.Op.VERSION and frame.status == m.OK:
                try:
                    version = m.parse_version(frame.data)
                except ParseError:
                    return None
                return Found(
                    path, "mercury-reader", baud, version.describe(),
                    {"hardware": version.hardware, "firmware": version.firmware,
                     "firmware_date": version.firmware_date},
                )  # fmt: skip
        time.sleep(0.02)
    return None
