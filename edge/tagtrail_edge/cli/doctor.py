"""A gateway's health checks, in the order a technician fixes things, each with its remedy.

config -> devices -> GPS fix -> clock -> disk -> broker reachable -> TLS trust -> credentials ->
ack round trip -> backlog draining. A check whose prerequisite failed is skipped, not failed
again, so the first failure is the one to fix. Nothing here changes the gateway: the outbox is
only read, devices are only looked at (or listened to, for the GPS), and the round trip uses a
ping (protocol 1.1) that stores nothing."""

from __future__ import annotations

import shutil
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from tagtrail_edge.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    json_lines,
    latest_fix,
)
from tagtrail_edge.cli.outbox import disk_use, inspect
from tagtrail_edge.config import EdgeConfig, MqttSection, load_config
from tagtrail_edge.errors import ConfigError, OutboxError
from tagtrail_edge.pipeline import read
from tagtrail_edge.pipeline.enrich import kernel_synced
from tagtrail_hardware.ports import access
from tagtrail_protocol import Ack, Codec, Kind, Ping, ProtocolError, Topic
from tagtrail_protocol.errors import LinkError
from tagtrail_protocol.link import Link, Message, refusal, tls_context

Verdict = Literal["pass", "fail", "skip"]


MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Check:
    """One check's outcome; ``fix`` says what to do when it failed."""

    name: str
    verdict: Verdict
    detail: str
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class Waits:
    gps_s: float = 5.0
    connect_s: float = 5.0
    ack_s: float = 10.0


def diagnose(path: Path, waits: Waits = Waits()) -> Iterator[Check]:
    """Run every check in order, yielding each outcome as soon as it is known."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        yield Check("config valid", "fail", str(exc), f"tagtrail-edge config validate {path}")
        for name in NAMES[1:]:
            yield Check(name, "skip", "no valid config")
        return
    yield Check("config valid", "pass", str(path))
    yield devices(config)
    yield gps_fix(config, waits.gps_s)
    yield clock()
    yield disk(config)
    yield from link(config, waits)
    yield backlog(config)


NAMES = (
    "config valid", "devices present and readable", "GPS fix", "clock synchronised",
    "disk space", "broker reachable", "TLS trust", "credentials accepted", "ack round trip",
    "backlog draining",
)  # fmt: skip


STUCK_AFTER_S = 300.0


"""A backlog whose oldest item waits longer than this, with no ack as recent, is not draining."""


def devices(config: EdgeConfig) -> Check:

    named = config.serial_devices()
    if not named:
        return Check(NAMES[1], "skip", "no serial device configured")
    problems = []
    for path, role in named.items():
        verdict = access(path) if Path(path).exists() else "missing"
        if verdict != "ok":
            problems.append(f"{role} at {path}: {verdict}")
    if problems:
        fix = (
            "plug the device in or correct its path (tagtrail-edge devices lists the ports; "
            "tagtrail-edge config set readers.N.path /dev/serial/by-id/...); on 'denied', "
            "join the group named"
        )
        return Check(NAMES[1], "fail", "; ".join(problems), fix)
    return Check(NAMES[1], "pass", ", ".join(f"{role} at {path}" for path, role in named.items()))


def gps_fix(config: EdgeConfig, wait_s: float) -> Check:

    gps = read.gps(config)
    if gps is None:
        return Check(NAMES[2], "skip", 'no GPS configured ([gps] source = "none")')
    fix = latest_fix(gps, wait_s=wait_s)
    if fix is None:
        status = gps.status()
        detail = f"no fix within {wait_s:g} s; device {status.state}"
        detail += f" ({status.detail})" if status.detail else ""
        remedy = (
            "give the antenna a view of the sky and wait for a fix (a cold start takes "
            "minutes); if the port is busy, stop the agent first; tagtrail-edge gps status"
        )
        return Check(NAMES[2], "fail", detail, remedy)
    sats = "" if fix.satellites is None else f", {fix.satellites} satellites"
    hdop = "" if fix.hdop is None else f", HDOP {fix.hdop}"
    return Check(
        NAMES[2], "pass", f"{fix.quality.value} at {fix.lat:.5f},{fix.lon:.5f}{sats}{hdop}"
    )


def clock() -> Check:
    if kernel_synced():
        return Check(NAMES[3], "pass", "the kernel reports the clock synchronised")
    return Check(
        NAMES[3], "fail", "the kernel reports the clock unsynchronised; events are flagged so",
        "enable NTP (timedatectl set-ntp true, or chrony); offline, let chrony use gpsd",
    )  # fmt: skip


def disk(config: EdgeConfig) -> Check:
    folder = config.outbox.path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    cap = int(config.outbox.cap_mb * MIB)
    used = disk_use(config.outbox)
    detail = (
        f"{free / MIB:.0f} MiB free at {folder}; outbox {used / MIB:.1f} of {cap / MIB:.0f} MiB"
    )
    if free < cap - used:
        return Check(
            NAMES[4], "fail", detail + ": the outbox cannot reach its cap",
            "free disk space, or lower outbox.cap_mb (tagtrail-edge config set outbox.cap_mb N)",
        )  # fmt: skip
    return Check(NAMES[4], "pass", detail)


def backlog(config: EdgeConfig) -> Check:
    """Whether the outbox empties: read-only figures, safe beside a running agent."""

    try:
        stats = inspect(config.outbox)
    except OutboxError as exc:
        return Check(NAMES[9], "skip", str(exc))
    if stats.backlog_items == 0:
        return Check(NAMES[9], "pass", "the outbox is empty: everything was acknowledged")
    now = time.time()
    oldest = 0.0 if stats.oldest_created is None else now - stats.oldest_created
    acked = None if stats.last_ack_at is None else now - stats.last_ack_at
    detail = (
        f"{stats.backlog_items} item(s) in {stats.backlog_batches} batch(es) waiting, the oldest "
        f"for {oldest:.0f} s; last ack " + ("never" if acked is None else f"{acked:.0f} s ago")
    )
    if oldest < STUCK_AFTER_S or (acked is not None and acked < STUCK_AFTER_S):
        return Check(NAMES[9], "pass", detail + ": draining")
    return Check(
        NAMES[9], "fail", detail,
        "is the agent running (systemctl status tagtrail-edge)? It re-sends unacknowledged "
        "batches by itself; its status alerts say 'no ack for N s' while the collector does not "
        "answer: then read the collector's log for InfluxDB or registry errors "
        "(docs/operations.md, Troubleshooting)",
    )  # fmt: skip


def link(config: EdgeConfig, waits: Waits) -> Iterator[Check]:
    m = config.mqtt
    where = f"{m.host}:{m.port}"
    try:
        socket.create_connection((m.host, m.port), timeout=waits.connect_s).close()
    except OSError as exc:
        yield Check(
            NAMES[5], "fail", f"{where}: {exc.strerror or exc}",
            "check mqtt.host and mqtt.port, the network and the firewall; is the broker up?",
        )  # fmt: skip
        yield from _skipped(6, "broker unreachable")
        return
    yield Check(NAMES[5], "pass", where)
    if m.ca_file is None:
        yield Check(NAMES[6], "skip", "TLS is off (no mqtt.ca_file): traffic is not encrypted")
    else:
        trust = tls_trust(m, waits.connect_s)
        yield trust
        if trust.verdict == "fail":
            yield from _skipped(7, "no trusted TLS connection")
            return
    yield from _session(config, waits)


def tls_trust(m: MqttSection, timeout_s: float) -> Check:
    try:
        context = tls_context(m)
        with (
            socket.create_connection((m.host, m.port), timeout=timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=m.host) as wrapped,
        ):
            peer = wrapped.getpeercert() or {}
    except ssl.SSLCertVerificationError as exc:
        return Check(
            NAMES[6], "fail", f"the broker's certificate is not trusted: {exc.verify_message}",
            f"mqtt.ca_file ({m.ca_file}) must be the CA that signed the broker's certificate, "
            f"and that certificate must name {m.host}",
        )  # fmt: skip
    except (ssl.SSLError, OSError, LinkError) as exc:
        return Check(
            NAMES[6], "fail", f"TLS handshake failed: {exc}",
            "check mqtt.ca_file, cert_file and key_file, and that the port speaks TLS",
        )  # fmt: skip
    subject: Any = peer.get("subject", ())
    names = [pair[1] for rdn in subject for pair in rdn if pair[0] == "commonName"]
    return Check(NAMES[6], "pass", f"broker certificate for {names[0] if names else m.host}")


def _skipped(first: int, why: str) -> Iterator[Check]:
    for name in NAMES[first:]:
        yield Check(name, "skip", why)


def _session(config: EdgeConfig, waits: Waits) -> Iterator[Check]:
    """Connect with the gateway's credentials, then ping the collector and await its answer."""
    probe = _Probe(config)
    try:
        refused = probe.connect(waits.connect_s)
        if refused is not None:
            yield Check(
                NAMES[7], "fail", refused,
                "check mqtt.username and mqtt.password (or TAGTRAIL_EDGE_MQTT__PASSWORD) "
                "against the broker's password file; tagtrail-collector provisions them",
            )  # fmt: skip
            yield from _skipped(8, "not connected")
            return
        yield Check(NAMES[7], "pass", f"connected as {config.mqtt.username or '(anonymous)'}")
        yield probe.round_trip(waits.ack_s)
    finally:
        probe.close()


class _Probe:
    """A short MQTT session of its own (its own client id: a running agent stays connected)."""

    def __init__(self, config: EdgeConfig) -> None:
        m, gw = config.mqtt, config.gateway
        self.topic = Topic(gw.site, gw.id, Kind.PING)
        self.session = uuid.uuid4()
        self.codec = Codec()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.answered = threading.Event()
        self.refusal: str | None = None
        self.link = Link(m, client_id=f"tagtrail-doctor-{gw.id}-{self.session.hex[:8]}")
        self.client = self.link.client
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def connect(self, timeout_s: float) -> str | None:
        """None when the broker accepted us; otherwise its (or the network's) reason."""
        try:
            self.link.connect()
        except LinkError as exc:
            return f"connection failed: {exc}"
        self.link.start_thread()
        if not self.connected.wait(timeout_s):
            return self.refusal or f"no answer to CONNECT within {timeout_s:g} s"
        return self.refusal

    def round_trip(self, timeout_s: float) -> Check:
        acks = str(self.topic.sibling(Kind.ACK))
        try:
            self.link.subscribe([(acks, 1)])
        except LinkError as exc:
            self.refusal = str(exc)
        if self.refusal or not self.subscribed.wait(timeout_s):
            return Check(
                NAMES[8], "fail", self.refusal or f"subscribing to {acks} was not answered",
                f"the broker's ACL must let this gateway read {acks}",
            )  # fmt: skip
        ping = Ping(gateway=self.topic.gateway, boot_id=self.session, time=datetime.now(UTC))
        try:
            self.link.publish(str(self.topic), self.codec.encode(ping))
        except LinkError as exc:
            return Check(NAMES[8], "fail", str(exc), "is the broker still reachable?")
        if self.answered.wait(timeout_s):
            return Check(NAMES[8], "pass", f"the collector answered on {acks}")
        return Check(
            NAMES[8], "fail", f"no answer on {acks} within {timeout_s:g} s",
            "is the collector running and connected to this broker (its /healthz)? The ACL "
            f"must let this gateway publish to {self.topic} and read {acks}",
        )  # fmt: skip

    def close(self) -> None:
        self.link.close()

    def _on_connect(self, _c: object, _u: object, _f: object, rc: Any, _p: object) -> None:  # noqa: ANN401
        if refusal(rc) is not None:
            self.refusal = f"the broker refused the connection: {rc}"
        self.connected.set()

    def _on_subscribe(self, _c: object, _u: object, _m: int, codes: Any, _p: object) -> None:  # noqa: ANN401
        failed = [code for code in codes if refusal(code) is not None]
        if failed:
            self.refusal = f"the broker refused the subscription: {failed[0]}"
        self.subscribed.set()

    def _on_message(self, _c: object, _u: object, message: Message) -> None:
        try:
            ack = self.codec.decode_for(Topic.parse(message.topic), bytes(message.payload))
        except ProtocolError:
            return
        if isinstance(ack, Ack) and ack.pong and ack.boot_id == self.session:
            self.answered.set()


MARKS = {"pass": ("PASS", "green"), "fail": ("FAIL", "bold red"), "skip": ("skip", "dim")}


def doctor(
    config: ConfigOption = DEFAULT_CONFIG,
    *,
    gps_wait: Annotated[float, typer.Option(help="seconds to wait for a GPS fix")] = 5.0,
    ack_wait: Annotated[float, typer.Option(help="seconds to wait for the collector")] = 10.0,
    as_json: JsonOption = False,
) -> None:
    """Check, in order: config valid, devices present and readable, GPS fix, clock
    synchronised, disk space, broker reachable, TLS trust, credentials accepted, and an ack
    round trip to the collector. Prints pass/fail per check, with the fix for each failure;
    checks that depend on a failed one are skipped. Exit status 1 when any check fails.
    Changes nothing; stop the agent first to check a serial GPS (its port is exclusive).

    Example: tagtrail-edge doctor --config /etc/tagtrail/edge.toml
    """
    from rich.console import Console  # noqa: PLC0415

    console = Console(highlight=False)
    failed = 0
    checks = diagnose(config, Waits(gps_s=gps_wait, ack_s=ack_wait))
    for index, name in enumerate(NAMES):
        if as_json:
            check = next(checks)
            json_lines([asdict(check)])
        else:
            with console.status(f"checking {name}...", spinner="dots"):
                check = next(checks)
            mark, style = MARKS[check.verdict]
            console.print(f"[{style}]{mark}[/] {index + 1}. {check.name}: {check.detail}")
            if check.fix:
                console.print(f"       fix: {check.fix}")
        failed += check.verdict == "fail"
    if failed:
        raise typer.Exit(1)
