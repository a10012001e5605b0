"""tagtrail test bed: real Mosquitto, InfluxDB and gpsd on free loopback ports.

Used by the pytest plugin (``tagtrail_testbed.pytest_plugin``) and by the benchmarks. Every
service is a context manager: leaving it stops the process group and removes its files.
"""

from tagtrail_testbed.errors import BedError, ServiceStartError
from tagtrail_testbed.gpsd import GpsdFake
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker, BrokerUser
from tagtrail_testbed.pki import Pki

__all__ = [
    "BedError",
    "Broker",
    "BrokerUser",
    "GpsdFake",
    "InfluxServer",
    "Pki",
    "ServiceStartError",
]
