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
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from tagtrail_collector.config import MqttSection
from tagtrail_collector.errors import ConfigError
from tagtrail_collector.metrics import Metrics
from tagtrail_protocol import Kind, subscription

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
        self.metrics = metrics
        self.connected = False
        self.subscribed = threading.Event()
        """Set once the broker has granted the subscriptions (again after each reconnect)."""
        self.last_error: str | None = None
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5
        )
        if s.username:
            password = s.password.get_secret_value() if s.password else None
            client.username_pw_set(s.username, password)
        if s.ca_file is not None:
            try:
                client.tls_set(
                    ca_certs=str(s.ca_file),
                    certfile=str(s.cert_file) if s.cert_file else None,
                    keyfile=str(s.key_file) if s.key_file else None,
                    tls_version=ssl.PROTOCOL_TLS_CLIENT,
                )
            except (OSError, ssl.SSLError, ValueError) as exc:
                raise ConfigError(f"mqtt: cannot set up TLS: {exc}") from exc
        client.reconnect_delay_set(1, int(s.backoff_cap_s))
        client.max_inflight_messages_set(1000)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = lambda *_: self.subscribed.set()
        return client

    def start(self) -> None:
        s = self.settings
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = s.session_expiry
        persistent = s.session_expiry > 0
        self._client.connect_async(
            s.host, s.port, keepalive=s.keepalive_s, clean_start=not persistent,
            properties=properties,
        )  # fmt: skip
        self._client.loop_start()

    def stop(self) -> None:
        properties = None
        if self.settings.share_group is not None and self.settings.session_expiry > 0:
            properties = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 0  # leave the group: the others take its share
        self._client.disconnect(properties=properties)
        self._client.loop_stop()
        # paho 2.x closes the loop's wake-up socket pair only on garbage collection; close it
        # with the connection (there is no public call for it).
        self._client._reset_sockets()
        self.connected = False
        self.metrics.mqtt_connected.set(0)

    def publish(self, topic: str, payload: bytes) -> bool:
        """Publish with QoS 1; False when not connected (the gateway will re-send its batch)."""
        info = self._client.publish(topic, payload, qos=1)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,  # noqa: ANN401
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Any,  # noqa: ANN401
    ) -> None:
        if reason.is_failure:
            self.last_error = f"broker refused the connection: {reason}"
            log.error("mqtt: %s", self.last_error)
            return
        group = self.settings.share_group
        # Subscribed again even when the broker kept the session: a broker restarted without
        # persistence has forgotten it, and subscribing twice changes nothing.
        client.subscribe([(subscription(kind, share_group=group), 1) for kind in KINDS])
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
        _client: mqtt.Client,
        _userdata: Any,  # noqa: ANN401
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _properties: Any,  # noqa: ANN401
    ) -> None:
        self.connected = False
        self.subscribed.clear()
        self.metrics.mqtt_connected.set(0)
        if reason.is_failure:
            self.last_error = f"disconnected: {reason}"
            log.warning("mqtt: %s; reconnecting", self.last_error)

    def _on_message(
        self,
        _client: mqtt.Client,
        _userdata: Any,  # noqa: ANN401
        message: mqtt.MQTTMessage,
    ) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:  # brokers refuse such topics; dead-letter it if one comes
            topic = message._topic.decode("utf-8", "replace")
        received = Received(topic, bytes(message.payload), time.time_ns())
        try:
            self.inbox.put_nowait(received)
        except queue.Full:
            self.metrics.shed.inc()


def default_client_id(instance: str) -> str:
    """``tagtrail-collector-<host>[-<instance>]``: the same after a restart (the broker keeps
    the session for it), different for each instance on one host."""
    name = f"tagtrail-collector-{socket.gethostname()}"
    return f"{name}-{instance}" if instance else name
