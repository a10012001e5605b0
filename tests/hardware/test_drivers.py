"""The driver contract: every driver folder documents itself, and a new driver is one folder
plus one registry line (the dummy driver of the test bed), validated and run like the others."""

from __future__ import annotations

import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tagtrail_hardware
from tagtrail_edge.config import EdgeConfig, validate
from tagtrail_edge.errors import ConfigError
from tagtrail_edge.pipeline import read
from tagtrail_hardware import drivers
from tagtrail_hardware.contract import Driver
from tagtrail_hardware.reads import TagRead
from tagtrail_testbed import dummy_driver

HARDWARE = Path(tagtrail_hardware.__file__).parent
BASE = {"gateway": {"id": "g", "site": "s"}}


@pytest.fixture
def dummy() -> Iterator[Driver[Any]]:
    drivers.register(dummy_driver.DRIVER)  # the one registry line
    yield dummy_driver.DRIVER
    drivers.unregister("dummy")


def folder_of(driver: Driver[Any]) -> Path:
    module = __import__(driver.build.__module__, fromlist=["_"])
    return Path(module.__file__ or "").parent


def sample(driver: Driver[Any]) -> dict[str, object]:
    return tomllib.loads((folder_of(driver) / "sample.toml").read_text())


@pytest.mark.parametrize("driver", drivers.BUILT_IN, ids=lambda d: d.name)
def test_every_driver_folder_has_a_readme_and_a_sample_that_validates(
    driver: Driver[Any],
) -> None:
    folder = folder_of(driver)
    assert folder.parent == HARDWARE
    readme = (folder / "README.md").read_text()
    for key in driver.settings.model_fields:
        assert f"`{key}`" in readme, f"{driver.name}'s README does not document {key}"
    config = validate(BASE | sample(driver), folder / "sample.toml")
    entries = [*config.readers, *([config.gps] if config.gps else [])]
    assert [type(e) for e in entries] == [driver.settings]


def test_a_new_driver_is_a_folder_and_one_registry_line(dummy: Driver[Any]) -> None:
    folder = folder_of(dummy)
    files = sorted(p.name for p in folder.iterdir() if p.name != "__pycache__")
    assert files == [
        "README.md", "__init__.py", "driver.py", "sample.toml", "settings.py",
    ]  # fmt: skip
    config = validate(BASE | sample(dummy), folder / "sample.toml")
    devices = read.readers(config)
    assert [(d.name, d.kind) for d in devices] == [("bench", "rfid-reader")]
    got: list[TagRead] = []
    stop = threading.Event()
    runner = threading.Thread(target=devices[0].run, args=(got.extend, stop), daemon=True)
    runner.start()
    deadline = time.monotonic() + 10
    while len(got) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    runner.join(5)
    assert {(r.epc, r.antenna, r.reader) for r in got} == {
        ("3074257BF7194E4000001A85", 2, "bench"), ("303613C2640C0E40000003E9", 2, "bench"),
    }  # fmt: skip
    assert devices[0].status().state == "ok"


def test_its_keys_are_checked_at_start_up_like_any_driver(dummy: Driver[Any]) -> None:
    entry = {"name": "bench", "driver": "dummy", "epcs": ["not hex"]}
    with pytest.raises(ConfigError, match=r"readers\.0\.epcs\.0"):
        validate(BASE | {"readers": [entry]}, Path("edge.toml"))
    mercury_key = {"name": "bench", "driver": "dummy", "epcs": ["ABCDEF01"], "region": "eu"}
    with pytest.raises(ConfigError, match="region: key\\(s\\) of the mercury driver, not of dummy"):
        validate(BASE | {"readers": [mercury_key]}, Path("edge.toml"))


def test_a_failing_transport_is_reopened_by_the_shared_loop(dummy: Driver[Any]) -> None:
    entry = {"name": "flaky", "driver": "dummy", "epcs": ["ABCDEF01"], "fail_after": 2}
    config = validate(BASE | {"readers": [entry]}, Path("edge.toml"))
    device = read.readers(config)[0]
    stop = threading.Event()
    runner = threading.Thread(target=device.run, args=(lambda reads: None, stop), daemon=True)
    runner.start()
    deadline = time.monotonic() + 10
    while device.status().reopens < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    runner.join(5)
    assert device.status().reopens >= 2
    assert "pulled cable" in (device.status().detail or "") or device.status().state == "ok"


def test_unregistered_the_driver_is_refused_with_the_known_ones() -> None:
    entry = {"name": "bench", "driver": "dummy", "epcs": ["ABCDEF01"]}
    with pytest.raises(
        ConfigError, match="driver = 'dummy' is not a driver; one of: ascii, mercury"
    ):
        validate(BASE | {"readers": [entry]}, Path("edge.toml"))
    assert EdgeConfig.model_fields["readers"].default == ()
