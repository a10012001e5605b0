"""InfluxDB 1.x configuration for tagtrail: tsi1 index, loopback HTTP API, retention enforced.

tsi1 keeps the series index on disk, so memory does not grow with the number of EPCs seen.
The retention policy itself is created by the collector at start-up (``[influx]
retention_policy`` and ``retention``); ``[retention] enabled`` makes InfluxDB drop expired
shards.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx

from tagtrail_collector.errors import ProvisionError

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


@dataclass(frozen=True, slots=True)
class InfluxAccounts:
    """What ``provision_accounts`` made: an admin for the operator, a user for the collector."""

    admin_password: str
    collector_user: str
    collector_password: str


def provision_accounts(url: str, *, collector_user: str = "collector") -> InfluxAccounts | None:
    """On an InfluxDB 1.x with authentication on and no user yet, create an admin and the
    collector's user (an admin too: InfluxDB 1.x lets only admins create the database and its
    retention policy, which the collector does at start). None when it has users already."""
    admin_password, password = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    with httpx.Client(base_url=url, timeout=10.0) as client:
        create = "CREATE USER {} WITH PASSWORD '{}' WITH ALL PRIVILEGES"
        try:
            first = client.post("/query", data={"q": create.format("admin", admin_password)})
        except httpx.HTTPError as exc:
            raise ProvisionError(f"InfluxDB at {url} does not answer: {exc}") from None
        if first.status_code in (401, 403):
            return None  # users exist: the first account can only be made once
        _check(first, "create the admin user")
        made = client.post(
            "/query",
            auth=("admin", admin_password),
            data={"q": create.format(collector_user, password)},
        )
        _check(made, "create the collector's user")
    return InfluxAccounts(admin_password, collector_user, password)


def _check(response: httpx.Response, what: str) -> None:
    json_body = response.headers.get("content-type", "").startswith("application/json")
    body = response.json() if json_body else {}
    errors = [r["error"] for r in body.get("results", []) if "error" in r]
    if response.status_code != 200 or errors or "error" in body:
        raise ProvisionError(f"cannot {what}: {response.status_code} {body.get('error') or errors}")
