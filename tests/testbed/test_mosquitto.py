"""The fixture broker is a real Mosquitto: messages flow, credentials, ACLs and TLS are enforced."""

import ssl
from collections.abc import Callable
from pathlib import Path

import pytest

from tagtrail_protocol.errors import LinkError
from tagtrail_testbed import Broker, BrokerUser, Pki
from tagtrail_testbed.mqtt import ConnectRefused, MqttProbe
from tagtrail_testbed.netstat import listening, non_loopback
from tagtrail_testbed.process import port_open

BrokerFactory = Callable[..., Broker]


def test_message_published_with_paho_arrives(mosquitto: Broker) -> None:
    with (
        MqttProbe(mosquitto.host, mosquitto.port).connect() as sub,
        MqttProbe(mosquitto.host, mosquitto.port).connect() as pub,
    ):
        assert [code.value for code in sub.subscribe("tagtrail/v1/+/+/obs", qos=1)] == [1]
        pub.publish("tagtrail/v1/port/gate-1/obs", b'{"hello": 1}', qos=1)
        message = sub.receive()
        assert message is not None
        assert (message.topic, message.payload, message.qos) == (
            "tagtrail/v1/port/gate-1/obs",
            b'{"hello": 1}',
            1,
        )


def test_broker_listens_on_loopback_only(mosquitto: Broker) -> None:
    ports = {port for _, port in listening(mosquitto.process.pid)}
    assert mosquitto.port in ports
    assert non_loopback(mosquitto.process.pid) == []


GATEWAY_A = BrokerUser(
    "gw-a",
    "secret-a",
    acl=("topic write tagtrail/v1/port/gw-a/#", "topic read tagtrail/v1/port/gw-a/ack"),
)
COLLECTOR = BrokerUser("collector", "secret-c", acl=("topic readwrite tagtrail/v1/#",))


def test_password_broker_refuses_missing_or_wrong_credentials(
    broker_factory: BrokerFactory,
) -> None:
    broker = broker_factory(users=[GATEWAY_A, COLLECTOR])
    with pytest.raises(ConnectRefused, match="Not authorized"):
        MqttProbe(broker.host, broker.port).connect()
    with pytest.raises(ConnectRefused, match="Not authorized"):
        MqttProbe(broker.host, broker.port, username="gw-a", password="wrong").connect()
    with pytest.raises(ConnectRefused, match="Not authorized"):
        MqttProbe(broker.host, broker.port, username="nobody", password="secret-a").connect()
    MqttProbe(broker.host, broker.port, username="gw-a", password="secret-a").connect().close()


def test_acl_confines_a_gateway_to_its_own_topics(broker_factory: BrokerFactory) -> None:
    broker = broker_factory(users=[GATEWAY_A, COLLECTOR])
    with (
        MqttProbe(
            broker.host, broker.port, username="collector", password="secret-c"
        ).connect() as col,
        MqttProbe(broker.host, broker.port, username="gw-a", password="secret-a").connect() as gw,
    ):
        col.subscribe("tagtrail/v1/#")
        gw.subscribe("tagtrail/v1/port/gw-a/ack")
        gw.subscribe("tagtrail/v1/port/gw-b/ack")  # not allowed: nothing may arrive on it
        # Forbidden publish first, allowed one second: in-order delivery means that if the first
        # had got through, it would be received before the second.
        gw.publish("tagtrail/v1/port/gw-b/obs", b"spoofed")
        gw.publish("tagtrail/v1/port/gw-a/obs", b"own")
        received = col.receive()
        assert received is not None
        assert (received.topic, received.payload) == ("tagtrail/v1/port/gw-a/obs", b"own")
        col.publish("tagtrail/v1/port/gw-b/ack", b"for b")
        col.publish("tagtrail/v1/port/gw-a/ack", b"for a")
        got = gw.receive()
        assert got is not None
        assert (got.topic, got.payload) == ("tagtrail/v1/port/gw-a/ack", b"for a")
        assert gw.receive(timeout=0.5) is None


def test_tls_broker_accepts_trusting_clients_and_refuses_others(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    broker = broker_factory(tls=True, plain_listener=False)
    assert broker.pki is not None
    with MqttProbe(broker.host, broker.tls_port, ca_cert=broker.pki.ca_cert).connect() as probe:
        probe.subscribe("t/1")
        probe.publish("t/1", b"over tls")
        message = probe.receive()
        assert message is not None
        assert message.payload == b"over tls"
    other_ca = Pki(tmp_path / "other").ca_cert
    with pytest.raises(LinkError, match="certificate verify failed") as caught:
        MqttProbe(broker.host, broker.tls_port, ca_cert=other_ca).connect()
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
    assert non_loopback(broker.process.pid) == []


def test_tls_broker_can_require_client_certificates(broker_factory: BrokerFactory) -> None:
    broker = broker_factory(tls=True, require_client_cert=True, plain_listener=False)
    assert broker.pki is not None
    # Under TLS 1.3 the broker checks the client certificate after the handshake and closes.
    with pytest.raises((LinkError, ConnectRefused)):
        MqttProbe(broker.host, broker.tls_port, ca_cert=broker.pki.ca_cert).connect()
    cert = broker.pki.client("gw-a")
    MqttProbe(
        broker.host, broker.tls_port, ca_cert=broker.pki.ca_cert, client_cert=cert
    ).connect().close()


def test_restart_keeps_the_port(broker_factory: BrokerFactory) -> None:
    broker = broker_factory()
    port, old_pid = broker.port, broker.process.pid
    broker.restart()
    assert broker.process.pid != old_pid
    assert broker.port == port
    with MqttProbe(broker.host, broker.port).connect() as probe:
        probe.subscribe("x")


def test_close_stops_the_process_and_removes_its_files() -> None:
    broker = Broker()
    process, workdir, port = broker.process, broker.workdir, broker.port
    assert workdir.is_dir()
    broker.close()
    assert process.stopped()
    assert not workdir.exists()
    assert not port_open(broker.host, port)


def test_a_failing_test_still_cleans_up() -> None:
    seen: list[Broker] = []

    def failing_test() -> None:
        with Broker() as broker:
            seen.append(broker)
            raise RuntimeError("test body failed")

    with pytest.raises(RuntimeError, match="test body failed"):
        failing_test()
    assert not seen[0].workdir.exists()
    assert not port_open(seen[0].host, seen[0].port)
