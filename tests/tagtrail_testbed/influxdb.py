"""InfluxDB 1.x (``influxd``) on free loopback ports with a generated config: tsi1, temp dirs."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from tagtrail_testbed.errors import BedError, ServiceStartError
from tagtrail_testbed.process import ServiceProcess, free_port, make_workdir, remove_workdir

INFLUXD = os.environ.get("TAGTRAIL_INFLUXD", "/usr/bin/influxd")
_START_ATTEMPTS = 3

_CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{dir}/meta"

[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  index-version = "tsi1"
  query-log-enabled = false
  trace-logging-enabled = false

[retention]
  enabled = true

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = {auth}
  log-enabled = false

[logging]
  level = "warn"

[subscriber]
  enabled = false

[continuous_queries]
  log-enabled = false
"""


class InfluxServer:
    """A running ``influxd``. Use as a context manager.

    With ``auth=True`` an admin user is created at start (``admin_user``/``admin_password``)
    and every request made through this object authenticates as it.
    """

    host = "127.0.0.1"

    def __init__(self, *, auth: bool = False) -> None:
        self.auth = auth
        self.admin_user = "admin"
        self.admin_password = secrets.token_urlsafe(16)
        self.workdir = make_workdir("influxdb")
        self.http_port = 0
        self._process: ServiceProcess | None = None
        try:
            self._start()
            self.client = httpx.Client(base_url=self.url, timeout=30.0, auth=self._auth())
            if auth:
                self._create_admin()
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def process(self) -> ServiceProcess:
        if self._process is None:
            raise RuntimeError("influxd is not running")
        return self._process

    def _auth(self) -> tuple[str, str] | None:
        return (self.admin_user, self.admin_password) if self.auth else None

    def _start(self) -> None:
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.http_port, rpc_port = free_port(), free_port()
            config = self.workdir / "influxdb.conf"
            config.write_text(
                _CONFIG.format(
                    dir=self.workdir,
                    rpc_port=rpc_port,
                    http_port=self.http_port,
                    auth="true" if self.auth else "false",
                )
            )
            process = ServiceProcess(
                "influxd",
                [INFLUXD, "run", "-config", str(config)],
                log_path=self.workdir / "influxd.log",
            )
            try:
                process.wait_ready(self._pings, timeout=60, what="/ping")
            except ServiceStartError:
                process.stop()
                if attempt == _START_ATTEMPTS:
                    raise
                continue
            self._process = process
            return

    def _pings(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ping", timeout=0.5).status_code == 204
        except httpx.HTTPError:
            return False

    def _create_admin(self) -> None:
        # With auth on and no users yet, InfluxDB 1.x accepts this one statement unauthenticated.
        response = httpx.post(
            f"{self.url}/query",
            data={
                "q": f"CREATE USER {self.admin_user} WITH PASSWORD '{self.admin_password}' "
                "WITH ALL PRIVILEGES"
            },
        )
        if response.status_code != 200:
            raise BedError(f"cannot create InfluxDB admin user: {response.text}")

    def query(self, q: str, *, db: str | None = None, method: str = "POST") -> dict[str, Any]:
        """Run InfluxQL; raise BedError on an HTTP error or a statement error."""
        params = {"q": q, **({"db": db} if db else {})}
        response = (
            self.client.post("/query", data=params)
            if method == "POST"
            else self.client.get("/query", params=params)
        )
        body: dict[str, Any] = response.json()
        if response.status_code != 200 or "error" in body:
            raise BedError(f"query {q!r} failed ({response.status_code}): {body}")
        for result in body.get("results", []):
            if "error" in result:
                raise BedError(f"query {q!r} failed: {result['error']}")
        return body

    def write(self, db: str, lines: str, *, precision: str = "ns") -> httpx.Response:
        """POST line protocol to /write; returns the response whatever its status."""
        return self.client.post(
            "/write", params={"db": db, "precision": precision}, content=lines.encode()
        )

    def create_database(self, name: str) -> None:
        self.query(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        self.query(f'DROP DATABASE "{name}"')

    def index_version(self, db: str) -> set[str]:
        """Index types of the shards of ``db`` on disk (tsi1 shards have an ``index`` folder)."""
        data = Path(self.workdir, "data", db)
        kinds: set[str] = set()
        for shard in data.glob("*/*"):  # <retention policy>/<shard id>; _series is not a policy
            if shard.parent.name != "_series" and shard.is_dir():
                kinds.add("tsi1" if (shard / "index").is_dir() else "inmem")
        return kinds

    def close(self) -> None:
        if getattr(self, "client", None) is not None:
            self.client.close()
        if self._process is not None:
            self._process.stop()
            self._process = None
        remove_workdir(self.workdir)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
