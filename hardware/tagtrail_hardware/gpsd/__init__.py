"""gpsd's JSON protocol over TCP: the preferred position source when gpsd runs."""

from tagtrail_hardware.contract import Device, Driver
from tagtrail_hardware.gpsd.client import GpsdClient, GpsdReports
from tagtrail_hardware.gpsd.settings import GpsdSettings


def build(settings: GpsdSettings) -> Device[object]:
    return GpsdClient(name="gps", host=settings.gpsd_host, port=settings.gpsd_port)


DRIVER = Driver(
    name="gpsd", kind="gps", transport="tcp", settings=GpsdSettings, build=build,
    summary="positions from the gpsd daemon over TCP (preferred when gpsd runs)",
)  # fmt: skip

__all__ = ["DRIVER", "GpsdClient", "GpsdReports", "GpsdSettings"]
