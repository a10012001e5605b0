"""Setting a gateway up: ``init``, ``config set``, ``devices`` and ``service install``."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tagtrail_edge.cli import app
from tagtrail_edge.config import load_config
from tagtrail_hardware.nmea import NmeaSettings
from tagtrail_hardware.ports import denied_hint
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_testbed.pki import Pki

runner = CliRunner()

FLAGS = [
    "--gateway-id", "gate-3", "--site", "port-rtm", "--mqtt-host", "broker.example.net",
    "--password", "s3cret", "--reader", "dock,ascii,/dev/ttyUSB0", "--gps", "none",
]  # fmt: skip


def test_init_from_flags_writes_a_commented_config_the_agent_accepts(tmp_path: Path) -> None:
    target = tmp_path / "edge.toml"
    ca = Pki(tmp_path / "pki").ca_cert
    result = runner.invoke(
        app, ["init", "-c", str(target), *FLAGS, "--ca-file", str(ca), "--no-input"]
    )
    assert result.exit_code == 0, result.output
    text = target.read_text()
    settings = load_config(target)
    assert (settings.gateway.id, settings.gateway.site) == ("gate-3", "port-rtm")
    assert (settings.mqtt.host, settings.mqtt.port, settings.mqtt.username) == (
        "broker.example.net", 8883, "gate-3",
    )  # fmt: skip
    assert settings.mqtt.ca_file == ca
    assert [(r.name, r.driver, r.serial_path()) for r in settings.readers] == [
        ("dock", "ascii", "/dev/ttyUSB0")
    ]
    assert [(p.name, p.reader, p.antenna) for p in settings.read_points] == [
        ("gate-3-dock", "dock", 1)
    ]
    assert 'host = "broker.example.net" # the MQTT broker' in text
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # it holds the password
    again = runner.invoke(app, ["init", "-c", str(target), *FLAGS, "--no-input"])
    assert again.exit_code == 2
    assert "exists" in again.output


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--gateway-id", "Gate 3"], "id = 'Gate 3'"),
        (["--mqtt-port", "70000"], "port = 70000"),
        (["--reader", "dock,serial,/dev/ttyUSB0"], "driver = 'serial'"),
        (["--gps", "galileo"], "--gps 'galileo'"),
        (["--ca-file", "/nonexistent/ca.crt"], "no such file"),
    ],
)
def test_init_names_what_is_wrong_and_writes_nothing(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    target = tmp_path / "edge.toml"
    base = list(FLAGS)
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        if flag in base:
            base[base.index(flag) + 1] = value
        else:
            base += [flag, value]
    result = runner.invoke(app, ["init", "-c", str(target), *base, "--no-input"])
    assert result.exit_code == 2
    assert message in result.output
    assert not target.exists()


def test_init_asks_and_asks_again_until_an_answer_is_valid(tmp_path: Path) -> None:
    target = tmp_path / "edge.toml"
    not_a_cert = tmp_path / "ca.crt"
    not_a_cert.write_text("this is a text file, not a certificate\n")
    answers = [
        "Truck 9", "truck-9",  # refused (upper case, space), then accepted
        "yard-2", "y", "broker.local",
        str(not_a_cert),  # refused: it must parse as a certificate
        "none",  # no CA: no TLS
        "",  # port: the default without TLS (1883)
        "",  # user: the gateway id
        "pw",
        "y", "cab", "mercury", "/dev/ttyUSB1", "",  # one reader, default baud
        "y", "cab", "cab-2", "ascii", "/dev/ttyUSB2", "",  # the same name is refused
        "n",
        "",  # outbox: default
        "satellite",  # the last answer is wrong: asked again, the others kept
        "nmea:/dev/ttyACM0:4800",
    ]  # fmt: skip
    result = runner.invoke(app, ["init", "-c", str(target)], input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "'T' at position 0" in result.output
    assert "holds no PEM certificate" in result.output
    assert "'cab': taken already" in result.output
    assert "--gps 'satellite'" in result.output
    settings = load_config(target)
    assert (settings.gateway.id, settings.gateway.mobile) == ("truck-9", True)
    assert (settings.mqtt.port, settings.mqtt.ca_file, settings.mqtt.username) == (
        1883, None, "truck-9",
    )  # fmt: skip
    assert settings.mqtt.password is not None
    assert settings.mqtt.password.get_secret_value() == "pw"
    assert [(r.name, r.driver, getattr(r, "baudrate", None)) for r in settings.readers] == [
        ("cab", "mercury", 115200), ("cab-2", "ascii", 115200),
    ]  # fmt: skip
    assert isinstance(settings.gps, NmeaSettings)
    assert (settings.gps.source, settings.gps.path, settings.gps.baudrate) == (
        "nmea", "/dev/ttyACM0", 4800,
    )  # fmt: skip


def test_config_set_keeps_comments_and_refuses_what_would_not_start(tmp_path: Path) -> None:
    target = tmp_path / "edge.toml"
    example = (Path(__file__).parents[2] / "deploy/edge/edge.example.toml").read_text()
    target.write_text(example.replace('"change-me"', '"gate-3-pw"'))  # the placeholder is refused
    before = target.read_text()

    result = runner.invoke(app, ["config", "set", "mqtt.port", "1883", "-c", str(target)])
    assert result.exit_code == 0, result.output
    after = target.read_text()
    assert "port = 1883                   # 8883 for TLS, 1883 plain" in after
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 1  # every other line, comments included, is as it was

    set_password = runner.invoke(
        app, ["config", "set", "mqtt.password", "hunter2", "-c", str(target)]
    )
    assert "hunter2" not in set_password.output
    assert load_config(target).mqtt.password.get_secret_value() == "hunter2"  # type: ignore[union-attr]
    runner.invoke(app, ["config", "set", "readers.0.baudrate", "9600", "-c", str(target)])
    assert tomllib.loads(target.read_text())["readers"][0]["baudrate"] == 9600

    current = target.read_text()
    for key, value, message in [
        ("mqtt.port", "99999", "mqtt.port = 99999: Input should be less than or equal to 65535"),
        ("mqtt.hots", "x", "no setting 'mqtt.hots': mqtt has host, port"),
        ("readers.4.path", "/dev/x", "there is no entry 4"),
        ("outbox.overflow", "drop-newest", "'drop-oldest' or 'refuse-newest'"),
        ("mqtt", "x", "mqtt is a section"),
    ]:
        refused = runner.invoke(app, ["config", "set", key, value, "-c", str(target)])
        assert refused.exit_code == 2, (key, refused.output)
        assert message in refused.output, refused.output
        assert target.read_text() == current


def test_devices_lists_configured_ports_and_says_what_is_missing(tmp_path: Path) -> None:
    with VirtualSerialPort() as port:
        config = tmp_path / "edge.toml"
        gone = str(tmp_path / "ttyUSB9")
        config.write_text(
            '[gateway]\nid = "g"\nsite = "s"\n'
            f'[[readers]]\nname = "dock"\ndriver = "ascii"\npath = "{port.device_path}"\n'
            f'[gps]\nsource = "nmea"\npath = "{gone}"\n'
        )
        result = runner.invoke(app, ["devices", "-c", str(config), "--json"])
    rows = {row["path"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert result.exit_code == 1  # a configured device is missing
    assert rows[port.device_path]["role"] == "reader dock"
    assert rows[port.device_path]["access"] == "ok"
    assert rows[port.device_path]["usable"] is True
    assert (rows[gone]["role"], rows[gone]["present"], rows[gone]["access"]) == (
        "gps", False, "missing",
    )  # fmt: skip


def test_a_refused_port_names_the_group_to_join() -> None:
    mode = stat.S_IFCHR | 0o660
    hint = denied_hint(mode, "dialout", my_groups=[1000], gid=20)
    assert (
        hint == "denied: not in group dialout (sudo usermod -aG dialout $USER, then log in again)"
    )
    assert denied_hint(stat.S_IFCHR | 0o600, "dialout", [20], 20).startswith("denied: mode crw----")


def test_service_install_writes_a_unit_systemd_accepts(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    init = runner.invoke(app, ["init", "-c", str(config), *FLAGS, "--no-input"])
    assert init.exit_code == 0, init.output
    units = tmp_path / "units"
    user = os.environ.get("USER") or "root"
    result = runner.invoke(
        app,
        ["service", "install", "-c", str(config), "--unit-dir", str(units), "--no-enable",
         "--user", user],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    unit = (units / "tagtrail-edge.service").read_text()
    program = Path(sys.executable).parent / "tagtrail-edge"
    for line in ("Type=notify", "Restart=always", "WatchdogSec=60", "ProtectSystem=strict",
                 "NoNewPrivileges=true", "SupplementaryGroups=dialout",
                 f"ExecStart={program} run --config {config}"):  # fmt: skip
        assert line in unit.splitlines(), line
    verify = shutil.which("systemd-analyze")
    assert verify, "systemd-analyze is missing (deploy/test.sh installs systemd)"
    done = subprocess.run(
        [verify, "verify", str(units / "tagtrail-edge.service")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "tagtrail-edge.service" not in done.stderr  # no warning about our unit
