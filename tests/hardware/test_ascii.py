"""ASCII line readers: decoder, captures, driver against simulator over a pty, unplug and reopen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tagtrail_hardware.ascii import AsciiDecoder, AsciiReader, AsciiReaderSimulator, LineFormat
from tagtrail_hardware.contract import Backoff
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_testbed.devices import FIXTURES, Running

RunDevice = Callable[[Any], Running]
FAST = Backoff(base_s=0.01, cap_s=0.05)


def read(epc: str, antenna: int = 1, rssi: float | None = -60.0, t: float = 1.7e9) -> TagRead:
    return TagRead(epc=epc, antenna=antenna, time=t, mono_ns=0, rssi_dbm=rssi)


def test_capture_with_epc_antenna_rssi() -> None:
    decoder = AsciiDecoder(LineFormat(), reader="dock-1")
    data = (FIXTURES / "ascii" / "epc-antenna-rssi.txt").read_bytes()
    reads = decoder.feed(data, now=100.0, mono_ns=5)
    assert [(r.epc, r.antenna, r.rssi_dbm) for r in reads] == [
        ("E2801160600002054E2A0B3C", 1, -61.5),
        ("3074257BF7194E4000001A85", 2, -48.0),
        ("3074257BF7194E4000001A85", 9, -47.5),
    ]
    assert all(r.time == 100.0 and r.mono_ns == 5 and r.reader == "dock-1" for r in reads)
    assert decoder.rejected == {"field-count": 1, "bad-epc": 1}


def test_capture_with_other_order_and_separator() -> None:
    fmt = LineFormat(fields=("antenna", "epc"), separator=";")
    reads = AsciiDecoder(fmt).feed(
        (FIXTURES / "ascii" / "antenna-epc-semicolon.txt").read_bytes(), now=1.0, mono_ns=1
    )
    assert [(r.epc, r.antenna, r.rssi_dbm) for r in reads] == [
        ("E2801160600002054E2A0B3C", 1, None),
        ("3074257BF7194E4000001A85", 2, None),  # hex is upper-cased
    ]


def test_reader_timestamps_are_used_when_the_format_has_them() -> None:
    fmt = LineFormat(fields=("time_ms", "epc", "-"))
    reads = AsciiDecoder(fmt).feed(b"1700000000123,ABCD,x\n", now=5.0, mono_ns=1)
    assert reads[0].time == pytest.approx(1_700_000_000.123)


def test_lines_split_across_chunks_and_long_garbage() -> None:
    decoder = AsciiDecoder(LineFormat())
    line = b"E2801160600002054E2A0B3C,1,-61.5\r\n"
    got = [decoder.feed(bytes([b]), now=1.0, mono_ns=1) for b in line]
    assert sum(len(g) for g in got) == 1
    assert decoder.feed(b"x" * 5000, now=1.0, mono_ns=1) == []
    assert decoder.feed(b"\n" + line, now=1.0, mono_ns=1)[0].antenna == 1
    assert decoder.rejected["line-too-long"] == 1


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"E280,300,-50", "bad-antenna"),
        (b"E280,1,loud", "bad-rssi"),
        (b"E280,1,nan", "bad-rssi"),
        (b"E28,1,-50", "bad-epc"),
        (b"\xff\xfe,1,-50", "not-ascii"),
        (b"E280,1", "field-count"),
    ],
)
def test_each_bad_line_is_counted_by_reason(line: bytes, reason: str) -> None:
    decoder = AsciiDecoder(LineFormat())
    assert decoder.feed(line + b"\nE280,1,-50\n", now=1.0, mono_ns=1)[0].epc == "E280"
    assert decoder.rejected == {reason: 1}


def test_bad_formats_are_refused() -> None:
    with pytest.raises(ValueError, match="exactly one 'epc'"):
        LineFormat(fields=("antenna", "rssi"))
    with pytest.raises(ValueError, match="separator"):
        LineFormat(separator="\n")


def test_driver_reads_what_the_simulator_prints(run_device: RunDevice, tmp_path: Path) -> None:
    fmt = LineFormat(fields=("epc", "antenna", "rssi", "time_ms"), separator="|")
    with VirtualSerialPort() as port:
        sent = [
            read(f"{i:024X}", antenna=1 + i % 4, rssi=-40.0 - i % 30, t=1.7e9 + i)
            for i in range(500)
        ]
        running: Running = run_device(
            AsciiReader(name="dock", path=port.device_path, line_format=fmt)
        )
        running.wait_for(lambda: running.device.status().state == "ok")
        AsciiReaderSimulator(port, fmt).send(sent)
        running.wait_for(lambda: len(running.items) == 500)
        assert [(r.epc, r.antenna, r.rssi_dbm, r.time) for r in running.items] == [
            (r.epc, r.antenna, r.rssi_dbm, r.time) for r in sent
        ]


def test_unplugged_reader_reports_absent_and_is_reopened(
    run_device: RunDevice, tmp_path: Path
) -> None:
    link = tmp_path / "ttyUSB-reader"  # like /dev/serial/by-id/...: the name outlives the device
    first = VirtualSerialPort()
    link.symlink_to(first.device_path)
    running: Running = run_device(AsciiReader(name="dock", path=str(link), backoff=FAST))
    running.wait_for(lambda: running.device.status().state == "ok")
    AsciiReaderSimulator(first).send([read("AAAA")])
    running.wait_for(lambda: len(running.items) == 1)

    first.unplug()
    link.unlink()
    running.wait_for(lambda: running.device.status().state == "absent")
    assert "ttyUSB-reader" in (running.device.status().detail or "")

    with VirtualSerialPort() as second:
        link.symlink_to(second.device_path)
        running.wait_for(lambda: running.device.status().state == "ok")
        AsciiReaderSimulator(second).send([read("BBBB")])
        running.wait_for(lambda: len(running.items) == 2)
    assert [r.epc for r in running.items] == ["AAAA", "BBBB"]
    assert running.device.status().reopens >= 1
