"""Driver of a ThingMagic Mercury reader: start-up sequence, then continuous reading."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import serial

from tagtrail_hardware.contract import Backoff, Found, Sink
from tagtrail_hardware.errors import DeviceError, DeviceTimeout, ParseError, ReaderError
from tagtrail_hardware.mercury import messages as m
from tagtrail_hardware.mercury.frames import Frame, FrameDecoder, encode_command
from tagtrail_hardware.mercury.settings import MercurySettings
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.serial_port import SerialDevice, read_available


@dataclass(slots=True)
class _Link:
    """An open port and its frame decoder, for one session."""

    port: serial.Serial
    decoder: FrameDecoder
    held: list[Frame] = field(default_factory=list)


class MercuryReader(SerialDevice[TagRead]):
    """A Mercury-protocol reader (M6e Nano, M6e Micro...) on a serial port."""

    kind = "rfid-reader"

    def __init__(
        self,
        settings: MercurySettings,
        *,
        backoff: Backoff | None = None,
        command_timeout_s: float = 1.0,
        silence_timeout_s: float = 5.0,
    ) -> None:
        super().__init__(
            name=settings.name, path=settings.path, baudrate=settings.baudrate, backoff=backoff
        )
        self.settings = settings
        self.command_timeout_s = command_timeout_s
        self.silence_timeout_s = silence_timeout_s
        self.throttled = False
        self._anchor: float | None = None  # host time of the last keepalive

    def _session(
        self,
        port: serial.Serial,
        sink: Sink[TagRead],
        stop: threading.Event,
        *,
        on_ready: Callable[[], None],
    ) -> None:
        decoder = FrameDecoder("response")
        decoder.rejected = self.rejected
        link = _Link(port, decoder)
        self.start_up(link)
        on_ready()
        last_heard = time.monotonic()
        while not stop.is_set():
            frames = link.held + decoder.feed(read_available(port))
            link.held = []
            if frames:
                last_heard = time.monotonic()
                reads = self._reads(frames)
                if reads:
                    sink(reads)
            elif time.monotonic() - last_heard > self.silence_timeout_s:
                raise DeviceTimeout(f"{self.path}: no frame for {self.silence_timeout_s} s")
        _send(link, m.Op.MULTI_PROTOCOL_TAG_OP, m.STOP_CONTINUOUS)

    def start_up(self, link: _Link) -> None:
        """Stop a search left running, identify the reader and configure it; then start reading."""
        _send(link, m.Op.MULTI_PROTOCOL_TAG_OP, m.STOP_CONTINUOUS)
        time.sleep(0.05)
        link.port.reset_input_buffer()
        link.decoder.feed(b"")
        s = self.settings
        version = m.parse_version(self._command(link, m.Op.VERSION).data)
        self.identity = version.describe()
        self._command(link, m.Op.SET_TAG_PROTOCOL, m.GEN2.to_bytes(2, "big"))
        self._command(link, m.Op.SET_REGION, bytes((m.REGIONS[s.region],)))
        self._command(link, m.Op.SET_READ_TX_POWER, s.read_power_cdbm.to_bytes(2, "big"))
        ports = b"".join(bytes((a, a)) for a in s.antennas)
        self._command(
            link, m.Op.SET_ANTENNA_PORT, (b"\x02" + ports) if len(s.antennas) > 1 else ports
        )
        self._command(link, m.Op.SET_READER_OPTIONAL_PARAMS, m.DISABLE_READ_FILTER)
        self._command(link, m.Op.MULTI_PROTOCOL_TAG_OP, m.START_CONTINUOUS)

    def _command(self, link: _Link, opcode: int, data: bytes = b"") -> Frame:
        """Send a command and wait for its answer; frames of other opcodes are kept for later."""
        _send(link, opcode, data)
        deadline = time.monotonic() + self.command_timeout_s
        while time.monotonic() < deadline:
            for frame in link.decoder.feed(read_available(link.port)):
                if frame.opcode != opcode:
                    link.held.append(frame)
                elif frame.status != m.OK:
                    raise ReaderError(opcode, frame.status or 0)
                else:
                    return frame
        raise DeviceTimeout(f"{self.path}: no answer to opcode 0x{opcode:02X}")

    def _reads(self, frames: list[Frame]) -> list[TagRead]:
        now, mono = time.time(), time.monotonic_ns()
        reads: list[TagRead] = []
        for frame in frames:
            if frame.opcode != m.Op.READ_TAG_ID_MULTIPLE:
                continue
            if frame.status == m.KEEPALIVE:
                self._anchor, self.throttled = now, False
                self._set_state("ok", None)
            elif frame.status == m.TEMPERATURE_THROTTLE:
                self.throttled = True
                self._set_state("ok", "temperature throttle: the reader is cutting its duty cycle")
            elif frame.status != m.OK:
                self.rejected[f"status-{frame.status:04x}"] += 1
            elif frame.data:
                read = self._read(frame.data, now, mono)
                if read is not None:
                    reads.append(read)
        return reads

    def _read(self, data: bytes, now: float, mono: int) -> TagRead | None:
        try:
            record = m.parse_tag_record(data)
        except ParseError as exc:
            self.rejected[exc.reason] += 1
            return None
        when, stamped = now, False
        if self._anchor is not None and 0 <= self._anchor + record.timestamp_ms / 1000 <= now:
            when, stamped = self._anchor + record.timestamp_ms / 1000, True
        return TagRead(
            epc=record.epc.hex().upper(),
            antenna=record.antenna,
            time=when,
            mono_ns=mono,
            rssi_dbm=float(record.rssi_dbm),
            frequency_khz=record.frequency_khz,
            reader=self.name,
            reader_clock=stamped,
        )


def _send(link: _Link, opcode: int, data: bytes = b"") -> None:
    try:
        link.port.write(encode_command(opcode, data))
    except (serial.SerialException, OSError) as exc:
        raise DeviceError(f"write to {link.port.port} failed: {exc}") from exc


def query(path: str, port: serial.Serial, baudrate: int) -> Found | None:
    """A Mercury reader, if the port answers a VERSION command (after a stop, in case one was
    left reading); nothing is configured and nothing is left running."""
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
                    path, "mercury-reader", baudrate, version.describe(),
                    {"hardware": version.hardware, "firmware": version.firmware,
                     "firmware_date": version.firmware_date},
                )  # fmt: skip
        time.sleep(0.02)
    return None
