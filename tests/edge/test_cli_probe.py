"""``tagtrail-edge probe`` against the device simulators on pty pairs, through real pyserial."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from tagtrail_edge.cli import app
from tagtrail_hardware.mercury import MercurySimulator
from tagtrail_hardware.nmea import NmeaSimulator, Route
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_testbed.field import tags_in_field

runner = CliRunner()
EPC = "3074257BF7194E4000001A85"


def probe(*args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["probe", *args, "--json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def test_a_mercury_reader_is_named_with_its_firmware() -> None:
    with VirtualSerialPort() as port:
        sim = MercurySimulator(port).start()
        try:
            code, found = probe(port.device_path, "--baud", "115200")
        finally:
            sim.stop()
    assert code == 0
    assert (found["kind"], found["baudrate"]) == ("mercury-reader", 115200)
    assert found["identity"].startswith("Mercury hardware")
    assert found["details"]["firmware"] == sim.version.firmware


def test_an_nmea_gps_is_named_with_its_talker_and_fix() -> None:
    with VirtualSerialPort() as port:
        gps = NmeaSimulator(port, Route(((51.95, 4.05), (51.90, 4.50))), period_s=0.2).start()
        try:
            code, found = probe(port.device_path, "--baud", "9600")
        finally:
            gps.stop()
    assert code == 0
    assert (found["kind"], found["baudrate"]) == ("nmea-gps", 9600)
    assert "talker" in found["identity"]
    assert 51.89 <= found["details"]["lat"] <= 51.96


def test_an_ascii_reader_is_named_with_what_it_reads() -> None:
    with VirtualSerialPort() as port, tags_in_field(port, [EPC]):
        code, found = probe(port.device_path)
    assert code == 0
    assert found["kind"] == "ascii-reader"
    assert found["details"]["epcs"] == [EPC]


def test_silence_is_unknown_and_a_missing_port_a_usage_error() -> None:
    with VirtualSerialPort() as port:
        code, found = probe(port.device_path, "--baud", "9600")
    assert (code, found["kind"]) == (1, "unknown")
    missing = runner.invoke(app, ["probe", "/dev/tagtrail-no-such-port"])
    assert missing.exit_code == 2
    assert "cannot open" in missing.stderr
