"""Storage: the InfluxDB time series and the relational registry with its projections."""
