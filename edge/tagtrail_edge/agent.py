"""The gateway agent, the one module that wires the pipeline, in flow order:

read (drivers) -> commit hand-over -> smooth -> enrich -> outbox -> publish. Each stage is a
module of ``pipeline/``; none imports another, they meet here.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tagtrail_edge import __version__
from tagtrail_edge.config import EdgeConfig
from tagtrail_edge.pipeline import enrich, read
from tagtrail_edge.pipeline.commit import Intake
from tagtrail_edge.pipeline.enrich import ClockProbe, PositionHistory
from tagtrail_edge.pipeline.outbox import Outbox
from tagtrail_edge.pipeline.publish import Publisher
from tagtrail_edge.pipeline.smooth import Smoother
from tagtrail_edge.pipeline.values import Commit
from tagtrail_edge.systemd import notify, watchdog_interval
from tagtrail_hardware.contract import Gps, Reader
from tagtrail_hardware.reads import Fix, TagRead
from tagtrail_protocol import (
    ClockSource,
    ClockState,
    DeviceState,
    GatewayState,
    Health,
    Kind,
    Status,
)

_log = logging.getLogger(__name__)


@dataclass
class Agent:
    """Everything one gateway runs. ``start()``, then ``stop()`` (or ``run_until(event)``)."""

    config: EdgeConfig
    clock: ClockProbe = field(default_factory=ClockProbe)
    boot_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def __post_init__(self) -> None:
        c = self.config
        self.readers = read.readers(c)
        self.gps = read.gps(c)
        self.smoother = Smoother(
            read_point=read.read_point_namer(c), thresholds=functools.cache(c.thresholds_for)
        )
        self.positions = (
            PositionHistory(max_age_s=c.gps.max_fix_age_s)
            if c.gateway.mobile and c.gps is not None
            else None
        )
        self.outbox = Outbox.open(c.outbox)
        self.intake = Intake(transform=self._transform, store=self._store)
        self.publisher = Publisher(
            settings=c.mqtt, site=c.gateway.site, gateway=c.gateway.id, boot_id=self.boot_id,
            outbox=self.outbox, status=self.status,
        )  # fmt: skip
        self._device_stop = threading.Event()
        self._intake_stop = threading.Event()
        self._link_stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _transform(
        self, reads: list[TagRead], fixes: list[Fix], *, tick: bool, now: float
    ) -> Commit:
        """smooth -> enrich, for one group: positions first (events are stamped with them)."""
        synced = self.clock.synced()
        items: list[tuple[Kind, str]] = []
        for fix in fixes:
            if self.positions is not None:
                self.positions.add(fix, received=now)
            fixed = enrich.position(fix, received=now, synced=synced)
            items.append((Kind.POS, fixed.model_dump_json(exclude_none=True)))
        events = [e for r in reads for e in self.smoother.read(r)]
        if tick:
            events += self.smoother.tick(now)
        for event in events:
            item = enrich.observation(event, synced=synced, positions=self.positions)
            items.append((Kind.OBS, item.model_dump_json(exclude_none=True)))
        saved, deleted = self.smoother.take_changes()
        raw = reads if self.config.outbox.keep_raw_reads else []
        return Commit(items=items, saved=saved, deleted=deleted, raw=raw)

    def _store(self, commit: Commit, now: float) -> None:
        self.outbox.commit(
            commit.items, saved=commit.saved, deleted=commit.deleted, raw=commit.raw, now=now
        )

    def start(self) -> None:
        self.smoother.restore(self.outbox.tracks(), now=time.time())
        self._spawn("intake", self.intake.run, self._intake_stop)
        for reader in self.readers:
            self._spawn(
                f"reader-{reader.name}", reader.run, self.intake.put_reads, self._device_stop
            )
        if self.gps is not None:
            self._spawn("gps", self.gps.run, self.intake.put_fixes, self._device_stop)
        self._spawn("publisher", self.publisher.run, self._link_stop)
        self._spawn("housekeeping", self._housekeeping)
        interval = watchdog_interval()
        if interval is not None:
            self._spawn("watchdog", self._watchdog, interval)
        notify("READY=1")
        _log.info("agent started: gateway %s, boot %s", self.config.gateway.id, self.boot_id)

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Stop the devices, commit what they handed over, say goodbye, close the outbox."""
        deadline = time.monotonic() + timeout_s
        notify("STOPPING=1")
        self._device_stop.set()
        self._join("reader-", "gps", deadline=deadline)
        self._intake_stop.set()
        self._join("intake", deadline=deadline)
        self._link_stop.set()
        self._join("publisher", "housekeeping", "watchdog", deadline=deadline)
        self.outbox.close()
        _log.info("agent stopped")

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:  # noqa: ANN401
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _join(self, *prefixes: str, deadline: float) -> None:
        for thread in self._threads:
            if thread.name.startswith(prefixes):
                thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _housekeeping(self) -> None:
        while not self._link_stop.wait(60.0):
            self.outbox.expire()

    def _watchdog(self, interval_s: float) -> None:
        """Tell systemd we are alive while every worker thread is; else let it restart us."""
        while not self._link_stop.wait(interval_s):
            workers = [t for t in self._threads if t.name != "watchdog"]
            if self._device_stop.is_set() or all(t.is_alive() for t in workers):
                notify("WATCHDOG=1")
            else:
                dead = ", ".join(t.name for t in workers if not t.is_alive())
                _log.error("worker thread(s) %s died; no watchdog ping: systemd restarts us", dead)

    def status(self, state: GatewayState) -> Status:
        now = datetime.now(UTC)
        if state is GatewayState.OFFLINE:
            return Status(
                gateway=self.config.gateway.id, boot_id=self.boot_id, time=now, state=state
            )
        stats = self.outbox.stats()
        unacked_s = self.publisher.oldest_unacked_age_s(time.time())
        alerts = []
        if stats.recovered_from:
            alerts.append(f"outbox was corrupt; moved aside to {stats.recovered_from}")
        if self.intake.failing:
            alerts.append(f"outbox writes failing: {self.intake.failing}"[:500])
        if unacked_s is not None and unacked_s >= self.publisher.stall_after_s:
            alerts.append(f"no ack for {unacked_s:.0f} s: is the collector running and subscribed?")
        health = Health(
            backlog_batches=stats.backlog_batches,
            backlog_items=stats.backlog_items,
            oldest_unsent_age_s=_age(stats.oldest_created),
            outbox_bytes=stats.bytes_on_disk,
            outbox_cap_bytes=stats.cap_bytes,
            drops=dict(stats.drops),
            last_ack_at=_utc(stats.last_ack_at),
            last_ack_seq=stats.last_ack_seq,
            alerts=tuple(alerts),
            inflight_batches=self.publisher.inflight,
            oldest_unacked_age_s=unacked_s,
            resends=self.publisher.resent,
        )  # fmt: skip
        synced = self.clock.synced()
        devices: list[Reader | Gps] = [*self.readers, *([self.gps] if self.gps else [])]
        return Status(
            gateway=self.config.gateway.id, boot_id=self.boot_id, time=now, state=state,
            agent_version=__version__, health=health,
            clock=ClockState(synced=synced, source=ClockSource.NTP if synced else ClockSource.NONE),
            devices=tuple(_device_state(d) for d in devices),
        )  # fmt: skip


def _device_state(device: Reader | Gps) -> DeviceState:
    s = device.status()
    return DeviceState(name=s.name, type=s.kind, state=s.state, detail=s.detail)


def _age(since: float | None) -> float | None:
    return None if since is None else max(0.0, time.time() - since)


def _utc(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
