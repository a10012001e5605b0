"""NMEA 0183 GPS receivers over a serial port, and gpsd's JSON protocol."""

from tagtrail_hardware.nmea.driver import NmeaGps
from tagtrail_hardware.nmea.fixes import FixBuilder, NmeaDecoder
from tagtrail_hardware.nmea.sentences import Sentence, parse_sentence
from tagtrail_hardware.nmea.simulator import NmeaSimulator, Route

__all__ = [
    "FixBuilder",
    "NmeaDecoder",
    "NmeaGps",
    "NmeaSimulator",
    "Route",
    "Sentence",
    "parse_sentence",
]
