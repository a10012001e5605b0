"""Carriers' queries at scale: latency of the API beside the naive InfluxQL a user would write.

Method (one command: ``python bench/collector_queries.py``):

1. Load: 100,000 shipments of 100 carriers, two tags each, and 10,000,000 observations of those
   200,000 tags over 30 days, each tag visiting three of 20 sites. The observations go to a real
   InfluxDB (tsi1) as the collector writes them (its own point encoding, checked against
   ``observation_lines`` on a sample); the registry's projections (latest sighting and site
   visits per tag) are computed with the collector's own projection functions, the state that
   ingest converges to, and bulk-inserted into the SQLite registry. Measuring starts once
   influxd has finished compacting the load (under 5% of a core over 5 s).
2. Measure over HTTP against ``tagtrail-collector serve`` in its own process, one request at a
   time on a kept-alive connection, random shipments and sites: current location, tracking
   events, 30-day track (from InfluxDB) and site inventory (first page of 100). The first 50
   requests of each kind are warm-up and not counted. ``http_floor`` is a request for an unknown
   path, answered by routing alone: what the HTTP client and server cost before any work.
3. Reference, same run: the naive InfluxQL a user would write without the projections: the last
   observation per EPC of the shipment (``GROUP BY "epc"`` of ``last()``), and for a site's
   inventory the last observation of every EPC, filtered by site.

Figures: p50 and p99 in milliseconds per query kind; the machine is described in the JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from common import RESULTS, machine, percentile, tree_cpu_s
from sqlalchemy import insert

from tagtrail_collector.projections.model import rebuild
from tagtrail_collector.projections.tags import _location_row, _visit_row
from tagtrail_collector.store.registry import schema
from tagtrail_collector.store.registry.db import connect
from tagtrail_collector.store.registry.records import Role, ShipmentStatus, Sighting, SiteKind
from tagtrail_collector.store.registry.registry import Registry
from tagtrail_collector.store.series.points import ns, observation_lines
from tagtrail_protocol import EventKind, ObservationBatch
from tagtrail_testbed.collector import CollectorProcess, collector_sections
from tagtrail_testbed.gateway import item
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker

SITES = 20
CARRIERS = 100
TAGS_PER_SHIPMENT = 2
DAYS = 30
WRITE_POINTS = 10_000
WARM_UP = 50
BOOT = uuid.UUID(int=7)


class World:
    """The generated data: every observation is a pure function of (tag, index)."""

    def __init__(self, shipments: int, observations: int) -> None:
        self.shipments = shipments
        self.tags = shipments * TAGS_PER_SHIPMENT
        self.per_tag = max(3, observations // self.tags)
        self.end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        self.start = self.end - timedelta(days=DAYS)
        self.step_ns = (ns(self.end) - ns(self.start)) // self.per_tag

    @staticmethod
    def epc(tag: int) -> str:
        return f"3034{tag:020X}"

    def site_of(self, tag: int, index: int) -> int:
        leg = min(2, index * 3 // self.per_tag)
        return (tag * (1, 7, 13)[leg] + (0, 3, 5)[leg]) % SITES

    def event(self, tag: int, index: int) -> EventKind:
        site = self.site_of(tag, index)
        if index == 0 or self.site_of(tag, index - 1) != site:
            return EventKind.ARRIVE
        if index == self.per_tag - 1 or self.site_of(tag, index + 1) != site:
            return EventKind.DEPART
        return EventKind.OBSERVE

    def sighting(self, tag: int, index: int) -> Sighting:
        site = self.site_of(tag, index)
        gateway = f"gw-{site:02d}-{'ab'[tag % 2]}"
        return Sighting(
            epc=self.epc(tag),
            time_ns=ns(self.start) + index * self.step_ns + tag % 1_000_000,
            site=f"site-{site:02d}",
            gateway=gateway,
            read_point=f"{gateway}-in",
            event=self.event(tag, index).value,
        )

    def line(self, s: Sighting) -> str:
        """The collector's line for this observation (see ``check_encoding``)."""
        return (
            f"observation,epc={s.epc},event={s.event},gateway={s.gateway},"
            f"read_point={s.read_point},site={s.site} antenna=1i,"
            f'boot_id="{BOOT}",clock_synced=true,count=3i,dwell_s=0.0,'
            f"first_seen_ns={s.time_ns}i,last_seen_ns={s.time_ns}i,peak_rssi_dbm=-60.0,seq=1i "
            f"{s.time_ns}"
        )

    def bodies(self) -> Iterator[bytes]:
        lines: list[str] = []
        for tag in range(self.tags):
            lines.extend(self.line(self.sighting(tag, i)) for i in range(self.per_tag))
            if len(lines) >= WRITE_POINTS:
                yield "\n".join(lines).encode()
                lines = []
        if lines:
            yield "\n".join(lines).encode()


def check_encoding(world: World) -> None:
    """The fast line template must equal the collector's own encoding."""
    for tag in random.Random(1).sample(range(world.tags), 200):
        s = world.sighting(tag, world.per_tag // 2)
        at = datetime.fromtimestamp(s.time_ns // 10**9, UTC) + timedelta(
            microseconds=s.time_ns % 10**9 // 1000
        )
        obs = item(s.epc, at=at, event=EventKind(s.event), read_point=s.read_point)
        batch = ObservationBatch(gateway=s.gateway, boot_id=BOOT, seq=1, sent_at=at, items=(obs,))
        s = Sighting(s.epc, ns(at), s.site, s.gateway, s.read_point, s.event)
        if [world.line(s)] != observation_lines(s.site, batch):
            raise SystemExit(f"line template differs from the collector's:\n{world.line(s)}")


def load_influx(world: World, influx: InfluxServer, db: str) -> float:
    influx.create_database(db)
    started = time.perf_counter()
    with httpx.Client(base_url=influx.url, timeout=120) as client:
        for body in world.bodies():
            client.post("/write", params={"db": db}, content=body).raise_for_status()
    return time.perf_counter() - started


def wait_quiet(influx: InfluxServer, *, window_s: float = 5.0, limit_s: float = 900.0) -> float:
    """Wait until influxd has finished compacting what was loaded (under 5% of a core over a
    5 s window), so that the measurements do not share the CPU with it; returns the wait."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        before = tree_cpu_s(influx.process.pid)
        time.sleep(window_s)
        if tree_cpu_s(influx.process.pid) - before < 0.05 * window_s:
            break
    return time.monotonic() - started


def load_registry(world: World, url: str) -> dict[str, str]:
    """Sites, gateways, carriers (one key each), shipments and the projections."""
    engine = connect(url)
    registry = Registry(engine)
    for site in range(SITES):
        registry.create_site(f"site-{site:02d}", name=f"Site {site}", kind=SiteKind.WAREHOUSE)
        for side in "ab":
            registry.create_gateway(f"gw-{site:02d}-{side}", site_id=f"site-{site:02d}")
    keys = {}
    for c in range(CARRIERS):
        registry.create_carrier(f"carrier-{c:03d}", f"Carrier {c}")
        keys[f"carrier-{c:03d}"] = registry.create_key(Role.CARRIER, carrier_id=f"carrier-{c:03d}")
    now = time.time_ns()
    with engine.begin() as conn:
        shipments = [
            {"id": shipment_id(k), "carrier_id": f"carrier-{k % CARRIERS:03d}",
             "reference": f"R-{k}", "status": ShipmentStatus.IN_TRANSIT.value, "created_at": now}
            for k in range(world.shipments)
        ]  # fmt: skip
        conn.execute(insert(schema.shipments), shipments)
        conn.execute(
            insert(schema.shipment_identifiers),
            [
                {
                    "epc": world.epc(t),
                    "key": f"epc:{world.epc(t)}",
                    "shipment_id": shipment_id(t // 2),
                    "attached_at": 0,
                }
                for t in range(world.tags)
            ],
        )  # attached before the first sighting: every sighting is the shipment's
        for start in range(0, world.tags, 20_000):
            locations: list[dict[str, Any]] = []
            visits: list[dict[str, Any]] = []
            for tag in range(start, min(world.tags, start + 20_000)):
                history = [world.sighting(tag, i) for i in range(world.per_tag)]
                locations.append(_location_row(history[-1]))
                rows = rebuild(world.epc(tag), [(s.time_ns, s.site, s.gateway) for s in history])
                visits.extend(_visit_row(v) for v in rows)
            conn.execute(insert(schema.tag_locations), locations)
            conn.execute(insert(schema.tag_visits), visits)
    engine.dispose()
    return keys


def shipment_id(k: int) -> str:
    return f"shp_{k:024x}"


def timed(
    client: httpx.Client, requests: list[tuple[str, dict[str, Any], str]], status: int = 200
) -> list[float]:
    out = []
    for path, params, key in requests:
        started = time.perf_counter()
        response = client.get(path, params=params, headers={"X-API-Key": key})
        elapsed = time.perf_counter() - started
        if response.status_code != status:
            raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
        out.append(elapsed * 1000)
    return out[WARM_UP:]


def api_latencies(world: World, url: str, keys: dict[str, str], n: int) -> dict[str, list[float]]:
    rnd = random.Random(2)

    def carrier_key(k: int) -> str:
        return keys[f"carrier-{k % CARRIERS:03d}"]

    picks = [rnd.randrange(world.shipments) for _ in range(n + WARM_UP)]
    track = {"start": world.start.isoformat(), "end": world.end.isoformat(), "limit": 500}
    out = {}
    with httpx.Client(base_url=url, timeout=60) as client:
        # The HTTP floor: an unknown path, answered by routing alone (no key check, no store).
        out["http_floor"] = timed(client, [("/v1/none", {}, "") for _ in picks], status=404)
        for kind in ("location", "events"):
            out[kind] = timed(
                client,
                [(f"/v1/shipments/{shipment_id(k)}/{kind}", {}, carrier_key(k)) for k in picks],
            )
        few = picks[: max(WARM_UP + 20, n // 5)]
        out["track_30_days"] = timed(
            client, [(f"/v1/shipments/{shipment_id(k)}/track", track, carrier_key(k)) for k in few]
        )
        sites = [f"site-{rnd.randrange(SITES):02d}" for _ in few]
        out["inventory"] = timed(
            client,
            [
                (f"/v1/sites/{site}/inventory", {"limit": 100}, carrier_key(k))
                for site, k in zip(sites, few, strict=True)
            ],
        )
    return out


def naive_latencies(world: World, influx: InfluxServer, db: str, n: int) -> dict[str, list[float]]:
    rnd = random.Random(3)
    out: dict[str, list[float]] = {"location": [], "inventory": []}
    with httpx.Client(base_url=influx.url, timeout=600) as client:
        for _ in range(n + WARM_UP):
            k = rnd.randrange(world.shipments)
            which = " OR ".join(f"\"epc\" = '{world.epc(t)}'" for t in (2 * k, 2 * k + 1))
            q = (
                'SELECT last("count"), "site", "gateway", "read_point" FROM "observation" '  # noqa: S608
                f'WHERE {which} GROUP BY "epc"'
            )
            started = time.perf_counter()
            response = client.post("/query", data={"db": db, "q": q})
            out["location"].append((time.perf_counter() - started) * 1000)
            _check_answer(response, expect_series=2)
        for _ in range(3):  # every EPC's last observation: slow by nature, few runs
            q = (
                'SELECT last("count"), "site" FROM "observation" '  # noqa: S608
                f'WHERE time > now() - {DAYS + 1}d GROUP BY "epc"'
            )
            started = time.perf_counter()
            response = client.post("/query", data={"db": db, "q": q})
            out["inventory"].append((time.perf_counter() - started) * 1000)
            _check_answer(response, expect_series=world.tags)
    out["location"] = out["location"][WARM_UP:]
    return out


def _check_answer(response: httpx.Response, *, expect_series: int) -> None:
    """A naive query that fails or comes back empty would be timed as fast: refuse it."""
    response.raise_for_status()
    result = response.json()["results"][0]
    if "error" in result or len(result.get("series", [])) != expect_series:
        raise SystemExit(f"naive query answered {str(result)[:300]}")


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": percentile(values, 50), "p99_ms": percentile(values, 99), "n": len(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipments", type=int, default=100_000)
    parser.add_argument("--observations", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--out", type=Path, default=RESULTS / "collector_queries.json")
    args = parser.parse_args()
    world = World(args.shipments, args.observations)
    check_encoding(world)
    figures: dict[str, Any] = {
        "machine": machine(), "shipments": world.shipments, "tags": world.tags,
        "observations": world.tags * world.per_tag,
    }  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="tagtrail-bench-"))
    db = "bench_queries"
    with Broker() as broker, InfluxServer() as influx:
        figures["influx_load_s"] = load_influx(world, influx, db)
        started = time.perf_counter()
        keys = load_registry(world, f"sqlite:///{folder / 'registry.db'}")
        figures["registry_load_s"] = time.perf_counter() - started
        figures["influx_settle_s"] = wait_quiet(influx)
        sections = collector_sections(broker, influx, db, folder / "registry.db")
        with CollectorProcess(sections) as collector:
            api = api_latencies(world, collector.url, keys, args.requests)
        naive = naive_latencies(world, influx, db, min(args.requests, 200))
    figures["api"] = {kind: summary(values) for kind, values in api.items()}
    figures["naive_influxql"] = {kind: summary(values) for kind, values in naive.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2))
    print(f"{figures['observations']:,} observations, {world.shipments:,} shipments")
    for source in ("api", "naive_influxql"):
        for kind, f in figures[source].items():
            print(f"{source:15} {kind:14} p50 {f['p50_ms']:9.2f} ms  p99 {f['p99_ms']:9.2f} ms")


if __name__ == "__main__":
    main()
