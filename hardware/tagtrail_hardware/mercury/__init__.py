"""ThingMagic Mercury serial protocol (M6e Nano and relatives): driver and simulator."""

from tagtrail_hardware.mercury.driver import MercuryReader, ReaderSettings
from tagtrail_hardware.mercury.frames import Frame, FrameDecoder, crc16, encode_command
from tagtrail_hardware.mercury.simulator import MercurySimulator

__all__ = [
    "Frame",
    "FrameDecoder",
    "MercuryReader",
    "MercurySimulator",
    "ReaderSettings",
    "crc16",
    "encode_command",
]
