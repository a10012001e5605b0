"""The gateway agent: drivers -> intake (smooth, enrich, outbox) -> publisher, in flow order."""

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
from tagtrail_edge.clock import ClockProbe
from tagtrail_edge.config import EdgeConfig
from tagtrail_edge.enrich import PositionHistory
from tagtrail_edge.intake import Intake
from tagtrail_edge.outbox import Outbox
from tagtrail_edge.publish import Publisher
from tagtrail_edge.smooth import Smoother, Thresholds
from tagtrail_edge.systemd import notify, watchdog_interval
from tagtrail_hardware.ascii import AsciiReader, LineFormat
from tagtrail_hardware.gpsd import GpsdClient
from tagtrail_hardware.mercury import MercuryReader, ReaderSettings
from tagtrail_hardware.nmea import NmeaGps
from tagtrail_protocol import (
    ClockSource,
    ClockState,
    DeviceState,
    GatewayState,
    Health,
    Status,
)

_log = logging.getLogger(__name__)


def build_readers(config: EdgeConfig) -> list[Any]:
    readers: list[Any] = []
    for r in config.readers:
        if r.driver == "ascii":
            fmt = LineFormat(fields=r.fields, separator=r.separator)
            readers.append(
                AsciiReader(name=r.name, path=r.path, baudrate=r.baudrate, line_format=fmt)
            )
        else:
            settings = ReaderSettings(
                region=r.region, read_power_cdbm=r.read_power_cdbm, antennas=r.antennas
            )
            readers.append(
                MercuryReader(name=r.name, path=r.path, baudrate=r.baudrate, settings=settings)
            )
    return readers


def build_gps(config: EdgeConfig) -> Any | None:  # noqa: ANN401 (NmeaGps or GpsdClient)
    gps = config.gps
    if gps.source == "nmea":
        return NmeaGps(name="gps", path=gps.path, baudrate=gps.baudrate)
    if gps.source == "gpsd":
        return GpsdClient(name="gps", host=gps.gpsd_host, port=gps.gpsd_port)
    return None


def read_point_namer(config: EdgeConfig) -> Callable[[str, int], str]:
    """(reader, antenna) -> read point name: the configured one, else ``<reader>-a<antenna>``."""
    points = {(p.reader, p.antenna): p.name for p in config.read_points}

    def read_point(reader: str, antenna: int) -> str:
        return points.get((reader, antenna)) or f"{reader}-a{antenna}"

    return read_point


def build_smoother(config: EdgeConfig) -> Smoother:
    read_point = read_point_namer(config)

    def limits(name: str) -> Thresholds:
        t = config.thresholds_for(name)
        return Thresholds(t.observe_count, t.observe_s, t.lost_s, t.summary_s)

    return Smoother(read_point=read_point, thresholds=functools.cache(limits))


@dataclass
class Agent:
    """Everything one gateway runs. ``start()``, then ``stop()`` (or ``run_until(event)``)."""

    config: EdgeConfig
    clock: ClockProbe = field(default_factory=ClockProbe)
    boot_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def __post_init__(self) -> None:
        c = self.config
        self.outbox = Outbox.open(c.outbox.settings())
        self.readers = build_readers(c)
        self.gps = build_gps(c)
        self.positions = (
            PositionHistory(max_age_s=c.gps.max_fix_age_s) if c.gateway.mobile else None
        )
        self.intake = Intake(
            outbox=self.outbox, smoother=build_smoother(c), positions=self.positions,
            clock=self.clock, keep_raw=c.outbox.keep_raw_reads,
        )  # fmt: skip
        self.publisher = Publisher(
            settings=c.mqtt, site=c.gateway.site, gateway=c.gateway.id, boot_id=self.boot_id,
            outbox=self.outbox, status=self.status,
        )  # fmt: skip
        self._device_stop = threading.Event()
        self._intake_stop = threading.Event()
        self._link_stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
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
        devices = [*self.readers, *([self.gps] if self.gps is not None else [])]
        return Status(
            gateway=self.config.gateway.id, boot_id=self.boot_id, time=now, state=state,
            agent_version=__version__, health=health,
            clock=ClockState(synced=synced, source=ClockSource.NTP if synced else ClockSource.NONE),
            devices=tuple(_device_state(d) for d in devices),
        )  # fmt: skip


def _device_state(device: Any) -> DeviceState:  # noqa: ANN401
    s = device.status()
    return DeviceState(name=s.name, type=s.kind, state=s.state, detail=s.detail)


def _age(since: float | None) -> float | None:
    return None if since is None else max(0.0, time.time() - since)


def _utc(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
