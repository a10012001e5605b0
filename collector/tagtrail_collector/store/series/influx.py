"""InfluxDB through its v1 HTTP API (``/write``, ``/query``, ``/ping``) with httpx.

The same calls work on InfluxDB 1.x natively and on 2.x/3.x through their v1 compatibility API.
A 400 answer is never taken as success: ``write`` splits the batch until it has found every
point InfluxDB rejects, stores the rest, and returns the rejected points with InfluxDB's reason.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from tagtrail_collector.config import InfluxSection
from tagtrail_collector.errors import PointsRejected, StoreError, StoreUnavailable
from tagtrail_collector.store.series.lineproto import encode

log = logging.getLogger(__name__)
_MAX_ERROR_CHARS: Final = 400


@dataclass(frozen=True, slots=True)
class Rejected:
    """A point (its line) InfluxDB refused for good, with its words for why."""

    line: str
    reason: str


@dataclass(frozen=True, slots=True)
class WriteResult:
    stored: int
    rejected: tuple[Rejected, ...] = ()
    requests: int = 1
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class ResultSeries:
    """One series of a query result."""

    name: str
    tags: dict[str, str]
    columns: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...] = field(default=())

    def rows(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.values]


class Influx:
    """A client for one database. Thread-safe (httpx.Client is)."""

    def __init__(
        self, settings: InfluxSection, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        headers: dict[str, str] = {}
        if settings.token is not None:
            headers["Authorization"] = f"Token {settings.token.get_secret_value()}"
        auth = None
        if settings.username is not None:
            password = settings.password.get_secret_value() if settings.password else ""
            auth = httpx.BasicAuth(settings.username, password)
        self._http = httpx.Client(
            base_url=settings.url,
            timeout=settings.timeout_s,
            headers=headers,
            auth=auth,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Influx:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def ping(self) -> str:
        """The server's version; raises StoreUnavailable when it does not answer."""
        response = self._request("GET", "/ping")
        if response.status_code != 204:
            raise StoreError(f"InfluxDB /ping answered {response.status_code}")
        return str(response.headers.get("X-Influxdb-Version", "unknown"))

    def write(self, lines: Sequence[str]) -> WriteResult:
        """Store points given as lines; return how many were stored and which were rejected.

        Raises StoreUnavailable (retry the same call later) or StoreError (configuration:
        credentials, unknown database). Points are idempotent: rewriting stored ones is harmless.
        """
        started = time.perf_counter()
        if not lines:
            return WriteResult(stored=0, requests=0)
        stored, rejected, requests = self._write_split(lines)
        return WriteResult(stored, tuple(rejected), requests, time.perf_counter() - started)

    def _write_split(self, lines: Sequence[str]) -> tuple[int, list[Rejected], int]:
        try:
            self.write_once(lines)
        except PointsRejected as exc:
            if len(lines) == 1:
                return 0, [Rejected(lines[0], exc.reason)], 1
            middle = len(lines) // 2
            left = self._write_split(lines[:middle])
            right = self._write_split(lines[middle:])
            return left[0] + right[0], left[1] + right[1], 1 + left[2] + right[2]
        return len(lines), [], 1

    def write_once(self, lines: Sequence[str]) -> None:
        """One ``/write`` request; raise PointsRejected on any 4xx about the points themselves."""
        params = {"db": self.settings.database, "precision": "ns"}
        if self.settings.retention_policy:
            params["rp"] = self.settings.retention_policy
        response = self._request("POST", "/write", params=params, content=encode(lines))
        if response.status_code == 204:
            return
        detail = _error_text(response)
        if response.status_code in (400, 413):
            raise PointsRejected(detail, partial="partial write" in detail)
        raise StoreError(f"InfluxDB /write answered {response.status_code}: {detail}")

    def query(self, q: str, *, params: dict[str, Any] | None = None) -> list[ResultSeries]:
        """Run one InfluxQL statement (bound ``params`` as ``$name``); times are epoch ns."""
        data: dict[str, str] = {"q": q, "db": self.settings.database, "epoch": "ns"}
        if params:
            data["params"] = json.dumps(params)
        response = self._request("POST", "/query", data=data)
        body = _json(response)
        if response.status_code != 200 or "error" in body:
            raise StoreError(f"InfluxQL failed ({response.status_code}): {body.get('error', body)}")
        series: list[ResultSeries] = []
        for result in body.get("results", []):
            if "error" in result:
                raise StoreError(f"InfluxQL failed: {result['error']}")
            for item in result.get("series", []):
                series.append(
                    ResultSeries(
                        name=item.get("name", ""),
                        tags=item.get("tags") or {},
                        columns=tuple(item["columns"]),
                        values=tuple(tuple(row) for row in item.get("values", [])),
                    )
                )
        return series

    def ensure_database(self, *, retention: str | None = None) -> None:
        """Create the database (and its default retention policy) if missing; idempotent."""
        name = _ident(self.settings.database)
        self.query(f"CREATE DATABASE {name}")
        policy = self.settings.retention_policy
        if policy and retention:
            self.query(
                f"CREATE RETENTION POLICY {_ident(policy)} ON {name} "
                f"DURATION {retention} REPLICATION 1 DEFAULT"
            )

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:  # noqa: ANN401
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise StoreUnavailable(f"InfluxDB {path} timed out: {exc}") from None
        except httpx.TransportError as exc:
            raise StoreUnavailable(f"InfluxDB {path} unreachable: {exc}") from None
        if response.status_code >= 500:
            raise StoreUnavailable(
                f"InfluxDB {path} answered {response.status_code}: {_error_text(response)}",
                retry_after_s=_retry_after(response),
            )
        if response.status_code in (401, 403):
            raise StoreError(f"InfluxDB refused the credentials ({response.status_code})")
        return response


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"error": response.text[:_MAX_ERROR_CHARS]}
    return body if isinstance(body, dict) else {"error": str(body)[:_MAX_ERROR_CHARS]}


def _error_text(response: httpx.Response) -> str:
    return str(_json(response).get("error", response.text))[:_MAX_ERROR_CHARS]


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def _ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
