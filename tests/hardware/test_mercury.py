"""ThingMagic Mercury protocol: CRC and framing on real bytes, resync, driver against simulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tagtrail_hardware.contract import Backoff
from tagtrail_hardware.errors import ParseError
from tagtrail_hardware.mercury import MercuryReader, MercurySettings, MercurySimulator
from tagtrail_hardware.mercury import messages as m
from tagtrail_hardware.mercury.frames import FrameDecoder, crc16, encode_command, encode_response
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_testbed.devices import FIXTURES, Running

RunDevice = Callable[[Any], Running]
CAPTURES = FIXTURES / "mercury"


def test_crc_matches_the_reader_on_real_frames() -> None:
    # The VERSION command every ThingMagic host sends first, and a frame an M6e Nano sent.
    assert encode_command(m.Op.VERSION) == bytes.fromhex("FF00031D0C")
    real = (CAPTURES / "m6e-nano-tag-record.bin").read_bytes()
    assert crc16(real[1:-2]) == int.from_bytes(real[-2:], "big") == 0x561D


def test_real_tag_record_parses_field_by_field() -> None:
    frames = FrameDecoder().feed((CAPTURES / "m6e-nano-tag-record.bin").read_bytes())
    assert len(frames) == 1
    assert (frames[0].opcode, frames[0].status) == (0x22, 0)
    record = m.parse_tag_record(frames[0].data)
    assert record.epc.hex().upper() == "000000000000000000001545"
    assert (record.rssi_dbm, record.antenna, record.frequency_khz) == (-60, 1, 923_200)
    assert (record.timestamp_ms, record.pc) == (295, 0x3000)


def test_stream_capture_resynchronises_after_noise_and_a_cut_frame() -> None:
    decoder = FrameDecoder()
    data = (CAPTURES / "continuous-read-stream.bin").read_bytes()
    frames = [f for i in range(0, len(data), 7) for f in decoder.feed(data[i : i + 7])]
    statuses = [f.status for f in frames]
    assert statuses == [m.KEEPALIVE, 0, 0, m.TEMPERATURE_THROTTLE, 0]
    epcs = [m.parse_tag_record(f.data).epc.hex().upper() for f in frames if f.data]
    assert epcs == [
        "3074257BF7194E4000001A85",
        "E2801160600002054E2A0B3C",
        "000000000000000000001545",
    ]
    assert decoder.rejected["garbage"] >= 1
    assert decoder.rejected["bad-crc"] >= 1  # the frame cut short by the noise
    assert decoder.pending() == 0


def test_version_capture() -> None:
    frame = FrameDecoder().feed((CAPTURES / "version-response.bin").read_bytes())[0]
    version = m.parse_version(frame.data)
    assert version.hardware == "18.00.00.02"
    assert "01.0B.03.11" in version.describe()


@given(st.binary(max_size=255), st.integers(0, 255), st.integers(0, 0xFFFF))
def test_frames_round_trip_through_any_split(data: bytes, opcode: int, status: int) -> None:
    frame = encode_response(opcode, status, data)
    decoder = FrameDecoder()
    got = decoder.feed(frame[:3]) + decoder.feed(frame[3:])
    assert [(f.opcode, f.status, f.data) for f in got] == [(opcode, status, data)]


def test_short_and_malformed_records_are_parse_errors() -> None:
    with pytest.raises(ParseError, match="short-record"):
        m.parse_tag_record(b"\x00" * 10)
    good = m.encode_tag_record(m.TagRecord(b"\x12\x34", 1, -50, 866_900, 0, 0, 0x0800))
    with pytest.raises(ParseError, match="bad-epc-length"):
        m.parse_tag_record(good + b"\x00")


def mercury(path: str, **settings: Any) -> MercurySettings:
    return MercurySettings(name="gate", driver="mercury", path=path, **settings)


def test_settings_are_validated() -> None:
    with pytest.raises(ValidationError, match="region"):
        mercury("/dev/x", region="mars")
    with pytest.raises(ValidationError, match="antennas"):
        mercury("/dev/x", antennas=(0,))
    with pytest.raises(ValidationError, match="antennas"):
        mercury("/dev/x", antennas=())


def reads(n: int) -> list[TagRead]:
    return [
        TagRead(
            epc=f"3074{i:020X}", antenna=1 + i % 2, time=0.0, mono_ns=0, rssi_dbm=-40.0 - i % 40
        )
        for i in range(n)
    ]


def test_start_up_sequence_then_continuous_reading(run_device: RunDevice) -> None:
    with VirtualSerialPort() as port:
        sim = MercurySimulator(port, keepalive_s=0.2).start()
        settings = mercury(port.device_path, region="eu", read_power_cdbm=2300, antennas=(1, 2))
        running = run_device(MercuryReader(settings))
        running.wait_for(sim.reading.is_set)
        opcodes = [f.opcode for f in sim.commands]
        assert opcodes == [0x2F, 0x03, 0x93, 0x97, 0x92, 0x91, 0x9A, 0x2F]  # stop, version, ...
        assert sim.config[m.Op.SET_REGION] == bytes((m.REGIONS["eu"],))
        assert sim.config[m.Op.SET_READ_TX_POWER] == (2300).to_bytes(2, "big")
        assert sim.config[m.Op.SET_ANTENNA_PORT] == b"\x02\x01\x01\x02\x02"
        sent = reads(300)
        sim.emit(sent)
        running.wait_for(lambda: len(running.items) == 300)
        assert [(r.epc, r.antenna, r.rssi_dbm) for r in running.items] == [
            (r.epc, r.antenna, r.rssi_dbm) for r in sent
        ]
        status = running.device.status()
        assert status.state == "ok"
        assert "01.0B.03.11" in (status.identity or "")
        sim.throttle()
        running.wait_for(lambda: running.device.throttled)
        assert "temperature" in (running.device.status().detail or "")
        running.wait_for(lambda: not running.device.throttled)  # the next keepalive clears it
        sim.stop()


def test_a_refused_command_puts_the_reader_in_error(run_device: RunDevice) -> None:
    with VirtualSerialPort() as port:
        sim = MercurySimulator(port, refuse={m.Op.SET_REGION: 0x0105}).start()
        reader = MercuryReader(mercury(port.device_path), backoff=Backoff(base_s=5.0, cap_s=5.0))
        running = run_device(reader)
        running.wait_for(lambda: reader.status().state == "error")
        assert "0x97" in (reader.status().detail or "")
        assert "0x0105" in (reader.status().detail or "")
        assert not sim.reading.is_set()
        sim.stop()


def test_a_silent_reader_is_reopened(run_device: RunDevice) -> None:
    with VirtualSerialPort() as port:
        sim = MercurySimulator(port, keepalive_s=60.0).start()
        reader = MercuryReader(
            mercury(port.device_path), silence_timeout_s=0.3, backoff=Backoff(0.01, 0.02)
        )
        running = run_device(reader)
        running.wait_for(lambda: reader.status().reopens >= 1)
        # The reopen runs the start-up again: the reader is told to stop and start once more.
        running.wait_for(lambda: [f.opcode for f in sim.commands].count(m.Op.VERSION) >= 2)
        sim.stop()
