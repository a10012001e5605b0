"""InfluxDB 1.x configuration for tagtrail: tsi1 index, loopback HTTP API, retention enforced.

tsi1 keeps the series index on disk, so memory does not grow with the number of EPCs seen.
The retention policy itself is created by the collector at start-up (``[influx]
retention_policy`` and ``retention``); ``[retention] enabled`` makes InfluxDB drop expired
shards.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_TEMPLATE = """\
# InfluxDB 1.x for tagtrail (generated). Check with: influxd config -config <this file>
reporting-disabled = true
bind-address = "{rpc_bind}"

[meta]
  dir = "{folder}/meta"

[data]
  dir = "{folder}/data"
  wal-dir = "{folder}/wal"
  index-version = "tsi1"
  query-log-enabled = false
  trace-logging-enabled = false

[retention]
  enabled = true
  check-interval = "30m"

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "{http_bind}"
  auth-enabled = {auth}
  log-enabled = false

[logging]
  level = "{log_level}"

[subscriber]
  enabled = false

[continuous_queries]
  log-enabled = false
"""


@dataclass(frozen=True, slots=True)
class InfluxLayout:
    """Where InfluxDB keeps its files and listens."""

    folder: Path
    http_bind: str = "127.0.0.1:8086"
    rpc_bind: str = "127.0.0.1:8088"
    auth: bool = False
    log_level: str = "warn"


def render_influxdb_conf(layout: InfluxLayout) -> str:
    return _TEMPLATE.format(
        folder=layout.folder,
        http_bind=layout.http_bind,
        rpc_bind=layout.rpc_bind,
        auth="true" if layout.auth else "false",
        log_level=layout.log_level,
    )
