"""Mercury opcodes, status words, command payloads and the continuous-read tag record."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from tagtrail_hardware.errors import ParseError


class Op(IntEnum):
    VERSION = 0x03
    SET_BAUD_RATE = 0x06
    READ_TAG_ID_MULTIPLE = 0x22
    MULTI_PROTOCOL_TAG_OP = 0x2F
    SET_ANTENNA_PORT = 0x91
    SET_READ_TX_POWER = 0x92
    SET_TAG_PROTOCOL = 0x93
    SET_REGION = 0x97
    SET_READER_OPTIONAL_PARAMS = 0x9A


OK: Final = 0x0000
KEEPALIVE: Final = 0x0400
"""Status of the empty 0x22 frame the reader sends about once a second while reading."""
TEMPERATURE_THROTTLE: Final = 0x0504
"""Status of the empty 0x22 frame sent while the reader cuts its duty cycle because it is hot."""

GEN2: Final = 0x05
REGIONS: Final = {"na": 0x0D, "eu": 0x08, "in": 0x04, "jp": 0x05, "prc": 0x06, "kr": 0x09,
                  "au": 0x0B, "nz": 0x0C, "open": 0xFF}  # fmt: skip

START_CONTINUOUS: Final = bytes.fromhex("00000122000005072210001B03E801FF")
"""Continuous Gen2 search with RSSI, antenna, frequency, timestamp, phase and protocol metadata."""
STOP_CONTINUOUS: Final = bytes.fromhex("000002")
DISABLE_READ_FILTER: Final = bytes.fromhex("010C00")
_RECORD_HEADER: Final = bytes.fromhex("10001B01FF0101")


@dataclass(frozen=True, slots=True)
class Version:
    """The reader's answer to VERSION."""

    bootloader: str
    hardware: str
    firmware_date: str
    firmware: str

    def describe(self) -> str:
        return f"Mercury hardware {self.hardware}, firmware {self.firmware} ({self.firmware_date})"


def _dotted(data: bytes) -> str:
    return ".".join(f"{b:02X}" for b in data)


def parse_version(data: bytes) -> Version:
    if len(data) < 16:
        raise ParseError("bad-version", f"{len(data)} bytes, expected at least 16")
    return Version(
        _dotted(data[0:4]), _dotted(data[4:8]), _dotted(data[8:12]), _dotted(data[12:16])
    )


def encode_version(version: Version) -> bytes:
    fields = (version.bootloader, version.hardware, version.firmware_date, version.firmware)
    return b"".join(bytes(int(p, 16) for p in f.split(".")) for f in fields) + bytes(4)


@dataclass(frozen=True, slots=True)
class TagRecord:
    """One tag in a continuous-read frame (opcode 0x22, status 0)."""

    epc: bytes
    antenna: int
    rssi_dbm: int
    frequency_khz: int
    timestamp_ms: int
    phase: int
    pc: int


def parse_tag_record(data: bytes) -> TagRecord:
    """Parse the record layout started by ``START_CONTINUOUS``; :class:`ParseError` if it is not."""
    if len(data) < 26:
        raise ParseError("short-record", f"{len(data)} bytes")
    embedded = (int.from_bytes(data[19:21], "big") + 7) // 8
    at = 22 + embedded
    if len(data) < at + 4:
        raise ParseError("short-record", f"{len(data)} bytes with {embedded} embedded")
    epc_bits = int.from_bytes(data[at : at + 2], "big")
    epc_len = epc_bits // 8 - 4  # the length counts the PC word and the tag's CRC
    if epc_bits % 16 or epc_len < 2 or len(data) != at + 4 + epc_len + 2:
        raise ParseError("bad-epc-length", f"{epc_bits} bits in a {len(data)}-byte record")
    return TagRecord(
        epc=bytes(data[at + 4 : at + 4 + epc_len]),
        antenna=data[8] & 0x0F,
        rssi_dbm=data[7] - 256 if data[7] > 127 else data[7],
        frequency_khz=int.from_bytes(data[9:12], "big"),
        timestamp_ms=int.from_bytes(data[12:16], "big"),
        phase=int.from_bytes(data[16:18], "big"),
        pc=int.from_bytes(data[at + 2 : at + 4], "big"),
    )


def encode_tag_record(record: TagRecord, *, tag_crc: int = 0) -> bytes:
    """The bytes of a record as the reader sends them (for the simulator)."""
    epc_bits = (len(record.epc) + 4) * 8
    return (
        _RECORD_HEADER
        + (record.rssi_dbm & 0xFF).to_bytes(1, "big")
        + bytes(((record.antenna << 4) | record.antenna,))
        + record.frequency_khz.to_bytes(3, "big")
        + record.timestamp_ms.to_bytes(4, "big")
        + record.phase.to_bytes(2, "big")
        + bytes((GEN2,))
        + bytes(2)  # no embedded data
        + b"\x0f"
        + epc_bits.to_bytes(2, "big")
        + record.pc.to_bytes(2, "big")
        + record.epc
        + tag_crc.to_bytes(2, "big")
    )
