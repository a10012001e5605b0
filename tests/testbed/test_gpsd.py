"""The fixture gpsd is real: fed by gpsfake from a conformance capture, it reports its fixes."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tagtrail_testbed import GpsdFake
from tagtrail_testbed.netstat import non_loopback
from tagtrail_testbed.process import port_open

CAPTURES = ["bu353s4.log", "ublox-zed-f9p-nmea.log", "quectel-L70.log"]


def expected_positions(check_file: Path) -> list[tuple[float, float]]:
    """Every (lat, lon) gpsd's own regression output reports for a capture."""
    positions = []
    for line in check_file.read_text().splitlines():
        if line.startswith('{"class":"TPV"'):
            report = json.loads(line)
            if report.get("mode", 0) >= 2 and "lat" in report:
                positions.append((report["lat"], report["lon"]))
    return positions


@pytest.mark.parametrize("capture", CAPTURES)
def test_gpsd_serves_tpv_reports_built_from_the_capture(
    capture: str, conformance: Path, gpsd_factory: Callable[..., GpsdFake]
) -> None:
    log = conformance / "gps" / "gpsd" / capture
    expected = expected_positions(log.with_name(capture + ".chk"))
    assert expected, "the capture's expected output has fixes"
    gpsd = gpsd_factory(log)
    reports = [r for r in gpsd.reports("TPV", count=5, timeout=20) if "lat" in r]
    assert reports, "gpsd reported no position"
    for report in reports:
        assert report["mode"] >= 2
        assert any(
            abs(report["lat"] - lat) < 1e-6 and abs(report["lon"] - lon) < 1e-6
            for lat, lon in expected
        ), f"{report} is not among the capture's fixes"


def test_gpsd_listens_on_loopback_only_and_stops(conformance: Path) -> None:
    with GpsdFake(conformance / "gps" / "gpsd" / "bu353s4.log") as gpsd:
        process, workdir = gpsd.process, gpsd.workdir
        assert port_open(gpsd.host, gpsd.port)
        assert non_loopback(process.pid) == []
    assert process.stopped()  # gpsfake and the gpsd it started
    assert not workdir.exists()
    assert not port_open(gpsd.host, gpsd.port)
