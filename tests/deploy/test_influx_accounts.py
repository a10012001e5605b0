"""The server install's InfluxDB step, for real: a new InfluxDB with authentication on and no
user gets an admin and the collector's account (`tagtrail-collector influx init`), and a real
collector started with the environment file it wrote stores and acknowledges a batch. A second
run changes nothing. (The install script runs this step only where systemd starts InfluxDB;
staged, the script prints it, tests/deploy/test_install.py checks that.)"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from tagtrail_testbed.collector import CollectorProcess, collector_sections
from tagtrail_testbed.gateway import FakeGateway, item
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker

CLI = Path(sys.executable).with_name("tagtrail-collector")


def test_influx_init_makes_the_accounts_the_collector_then_uses(
    tmp_path: Path, broker_factory: Callable[..., Broker]
) -> None:
    env_file, admin_file = tmp_path / "collector.env", tmp_path / "influxdb-admin.env"
    env_file.write_text("TAGTRAIL_COLLECTOR_MQTT__PASSWORD=kept\n")
    with InfluxServer(auth=True, create_admin=False) as influx:
        anonymous = httpx.post(f"{influx.url}/query", data={"q": "SHOW DATABASES"})
        assert anonymous.status_code in (401, 403)  # authentication is on
        argv = [str(CLI), "influx", "init", "--url", influx.url, "--env-file", str(env_file),
                "--admin-file", str(admin_file)]  # fmt: skip
        made = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert made.returncode == 0, made.stderr
        assert admin_file.stat().st_mode & 0o777 == 0o600
        env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
        assert env["TAGTRAIL_COLLECTOR_MQTT__PASSWORD"] == "kept"
        user = env["TAGTRAIL_COLLECTOR_INFLUX__USERNAME"]
        password = env["TAGTRAIL_COLLECTOR_INFLUX__PASSWORD"]
        again = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert again.returncode == 0, again.stderr
        assert "has users already: nothing changed" in again.stderr
        assert env_file.read_text().count("INFLUX__PASSWORD") == 1

        broker = broker_factory()
        sections = collector_sections(broker, influx, "tagtrail", tmp_path / "registry.db")
        sections["influx"] |= {"username": user, "password": password}
        collector = CollectorProcess(sections)
        try:
            with FakeGateway("127.0.0.1", broker.port, site="port-a", gateway="gate-1") as gw:
                gw.send_observations([item("3034257BF7194E4000001A85")])
                assert gw.wait_acked(30), collector.process.log_tail()
        finally:
            collector.close()
        admin_password = admin_file.read_text().split("INFLUX_PASSWORD=")[1].strip()
        counted = httpx.post(
            f"{influx.url}/query", auth=("admin", admin_password),
            data={"q": 'SELECT count("count") FROM "observation"', "db": "tagtrail"},
        ).json()  # fmt: skip
        assert counted["results"][0]["series"][0]["values"][0][1] == 1
