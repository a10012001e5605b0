"""``tagtrail-edge doctor`` against a real TLS broker with ACLs, a real collector, and simulators.

Everything passes on a healthy gateway (the ack round trip goes through the collector); then each
failure the doctor claims to detect is staged, and it must be reported on the right check, with a
fix, while the checks that depend on it are skipped rather than failed again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tagtrail_collector.config import CollectorConfig
from tagtrail_collector.service import Collector
from tagtrail_edge.cli import app
from tagtrail_hardware.nmea import NmeaSimulator, Route
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_testbed.collector import collector_sections
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker, BrokerUser
from tagtrail_testbed.pki import Pki
from tagtrail_testbed.process import free_port

runner = CliRunner()
GATE = "tagtrail/v1/port-a/gate-1"
USERS = (
    BrokerUser("gate-1", "gate-pw", acl=(f"topic write {GATE}/#", f"topic read {GATE}/ack")),
    BrokerUser("gate-2", "other-pw", acl=("topic write tagtrail/v1/port-a/gate-2/#",)),
    BrokerUser("collector", "collector-pw"),
)


@dataclass
class Bed:
    broker: Broker
    folder: Path
    reader: VirtualSerialPort
    gps: VirtualSerialPort
    gps_sim: NmeaSimulator

    def config(self, **mqtt: Any) -> Path:
        settings = {
            "host": "127.0.0.1", "port": self.broker.tls_port, "username": "gate-1",
            "password": "gate-pw", "ca_file": str(self.broker.pki.ca_cert),  # type: ignore[union-attr]
        } | mqtt  # fmt: skip
        lines = [f"{k} = {json.dumps(v)}" for k, v in settings.items() if v is not None]
        path = self.folder / "edge.toml"
        path.write_text(
            '[gateway]\nid = "gate-1"\nsite = "port-a"\n'
            f'[outbox]\npath = "{self.folder / "outbox.db"}"\ncap_mb = 4\n'
            "[mqtt]\n" + "\n".join(lines) + "\n"
            f'[[readers]]\nname = "dock"\ndriver = "ascii"\npath = "{self.reader.device_path}"\n'
            f'[gps]\nsource = "nmea"\npath = "{self.gps.device_path}"\n'
        )
        return path


@pytest.fixture(scope="module")
def secured() -> Iterator[Broker]:
    with Broker(users=USERS, tls=True) as broker:
        yield broker


@pytest.fixture
def bed(secured: Broker, influxdb: tuple[InfluxServer, str], tmp_path: Path) -> Iterator[Bed]:
    server, db = influxdb
    sections = collector_sections(
        secured, server, db, tmp_path / "registry.db",
        mqtt={"username": "collector", "password": "collector-pw"},
    )  # fmt: skip
    collector = Collector(CollectorConfig(**sections))
    collector.start()
    assert collector.subscriber.subscribed.wait(10)
    route = Route(((51.95, 4.05), (51.90, 4.50)))
    with VirtualSerialPort() as reader, VirtualSerialPort() as gps:
        sim = NmeaSimulator(gps, route, period_s=0.2).start()
        try:
            yield Bed(secured, tmp_path, reader, gps, sim)
        finally:
            sim.stop()
            collector.stop()


def doctor(config: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    result = runner.invoke(
        app, ["doctor", "-c", str(config), "--json", "--gps-wait", "3", "--ack-wait", "5"]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    checks = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, {c["name"]: c for c in checks}


def verdicts(checks: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Verdicts, but for the clock (the machine's) and the backlog (no agent ran here)."""
    mine = ("clock synchronised", "backlog draining")
    return {name: c["verdict"] for name, c in checks.items() if name not in mine}


ALL = [
    "config valid", "devices present and readable", "GPS fix", "clock synchronised",
    "disk space", "broker reachable", "TLS trust", "credentials accepted", "ack round trip",
    "backlog draining",
]  # fmt: skip


def test_a_healthy_gateway_passes_every_check_through_to_the_collector(bed: Bed) -> None:
    code, checks = doctor(bed.config())
    assert list(checks) == ALL  # every check, in order
    assert set(verdicts(checks).values()) == {"pass"}, checks
    assert "the collector answered" in checks["ack round trip"]["detail"]
    assert checks["GPS fix"]["detail"].startswith(("gps at", "gps-3d at", "dgps at"))
    clock = checks["clock synchronised"]
    assert clock["verdict"] in ("pass", "fail")  # whatever this machine's kernel says...
    assert code == (1 if clock["verdict"] == "fail" else 0)  # ...decides the exit status
    assert all(c["fix"] for c in checks.values() if c["verdict"] == "fail")


def test_broker_down(bed: Bed) -> None:
    code, checks = doctor(bed.config(port=free_port()))
    assert code == 1
    assert checks["broker reachable"]["verdict"] == "fail"
    assert "Connection refused" in checks["broker reachable"]["detail"]
    assert "mqtt.host" in checks["broker reachable"]["fix"]
    for later in ALL[6:9]:
        assert checks[later]["verdict"] == "skip"


def test_wrong_password(bed: Bed) -> None:
    code, checks = doctor(bed.config(password="not-the-password"))
    assert code == 1
    assert verdicts(checks)["TLS trust"] == "pass"
    assert checks["credentials accepted"]["verdict"] == "fail"
    assert "refused the connection" in checks["credentials accepted"]["detail"]
    assert checks["ack round trip"]["verdict"] == "skip"


def test_untrusted_ca(bed: Bed, tmp_path: Path) -> None:
    stranger = Pki(tmp_path / "other-ca")
    code, checks = doctor(bed.config(ca_file=str(stranger.ca_cert)))
    assert code == 1
    assert checks["TLS trust"]["verdict"] == "fail"
    assert "not trusted" in checks["TLS trust"]["detail"]
    assert "ca_file" in checks["TLS trust"]["fix"]
    assert checks["credentials accepted"]["verdict"] == "skip"


def test_missing_device(bed: Bed) -> None:
    config = bed.config()
    bed.reader.close()  # unplugged
    code, checks = doctor(config)
    assert code == 1
    found = checks["devices present and readable"]
    assert found["verdict"] == "fail"
    assert f"reader dock at {bed.reader.device_path}: missing" in found["detail"]
    assert "tagtrail-edge devices" in found["fix"]
    assert checks["ack round trip"]["verdict"] == "pass"  # the rest is still checked


def test_no_gps_fix(bed: Bed) -> None:
    bed.gps_sim.has_fix.clear()  # the receiver talks, but has no fix (indoors)
    code, checks = doctor(bed.config())
    assert code == 1
    assert checks["GPS fix"]["verdict"] == "fail"
    assert "no fix within 3 s" in checks["GPS fix"]["detail"]
    assert "sky" in checks["GPS fix"]["fix"]


def test_another_gateways_topics_are_not_a_round_trip(bed: Bed) -> None:
    """gate-2 may not read gate-1's acks: pretending to be gate-1 with its own login fails."""
    code, checks = doctor(bed.config(username="gate-2", password="other-pw"))
    assert code == 1
    assert checks["credentials accepted"]["verdict"] == "pass"
    assert checks["ack round trip"]["verdict"] == "fail"
    assert "ACL" in checks["ack round trip"]["fix"]


def test_a_broken_config_is_the_first_and_only_failure(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text('[gateway]\nid = "gate-1"\n')
    code, checks = doctor(config)
    assert code == 1
    assert checks["config valid"]["verdict"] == "fail"
    assert "gateway.site" in checks["config valid"]["detail"]
    assert {c["verdict"] for name, c in checks.items() if name != "config valid"} == {"skip"}
