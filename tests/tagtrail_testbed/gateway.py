"""A gateway's part, played small: publish batches, wait for the collector's acks, re-send.

Used to drive the collector without the whole edge agent: it keeps every batch until an ack
names its sequence, exactly as the edge outbox does.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tagtrail_protocol import (
    Ack,
    Codec,
    EventKind,
    FixQuality,
    Kind,
    ObservationBatch,
    ObservationItem,
    PositionBatch,
    PositionFix,
    Topic,
)
from tagtrail_protocol.link import Link, Message
from tagtrail_protocol.settings import BrokerSection

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


class FakeGateway:
    """Publishes batches on ``tagtrail/v1/{site}/{gateway}/...`` and records acks."""

    resend_after_s = 3.0
    resend_cap_s = 12.0

    def __init__(self, host: str, port: int, *, site: str, gateway: str) -> None:
        self.topic = Topic(site, gateway, Kind.OBS)
        self.boot_id = uuid.uuid4()
        self.codec = Codec()
        self.acked: set[int] = set()
        self.rejected: dict[int, str] = {}
        self.ack_messages = 0
        self.resent = 0
        self.pending: dict[int, bytes] = {}
        self._kinds: dict[int, Kind] = {}
        self._due: dict[int, tuple[float, float]] = {}  # seq -> (next re-send, its delay)
        self._seq = 0
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._link = Link(
            BrokerSection(host=host, port=port, keepalive_s=10, backoff_cap_s=2),
            client_id=f"fake-{gateway}-{self.boot_id.hex[:6]}",
        )
        self._client = self._link.client
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = self._on_message
        self._link.start_async()
        if not self._subscribed.wait(10):
            raise TimeoutError("fake gateway could not subscribe to its ack topic")

    def __enter__(self) -> FakeGateway:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._link.close()

    def _on_connect(self, client: Any, *_: Any) -> None:
        client.subscribe(str(self.topic.sibling(Kind.ACK)), qos=1)

    def _on_message(self, _c: Any, _u: Any, message: Message) -> None:
        ack = self.codec.decode(bytes(message.payload))
        if not isinstance(ack, Ack) or ack.boot_id != self.boot_id:
            return
        with self._lock:
            self.ack_messages += 1
            for seq in ack.stored:
                self.acked.add(seq)
                self.pending.pop(seq, None)
                self._due.pop(seq, None)
            for rejection in ack.rejected:  # dropped, as the edge agent does, and noted
                self.rejected[rejection.seq] = rejection.reason
                self.pending.pop(rejection.seq, None)
                self._due.pop(rejection.seq, None)

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def send_observations(self, items: list[ObservationItem]) -> int:
        seq = self.next_seq()
        batch = ObservationBatch(
            gateway=self.topic.gateway,
            boot_id=self.boot_id,
            seq=seq,
            sent_at=datetime.now(UTC),
            items=tuple(items),
        )
        self.send_payload(seq, Kind.OBS, self.codec.encode(batch))
        return seq

    def send_fixes(self, fixes: list[PositionFix]) -> int:
        seq = self.next_seq()
        batch = PositionBatch(
            gateway=self.topic.gateway,
            boot_id=self.boot_id,
            seq=seq,
            sent_at=datetime.now(UTC),
            fixes=tuple(fixes),
        )
        self.send_payload(seq, Kind.POS, self.codec.encode(batch))
        return seq

    @property
    def in_flight(self) -> int:
        """Batches sent and not yet acked."""
        with self._lock:
            return len(self.pending)

    def send_payload(self, seq: int, kind: Kind, payload: bytes) -> None:
        """Send an encoded batch (from ``next_seq()`` and ``boot_id``), kept until acked."""
        with self._lock:
            self.pending[seq] = payload
            self._kinds[seq] = kind
            self._due[seq] = (time.monotonic() + self.resend_after_s, self.resend_after_s)
        self._client.publish(str(self.topic.sibling(kind)), payload, qos=1)

    def resend_due(self) -> int:
        """Re-send the unacked batches whose wait is over, doubling each one's wait (capped).

        What the edge agent does: a batch goes out again until an ack names it.
        """
        now = time.monotonic()
        with self._lock:
            due = [seq for seq, (at, _) in self._due.items() if at <= now and seq in self.pending]
            for seq in due:
                delay = min(self._due[seq][1] * 2, self.resend_cap_s)
                self._due[seq] = (now + delay, delay)
            payloads = [(seq, self.pending[seq]) for seq in due]
            self.resent += len(payloads)
        for seq, payload in payloads:
            self._client.publish(str(self.topic.sibling(self._kinds[seq])), payload, qos=1)
        return len(payloads)

    def resend_pending(self) -> int:
        with self._lock:
            pending = list(self.pending.items())
        for seq, payload in pending:
            self._client.publish(str(self.topic.sibling(self._kinds[seq])), payload, qos=1)
        return len(pending)

    def publish_raw(self, kind: str, payload: bytes) -> None:
        self.publish_to(f"tagtrail/v1/{self.topic.site}/{self.topic.gateway}/{kind}", payload)

    def publish_to(self, topic: str, payload: bytes) -> None:
        """Publish anything anywhere (QoS 1), for tests of what the collector refuses."""
        self._client.publish(topic, payload, qos=1)

    def wait_acked(self, timeout: float = 30.0, *, resend_every: float = 5.0) -> bool:
        """Wait until every batch is acked, re-sending the rest every ``resend_every`` s."""
        deadline = time.monotonic() + timeout
        next_resend = time.monotonic() + resend_every
        while time.monotonic() < deadline:
            with self._lock:
                if not self.pending:
                    return True
            if time.monotonic() >= next_resend:
                self.resend_pending()
                next_resend = time.monotonic() + resend_every
            time.sleep(0.05)
        return False


def item(
    epc: str,
    *,
    at: datetime = T0,
    event: EventKind = EventKind.ARRIVE,
    read_point: str = "dock-1",
    antenna: int = 1,
    dwell_s: float = 0.0,
    identity: dict[str, Any] | None = None,
    position: dict[str, Any] | None = None,
) -> ObservationItem:
    """An observation event at ``at`` (its event time, whatever the kind)."""
    first = at if event is EventKind.ARRIVE else at - timedelta(seconds=dwell_s)
    last = at + timedelta(seconds=dwell_s) if event is EventKind.ARRIVE else at
    return ObservationItem.model_validate(
        {
            "epc": epc,
            "read_point": read_point,
            "antenna": antenna,
            "event": event,
            "first_seen": first,
            "last_seen": last,
            "count": 3,
            "peak_rssi_dbm": -60.0,
            "mono_ns": 1,
            "clock_synced": True,
            "identity": identity,
            "position": position,
        }
    )


def fix(lat: float, lon: float, *, at: datetime) -> PositionFix:
    return PositionFix(
        lat=lat, lon=lon, time=at, mono_ns=1, clock_synced=True, quality=FixQuality.GPS, hdop=0.9
    )
