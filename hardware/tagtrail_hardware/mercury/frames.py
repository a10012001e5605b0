"""Mercury framing: ``0xFF, length, opcode, [status], data, CRC-16`` and a resynchronising decoder.

Host to reader: ``FF LEN OP DATA[LEN] CRC_HI CRC_LO``. Reader to host: ``FF LEN OP STATUS_HI
STATUS_LO DATA[LEN] CRC_HI CRC_LO``. The CRC is ThingMagic's: a CRC-16 with polynomial 0x1021 and
initial value 0xFFFF that shifts the message in nibble by nibble (no final augmentation, so it
differs from CRC-16/CCITT-FALSE), computed over LEN..DATA (the 0xFF header excluded).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Final, Literal

HEADER: Final = 0xFF
_TABLE: Final = tuple(
    ((i << 12) ^ (i << 5) ^ i) & 0xFFFF  # i * 0x1021 over GF(2) for a 4-bit i
    for i in range(16)
)


def crc16(data: bytes) -> int:
    """ThingMagic's message CRC over ``data`` (LEN..DATA of a frame)."""
    crc = 0xFFFF
    for byte in data:
        crc = (((crc << 4) | (byte >> 4)) ^ _TABLE[crc >> 12]) & 0xFFFF
        crc = (((crc << 4) | (byte & 0x0F)) ^ _TABLE[crc >> 12]) & 0xFFFF
    return crc


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame; ``status`` is None for host-to-reader commands."""

    opcode: int
    data: bytes
    status: int | None = None


def encode_command(opcode: int, data: bytes = b"") -> bytes:
    """A host-to-reader frame."""
    if len(data) > 255:
        raise ValueError("a Mercury frame carries at most 255 data bytes")
    body = bytes((len(data), opcode)) + data
    return bytes((HEADER,)) + body + crc16(body).to_bytes(2, "big")


def encode_response(opcode: int, status: int, data: bytes = b"") -> bytes:
    """A reader-to-host frame."""
    if len(data) > 255:
        raise ValueError("a Mercury frame carries at most 255 data bytes")
    body = bytes((len(data), opcode)) + status.to_bytes(2, "big") + data
    return bytes((HEADER,)) + body + crc16(body).to_bytes(2, "big")


class FrameDecoder:
    """Streaming decoder: feed bytes, get whole frames with a good CRC.

    After garbage or a truncated frame it resynchronises on the next 0xFF: a candidate frame whose
    CRC fails gives up only its header byte, so a good frame hidden inside it is still found.
    Rejects are counted by reason (``garbage``, ``bad-crc``).
    """

    def __init__(self, direction: Literal["response", "command"] = "response") -> None:
        self._extra = 7 if direction == "response" else 5  # header, len, opcode, [status], CRC
        self._status = direction == "response"
        self._buffer = bytearray()
        self.rejected: Counter[str] = Counter()

    def feed(self, data: bytes) -> list[Frame]:
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        start = 0
        while True:
            head = buffer.find(HEADER, start)
            if head < 0:
                if len(buffer) > start:
                    self.rejected["garbage"] += 1
                start = len(buffer)
                break
            if head > start:
                self.rejected["garbage"] += 1
            if head + 2 > len(buffer):
                start = head
                break
            end = head + buffer[head + 1] + self._extra
            if end > len(buffer):
                start = head
                break
            frame = self._frame(bytes(buffer[head + 1 : end]))
            if frame is None:
                self.rejected["bad-crc"] += 1
                start = head + 1
                continue
            frames.append(frame)
            start = end
        del buffer[:start]
        return frames

    def pending(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buffer)

    def _frame(self, body: bytes) -> Frame | None:
        if crc16(body[:-2]) != int.from_bytes(body[-2:], "big"):
            return None
        if self._status:
            return Frame(opcode=body[1], status=int.from_bytes(body[2:4], "big"), data=body[4:-2])
        return Frame(opcode=body[1], data=body[2:-2])
