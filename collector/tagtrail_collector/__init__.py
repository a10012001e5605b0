"""tagtrail collector: MQTT ingest -> store (InfluxDB + registry) -> carriers' HTTP API."""

__version__ = "0.1.0"
