"""The collector's part, played small: store each batch once and acknowledge it.

Until the collector exists this is what edge tests acknowledge against; afterwards it stays as
the reference for "what exactly-once looks like". Deliveries are recorded raw (duplicates and
all) and deduplicated by (gateway, boot id, sequence).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from tagtrail_protocol import Ack, Codec, Kind, ObservationBatch, PositionBatch, Topic
from tagtrail_protocol.link import Link, Message
from tagtrail_protocol.settings import BrokerSection

BatchKey = tuple[str, str, int]


class AckingSubscriber:
    """Subscribes to every gateway's obs and pos, stores, acks. Use as a context manager."""

    def __init__(self, host: str, port: int, *, ack: bool = True) -> None:
        self.codec = Codec()
        self.ack = threading.Event()
        if ack:
            self.ack.set()
        self.deliveries: Counter[BatchKey] = Counter()
        self.batches: dict[BatchKey, ObservationBatch | PositionBatch] = {}
        self.statuses: list[Any] = []
        self.compressed: list[bool] = []
        """Per batch delivered, whether its payload came zlib-compressed."""
        self._lock = threading.Lock()
        self._link = Link(
            BrokerSection(host=host, port=port, keepalive_s=10, backoff_cap_s=1),
            client_id="test-acker",
        )
        self._link.client.on_connect = self._on_connect
        self._link.client.on_message = self._on_message
        self._link.start_async()

    def _on_connect(self, client: Any, *_: Any) -> None:
        client.subscribe([("tagtrail/v1/+/+/obs", 1), ("tagtrail/v1/+/+/pos", 1),
                          ("tagtrail/v1/+/+/status", 1)])  # fmt: skip

    def _on_message(self, client: Any, userdata: Any, message: Message) -> None:
        topic = Topic.parse(message.topic)
        decoded = self.codec.decode_for(topic, bytes(message.payload))
        if not isinstance(decoded, ObservationBatch | PositionBatch):
            with self._lock:
                self.statuses.append(decoded)
            return
        if not self.ack.is_set():
            return
        with self._lock:
            self.compressed.append(bytes(message.payload[:1]) == b"\x78")
        key = (decoded.gateway, str(decoded.boot_id), decoded.seq)
        with self._lock:
            self.deliveries[key] += 1
            self.batches.setdefault(key, decoded)
        reply = Ack(gateway=decoded.gateway, boot_id=decoded.boot_id, time=datetime.now(UTC),
                    stored=(decoded.seq,))  # fmt: skip
        client.publish(str(topic.sibling(Kind.ACK)), self.codec.encode(reply), qos=1)

    def items(self) -> list[Any]:
        """Every stored observation item, once per batch (deduplicated), in arrival order."""
        with self._lock:
            return [
                i for b in self.batches.values() if isinstance(b, ObservationBatch) for i in b.items
            ]

    def fixes(self) -> list[Any]:
        with self._lock:
            return [
                f for b in self.batches.values() if isinstance(b, PositionBatch) for f in b.fixes
            ]

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"not reached in {timeout} s: {len(self.batches)} batches stored")

    def close(self) -> None:
        self._link.close()

    def __enter__(self) -> AckingSubscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
