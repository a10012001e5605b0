"""The MQTT side of ingest: subscribe (optionally shared), hand messages over, publish acks.

The session is persistent (MQTT 5, ``session_expiry_s``, a stable client id per instance): the
broker keeps the subscription and queues the gateways' batches while the collector is down or
restarting, so it resumes where it stopped instead of leaving every gateway waiting out its
re-send timer. In a shared group the broker hands a share of the batches to a stopped member's
session too, so there the session lasts a minute by default, and an instance ends it when it
stops cleanly.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from tagtrail_collector.config import MqttSection
from tagtrail_collector.errors import ConfigError
from tagtrail_collector.metrics import Metrics
from tagtrail_protocol import Kind, subscription
from tagtrail_protocol.errors import LinkError
from tagtrail_protocol.link import ConnectFlags, Link, Message, Reason, refusal

log = logging.getLogger(__name__)
KINDS = (Kind.OBS, Kind.POS, Kind.STATUS, Kind.PING)


@dataclass(frozen=True, slots=True)
class Received:
    """One MQTT message as it arrived."""

    topic: str
    payload: bytes
    received_ns: int


class Subscriber:
    """Connects, subscribes to every gateway's obs/pos/status and queues what arrives.

    When the queue is full a message is shed, not waited for: the gateway re-sends every batch
    it has no ack for, so shedding delays data but never loses it, and the network loop keeps
    answering the broker.
    """

    def __init__(
        self,
        settings: MqttSection,
        *,
        inbox: queue.Queue[Received],
        metrics: Metrics,
        instance: str = "",
    ) -> None:
        self.settings = settings
        self.client_id = settings.client_id or default_client_id(instance)
        self.inbox = inbox
        self.messages = 0
        """Messages received from the broker since the start (queued or shed)."""
        self.metrics = metrics
        self.connected = False
        self.subscribed = threading.Event()
        """Set once the broker has granted the subscriptions (again after each reconnect)."""
        self.last_error: str | None = None
        self._link = self._make_link()

    def _make_link(self) -> Link:
        try:
            link = Link(self.settings, client_id=self.client_id, mqtt5=True, max_inflight=1000)
        except LinkError as exc:
            raise ConfigError(f"mqtt: {exc}") from exc
        link.client.on_connect = self._on_connect
        link.client.on_disconnect = self._on_disconnect
        link.client.on_message = self._on_message
        link.client.on_subscribe = lambda *_: self.subscribed.set()
        return link

    def start(self) -> None:
        self._link.start_async(session_expiry_s=self.settings.session_expiry)

    def stop(self) -> None:
        # In a shared group, leave it: the others take this instance's share at once.
        leave = self.settings.share_group is not None and self.settings.session_expiry > 0
        self._link.close(leave_session=leave)
        self.connected = False
        self.metrics.mqtt_connected.set(0)

    def publish(self, topic: str, payload: bytes) -> bool:
        """Publish with QoS 1; False when not connected (the gateway will re-send its batch)."""
        try:
            self._link.publish(topic, payload)
        except LinkError:
            return False
        return True

    def _on_connect(
        self,
        client: object,
        _userdata: Any,  # noqa: ANN401
        flags: ConnectFlags,
        reason: Reason,
        _properties: Any,  # noqa: ANN401
    ) -> None:
        if (refused := refusal(reason)) is not None:
            self.last_error = str(refused)
            log.error("mqtt: %s", self.last_error)
            return
        group = self.settings.share_group
        # Subscribed again even when the broker kept the session: a broker restarted without
        # persistence has forgotten it, and subscribing twice changes nothing.
        try:
            self._link.subscribe([(subscription(kind, share_group=group), 1) for kind in KINDS])
        except LinkError as exc:
            self.last_error = str(exc)
            log.warning("mqtt: %s", exc)
            return
        self.connected = True
        self.last_error = None
        self.metrics.mqtt_connected.set(1)
        resumed = "resumed its session" if flags.session_present else "new session"
        log.info(
            "mqtt: connected to %s:%d as %s (%s)",
            self.settings.host, self.settings.port, self.client_id, resumed,
        )  # fmt: skip

    def _on_disconnect(
        self,
        _client: object,
        _userdata: Any,  # noqa: ANN401
        _flags: object,
        reason: Reason,
        _properties: Any,  # noqa: ANN401
    ) -> None:
        self.connected = False
        self.subscribed.clear()
        self.metrics.mqtt_connected.set(0)
        if refusal(reason) is not None:
            self.last_error = f"disconnected: {reason}"
            log.warning("mqtt: %s; reconnecting", self.last_error)

    def _on_message(
        self,
        _client: object,
        _userdata: Any,  # noqa: ANN401
        message: Message,
    ) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:  # brokers refuse such topics; dead-letter it if one comes
            topic = message._topic.decode("utf-8", "replace")
        received = Received(topic, bytes(message.payload), time.time_ns())
        self.messages += 1
        try:
            self.inbox.put_nowait(received)
        except queue.Full:
            self.metrics.shed.inc()


def default_client_id(instance: str) -> str:
    """``tagtrail-collector-<host>[-<instance>]``: the same after a restart (the broker keeps
    the session for it), different for each instance on one host."""
    name = f"tagtrail-collector-{socket.gethostname()}"
    return f"{name}-{instance}" if instance else name
