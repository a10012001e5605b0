"""A dummy reader driver: what a new driver takes is this folder and one registry line.

It "reads" a fixed list of EPCs, round after round, from an in-memory transport, through the
same device loop as the real drivers; ``fail_after`` rounds make its transport fail, as a pulled
cable does, so the loop reopens it.
"""

from tagtrail_hardware.contract import Device, Driver
from tagtrail_testbed.dummy_driver.driver import DummyReader
from tagtrail_testbed.dummy_driver.settings import DummySettings


def build(settings: DummySettings) -> Device[object]:
    return DummyReader(settings)


DRIVER = Driver(
    name="dummy", kind="rfid-reader", transport="tcp", settings=DummySettings, build=build,
    summary="a reader that repeats a fixed list of tags (for tests)",
)  # fmt: skip

__all__ = ["DRIVER", "DummyReader", "DummySettings"]
