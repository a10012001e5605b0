"""ThingMagic Mercury serial protocol (M6e Nano and relatives): driver and simulator."""

from tagtrail_hardware.contract import Device, Driver
from tagtrail_hardware.mercury.driver import MercuryReader, query
from tagtrail_hardware.mercury.frames import Frame, FrameDecoder, crc16, encode_command
from tagtrail_hardware.mercury.settings import MercurySettings
from tagtrail_hardware.mercury.simulator import MercurySimulator


def build(settings: MercurySettings) -> Device[object]:
    return MercuryReader(settings)


DRIVER = Driver(
    name="mercury", kind="rfid-reader", transport="serial", settings=MercurySettings, build=build,
    summary="a ThingMagic Mercury module (M6e Nano, Micro...) on a serial port", query=query,
)  # fmt: skip

__all__ = [
    "DRIVER",
    "Frame",
    "FrameDecoder",
    "MercuryReader",
    "MercurySettings",
    "MercurySimulator",
    "crc16",
    "encode_command",
]
