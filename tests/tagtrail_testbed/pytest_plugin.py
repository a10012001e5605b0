"""pytest fixtures for the real-service test bed (loaded by the root pytest config)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_testbed.devices import Running
from tagtrail_testbed.gpsd import GpsdFake, conformance_dir
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker

# Per-example deadlines measure the machine, not the code: a loaded CI box would make them flaky.
settings.register_profile("tagtrail", deadline=None, print_blob=True)
settings.load_profile("tagtrail")


@pytest.fixture(scope="session")
def conformance() -> Path:
    """The shared conformance folder (real-world captures); fails loudly when missing."""
    path = conformance_dir()
    if not path.is_dir():
        pytest.fail(f"conformance data not found at {path}; set TAGTRAIL_CONFORMANCE_DIR")
    return path


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Broker]:
    """A plain broker (anonymous, no TLS) shared by the session."""
    with Broker() as broker:
        yield broker


@pytest.fixture
def broker_factory() -> Iterator[Callable[..., Broker]]:
    """Start brokers with any ``Broker`` options; all are stopped at the end of the test."""
    with ExitStack() as stack:

        def start(**options: Any) -> Broker:
            return stack.enter_context(Broker(**options))

        yield start


@pytest.fixture(scope="session")
def influxdb_server() -> Iterator[InfluxServer]:
    """One ``influxd`` for the session (tsi1, loopback, temp dirs)."""
    with InfluxServer() as server:
        yield server


@pytest.fixture
def influxdb(influxdb_server: InfluxServer) -> Iterator[tuple[InfluxServer, str]]:
    """A fresh, empty database on the session's InfluxDB: ``(server, database name)``."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    influxdb_server.create_database(name)
    try:
        yield influxdb_server, name
    finally:
        influxdb_server.drop_database(name)


@pytest.fixture
def gpsd_factory() -> Iterator[Callable[..., GpsdFake]]:
    """Start gpsd via gpsfake on a capture: ``gpsd_factory(path, cycle=0.02)``."""
    with ExitStack() as stack:

        def start(capture: Path, **options: Any) -> GpsdFake:
            return stack.enter_context(GpsdFake(capture, **options))

        yield start


@pytest.fixture
def virtual_serial_port() -> Iterator[VirtualSerialPort]:
    """A pty pair: write on it as a device, open ``.device_path`` with pyserial."""
    with VirtualSerialPort() as port:
        yield port


@pytest.fixture
def run_device() -> Iterator[Callable[[Any], Running]]:
    """Start drivers in threads: ``run_device(driver)``; all are stopped at the end of the test."""
    started: list[Running] = []

    def start(device: Any) -> Running:
        running = Running(device)
        started.append(running)
        return running

    yield start
    for running in started:
        running.close()
