"""Queries on the time series: an EPC's sightings (for visit rebuilds) and shipment tracks.

InfluxQL is built from values checked against strict patterns (EPC hex, identifiers, integers)
before they are quoted, so no caller text reaches a query unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tagtrail_collector.store.registry.records import Sighting
from tagtrail_collector.store.series.influx import Influx

_EPC: Final = re.compile(r"[0-9A-F]{4,124}")
_ID: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_EPCS_PER_QUERY: Final = 500


_PAGE: Final = 10_000


@dataclass(frozen=True, slots=True)
class TrackPoint:
    time_ns: int
    kind: str  # "sighting" or "gateway-fix"
    site: str
    gateway: str
    lat: float | None = None
    lon: float | None = None
    read_point: str | None = None
    event: str | None = None
    epc: str | None = None


class Series:
    """Reads from the ``observation`` and ``position`` measurements (see store/points.py)."""

    def __init__(self, influx: Influx) -> None:
        self.influx = influx

    def history(self, epcs: Sequence[str], since_ns: int) -> dict[str, list[tuple[int, str, str]]]:
        """Per EPC, every sighting from ``since_ns``: (time_ns, site, gateway), time-sorted."""
        out: dict[str, list[tuple[int, str, str]]] = {}
        if not epcs:
            return out
        q = (
            'SELECT "count", "site", "gateway", "epc" FROM "observation" '  # noqa: S608
            f"WHERE ({_any_epc(epcs)}) AND time >= {int(since_ns)}"
        )
        for series in self.influx.query(q):
            for row in series.rows():
                sighting = (int(row["time"]), str(row["site"]), str(row["gateway"]))
                out.setdefault(str(row["epc"]), []).append(sighting)
        for sightings in out.values():
            sightings.sort()
        return out

    def observations(self, epcs: Sequence[str], until_ns: int) -> dict[str, list[Sighting]]:
        """Per EPC, every stored sighting up to ``until_ns``, time-sorted (for a rebuild)."""
        out: dict[str, list[Sighting]] = {}
        for first in range(0, len(epcs), _EPCS_PER_QUERY):
            group = epcs[first : first + _EPCS_PER_QUERY]
            q = (
                'SELECT "count", "lat", "lon", "fix_age_s", "scheme", "gs1_key", "site", '  # noqa: S608
                f'"gateway", "read_point", "event", "epc" FROM "observation" '
                f"WHERE ({_any_epc(group)}) AND time <= {int(until_ns)}"
            )
            for series in self.influx.query(q):
                for row in series.rows():
                    out.setdefault(str(row["epc"]), []).append(_sighting(row))
        for sightings in out.values():
            sightings.sort(key=lambda s: s.order)
        return out

    def sightings(
        self, spans: Mapping[str, Sequence[tuple[int, int]]], start_ns: int, end_ns: int, limit: int
    ) -> list[TrackPoint]:
        """Sightings of each EPC within its spans (inclusive ns) and [start_ns, end_ns), oldest
        first, at most ``limit``: one query per group of EPCs, each bounded by its spans."""
        points: list[TrackPoint] = []
        epcs = sorted(spans)
        for first in range(0, len(epcs), _EPCS_PER_QUERY):
            group = epcs[first : first + _EPCS_PER_QUERY]
            low = max(start_ns, min(lo for e in group for lo, _ in spans[e]))
            high = min(end_ns, max(hi for e in group for _, hi in spans[e]) + 1)
            if low < high:
                points += self._sightings(group, low, high, limit)
        points.sort(key=lambda p: (p.time_ns, p.epc or ""))
        return points[:limit]

    def _sightings(
        self, epcs: Sequence[str], start_ns: int, end_ns: int, limit: int
    ) -> list[TrackPoint]:
        q = (
            'SELECT "lat", "lon", "count", "site", "gateway", "read_point", "event", "epc" '  # noqa: S608
            f'FROM "observation" WHERE ({_any_epc(epcs)}) AND time >= {int(start_ns)} '
            f"AND time < {int(end_ns)} ORDER BY time ASC LIMIT {int(limit)}"
        )
        return [
            TrackPoint(
                time_ns=int(row["time"]),
                kind="sighting",
                site=str(row["site"]),
                gateway=str(row["gateway"]),
                lat=row["lat"],
                lon=row["lon"],
                read_point=row["read_point"],
                event=row["event"],
                epc=row["epc"],
            )
            for series in self.influx.query(q)
            for row in series.rows()
        ]

    def fixes(self, gateway: str, start_ns: int, end_ns: int, limit: int) -> list[TrackPoint]:
        q = (
            'SELECT "lat", "lon", "site" FROM "position" '  # noqa: S608
            f"WHERE \"gateway\" = '{_gateway(gateway)}' AND time >= {int(start_ns)} "
            f"AND time < {int(end_ns)} ORDER BY time ASC LIMIT {int(limit)}"
        )
        return [
            TrackPoint(
                time_ns=int(row["time"]),
                kind="gateway-fix",
                site=str(row["site"]),
                gateway=gateway,
                lat=row["lat"],
                lon=row["lon"],
            )
            for series in self.influx.query(q)
            for row in series.rows()
        ]

    def positions(
        self, gateway: str, after_ns: int, until_ns: int
    ) -> list[tuple[int, float, float, float | None]]:
        """A gateway's fixes (time_ns, lat, lon, hdop) in (after_ns, until_ns], in time order,
        read in pages of 10,000."""
        found: list[tuple[int, float, float, float | None]] = []
        while True:
            q = (
                'SELECT "lat", "lon", "hdop" FROM "position" '  # noqa: S608
                f"WHERE \"gateway\" = '{_gateway(gateway)}' AND time > {int(after_ns)} "
                f"AND time <= {int(until_ns)} ORDER BY time ASC LIMIT {_PAGE}"
            )
            page = [
                (int(row["time"]), float(row["lat"]), float(row["lon"]),
                 None if row.get("hdop") is None else float(row["hdop"]))
                for series in self.influx.query(q)
                for row in series.rows()
            ]  # fmt: skip
            found += page
            if len(page) < _PAGE:
                return found
            after_ns = page[-1][0]


def _sighting(row: dict[str, Any]) -> Sighting:
    scheme, key = row.get("scheme"), row.get("gs1_key")
    sscc = key if isinstance(scheme, str) and scheme.startswith("sscc") and key else None
    return Sighting(
        epc=str(row["epc"]), time_ns=int(row["time"]), site=str(row["site"]),
        gateway=str(row["gateway"]), read_point=str(row["read_point"]), event=str(row["event"]),
        lat=row.get("lat"), lon=row.get("lon"), fix_age_s=row.get("fix_age_s"),
        sscc=None if sscc is None else str(sscc),
    )  # fmt: skip


def _epc(epc: str) -> str:
    if not _EPC.fullmatch(epc):
        raise ValueError(f"not an EPC: {epc!r}")
    return epc


def _gateway(gateway: str) -> str:
    if not _ID.fullmatch(gateway):
        raise ValueError(f"not a gateway id: {gateway!r}")
    return gateway


def _any_epc(epcs: Sequence[str]) -> str:
    return " OR ".join(f"\"epc\" = '{_epc(e)}'" for e in epcs)
