"""The time series: InfluxDB through its v1 HTTP API, the point design, and its queries."""
