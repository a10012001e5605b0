"""The agent wired end to end against a real broker: status, last will, resend, GPS, shutdown."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tagtrail_edge.agent import Agent
from tagtrail_edge.config import EdgeConfig
from tagtrail_edge.pipeline.enrich import ClockProbe
from tagtrail_hardware.ascii import AsciiReaderSimulator
from tagtrail_hardware.mercury import MercurySimulator
from tagtrail_hardware.nmea import NmeaSimulator, Route
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_protocol import Codec, Status
from tagtrail_protocol.link import Link
from tagtrail_protocol.settings import BrokerSection
from tagtrail_testbed.acker import AckingSubscriber
from tagtrail_testbed.mosquitto import Broker, BrokerUser

AGENT = Path(sys.executable).parent / "tagtrail-edge"
SGTIN = "3074257BF7194E4000001A85"


def settings(tmp_path: Path, port: int, **sections: Any) -> EdgeConfig:
    base: dict[str, Any] = {
        "gateway": {"id": "gate-1", "site": "port-rtm"},
        "mqtt": {"host": "127.0.0.1", "port": port, "resend_after_s": 1.0,
                 "status_interval_s": 0.5, "backoff_base_s": 0.05, "backoff_cap_s": 0.3},
        "outbox": {"path": tmp_path / "outbox.db"},
        "smoothing": {"observe_count": 2, "observe_s": 0.5, "lost_s": 0.5},
    }  # fmt: skip
    if "readers" not in sections and "gps" not in sections:  # something to read, unplugged
        base["readers"] = [{"name": "idle", "driver": "ascii", "path": "/dev/tagtrail-unplugged"}]
    for key, value in sections.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return EdgeConfig(**base)


def tag_reads(epc: str = SGTIN, n: int = 10) -> list[TagRead]:
    now = time.time()
    return [TagRead(epc=epc, antenna=1, time=now, mono_ns=0, rssi_dbm=-50.0 - i) for i in range(n)]


def retained_status(port: int) -> Status:
    got: list[Status] = []
    link = Link(BrokerSection(port=port), client_id=f"status-{uuid.uuid4().hex[:8]}")
    link.client.on_message = lambda c, u, m: got.append(Codec().decode(bytes(m.payload)))  # type: ignore[arg-type]
    link.connect()
    link.subscribe([("tagtrail/v1/port-rtm/gate-1/status", 1)])
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        link.loop(0.1)
    link.close()
    assert got, "no retained status"
    return got[0]


def test_arrive_and_depart_reach_the_collector_with_identity(
    tmp_path: Path, broker_factory: Callable[..., Broker]
) -> None:
    broker = broker_factory()
    with VirtualSerialPort() as port, AckingSubscriber("127.0.0.1", broker.port) as acker:
        config = settings(
            tmp_path, broker.port,
            readers=[{"name": "dock", "driver": "ascii", "path": port.device_path}],
            read_points=[{"name": "gate-1-in", "reader": "dock", "antenna": 1}],
        )  # fmt: skip
        agent = Agent(config, clock=ClockProbe(forced=True))
        agent.start()
        try:
            AsciiReaderSimulator(port).send(tag_reads())
            acker.wait_for(lambda: len(acker.items()) == 2)
            arrive, depart = acker.items()
            assert (arrive.event.value, depart.event.value) == ("arrive", "depart")
            assert (depart.read_point, depart.count, depart.peak_rssi_dbm) == (
                "gate-1-in",
                10,
                -50.0,
            )
            assert depart.identity is not None
            assert depart.identity.gs1_key == "80614141123458"
            assert depart.clock_synced is True
            status = retained_status(broker.port)
            assert status.state.value == "online"
            assert status.health is not None
            assert status.devices[0].state == "ok"
            wait(lambda: agent.outbox.stats().backlog_items == 0)
        finally:
            agent.stop()


def test_unacked_batches_are_sent_again_until_acked(
    tmp_path: Path, broker_factory: Callable[..., Broker]
) -> None:
    broker = broker_factory()
    with (
        VirtualSerialPort() as port,
        AckingSubscriber("127.0.0.1", broker.port, ack=False) as acker,
    ):
        reader = {"name": "dock", "driver": "ascii", "path": port.device_path}
        config = settings(tmp_path, broker.port, readers=[reader])
        agent = Agent(config)
        agent.start()
        try:
            AsciiReaderSimulator(port).send(tag_reads())
            wait(lambda: agent.publisher.sent >= 3)  # sent, unacked, sent again
            assert agent.outbox.stats().backlog_items == 2
            acker.ack.set()
            acker.wait_for(lambda: len(acker.items()) == 2)
            wait(lambda: agent.outbox.stats().backlog_items == 0)
        finally:
            agent.stop()


def test_mercury_reader_and_mobile_positions(
    tmp_path: Path, broker_factory: Callable[..., Broker]
) -> None:
    broker = broker_factory()
    route = Route(((51.95, 4.05), (51.90, 4.50)), speed_mps=20.0)
    with (
        VirtualSerialPort() as reader_port,
        VirtualSerialPort() as gps_port,
        AckingSubscriber("127.0.0.1", broker.port) as acker,
    ):
        sim = MercurySimulator(reader_port, keepalive_s=0.2).start()
        gps = NmeaSimulator(gps_port, route, period_s=0.1).start()
        config = settings(
            tmp_path, broker.port, gateway={"mobile": True},
            readers=[{"name": "cab", "driver": "mercury", "path": reader_port.device_path}],
            gps={"source": "nmea", "path": gps_port.device_path},
        )  # fmt: skip
        agent = Agent(config)
        agent.start()
        try:
            sim.reading.wait(10)
            acker.wait_for(lambda: len(acker.fixes()) >= 3)
            sim.emit(tag_reads())
            acker.wait_for(lambda: len(acker.items()) == 2)
            for item in acker.items():
                assert item.position is not None
                assert 51.89 <= item.position.lat <= 51.96
                assert item.position.fix_age_s < 2.0
            assert all(f.quality.value == "gps" for f in acker.fixes())
        finally:
            agent.stop()
            sim.stop()
            gps.stop()


def test_sigterm_drains_and_leaves_an_offline_status(
    tmp_path: Path, broker_factory: Callable[..., Broker]
) -> None:
    broker = broker_factory()
    with VirtualSerialPort() as port:
        cfg = tmp_path / "edge.toml"
        cfg.write_text(
            f'[gateway]\nid = "gate-1"\nsite = "port-rtm"\n[mqtt]\nport = {broker.port}\n'
            f'[outbox]\npath = "{tmp_path / "outbox.db"}"\n'
            f'[[readers]]\nname = "dock"\ndriver = "ascii"\npath = "{port.device_path}"\n'
        )
        agent = subprocess.Popen([str(AGENT), "run", "--config", str(cfg)], stderr=subprocess.PIPE)
        wait(lambda: retained_status(broker.port).state.value == "online")
        AsciiReaderSimulator(port).send(tag_reads(n=3))
        time.sleep(0.5)
        started = time.monotonic()
        agent.send_signal(signal.SIGTERM)
        _, stderr = agent.communicate(timeout=15)
        assert agent.returncode == 0
        assert time.monotonic() - started < 12.0
        assert retained_status(broker.port).state.value == "offline"
        db = sqlite3.connect(tmp_path / "outbox.db")
        # The tag is still in the field: its track is saved, so a restart will not re-arrive it.
        assert db.execute("SELECT epc, count FROM tracks").fetchall() == [(SGTIN, 3)]
        assert b'"message": "agent stopped"' in stderr


def test_last_will_says_offline_when_the_agent_is_killed(
    tmp_path: Path, broker_factory: Callable[..., Broker]
) -> None:
    broker = broker_factory()
    cfg = tmp_path / "edge.toml"
    cfg.write_text(
        f'[gateway]\nid = "gate-1"\nsite = "port-rtm"\n'
        f"[mqtt]\nport = {broker.port}\nkeepalive_s = 5\n"
        f'[outbox]\npath = "{tmp_path / "outbox.db"}"\n'
        '[[readers]]\nname = "dock"\ndriver = "ascii"\npath = "/dev/tagtrail-unplugged"\n'
    )
    agent = subprocess.Popen([str(AGENT), "run", "--config", str(cfg)], stderr=subprocess.DEVNULL)
    wait(lambda: retained_status(broker.port).state.value == "online")
    agent.kill()
    agent.wait()
    wait(lambda: retained_status(broker.port).state.value == "offline", timeout=20)


def test_a_broken_config_stops_start_up_with_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "edge.toml"
    cfg.write_text('[gateway]\nid = "Gate 1"\nsite = "port-rtm"\n')
    result = subprocess.run(
        [str(AGENT), "run", "--config", str(cfg)], capture_output=True, check=False
    )
    assert result.returncode == 2
    assert b"gateway.id = 'Gate 1'" in result.stderr


def wait(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met")


def test_tls_with_client_certificate_and_password(
    tmp_path: Path, broker_factory: Callable[..., Broker]
) -> None:
    users = [
        BrokerUser("gate-1", "s3cret", ("topic write tagtrail/v1/port-rtm/gate-1/#",
                                         "topic read tagtrail/v1/port-rtm/gate-1/ack")),
        BrokerUser("collector", "c0llect", ("topic readwrite tagtrail/#",)),
    ]  # fmt: skip
    broker = broker_factory(users=users, tls=True, require_client_cert=True)
    assert broker.pki is not None
    client = broker.pki.client("gate-1")
    with VirtualSerialPort() as port:
        config = settings(
            tmp_path, broker.tls_port,
            mqtt={"username": "gate-1", "password": "s3cret", "ca_file": broker.pki.ca_cert,
                  "cert_file": client.cert, "key_file": client.key},
            readers=[{"name": "dock", "driver": "ascii", "path": port.device_path}],
        )  # fmt: skip
        agent = Agent(config)
        agent.start()
        try:
            wait(agent.publisher.connected.is_set)
            AsciiReaderSimulator(port).send(tag_reads())
            # Both events go out over TLS; nobody acknowledges on this broker, so both stay.
            wait(lambda: agent.publisher.sent >= 2 and agent.outbox.stats().backlog_items == 2)
        finally:
            agent.stop()


def test_a_wrong_password_is_reported_and_retried(
    tmp_path: Path, broker_factory: Callable[..., Broker]
) -> None:
    broker = broker_factory(users=[BrokerUser("gate-1", "right")])
    config = settings(tmp_path, broker.port, mqtt={"username": "gate-1", "password": "wrong"})
    agent = Agent(config)
    agent.start()
    try:
        wait(lambda: "refused" in (agent.publisher.state_detail or ""))
        assert not agent.publisher.connected.is_set()
    finally:
        agent.stop()


def test_the_agent_tells_systemd_it_is_ready_alive_and_stopping(
    tmp_path: Path, mosquitto: Broker, monkeypatch: Any
) -> None:
    """Type=notify with WatchdogSec: READY=1 at start, WATCHDOG=1 while alive, STOPPING=1."""
    import socket  # noqa: PLC0415

    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(address)
        systemd.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", address)
        monkeypatch.setenv("WATCHDOG_USEC", "400000")  # ping every 0.2 s
        agent = Agent(settings(tmp_path, mosquitto.port), clock=ClockProbe(forced=True))
        agent.start()
        heard = [systemd.recv(64) for _ in range(4)]
        agent.stop()
        while b"STOPPING=1" not in heard:
            heard.append(systemd.recv(64))
    assert heard[0] == b"READY=1"
    assert heard[1:4] == [b"WATCHDOG=1"] * 3


def test_read_points_inherit_smoothing_and_big_batches_go_compressed(
    tmp_path: Path, broker_factory: Callable[..., Broker]
) -> None:
    """[smoothing] is every read point's unless it sets its own (a listed read point used to
    get the class defaults: no summaries), and mqtt.compress_above is applied on the wire."""
    broker = broker_factory()
    epcs = [f"3074257BF7194E40{n:08X}" for n in range(40)]
    with VirtualSerialPort() as port, AckingSubscriber("127.0.0.1", broker.port) as acker:
        config = settings(
            tmp_path, broker.port,
            smoothing={"observe_count": 1, "observe_s": 0.0, "lost_s": 5.0, "summary_s": 0.3},
            mqtt={"compress_above": 1000, "batch_max_items": 500},
            readers=[{"name": "dock", "driver": "ascii", "path": port.device_path}],
            read_points=[{"name": "gate-1-in", "reader": "dock", "antenna": 1}],
        )  # fmt: skip
        assert config.thresholds_for("gate-1-in").summary_s == 0.3
        agent = Agent(config, clock=ClockProbe(forced=True))
        agent.start()
        try:
            sim = AsciiReaderSimulator(port)
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:  # the tags dwell at the gate
                now = time.time()
                sim.send([TagRead(e, 1, now, 0, rssi_dbm=-55.0) for e in epcs])
                time.sleep(0.1)
            acker.wait_for(lambda: sum(i.event.value == "observe" for i in acker.items()) >= 40)
            assert {i.read_point for i in acker.items()} == {"gate-1-in"}
            assert any(acker.compressed), "no batch went compressed"
        finally:
            agent.stop()


def test_after_a_short_broker_outage_the_agent_is_back_soon(
    tmp_path: Path, broker_factory: Callable[..., Broker]
) -> None:
    """A 7 s outage once cost a gateway 50 s offline (full-jitter backoff had grown to its
    cap). With the default backoff (0.5 s doubling to 60 s) the wait never exceeds the time the
    link has been down: three gateways are each back within 2x the outage."""
    broker = broker_factory()
    default = {"backoff_base_s": 0.5, "backoff_cap_s": 60.0}
    agents = [
        Agent(
            settings(tmp_path / str(n), broker.port, mqtt=default,
                     gateway={"id": f"gate-{n}", "site": "port-rtm"}),
            clock=ClockProbe(forced=True),
        )
        for n in range(3)
    ]  # fmt: skip
    for agent in agents:
        agent.start()
    try:
        wait(lambda: all(a.publisher.connected.is_set() for a in agents))
        broker.stop()
        wait(lambda: not any(a.publisher.connected.is_set() for a in agents))
        time.sleep(7.0)
        broker.start()
        back = time.monotonic()
        wait(lambda: all(a.publisher.connected.is_set() for a in agents), timeout=30)
        took = time.monotonic() - back
        assert took <= 14.0, f"back {took:.1f} s after a 7 s outage"
    finally:
        for agent in agents:
            agent.stop()
