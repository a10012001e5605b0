"""The install scripts, staged under DESTDIR: what they write, and that systemd and the programs'
own validators accept it. (Users, apt and systemctl are skipped when staged.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tagtrail_collector.provision.influxdb import InfluxLayout, render_influxdb_conf
from tagtrail_collector.provision.pki import Pki

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
HARDENING = ("ProtectSystem=strict", "ProtectHome=true", "NoNewPrivileges=true",
             "PrivateTmp=true", "Restart=always", "CapabilityBoundingSet=")  # fmt: skip


def run(
    argv: list[str], destdir: Path, *, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DESTDIR": str(destdir), "TAGTRAIL_PYTHON": sys.executable}
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def verify_unit(unit: Path, destdir: Path, tmp_path: Path) -> None:
    """systemd-analyze verify, with the staged program paths (it checks they are executable)."""
    verify = shutil.which("systemd-analyze")
    assert verify, "systemd-analyze is missing (deploy/test.sh installs systemd)"
    copy = tmp_path / "verify" / unit.name
    copy.parent.mkdir(exist_ok=True)
    copy.write_text(unit.read_text().replace("/opt/tagtrail", f"{destdir}/opt/tagtrail"))
    done = subprocess.run(
        [verify, "verify", str(copy)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert unit.name not in done.stderr, done.stderr  # not even a warning about our unit


def unit_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


@pytest.mark.timeout(900)
def test_gateway_install(tmp_path: Path) -> None:
    destdir = tmp_path / "root"
    ca = Pki(tmp_path / "pki").ca_cert
    example = tmp_path / "edge.toml"  # the example, with its placeholder secret replaced
    example.write_text(
        (DEPLOY / "edge" / "edge.example.toml").read_text().replace("change-me", "gw-pw")
    )
    argv = [str(DEPLOY / "edge" / "install-gateway.sh"), "--config",
            str(example), "--ca", str(ca), "--no-start"]  # fmt: skip
    first = run(argv, destdir)
    assert first.returncode == 0, first.stderr[-3000:]
    etc = destdir / "etc" / "tagtrail"
    assert (etc / "edge.toml").read_text() == example.read_text()
    assert (etc / "edge.toml").stat().st_mode & 0o777 == 0o640
    assert (etc / "ca.crt").read_bytes() == ca.read_bytes()
    program = destdir / "opt" / "tagtrail" / "venv" / "bin" / "tagtrail-edge"
    assert program.exists()
    unit = destdir / "etc" / "systemd" / "system" / "tagtrail-edge.service"
    lines = unit_lines(unit)
    start = "ExecStart=/opt/tagtrail/venv/bin/tagtrail-edge run --config /etc/tagtrail/edge.toml"
    for line in (*HARDENING, "Type=notify", "WatchdogSec=60", "User=tagtrail",
                 "SupplementaryGroups=dialout", start):  # fmt: skip
        assert line in lines, line
    assert str(destdir) not in unit.read_text()
    verify_unit(unit, destdir, tmp_path)
    # The installed agent is a working program, from the installed venv.
    version = subprocess.run([str(program), "version"], capture_output=True, text=True, check=False)
    assert version.returncode == 0, version.stderr
    link = destdir / "usr" / "local" / "bin" / "tagtrail-edge"
    assert link.is_symlink()
    assert str(link.readlink()) == "/opt/tagtrail/venv/bin/tagtrail-edge"  # as the docs call it
    # Again without --config (an upgrade): the operator's config is kept.
    (etc / "edge.toml").write_text((etc / "edge.toml").read_text() + "\n# edited on site\n")
    upgrade = [a for a in argv if a not in ("--config", str(example))]
    second = run(upgrade, destdir)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "keeping existing /etc/tagtrail/edge.toml" in second.stderr
    assert (etc / "edge.toml").read_text().endswith("# edited on site\n")
    # With --config: the new one replaces it, and the old one is kept beside it.
    third = run(argv, destdir)
    assert third.returncode == 0, third.stderr[-3000:]
    assert "replacing /etc/tagtrail/edge.toml (the previous one is kept as" in third.stderr
    assert (etc / "edge.toml").read_text() == example.read_text()
    kept = list(etc.glob("edge.toml.*"))
    assert len(kept) == 1
    assert kept[0].read_text().endswith("# edited on site\n")
    # A provisioned snippet that reads nothing is refused, and nothing is replaced.
    empty = tmp_path / "snippet.toml"
    empty.write_text('[gateway]\nid = "gate-9"\nsite = "port-rtm"\n')
    refused = run([argv[0], "--config", str(empty), "--no-start"], destdir)
    assert refused.returncode != 0
    assert "nothing to read" in refused.stderr
    assert (etc / "edge.toml").read_text() == example.read_text()


@pytest.mark.timeout(900)
def test_server_install(tmp_path: Path) -> None:
    destdir = tmp_path / "root"
    argv = [str(DEPLOY / "server" / "install-server.sh"), "--broker-host", "broker.example.net",
            "--no-start"]  # fmt: skip
    first = run(argv, destdir)
    assert first.returncode == 0, first.stderr[-3000:]
    units = destdir / "etc" / "systemd" / "system"
    for name in ("tagtrail-collector.service", "tagtrail-collector@.service"):
        lines = unit_lines(units / name)
        for line in HARDENING:
            assert line in lines, (name, line)
        assert "User=tagtrail" in lines
        verify_unit(units / name, destdir, tmp_path)
    assert "EnvironmentFile=/etc/tagtrail/collector-%i.env" in unit_lines(
        units / "tagtrail-collector@.service"
    )
    # The broker: TLS listener, no anonymous access, the collector's account and ACL.
    conf_d = destdir / "etc" / "mosquitto" / "conf.d"
    broker = (conf_d / "tagtrail.conf").read_text().splitlines()
    for line in ("allow_anonymous false", "listener 8883", "require_certificate false",
                 f"cafile {destdir}/etc/mosquitto/certs/ca.crt"):  # fmt: skip
        assert line in broker, line
    assert [line.split(":")[0] for line in (conf_d / "passwd").read_text().splitlines()] == [
        "collector"
    ]
    collector_toml = (destdir / "etc" / "tagtrail" / "collector.toml").read_text()
    assert 'host = "broker.example.net"' in collector_toml  # the --broker-host given
    link = destdir / "usr" / "local" / "bin" / "tagtrail-collector"
    assert str(link.readlink()) == "/opt/tagtrail/venv/bin/tagtrail-collector"
    # Not started: it says how to start InfluxDB and make its accounts before the collector.
    assert "tagtrail-collector influx init" in first.stderr
    env = (destdir / "etc" / "tagtrail" / "collector.env").read_text()
    assert env.startswith("TAGTRAIL_COLLECTOR_MQTT__PASSWORD=")
    assert len(env.strip().split("=", 1)[1]) >= 24
    # Every config it installed passes its program's own validation.
    cli = destdir / "opt" / "tagtrail" / "venv" / "bin" / "tagtrail-collector"
    check = subprocess.run([str(cli), "check-config", str(destdir / "etc/tagtrail/collector.toml")],
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stderr
    influx = destdir / "etc" / "influxdb" / "influxdb.conf"
    shown = subprocess.run(["influxd", "config", "-config", str(influx)],
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert 'index-version = "tsi1"' in shown.stdout
    assert "auth-enabled = true" in shown.stdout
    # Again: the broker's accounts and the collector's password are kept.
    passwd = (conf_d / "passwd").read_text()
    second = run(argv, destdir)
    assert second.returncode == 0, second.stderr[-3000:]
    assert (conf_d / "passwd").read_text() == passwd
    assert (destdir / "etc" / "tagtrail" / "collector.env").read_text() == env


def test_the_shipped_influxdb_config_is_the_generated_one() -> None:
    layout = InfluxLayout(folder=Path("/var/lib/influxdb"), auth=True, log_level="info")
    assert (DEPLOY / "server" / "influxdb.conf").read_text() == render_influxdb_conf(layout)


EXPECTED_PANELS = {
    "Reads per site", "Arrivals and departures per site", "Gateway health",
    "Backlog per gateway", "Oldest unsent item per gateway", "Ingest lag", "Outbox use",
}  # fmt: skip


def test_the_grafana_dashboard_is_valid_json_with_the_expected_panels() -> None:
    dashboard = json.loads((DEPLOY / "server" / "grafana" / "tagtrail-dashboard.json").read_text())
    assert {panel["title"] for panel in dashboard["panels"]} == EXPECTED_PANELS
    assert dashboard["__inputs"][0]["pluginId"] == "influxdb"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["type"] == "influxdb"
            assert "$timeFilter" in target["query"]
