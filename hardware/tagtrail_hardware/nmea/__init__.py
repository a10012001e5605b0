"""NMEA 0183 GPS receivers over a serial port: driver, decoder and simulator."""

from tagtrail_hardware.contract import Device, Driver
from tagtrail_hardware.nmea.driver import NmeaGps, recognise
from tagtrail_hardware.nmea.fixes import FixBuilder, NmeaDecoder
from tagtrail_hardware.nmea.sentences import Sentence, parse_sentence
from tagtrail_hardware.nmea.settings import NmeaSettings
from tagtrail_hardware.nmea.simulator import NmeaSimulator, Route


def build(settings: NmeaSettings) -> Device[object]:
    return NmeaGps(name="gps", path=settings.path, baudrate=settings.baudrate)


DRIVER = Driver(
    name="nmea", kind="gps", transport="serial", settings=NmeaSettings, build=build,
    summary="a GPS receiver streaming NMEA 0183 on a serial port", recognise=recognise,
)  # fmt: skip

__all__ = [
    "DRIVER",
    "FixBuilder",
    "NmeaDecoder",
    "NmeaGps",
    "NmeaSettings",
    "NmeaSimulator",
    "Route",
    "Sentence",
    "parse_sentence",
]
