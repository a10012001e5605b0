"""Mosquitto on free loopback ports: plain, with passwords and per-client ACLs, and/or TLS."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tagtrail_collector.provision.broker import password_hash
from tagtrail_testbed.pki import CertFiles, Pki
from tagtrail_testbed.process import Service, free_port, port_open

MOSQUITTO = os.environ.get("TAGTRAIL_MOSQUITTO", "/usr/sbin/mosquitto")
CLI = str(Path(sys.executable).with_name("tagtrail-collector"))


@dataclass(frozen=True, slots=True)
class BrokerUser:
    """A broker account and the ACL lines (``topic read|write|readwrite FILTER``) it is given."""

    username: str
    password: str
    acl: tuple[str, ...] = ("topic readwrite #",)


class Broker(Service):
    """A running Mosquitto. Use as a context manager.

    ``users`` turns on password authentication and per-user ACLs (anonymous clients are refused
    unless ``anonymous=True``). ``tls=True`` adds a TLS listener (``tls_port``) with a throwaway
    CA (``pki.ca_cert``); ``require_client_cert`` makes it ask for client certificates.
    ``max_queued_messages`` is how many QoS 1 messages Mosquitto holds for a subscriber that is
    behind before it drops them (Mosquitto's default, 1000, unless given).
    """

    name = "mosquitto"
    host = "127.0.0.1"
    start_timeout = 15.0

    def __init__(
        self,
        *,
        users: Sequence[BrokerUser] = (),
        anonymous: bool | None = None,
        tls: bool = False,
        require_client_cert: bool = False,
        plain_listener: bool = True,
        max_queued_messages: int = 1000,
    ) -> None:
        super().__init__()
        self.max_queued_messages = max_queued_messages
        self.users = tuple(users)
        self.anonymous = not self.users if anonymous is None else anonymous
        self.require_client_cert = require_client_cert
        self.plain_listener = plain_listener
        self.port = 0
        self.tls_port = 0
        self.pki: Pki | None = None
        self.server_cert: CertFiles | None = None
        try:
            if tls:
                self.pki = Pki(self.workdir / "pki")
                self.server_cert = self.pki.server("broker")
            self._write_auth_files()
        except BaseException:
            self.close()
            raise
        self._start()

    def _prepare(self) -> list[str]:
        self.port = free_port() if self.plain_listener else 0
        self.tls_port = free_port() if self.pki else 0
        config = self.workdir / "mosquitto.conf"
        config.write_text(self._config())
        return [MOSQUITTO, "-c", str(config)]

    def _ready(self) -> bool:
        return all(port_open(self.host, port) for port in (self.port, self.tls_port) if port)

    def _write_auth_files(self) -> None:
        if not self.users:
            return
        passwd = self.workdir / "passwd"
        passwd.write_text(
            "".join(f"{u.username}:{password_hash(u.password)}\n" for u in self.users)
        )
        acl_lines: list[str] = []
        for user in self.users:
            acl_lines += [f"user {user.username}", *user.acl, ""]
        acl = self.workdir / "acl"
        acl.write_text("\n".join(acl_lines))
        for path in (passwd, acl):
            path.chmod(0o600)

    def _config(self) -> str:
        lines = [
            "per_listener_settings false",
            f"allow_anonymous {'true' if self.anonymous else 'false'}",
            "persistence false",
            f"max_queued_messages {self.max_queued_messages}",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
        ]
        if self.users:
            lines += [
                f"password_file {self.workdir / 'passwd'}",
                f"acl_file {self.workdir / 'acl'}",
            ]
        if self.port:
            lines += [f"listener {self.port} {self.host}"]
        if self.pki and self.server_cert:
            lines += [
                f"listener {self.tls_port} {self.host}",
                f"cafile {self.pki.ca_cert}",
                f"certfile {self.server_cert.cert}",
                f"keyfile {self.server_cert.key}",
                "tls_version tlsv1.2",
                f"require_certificate {'true' if self.require_client_cert else 'false'}",
            ]
        return "\n".join(lines) + "\n"


class ProvisionedBroker(Service):
    """Mosquitto running the production config that ``tagtrail-collector broker init`` writes.

    ``init()``, add gateways with the CLI, ``launch()``. ``broker_dir`` holds tagtrail.conf,
    passwd and acl (change them with the CLI, then ``reload()``); the broker's certificate comes
    from ``pki``; it listens on a free loopback port.
    """

    name = "mosquitto"
    host = "127.0.0.1"
    start_timeout = 15.0

    def __init__(self) -> None:
        super().__init__()
        self.pki = Pki(self.workdir / "pki")
        self.server_cert = self.pki.server("broker")
        self.broker_dir = self.workdir / "broker"
        self.port = free_port()
        self.collector_password = ""

    def init(self) -> None:
        """``broker init`` through the real CLI (``launch()`` starts the broker)."""
        argv = [
            CLI, "broker", "init", "--broker-dir", str(self.broker_dir),
            "--cafile", str(self.pki.ca_cert), "--certfile", str(self.server_cert.cert),
            "--keyfile", str(self.server_cert.key), "--port", str(self.port),
            "--bind", self.host, "--force",
        ]  # fmt: skip
        result = subprocess.run(argv, capture_output=True, text=True, check=True)
        self.collector_password = result.stdout.strip()
        # Run as the test's own user: Mosquitto started as root would drop to "mosquitto".
        with (self.broker_dir / "tagtrail.conf").open("a") as conf:
            conf.write(f"user {pwd.getpwuid(os.getuid()).pw_name}\n")

    def launch(self) -> None:
        self._start()

    def reload(self) -> None:
        """SIGHUP to Mosquitto (the reaper's child): it rereads the password and ACL files."""
        reaper = self.process.pid
        children = Path(f"/proc/{reaper}/task/{reaper}/children").read_text().split()
        os.kill(int(children[0]), signal.SIGHUP)

    def _prepare(self) -> list[str]:
        return [MOSQUITTO, "-c", str(self.broker_dir / "tagtrail.conf")]

    def _ready(self) -> bool:
        return port_open(self.host, self.port)
