"""Storage: the InfluxDB time series (``series/``) and the relational registry (``registry/``)."""
