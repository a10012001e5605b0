"""A small synchronous MQTT client over paho-mqtt, for tests that talk to a real broker."""

from __future__ import annotations

import queue
import threading
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as paho
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import SecretStr

from tagtrail_protocol.link import Link
from tagtrail_protocol.settings import BrokerSection
from tagtrail_testbed.errors import BedError
from tagtrail_testbed.pki import CertFiles


class ConnectRefused(BedError):
    """The broker answered CONNECT with a failure reason code."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"broker refused the connection: {reason}")
        self.reason = reason


class MqttProbe:
    """Connects, subscribes, publishes and collects messages, each call waiting for its answer."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_cert: Path | None = None,
        client_cert: CertFiles | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self._connected = threading.Event()
        self._connect_reason: ReasonCode | None = None
        self._subacks: dict[int, list[ReasonCode]] = {}
        self._suback_event = threading.Condition()
        settings = BrokerSection(
            host=host, port=port, username=username,
            password=SecretStr(password) if password is not None else None,
            ca_file=ca_cert, cert_file=client_cert.cert if client_cert else None,
            key_file=client_cert.key if client_cert else None,
        )  # fmt: skip
        self.link = Link(settings, client_id=client_id or f"probe-{uuid.uuid4().hex[:8]}")
        self.client = self.link.client
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self._dropped = False

    def _on_connect(
        self, _c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
    ) -> None:
        self._connect_reason = reason
        self._connected.set()

    def _on_subscribe(
        self, _c: paho.Client, _u: Any, mid: int, reasons: list[ReasonCode], _p: Properties | None
    ) -> None:
        with self._suback_event:
            self._subacks[mid] = reasons
            self._suback_event.notify_all()

    def _on_message(self, _c: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
        self.messages.put(message)

    def _on_disconnect(
        self, _c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
    ) -> None:
        if not self._connected.is_set():
            self._connect_reason = reason
            self._dropped = True
            self._connected.set()

    def connect(self) -> Self:
        """Connect and wait for CONNACK; raise ConnectRefused, or LinkError (TLS, unreachable)."""
        self.link.connect()
        self.link.start_thread()
        if not self._connected.wait(self.timeout):
            self.close()
            raise BedError(f"no CONNACK from {self.host}:{self.port} in {self.timeout} s")
        reason = self._connect_reason
        if self._dropped:
            self.close()
            raise ConnectRefused(f"connection closed before CONNACK ({reason})")
        if reason is not None and reason.is_failure:
            self.close()
            raise ConnectRefused(str(reason))
        return self

    def subscribe(self, topic: str, qos: int = 1) -> list[ReasonCode]:
        """Subscribe and return the broker's granted QoS / failure codes."""
        mid = self.link.subscribe([(topic, qos)])  # LinkError when it cannot be sent
        with self._suback_event:
            if not self._suback_event.wait_for(lambda: mid in self._subacks, self.timeout):
                raise BedError(f"no SUBACK for {topic!r}")
            return self._subacks.pop(mid)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Publish and, for QoS > 0, wait for the broker's acknowledgement."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(self.timeout)
        if not info.is_published():
            raise BedError(f"publish to {topic!r} not acknowledged in {self.timeout} s")

    def receive(self, timeout: float | None = None) -> paho.MQTTMessage | None:
        """The next message, or None when none comes in ``timeout`` seconds."""
        try:
            return self.messages.get(timeout=self.timeout if timeout is None else timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.link.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
