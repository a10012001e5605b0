"""The generated production broker config, against a real Mosquitto: who may do what.

Everything goes through the operator's commands (``broker init``, ``gateways provision``,
``gateways revoke``) and the files they write; the broker is reloaded as in production.
"""

from __future__ import annotations

import json
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tagtrail_collector.ingest.subscriber import KINDS
from tagtrail_collector.provision.pki import Pki
from tagtrail_protocol import subscription
from tagtrail_protocol.errors import LinkError
from tagtrail_testbed.mosquitto import CLI, ProvisionedBroker
from tagtrail_testbed.mqtt import ConnectRefused, MqttProbe
from tagtrail_testbed.waiting import wait_for


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, check=False, timeout=60)


class Bed:
    def __init__(self, broker: ProvisionedBroker, config: Path) -> None:
        self.broker, self.config = broker, config

    def provision(self, gateway: str, site: str) -> str:
        result = cli(
            "gateways", "provision", gateway, "--site", site, "--broker-host", "127.0.0.1",
            "--broker-port", str(self.broker.port), "--ca-file", str(self.broker.pki.ca_cert),
            "--broker-dir", str(self.broker.broker_dir), "--config", str(self.config), "--json",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "reload the broker" in result.stderr
        credential = json.loads(result.stdout)
        assert (credential["username"], credential["site"]) == (gateway, site)
        return str(credential["password"])

    def accepts(self, user: str, password: str) -> bool:
        try:
            self.client(user, password).connect().close()
        except ConnectRefused:
            return False
        return True

    def client(self, user: str | None, password: str | None, ca: Path | None = None) -> MqttProbe:
        ca = ca or self.broker.pki.ca_cert
        return MqttProbe(
            self.broker.host, self.broker.port, username=user, password=password, ca_cert=ca,
            timeout=5.0,
        )  # fmt: skip


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    folder = tmp_path_factory.mktemp("provision")
    config = folder / "collector.toml"
    config.write_text(f'[registry]\nurl = "sqlite:///{folder / "registry.db"}"\n')
    for site in ("port-a", "port-b"):
        assert cli("admin", "site", site, "--name", site, "--kind", "port", "-c", str(config))
    with ProvisionedBroker() as broker:
        broker.init()
        bed = Bed(broker, config)
        bed.passwords = {  # type: ignore[attr-defined]
            "gw-a": bed.provision("gw-a", "port-a"),
            "gw-b": bed.provision("gw-b", "port-b"),
        }
        broker.launch()
        yield bed


def passwords(bed: Bed) -> dict[str, str]:
    return bed.passwords  # type: ignore[attr-defined,no-any-return]


def test_the_generated_files_are_private_and_hold_no_clear_passwords(bed: Bed) -> None:
    folder = bed.broker.broker_dir
    for name in ("passwd", "acl"):
        assert (folder / name).stat().st_mode & 0o077 == 0
    passwd = (folder / "passwd").read_text()
    assert sorted(line.split(":")[0] for line in passwd.splitlines()) == [
        "collector", "gw-a", "gw-b",
    ]  # fmt: skip
    for secret in (*passwords(bed).values(), bed.broker.collector_password):
        assert secret not in passwd


def test_a_gateway_publishes_only_under_its_own_site_and_id(bed: Bed) -> None:
    pw = passwords(bed)
    with (
        bed.client("collector", bed.broker.collector_password).connect() as collector,
        bed.client("gw-a", pw["gw-a"]).connect() as gw_a,
    ):
        collector.subscribe("tagtrail/v1/#")
        # Forbidden publishes first: delivery is in order, so had one got through it would
        # arrive before the allowed one.
        for topic in (
            "tagtrail/v1/port-b/gw-b/obs",  # B's topic
            "tagtrail/v1/port-b/gw-a/obs",  # its own id under another site
            "tagtrail/v1/port-a/gw-a/ack",  # acks come from the collector only
            "tagtrail/v1/port-a/gw-a/obs/extra",
            "other/topic",
        ):
            gw_a.publish(topic, b"spoofed")
        for kind in ("obs", "pos", "status", "ping"):
            gw_a.publish(f"tagtrail/v1/port-a/gw-a/{kind}", kind.encode())
        got = [collector.receive() for _ in range(4)]
        assert [(m.topic, m.payload) for m in got if m is not None] == [
            (f"tagtrail/v1/port-a/gw-a/{kind}", kind.encode())
            for kind in ("obs", "pos", "status", "ping")
        ]
        assert collector.receive(timeout=0.5) is None


def test_a_gateway_reads_only_its_own_ack_and_cmd(bed: Bed) -> None:
    pw = passwords(bed)
    with (
        bed.client("collector", bed.broker.collector_password).connect() as collector,
        bed.client("gw-a", pw["gw-a"]).connect() as gw_a,
    ):
        for topic in ("tagtrail/v1/port-b/gw-b/ack", "tagtrail/v1/+/+/obs", "tagtrail/v1/#"):
            gw_a.subscribe(topic)
        gw_a.subscribe("tagtrail/v1/port-a/gw-a/ack")
        gw_a.subscribe("tagtrail/v1/port-a/gw-a/cmd")
        collector.publish("tagtrail/v1/port-b/gw-b/ack", b"for b")
        collector.publish("tagtrail/v1/port-b/gw-b/obs", b"b's data")
        collector.publish("tagtrail/v1/port-a/gw-a/ack", b"for a")
        collector.publish("tagtrail/v1/port-a/gw-a/cmd", b"cmd for a")
        got = [gw_a.receive(), gw_a.receive()]
        assert {(m.topic, m.payload) for m in got if m is not None} == {
            ("tagtrail/v1/port-a/gw-a/ack", b"for a"),
            ("tagtrail/v1/port-a/gw-a/cmd", b"cmd for a"),
        }
        assert gw_a.receive(timeout=0.5) is None


def test_anonymous_wrong_password_and_unknown_users_are_refused(bed: Bed) -> None:
    pw = passwords(bed)
    for user, password in ((None, None), ("gw-a", "wrong"), ("gw-a", pw["gw-b"]), ("x", "y")):
        with pytest.raises(ConnectRefused, match="Not authorized"):
            bed.client(user, password).connect()


def test_a_client_that_does_not_trust_the_ca_is_refused(bed: Bed, tmp_path: Path) -> None:
    stranger = Pki(tmp_path / "other-ca")
    with pytest.raises(LinkError) as caught:
        bed.client("gw-a", passwords(bed)["gw-a"], ca=stranger.ca_cert).connect()
    assert isinstance(caught.value.__cause__, ssl.SSLError)


def test_the_collector_account_reads_everything_it_subscribes_to(bed: Bed) -> None:
    pw = passwords(bed)
    with (
        bed.client("collector", bed.broker.collector_password).connect() as collector,
        bed.client("gw-a", pw["gw-a"]).connect() as gw_a,
        bed.client("gw-b", pw["gw-b"]).connect() as gw_b,
    ):
        for kind in KINDS:  # the collector's own subscriptions, shared as with N instances
            codes = collector.subscribe(subscription(kind, share_group="ingest"))
            assert [code.value for code in codes] == [1]
        sent = set()
        for gateway, site, client in (("gw-a", "port-a", gw_a), ("gw-b", "port-b", gw_b)):
            for kind in KINDS:
                topic = f"tagtrail/v1/{site}/{gateway}/{kind.value}"
                client.publish(topic, b"x")
                sent.add(topic)
        received = {m.topic for m in (collector.receive() for _ in sent) if m is not None}
        assert received == sent


def test_rotation_and_revocation_take_effect_on_reload(bed: Bed) -> None:
    old = passwords(bed)["gw-a"]
    new = bed.provision("gw-a", "port-a")
    bed.broker.reload()  # Mosquitto rereads the files in its main loop, soon after SIGHUP
    assert wait_for(lambda: bed.accepts("gw-a", new), timeout=10)
    assert not bed.accepts("gw-a", old)
    passwords(bed)["gw-a"] = new

    unknown = cli("gateways", "revoke", "gw-c", "--broker-dir", str(bed.broker.broker_dir))
    assert unknown.returncode == 2
    assert "no broker account" in unknown.stderr
    gw_c = bed.provision("gw-c", "port-a")
    bed.broker.reload()
    assert wait_for(lambda: bed.accepts("gw-c", gw_c), timeout=10)
    revoked = cli("gateways", "revoke", "gw-c", "--broker-dir", str(bed.broker.broker_dir))
    assert revoked.returncode == 0, revoked.stderr
    bed.broker.reload()
    assert wait_for(lambda: not bed.accepts("gw-c", gw_c), timeout=10)
    assert "gw-c" not in (bed.broker.broker_dir / "acl").read_text()


def test_a_gateway_is_not_moved_to_another_site_by_provisioning(bed: Bed) -> None:
    result = cli(
        "gateways", "provision", "gw-b", "--site", "port-a", "--broker-host", "h",
        "--broker-dir", str(bed.broker.broker_dir), "--config", str(bed.config),
    )  # fmt: skip
    assert result.returncode == 2
    assert "registered at site port-b" in result.stderr
