"""Ingest: MQTT messages -> decoded batches -> InfluxDB and registry -> ack to the gateway."""
