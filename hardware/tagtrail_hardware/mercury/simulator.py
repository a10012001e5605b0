"""Simulator of a Mercury reader on a virtual serial port: answers commands, streams tags."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from tagtrail_hardware.errors import VirtualPortError
from tagtrail_hardware.mercury import messages as m
from tagtrail_hardware.mercury.frames import Frame, FrameDecoder, encode_response
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.virtual import VirtualSerialPort

NANO_VERSION = m.Version("12.12.13.00", "18.00.00.02", "20.17.05.09", "01.0B.03.11")


class MercurySimulator:
    """An M6e Nano as seen from its serial port. ``start()`` runs it in a thread.

    While a continuous search runs, ``emit(reads)`` sends tag records and a keepalive goes out
    every ``keepalive_s``. ``refuse`` maps opcodes to the status word to answer them with.
    """

    def __init__(
        self,
        port: VirtualSerialPort,
        *,
        version: m.Version = NANO_VERSION,
        keepalive_s: float = 1.0,
        refuse: dict[int, int] | None = None,
    ) -> None:
        self.port = port
        self.version = version
        self.keepalive_s = keepalive_s
        self.refuse = dict(refuse or {})
        self.reading = threading.Event()
        self.commands: list[Frame] = []
        self.config: dict[int, bytes] = {}
        self._decoder = FrameDecoder("command")
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._anchor = time.monotonic()
        self._thread = threading.Thread(target=self._serve, name="mercury-sim", daemon=True)

    def start(self) -> MercurySimulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def emit(self, reads: Iterable[TagRead]) -> int:
        """Send tag records for ``reads`` (only while reading, as a real reader does)."""
        if not self.reading.is_set():
            return 0
        frames = [self.record_frame(read) for read in reads]
        self.send_raw(b"".join(frames))
        return len(frames)

    def record_frame(self, read: TagRead) -> bytes:
        elapsed = max(0, int((time.monotonic() - self._anchor) * 1000))
        record = m.TagRecord(
            epc=bytes.fromhex(read.epc),
            antenna=read.antenna,
            rssi_dbm=int(read.rssi_dbm if read.rssi_dbm is not None else -60),
            frequency_khz=read.frequency_khz or 866_900,
            timestamp_ms=elapsed,
            phase=0,
            pc=(len(read.epc) // 4) << 11,
        )
        return encode_response(m.Op.READ_TAG_ID_MULTIPLE, m.OK, m.encode_tag_record(record))

    def throttle(self) -> None:
        """Report a temperature throttle, as a hot reader does instead of a keepalive."""
        self.send_raw(encode_response(m.Op.READ_TAG_ID_MULTIPLE, m.TEMPERATURE_THROTTLE))

    def send_raw(self, data: bytes) -> None:
        with self._write_lock:
            self.port.write(data)

    def _serve(self) -> None:
        next_keepalive = time.monotonic() + self.keepalive_s
        while not self._stop.is_set():
            try:
                data = self.port.read(timeout=0.05)
            except VirtualPortError:
                return
            for frame in self._decoder.feed(data):
                self._answer(frame)
            if self.reading.is_set() and time.monotonic() >= next_keepalive:
                self._anchor = time.monotonic()
                self.send_raw(encode_response(m.Op.READ_TAG_ID_MULTIPLE, m.KEEPALIVE))
                next_keepalive = time.monotonic() + self.keepalive_s

    def _answer(self, frame: Frame) -> None:
        self.commands.append(frame)
        if frame.opcode in self.refuse:
            self.send_raw(encode_response(frame.opcode, self.refuse[frame.opcode]))
            return
        if frame.opcode == m.Op.VERSION:
            self.send_raw(encode_response(frame.opcode, m.OK, m.encode_version(self.version)))
        elif frame.opcode == m.Op.MULTI_PROTOCOL_TAG_OP:
            self._search(frame)
        elif frame.opcode in m.Op.__members__.values():
            self.config[frame.opcode] = frame.data
            self.send_raw(encode_response(frame.opcode, m.OK))
        else:
            self.send_raw(encode_response(frame.opcode, 0x0101))  # "unknown opcode"

    def _search(self, frame: Frame) -> None:
        if frame.data == m.STOP_CONTINUOUS:
            self.reading.clear()
            self.send_raw(encode_response(frame.opcode, m.OK, frame.data[:3]))
        else:
            self._anchor = time.monotonic()
            self.send_raw(encode_response(frame.opcode, m.OK, frame.data[:3]))
            self.reading.set()
