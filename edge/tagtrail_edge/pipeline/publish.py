"""Publisher: outbox batches to MQTT (QoS 1), removed only when the collector acknowledges them.

One thread owns the paho client and drives its network loop, so callbacks run here too. The link
reconnects with exponential backoff and full jitter. A retained status (also the last will) tells
the fleet how the gateway is. Each pass sends what is due, alternating the newest batch (live
data) and the oldest (backlog) so that draining a long outage never starves live data. The
window bounds how many batches are out unacknowledged; a batch still unacknowledged after
``resend_after_s`` (doubling per attempt, up to 16x) is sent again whatever the window holds, so
acks that never come (a collector killed while it held the window, a broker restarted without
persistence) delay delivery but never stop it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final, Protocol
from uuid import UUID

from tagtrail_edge.config import MqttSection
from tagtrail_edge.errors import PublishError
from tagtrail_edge.pipeline.values import Batch
from tagtrail_hardware.contract import Backoff
from tagtrail_protocol import (
    Ack,
    Codec,
    EncodeError,
    GatewayState,
    Kind,
    ProtocolError,
    Status,
    Topic,
)
from tagtrail_protocol.errors import LinkError
from tagtrail_protocol.link import Link, Message, Reason, Will, refusal

_log = logging.getLogger(__name__)
_STABLE_S: Final = 10.0
"""A connection up this long (or one that brought an ack) worked: the reconnect backoff resets."""


class Sendable(Protocol):
    """What the publisher needs of the outbox (``pipeline.outbox.Outbox`` is one)."""

    def form_batches(self, boot_id: str, next_seq: int, *, max_items: int) -> int: ...

    def pending(self, *, limit: int, newest: bool = False) -> list[tuple[int, int]]: ...

    def batch(self, batch_id: int) -> Batch | None: ...

    def mark_sent(self, batch_id: int, *, now: float) -> None: ...

    def acknowledge(
        self, boot_id: str, stored: Iterable[int], rejected: Iterable[tuple[int, str]] = ()
    ) -> int: ...


class Publisher:
    """Sends the outbox; ``run(stop)`` in its own thread."""

    def __init__(
        self,
        *,
        settings: MqttSection,
        site: str,
        gateway: str,
        boot_id: UUID,
        outbox: Sendable,
        status: Callable[[GatewayState], Status],
        codec: Codec | None = None,
    ) -> None:
        self.settings = settings
        self.topic = Topic(site=site, gateway=gateway, kind=Kind.OBS)
        self.boot_id = boot_id
        self.outbox = outbox
        self.status = status
        self.codec = codec or Codec(compress_above=settings.compress_above)
        self.backoff = Backoff(settings.backoff_base_s, settings.backoff_cap_s)
        self.connected = threading.Event()
        self.state_detail: str | None = "not connected yet"
        self.sent = 0
        self.resent = 0
        self.acked = 0
        self.bad_acks = 0
        self.last_ack_at: float | None = None
        """Wall time of the last ack this process received (the outbox keeps the last ever)."""
        self._next_seq = 0
        self._inflight: dict[int, _InFlight] = {}  # batch id -> its sending, on this connection
        self._sent_as: dict[tuple[str, int], int] = {}  # (boot id, seq) -> batch id
        self._link = self._make_link()
        self._last_status = 0.0
        self._newest_first = True
        self._leaving = False
        self._down_since = time.monotonic()
        self._worked = False
        self._stall_warned_at = 0.0
        self._said_at = 0.0

    def _make_link(self) -> Link:
        s = self.settings
        will = Will(
            str(self.topic.sibling(Kind.STATUS)),
            self.codec.encode(self.status(GatewayState.OFFLINE)),
        )
        try:
            link = Link(
                s, client_id=s.client_id or f"tagtrail-edge-{self.topic.gateway}", will=will,
                max_inflight=max(20, s.window * 2),
            )  # fmt: skip
        except LinkError as exc:
            raise PublishError(str(exc)) from exc
        link.client.on_connect = self._on_connect
        link.client.on_disconnect = self._on_disconnect
        link.client.on_message = self._on_message
        return link

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        attempt = 0
        up_since = 0.0
        while not stop.is_set():
            if not self.connected.is_set():
                if not self._ensure_connected(stop):
                    down_s = time.monotonic() - self._down_since
                    stop.wait(self.backoff.delay(attempt, down_s=down_s))
                    attempt += 1
                    continue
                up_since = time.monotonic()
            if attempt and (self._worked or time.monotonic() - up_since >= _STABLE_S):
                attempt = 0  # the connection worked: the next outage starts with a short wait
            try:
                self._link.loop(timeout=0.05)
            except LinkError as exc:
                if self.connected.is_set():  # else on_disconnect has said so already
                    self._lost(str(exc))
                continue
            if self.connected.is_set():
                self.pump(time.time())
        self._goodbye()

    def _ensure_connected(self, stop: threading.Event) -> bool:
        if self.connected.is_set():
            return True
        try:
            self._link.connect()
        except LinkError as exc:
            detail = str(exc)
            if detail != self.state_detail or time.monotonic() - self._said_at >= 60.0:
                _log.warning("mqtt: %s; trying again", detail)  # once a minute, not per attempt
                self._said_at = time.monotonic()
            self.state_detail = detail
            return False
        deadline = time.monotonic() + 10.0
        while not self.connected.is_set() and time.monotonic() < deadline and not stop.is_set():
            try:
                self._link.loop(timeout=0.1)
            except LinkError:
                break
        if not self.connected.is_set():
            self._link.client.disconnect()
            return False
        return True

    def _lost(self, why: str) -> None:
        self.connected.clear()
        self._inflight.clear()
        self._sent_as.clear()
        self._down_since = time.monotonic()
        self._worked = False
        self.state_detail = why
        _log.warning("mqtt link lost: %s", why)

    def _goodbye(self) -> None:
        self._leaving = True
        if self.connected.is_set():
            info = self._link.publish(
                str(self.topic.sibling(Kind.STATUS)),
                self.codec.encode(self.status(GatewayState.OFFLINE)), retain=True,
            )  # fmt: skip
            deadline = time.monotonic() + 2.0
            while not info.is_published() and time.monotonic() < deadline:
                try:
                    self._link.loop(timeout=0.05)
                except LinkError:
                    break
        self._link.close()

    # -- what is sent --------------------------------------------------------------------

    def pump(self, now: float) -> None:
        """Form batches, re-send what is overdue, send new batches into the window, and the
        periodic status."""
        s = self.settings
        self._next_seq = self.outbox.form_batches(
            str(self.boot_id), self._next_seq, max_items=s.batch_max_items
        )
        for batch_id in [b for b, f in self._inflight.items() if now >= f.due_at]:
            self._send(batch_id, now)
        room = s.window - len(self._inflight)
        if room > 0:
            # Batches not in flight on this connection were never sent, or sent on an earlier
            # one (or by an earlier run) whose ack can no longer come: they go out now.
            limit = room + len(self._inflight)  # the in-flight ones are skipped below
            oldest = self.outbox.pending(limit=limit)
            newest = self.outbox.pending(limit=limit, newest=True)
            lanes = self._alternate([b for b, _ in oldest], [b for b, _ in newest])
            for batch_id in [b for b in lanes if b not in self._inflight][:room]:
                self._send(batch_id, now)
        self._warn_if_stalled(now)
        if now - self._last_status >= s.status_interval_s:
            self.publish_status()

    @property
    def inflight(self) -> int:
        """Batches sent on this connection and not acknowledged yet."""
        return len(self._inflight)

    def oldest_unacked_age_s(self, now: float) -> float | None:
        """Seconds since the oldest batch now in flight was first sent on this connection."""
        if not self._inflight:
            return None
        return max(0.0, now - min(f.first_sent for f in list(self._inflight.values())))

    @property
    def stall_after_s(self) -> float:
        """Waiting this long for an ack is a stall worth an alert (several re-sends' worth)."""
        return max(60.0, 4 * self.settings.resend_after_s)

    def _warn_if_stalled(self, now: float) -> None:
        """One log line per period while batches are out and nothing has been acknowledged."""
        period = self.stall_after_s
        age = self.oldest_unacked_age_s(now)
        if age is None or age < period or now - self._stall_warned_at < period:
            return
        self._stall_warned_at = now
        last = "never" if self.last_ack_at is None else f"{now - self.last_ack_at:.0f} s ago"
        _log.warning(
            "no ack for %.0f s: %d batch(es) in flight, %d re-sent so far, last ack %s;"
            " is the collector running and subscribed?",
            age, len(self._inflight), self.resent, last,
        )  # fmt: skip

    def _alternate(self, oldest: list[int], newest: list[int]) -> list[int]:
        """Newest, oldest, newest...: live data goes out even behind a long backlog."""
        lanes = (newest, oldest) if self._newest_first else (oldest, newest)
        self._newest_first = not self._newest_first
        order: list[int] = []
        for pair in zip(*lanes, strict=False):
            order += [b for b in pair if b not in order]
        longer = max(lanes, key=len)
        return order + [b for b in longer if b not in order]

    def _send(self, batch_id: int, now: float) -> None:
        batch = self.outbox.batch(batch_id)
        if batch is None or not batch.bodies:
            self._inflight.pop(batch_id, None)  # dropped meanwhile (cap, retention, purge)
            return
        topic = self.topic.sibling(batch.kind)
        try:
            packed = self.codec.pack_batch(
                batch.kind, gateway=self.topic.gateway, boot_id=batch.boot_id, seq=batch.seq,
                sent_at=datetime.now(UTC), bodies=batch.bodies,
            )  # fmt: skip
        except EncodeError as exc:  # cannot happen with sane batch limits; never loop on it
            _log.error("batch %s/%s cannot be sent: %s", batch.boot_id, batch.seq, exc)
            self.outbox.acknowledge(batch.boot_id, (), [(batch.seq, "too-large")])
            return
        try:
            self._link.publish(str(topic), packed)
        except LinkError as exc:
            self._lost(str(exc))
            return
        self.outbox.mark_sent(batch_id, now=now)
        previous = self._inflight.get(batch_id)
        tries = previous.tries + 1 if previous else 1
        backoff = min(2 ** (tries - 1), 16)  # on this connection: 1x, 2x, 4x ... 16x
        self._inflight[batch_id] = _InFlight(
            first_sent=previous.first_sent if previous else now,
            last_sent=now,
            due_at=now + self.settings.resend_after_s * backoff,
            tries=tries,
        )
        self._sent_as[(batch.boot_id, batch.seq)] = batch_id
        self.sent += 1
        if batch.attempts:
            self.resent += 1

    def publish_status(self) -> None:
        self._last_status = time.time()
        payload = self.codec.encode(self.status(GatewayState.ONLINE))
        try:
            self._link.publish(str(self.topic.sibling(Kind.STATUS)), payload, retain=True)
        except LinkError as exc:
            self._lost(str(exc))

    # -- paho callbacks (run in this thread, inside loop()) -----------------------------

    def _on_connect(
        self, client: object, userdata: object, flags: object, reason: Reason,
        properties: object,
    ) -> None:  # fmt: skip
        if (refused := refusal(reason)) is not None:
            self.state_detail = str(refused)
            _log.error("mqtt: %s", self.state_detail)
            return
        try:
            self._link.subscribe([(str(self.topic.sibling(Kind.ACK)), 1)])
        except LinkError as exc:
            self.state_detail = str(exc)
            return
        self.connected.set()
        self.state_detail = None
        self._inflight.clear()
        self._sent_as.clear()
        self.publish_status()
        down_s = time.monotonic() - self._down_since
        _log.info("mqtt connected to %s:%s (down %.1f s)", self.settings.host, self.settings.port,
                  down_s)  # fmt: skip

    def _on_disconnect(
        self, client: object, userdata: object, flags: object, reason: Reason,
        properties: object,
    ) -> None:  # fmt: skip
        if self._leaving:
            self.connected.clear()
        elif self.connected.is_set():
            self._lost(f"disconnected: {reason}")

    def _on_message(self, client: object, userdata: object, message: Message) -> None:
        try:
            ack = self.codec.decode_for(Topic.parse(message.topic), bytes(message.payload))
        except ProtocolError as exc:
            self.bad_acks += 1
            _log.warning("ignored a bad ack on %s: %s", message.topic, exc)
            return
        if not isinstance(ack, Ack) or ack.gateway != self.topic.gateway:
            self.bad_acks += 1
            return
        self.outbox.acknowledge(
            str(ack.boot_id), ack.stored, [(r.seq, r.reason) for r in ack.rejected]
        )
        for seq in ack.stored:
            self._forget(str(ack.boot_id), seq)
        for rejection in ack.rejected:
            self._forget(str(ack.boot_id), rejection.seq)
        self.acked += len(ack.stored)
        if ack.stored or ack.rejected:
            self.last_ack_at = time.time()
            self._worked = True
            self._hurry(self.last_ack_at)

    def _hurry(self, now: float) -> None:
        """The collector answers: what has waited ``resend_after_s`` since it was last sent is
        due now, not after its backoff (its ack was lost while the collector was away)."""
        for batch_id, flight in self._inflight.items():
            if flight.due_at > now and now - flight.last_sent >= self.settings.resend_after_s:
                self._inflight[batch_id] = replace(flight, due_at=now)

    def _forget(self, boot_id: str, seq: int) -> None:
        batch_id = self._sent_as.pop((boot_id, seq), None)
        if batch_id is not None:
            self._inflight.pop(batch_id, None)


@dataclass(frozen=True, slots=True)
class _InFlight:
    """A batch sent on this connection and not acknowledged yet."""

    first_sent: float
    last_sent: float
    due_at: float
    """When it is re-sent if no ack came (``resend_after_s``, doubling per try, at most 16x)."""
    tries: int
