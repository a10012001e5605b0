"""A million random and mutated bytes into each decoder: no crash, and valid input still reads.

Seeds are fixed so a failure reproduces; the mix is half pure noise and half valid streams with
flipped, dropped and duplicated bytes, fed in chunks of random size.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tagtrail_hardware.ascii import AsciiDecoder, AsciiReader, LineFormat, format_line
from tagtrail_hardware.errors import ParseError
from tagtrail_hardware.gpsd import GpsdReports
from tagtrail_hardware.mercury import MercuryReader, MercurySettings, MercurySimulator
from tagtrail_hardware.mercury import messages as m
from tagtrail_hardware.mercury.frames import FrameDecoder, encode_response
from tagtrail_hardware.nmea import NmeaDecoder
from tagtrail_hardware.nmea.simulator import epoch_sentences
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_testbed.devices import Running

TOTAL = 1_000_000
RunDevice = Callable[[Any], Running]
READ = TagRead(epc="3074257BF7194E4000001A85", antenna=2, time=1.7e9, mono_ns=0, rssi_dbm=-55.0)
WHEN = datetime(2026, 3, 14, 9, 27, 1, tzinfo=UTC)


def mercury_valid(_: int = 0) -> bytes:
    record = m.TagRecord(bytes.fromhex(READ.epc), 2, -55, 866_900, 10, 0, 0x3000)
    return encode_response(0x22, 0, m.encode_tag_record(record))


def ascii_valid(_: int = 0) -> bytes:
    return format_line(READ, LineFormat())


def nmea_valid(second: int = 0) -> bytes:
    return epoch_sentences(WHEN.replace(second=second), 51.9, 4.1).encode()


def gpsd_valid(_: int = 0) -> bytes:
    return b'{"class":"TPV","mode":3,"lat":51.9,"lon":4.1,"time":"2026-03-14T09:27:01Z"}\n'


def fuzz_stream(rng: random.Random, valid: bytes, total: int) -> list[bytes]:
    """Chunks adding up to ``total`` bytes: noise, and valid bytes with mutations."""
    chunks, size = [], 0
    while size < total:
        if rng.random() < 0.5:
            chunk = bytearray(rng.randbytes(rng.randint(1, 4096)))
        else:
            chunk = bytearray(valid * rng.randint(1, 20))
            for _ in range(rng.randint(1, 8)):
                at = rng.randrange(len(chunk))
                action = rng.random()
                if action < 0.4:
                    chunk[at] = rng.randrange(256)
                elif action < 0.7:
                    del chunk[at]
                else:
                    chunk[at:at] = chunk[at : at + rng.randint(1, 30)]
        chunks.append(bytes(chunk))
        size += len(chunk)
    return chunks


def feed_all(feed: Callable[[bytes], list[Any]], chunks: list[bytes], rng: random.Random) -> int:
    out = 0
    for chunk in chunks:
        at = 0
        while at < len(chunk):
            step = rng.randint(1, 600)
            out += len(feed(chunk[at : at + step]))
            at += step
    return out


def _mercury() -> Callable[[bytes], list[Any]]:
    decoder = FrameDecoder()

    def feed(data: bytes) -> list[Any]:
        out = []
        for frame in decoder.feed(data):
            if frame.opcode == 0x22 and frame.status == 0 and frame.data:
                with contextlib.suppress(ParseError):  # any other error fails the test
                    out.append(m.parse_tag_record(frame.data))
        return out

    return feed


def _ascii() -> Callable[[bytes], list[Any]]:
    decoder = AsciiDecoder(LineFormat())
    return lambda data: decoder.feed(data, now=1.0, mono_ns=1)


def _nmea() -> Callable[[bytes], list[Any]]:
    return NmeaDecoder().feed


def _gpsd() -> Callable[[bytes], list[Any]]:
    reports = GpsdReports()
    pending = [b""]

    def feed(data: bytes) -> list[Any]:
        *lines, pending[0] = (pending[0] + data).split(b"\n")
        return [f for f in map(reports.line, lines) if f is not None]

    return feed


@pytest.mark.parametrize(
    ("make", "valid", "per_valid"),
    [(_mercury, mercury_valid, 1), (_ascii, ascii_valid, 1), (_nmea, nmea_valid, 1),
     (_gpsd, gpsd_valid, 1)],
    ids=["mercury", "ascii", "nmea", "gpsd-json"],
)  # fmt: skip
def test_a_million_bytes_then_valid_input(
    make: Callable[[], Callable[[bytes], list[Any]]], valid: Callable[[int], bytes], per_valid: int
) -> None:
    rng = random.Random(20261122)
    feed = make()
    chunks = fuzz_stream(rng, valid(0), TOTAL)
    assert sum(map(len, chunks)) >= TOTAL
    feed_all(feed, chunks, rng)
    # Whatever state the noise left behind, a clean stretch of valid input reads again.
    feed(b"\r\n")
    got = [item for second in range(1, 7) for item in feed(valid(second))]
    assert len(got) >= 4 * per_valid


def test_garbage_through_the_pty_does_not_stop_the_drivers(run_device: RunDevice) -> None:
    rng = random.Random(7)
    noise = rng.randbytes(200_000)
    with VirtualSerialPort() as ascii_port, VirtualSerialPort() as mercury_port:
        sim = MercurySimulator(mercury_port).start()
        ascii_run = run_device(AsciiReader(name="a", path=ascii_port.device_path))
        settings = MercurySettings(name="m", driver="mercury", path=mercury_port.device_path)
        mercury_run = run_device(MercuryReader(settings))
        ascii_run.wait_for(lambda: ascii_run.device.status().state == "ok")
        mercury_run.wait_for(sim.reading.is_set)
        ascii_port.write(noise + b"\n" + ascii_valid() * 3)
        sim.send_raw(noise + mercury_valid() * 3)
        ascii_run.wait_for(lambda: sum(r.epc == READ.epc for r in ascii_run.items) >= 3)
        mercury_run.wait_for(lambda: sum(r.epc == READ.epc for r in mercury_run.items) >= 3)
        assert sum(ascii_run.device.status().rejected.values()) > 0
        assert sum(mercury_run.device.status().rejected.values()) > 0
        sim.stop()
