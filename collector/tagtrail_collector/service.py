"""Wiring: one place that builds the collector's parts and connects them in flow order.

MQTT subscriber -> ingest pipeline -> InfluxDB + registry -> ack; the HTTP API reads the same
stores. ``Collector`` owns their lifetimes.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Final

from fastapi import FastAPI

from tagtrail_collector.api.deps import Services
from tagtrail_collector.api.directory import Directory
from tagtrail_collector.api.main import create_app, ops_app
from tagtrail_collector.config import CollectorConfig, JourneySection
from tagtrail_collector.errors import CollectorError
from tagtrail_collector.ingest.pipeline import Pipeline
from tagtrail_collector.ingest.subscriber import Received, Subscriber
from tagtrail_collector.journey import borders
from tagtrail_collector.journey.fences import Rule
from tagtrail_collector.journey.milestones import Limits
from tagtrail_collector.journey.tracker import Settings
from tagtrail_collector.metrics import Metrics
from tagtrail_collector.projections.doors import DoorProjection
from tagtrail_collector.projections.gateways import GatewayProjection
from tagtrail_collector.projections.geofences import GeofenceProjection, TrackerConfig
from tagtrail_collector.projections.journey import JourneyProjection
from tagtrail_collector.projections.tags import TagProjection
from tagtrail_collector.store.registry.db import connect
from tagtrail_collector.store.registry.dead_letters import DeadLetters
from tagtrail_collector.store.registry.journey import JourneyReads
from tagtrail_collector.store.registry.reads import Lookups, ShipmentReads
from tagtrail_collector.store.registry.registry import Registry
from tagtrail_collector.store.series.influx import Influx
from tagtrail_collector.store.series.queries import Series
from tagtrail_collector.store.series.writer import SeriesWriter

log = logging.getLogger(__name__)
_NAMES_TTL_S: Final = 30.0
_HOUSEKEEPING_S: Final = 3600.0


class ReadPointNames:
    """Registered read point names, re-read from the registry at most every 30 s."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._names: dict[tuple[str, int], str] = {}
        self._loaded = float("-inf")

    def __call__(self, gateway: str, antenna: int) -> str | None:
        if time.monotonic() - self._loaded > _NAMES_TTL_S:
            try:
                self._names = self.registry.read_point_names()
            except CollectorError as exc:
                log.warning("registry: cannot read read point names: %s", exc)
            self._loaded = time.monotonic()
        return self._names.get((gateway, antenna))


def tracker_config(section: JourneySection) -> TrackerConfig:
    return TrackerConfig(
        rule=Rule(section.confirm_fixes, section.confirm_s, section.margin_m),
        settings=Settings(gap_s=section.gap_s, max_speed_mps=section.max_speed_kmh / 3.6),
        uere_m=section.uere_m,
        accuracy_m=section.accuracy_m,
        replay_after_s=section.replay_after_s,
    )


def journey_limits(section: JourneySection) -> Limits:
    dwell = {kind: hours * 3600 for kind, hours in section.dwell_hours.by_kind().items()}
    return Limits(
        dwell_s=dwell,
        silent_s=section.silent_hours * 3600,
        split_s=section.split_minutes * 60,
        max_travel_mps=section.max_travel_kmh / 3.6,
    )


class Collector:
    """The whole service: ``start()``, then serve ``app``, then ``stop()``."""

    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self.influx = Influx(config.influx)
        self.engine = connect(config.registry.url.get_secret_value())
        self.registry = Registry(self.engine)
        self.directory = Directory(self.registry)
        self.series = Series(self.influx)
        self.tags = TagProjection(
            self.engine, history=self.series.history, observations=self.series.observations
        )
        self.geofences = GeofenceProjection(
            self.engine,
            positions=self.series.positions,
            config=tracker_config(config.journey),
            borders=borders.load,
        )
        self.journey = JourneyProjection(self.engine, limits=journey_limits(config.journey))
        self.lookups = Lookups(self.engine)
        self.dead_letters = DeadLetters(self.engine)
        self.inbox: queue.Queue[Received] = queue.Queue(config.ingest.queue_max_messages)
        self.subscriber = Subscriber(
            config.mqtt, inbox=self.inbox, metrics=self.metrics, instance=str(config.api.port)
        )
        self.pipeline = Pipeline(
            settings=config.ingest,
            inbox=self.inbox,
            series=SeriesWriter(self.influx),
            projections=[
                self.tags,
                GatewayProjection(self.engine),
                DoorProjection(self.engine),
                self.geofences,
                self.journey,
            ],
            dead_letters=self.dead_letters,
            publish=self.subscriber.publish,
            read_point_name=ReadPointNames(self.registry),
            metrics=self.metrics,
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
        self._housekeeping = threading.Thread(
            target=self._keep_house, name="housekeeping", daemon=True
        )

    def services(self) -> Services:
        return Services(
            registry=self.registry,
            directory=self.directory,
            tags=self.tags,
            lookups=self.lookups,
            reads=ShipmentReads(self.engine),
            dead_letters=self.dead_letters,
            influx=self.influx,
            series=self.series,
            metrics=self.metrics,
            settings=self.config.api,
            max_clock_ahead_s=self.config.ingest.max_clock_ahead_s,
            broker_status=self._broker_status,
            journey=JourneyReads(self.engine),
            rebuild_journey=self.journey.rebuild,
        )

    def app(self) -> FastAPI:
        """The API; with ``/healthz`` and ``/metrics`` unless they have a port of their own."""
        return create_app(self.services(), operations=self.config.api.metrics_port is None)

    def ops_app(self) -> FastAPI:
        """``/healthz`` and ``/metrics`` alone (served on ``api.metrics_port`` when set)."""
        return ops_app(self.services())

    def start(self) -> None:
        self._thread.start()
        self._housekeeping.start()
        self.subscriber.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop taking messages, finish the write under way (its acks included), close; say
        what is left unacknowledged (its gateways send it again)."""
        self._stop.set()
        self._thread.join(timeout_s)
        self.subscriber.stop()
        if self._thread.is_alive():
            log.warning(
                "stopping: the write under way could not finish in %.0f s (a store is failing);"
                " its batches stay unacknowledged and their gateways send them again", timeout_s,
            )  # fmt: skip
        left = self.inbox.qsize()
        if left:
            log.warning(
                "stopping: %d message(s) received and not stored are left unacknowledged;"
                " their gateways send them again", left,
            )  # fmt: skip
        self._housekeeping.join(timeout_s)
        self.influx.close()
        self.engine.dispose()

    def _keep_house(self) -> None:
        """Hourly: dead letters past their retention go."""
        retention_ns = int(self.config.ingest.dead_letter_retention_days * 86_400 * 1e9)
        while True:
            try:
                gone = self.dead_letters.purge(before_ns=time.time_ns() - retention_ns)
            except CollectorError as exc:
                log.warning("housekeeping: cannot purge old dead letters: %s", exc)
            else:
                if gone:
                    log.info("housekeeping: %d dead letter(s) past their retention deleted", gone)
            if self._stop.wait(_HOUSEKEEPING_S):
                return

    def _run(self) -> None:
        if self.config.influx.create_database:
            self._ensure_database()
        self.pipeline.run(self._stop)

    def _ensure_database(self) -> None:
        """CREATE DATABASE (a no-op when it exists), retried until InfluxDB answers."""
        attempt = 0
        while not self._stop.is_set():
            try:
                self.influx.ensure_database(retention=self.config.influx.retention)
            except CollectorError as exc:
                delay = min(30.0, 0.5 * 2**attempt)
                log.warning(
                    "influxdb: cannot check the database %r: %s; trying again in %.1f s",
                    self.config.influx.database, exc, delay,
                )  # fmt: skip
                attempt += 1
                self._stop.wait(delay)
            else:
                if attempt:
                    log.info("influxdb: reachable again; database %r ready",
                             self.config.influx.database)  # fmt: skip
                return

    def _broker_status(self) -> str | None:
        if self.subscriber.connected:
            return None
        return self.subscriber.last_error or "not connected"
