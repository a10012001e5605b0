"""The MQTT link both programs use: one paho client set up from a :class:`BrokerSection`.

Credentials, TLS (one ``ssl`` context: the agent, ``doctor`` and the collector trust the same
way), MQTT 3.1.1 or 5, the last will, connecting with errors translated into :class:`LinkError`
and :class:`LinkRefused`, and a clean-up that leaves no socket behind. Needs the ``link`` extra
(paho-mqtt); the rest of the package does no I/O.

Who reconnects: a :class:`Link` driven by ``loop()`` in its owner's thread (the gateway's
publisher) is reconnected by its owner, with the jittered backoff the devices use; one started
with ``start_async()`` (the collector, the test bed) is reconnected by paho's own thread, up to
the same ``backoff_cap_s``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from tagtrail_protocol.errors import LinkError, LinkRefused
from tagtrail_protocol.settings import BrokerSection

Message = paho.MQTTMessage
Reason = ReasonCode
ConnectFlags = paho.ConnectFlags
SUCCESS: Final = paho.MQTT_ERR_SUCCESS


@dataclass(frozen=True, slots=True)
class Will:
    """What the broker publishes for us when the connection dies without a goodbye."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


def tls_context(settings: BrokerSection) -> ssl.SSLContext:
    """The TLS context for ``settings`` (its CA, and its client certificate if any)."""
    try:
        context = ssl.create_default_context(cafile=str(settings.ca_file))
        if settings.cert_file is not None and settings.key_file is not None:
            context.load_cert_chain(str(settings.cert_file), str(settings.key_file))
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise LinkError(f"cannot set up TLS: {exc}") from exc
    return context


def refusal(reason: ReasonCode | int) -> LinkRefused | None:
    """The error for a broker's failure reason code; None when it is a success."""
    failed = reason.is_failure if isinstance(reason, ReasonCode) else reason >= 0x80
    return LinkRefused(f"broker refused: {reason}") if failed else None


def _properties(packet: int, **values: int) -> Properties:
    """MQTT 5 properties of ``packet`` (``PacketTypes.CONNECT``...)."""
    props = Properties(packet)  # type: ignore[no-untyped-call]
    for name, value in values.items():
        setattr(props, name, value)
    return props


class Link:
    """A configured paho client. Set callbacks on ``client``; then connect, and ``close()``."""

    def __init__(
        self,
        settings: BrokerSection,
        *,
        client_id: str,
        mqtt5: bool = False,
        will: Will | None = None,
        max_inflight: int = 20,
    ) -> None:
        self.settings = settings
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5 if mqtt5 else paho.MQTTv311,
        )
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else None
            self.client.username_pw_set(settings.username, password)
        if settings.ca_file is not None:
            self.client.tls_set_context(tls_context(settings))
        if will is not None:
            self.client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        self.client.max_inflight_messages_set(max_inflight)
        self._threaded = False

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def connect(self) -> None:
        """Open the connection (CONNACK arrives through ``loop()``); LinkError if it cannot."""
        s = self.settings
        try:
            self.client.connect(s.host, s.port, keepalive=s.keepalive_s)
        except (OSError, ssl.SSLError, ValueError) as exc:
            _close_failed_tls_socket(exc)
            raise LinkError(f"cannot reach {self.where}: {exc}") from exc

    def start_async(self, *, session_expiry_s: int | None = None) -> None:
        """Connect in paho's own thread, which reconnects (1 s doubling to ``backoff_cap_s``).

        ``session_expiry_s`` (MQTT 5): how long the broker keeps the session and queues for it
        while we are away; 0 starts clean and ends the session at disconnect.
        """
        s = self.settings
        options: dict[str, Any] = {}
        if session_expiry_s is not None:
            options["clean_start"] = session_expiry_s == 0
            options["properties"] = _properties(
                PacketTypes.CONNECT, SessionExpiryInterval=session_expiry_s
            )
        self.client.reconnect_delay_set(1, max(1, int(s.backoff_cap_s)))
        self.client.connect_async(s.host, s.port, keepalive=s.keepalive_s, **options)
        self.client.loop_start()
        self._threaded = True

    def start_thread(self) -> None:
        """Run paho's network thread over a connection made with ``connect()``."""
        self.client.loop_start()
        self._threaded = True

    def loop(self, timeout: float) -> None:
        """One pass of the network loop in the caller's thread; LinkError when the link failed."""
        rc = self.client.loop(timeout=timeout)
        if rc != SUCCESS:
            raise LinkError(f"network loop: {paho.error_string(rc)}", rc=rc)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> Any:  # noqa: ANN401
        """Queue a message (paho's MQTTMessageInfo); LinkError when it cannot be queued."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != SUCCESS:
            raise LinkError(f"publish to {topic}: {paho.error_string(info.rc)}", rc=info.rc)
        return info

    def subscribe(self, topics: list[tuple[str, int]]) -> int:
        """Ask for ``topics``; the message id the SUBACK will carry. LinkError when not sent."""
        rc, mid = self.client.subscribe(topics)
        if rc != SUCCESS or mid is None:
            raise LinkError(f"subscribe: {paho.error_string(rc)}", rc=rc)
        return mid

    def close(self, *, leave_session: bool = False) -> None:
        """Disconnect (ending an MQTT 5 session when asked), stop the thread, free the sockets."""
        props = None
        if leave_session:
            props = _properties(PacketTypes.DISCONNECT, SessionExpiryInterval=0)
        self.client.disconnect(properties=props)
        if self._threaded:
            self.client.loop_stop()
            self._threaded = False
        else:
            self.client.loop(timeout=0.05)
        # paho 2.x keeps a socket pair for waking its loop that it closes only when the client
        # is garbage-collected; it has no public call for this, so this is its one use.
        self.client._reset_sockets()


def _close_failed_tls_socket(exc: BaseException) -> None:
    # paho leaves the socket of a failed TLS handshake open (a ResourceWarning later); it is
    # still a local of the frame that wrapped it.
    tb = exc.__traceback__
    while tb is not None:
        sock = tb.tb_frame.f_locals.get("ssl_sock")
        if isinstance(sock, ssl.SSLSocket):
            sock.close()
        tb = tb.tb_next
