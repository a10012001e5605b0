"""tagtrail collector: MQTT ingest -> store (InfluxDB + registry) -> carriers' HTTP API."""
