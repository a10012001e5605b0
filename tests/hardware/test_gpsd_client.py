"""gpsd's JSON protocol against a real gpsd fed by gpsfake from real captures."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tagtrail_hardware.gpsd import GpsdClient, GpsdReports
from tagtrail_testbed.devices import Running
from tagtrail_testbed.gpsd import GpsdFake

RunDevice = Callable[[Any], Running]


def test_fixes_from_real_gpsd_match_its_positions(
    conformance: Path, gpsd_factory: Callable[..., GpsdFake], run_device: RunDevice
) -> None:
    capture = conformance / "gps" / "gpsd" / "nmea-rtk.log"
    gpsd = gpsd_factory(capture, cycle=0.01)
    client = GpsdClient(name="gpsd", port=gpsd.port)
    running = run_device(client)
    running.wait_for(lambda: len(running.items) >= 20, timeout=30)
    expected = {
        (r["lat"], r["lon"])
        for line in Path(f"{capture}.chk").read_text().splitlines()
        if line.startswith('{"class":"TPV"') and "lat" in (r := json.loads(line))
    }
    for fix in running.items:
        assert any(abs(fix.lat - a) <= 1e-6 and abs(fix.lon - b) <= 1e-6 for a, b in expected)
        assert fix.source == "gpsd"
    # gpsd reports a GGA-only epoch without time (no date yet) each time gpsfake loops the
    # capture; every other fix carries gpsd's UTC time.
    timed = [f.time for f in running.items if f.time is not None]
    assert len(timed) >= len(running.items) - 2
    assert all(t.utcoffset() is not None and t.utcoffset().total_seconds() == 0 for t in timed)
    assert client.status().state == "ok"
    assert (client.status().identity or "").startswith("gpsd 3.")


def test_gpsd_going_away_is_reported_and_reconnected(
    conformance: Path, gpsd_factory: Callable[..., GpsdFake], run_device: RunDevice
) -> None:
    gpsd = gpsd_factory(conformance / "gps" / "gpsd" / "nmea-rtk.log", cycle=0.01)
    client = GpsdClient(name="gpsd", port=gpsd.port)
    running = run_device(client)
    running.wait_for(lambda: len(running.items) >= 1, timeout=30)
    gpsd.close()
    running.wait_for(lambda: client.status().state == "absent", timeout=30)
    assert str(gpsd.port) in (client.status().detail or "")


def test_bad_reports_are_counted_not_raised() -> None:
    reports = GpsdReports()
    assert reports.line(b"{not json") is None
    assert reports.line(b"[1,2]") is None
    assert reports.line(b'{"class":"TPV","mode":3,"lat":0,"lon":0}') is None
    assert reports.line(b'{"class":"TPV","mode":1,"lat":51.9,"lon":4.1}') is None  # no fix
    assert reports.line(b'{"class":"TPV","mode":3,"lat":"x","lon":4.1}') is None
    assert dict(reports.rejected) == {"bad-json": 2, "bad-position": 1}
    reports.line(b'{"class":"SKY","hdop":0.8,"uSat":11}')
    fix = reports.line(b'{"class":"TPV","mode":3,"status":2,"lat":51.9,"lon":4.1,"speed":3.5}')
    assert fix is not None
    assert (fix.hdop, fix.satellites, fix.speed_mps, fix.quality.value) == (0.8, 11, 3.5, "dgps")
