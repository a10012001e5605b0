"""InfluxDB 1.x (``influxd``) on free loopback ports with a generated config: tsi1, temp dirs."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import httpx

from tagtrail_collector.provision.influxdb import InfluxLayout, render_influxdb_conf
from tagtrail_testbed.errors import BedError
from tagtrail_testbed.process import Service, free_port

INFLUXD = os.environ.get("TAGTRAIL_INFLUXD", "/usr/bin/influxd")


class InfluxServer(Service):
    """A running ``influxd``. Use as a context manager.

    With ``auth=True`` an admin user is created at start (``admin_user``/``admin_password``)
    and every request made through this object authenticates as it; ``create_admin=False``
    leaves a new server without any user, as the OS package installs it.
    """

    name = "influxd"
    host = "127.0.0.1"
    start_timeout = 60.0

    def __init__(self, *, auth: bool = False, create_admin: bool = True) -> None:
        super().__init__()
        self.auth = auth
        self.admin_user = "admin"
        self.admin_password = secrets.token_urlsafe(16)
        self.http_port = 0
        self.client = httpx.Client(
            timeout=30.0, auth=(self.admin_user, self.admin_password) if auth else None
        )
        self._start()
        try:
            self.client.base_url = httpx.URL(self.url)
            if auth and create_admin:
                self._create_admin()
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def _prepare(self) -> list[str]:
        self.http_port, rpc_port = free_port(), free_port()
        config = self.workdir / "influxdb.conf"
        layout = InfluxLayout(
            folder=self.workdir,
            http_bind=f"{self.host}:{self.http_port}",
            rpc_bind=f"{self.host}:{rpc_port}",
            auth=self.auth,
        )
        config.write_text(render_influxdb_conf(layout))
        return [INFLUXD, "run", "-config", str(config)]

    def _ready(self) -> bool:
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

    def count(self, db: str, measurement: str = "observation", field: str = "count") -> int:
        """How many points ``measurement`` holds (points with ``field`` set)."""
        body = self.query(f'SELECT count("{field}") FROM "{measurement}"', db=db)  # noqa: S608
        series = body["results"][0].get("series")
        return int(series[0]["values"][0][1]) if series else 0

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
        self.client.close()
        super().close()
