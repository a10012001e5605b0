"""Prometheus metrics of one collector instance (its own registry, served on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400)


class Metrics:
    """Counters per gateway and kind, plus write latency, ingest lag and queue depth."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.received = Counter(
            "tagtrail_received_messages", "MQTT messages received", ["gateway", "kind"], registry=r
        )
        self.stored = Counter(
            "tagtrail_stored_items",
            "observations and fixes stored in InfluxDB",
            ["gateway", "kind"],
            registry=r,
        )
        self.rejected = Counter(
            "tagtrail_rejected_messages",
            "payloads that failed decoding, and items quarantined (clock_ahead), by reason",
            ["gateway", "reason"],
            registry=r,
        )
        self.dead_lettered = Counter(
            "tagtrail_dead_lettered",
            "payloads and points kept in the dead-letter table, by reason",
            ["gateway", "reason"],
            registry=r,
        )
        self.acked = Counter(
            "tagtrail_acked_batches", "batches acknowledged to gateways", ["gateway"], registry=r
        )
        self.shed = Counter(
            "tagtrail_shed_messages",
            "messages not taken because the ingest queue was full (the gateway re-sends them)",
            registry=r,
        )
        self.write_retries = Counter(
            "tagtrail_store_retries", "InfluxDB/registry attempts that failed and were retried",
            ["store"], registry=r,
        )  # fmt: skip
        self.write_latency = Histogram(
            "tagtrail_influx_write_seconds",
            "time to store one ingest batch in InfluxDB (including splits)",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ingest_lag = Histogram(
            "tagtrail_ingest_lag_seconds",
            "from a batch's sent_at at the gateway to its ack",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "tagtrail_ingest_queue_messages", "messages waiting to be stored", registry=r
        )
        self.mqtt_connected = Gauge(
            "tagtrail_mqtt_connected", "1 while connected to the broker", registry=r
        )
