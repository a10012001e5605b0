"""Geofence matching and border lookup throughput, and milestone latency from fix to API.

Method (one command: ``python bench/geofence.py``):

1. Matching: 10,000 sites (half circles of 150-800 m, half polygons) spread over Europe
   (36-60 N, 10 W-30 E); trucks drive between them at 25 m/s with a fix every 5 s, GPS noise of
   ``tagtrail_testbed.routes.Noise`` (12 m per axis, 2 % of fixes 100 m off). The collector's
   tracker (``journey.tracker``) takes the fixes on one core: fixes/s with the sites and the
   world's borders, with the sites alone, and with the borders alone.
2. Border lookup, points/s on one core, 100,000 random points over Europe and 100,000 within
   50 km of the Dutch-German border: the shipped 1:10m tiles, one point at a time and in one
   batch. Reference, same run: an STRtree over the whole countries (what the issue measured:
   about 160k points/s at 1:50m and 24k at 1:10m), at 1:50m from the shipped TopoJSON and at
   1:10m from world-atlas's own ``countries-10m.json`` (``--topology-10m``, or fetched with
   ``npm pack world-atlas@2.0.2``).
3. Milestone latency: a real Mosquitto, InfluxDB and collector (in this process, defaults but
   ``tick_s``); per round a truck stands inside a port's geofence with a shipment aboard and
   drives out, one fix per batch and second; the clock runs from publishing the fix that
   confirms the exit
   to the ``departed`` milestone in ``GET /v1/shipments/{id}/milestones``, polled every 10 ms.

Figures: medians of ``--runs`` runs (min and max), latencies p50/p99; the machine in the JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import tarfile
import tempfile
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import shapely
from common import RESULTS, machine, percentile, summarise

from tagtrail_collector.config import CollectorConfig
from tagtrail_collector.journey import borders
from tagtrail_collector.journey.fences import Fence, FenceIndex, Rule
from tagtrail_collector.journey.geo import Frame, haversine_m
from tagtrail_collector.journey.tracker import Fix, Settings, Tracker
from tagtrail_collector.service import Collector
from tagtrail_collector.store.registry.records import Role, SiteKind
from tagtrail_collector.store.registry.registry import Registry
from tagtrail_testbed.api import serve_api
from tagtrail_testbed.collector import collector_sections
from tagtrail_testbed.gateway import FakeGateway, fix, item
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker
from tagtrail_testbed.routes import Noise

FIX_EVERY_S = 5.0


def make_sites(rng: random.Random, count: int) -> list[Fence]:
    fences = []
    for n in range(count):
        lat, lon = rng.uniform(36, 60), rng.uniform(-10, 30)
        r = rng.uniform(150, 800)
        if n % 2:
            fences.append(Fence(f"s{n}", rule=Rule(), centre=(lat, lon), radius_m=r))
            continue
        frame = Frame(lat, lon)
        ring = [list(reversed(frame.latlon(r * math.cos(a), r * math.sin(a) * 0.6)))
                for a in (k * math.pi / 3 for k in range(7))]  # fmt: skip
        fences.append(
            Fence(f"s{n}", rule=Rule(), geojson={"type": "Polygon", "coordinates": [ring]})
        )
    return fences


def tracks(rng: random.Random, fences: list[Fence], count: int) -> list[list[Fix]]:
    """Trucks from site to a site within 60 km, standing 5 minutes at each, 20 legs each."""
    noise, found = Noise(), []
    for _ in range(count):
        here = rng.choice(fences)
        fixes: list[Fix] = []
        t = 0.0
        for _ in range(20):
            near = [f for f in rng.sample(fences, 200)
                    if haversine_m(*here.centre, *f.centre) < 60_000] or [here]  # fmt: skip
            there = rng.choice(near)
            (alat, alon), (blat, blon) = here.centre, there.centre
            legs = [(alat, alon, alat, alon, 300.0)]
            drive_s = haversine_m(alat, alon, blat, blon) / 25.0
            legs.append((alat, alon, blat, blon, drive_s))
            for lat0, lon0, lat1, lon1, seconds in legs:
                steps = max(1, int(seconds / FIX_EVERY_S))
                for i in range(steps):
                    f = i / steps
                    lat, lon, hdop = noise.apply(
                        rng, lat0 + (lat1 - lat0) * f, lon0 + (lon1 - lon0) * f
                    )
                    fixes.append(Fix(int(t * 1e9), lat, lon, hdop * 5.0))
                    t += FIX_EVERY_S
            here = there
        found.append(fixes)
    return found


def matching(
    fences: list[Fence], world: borders.Borders, trucks: list[list[Fix]]
) -> dict[str, float]:
    figures = {}
    n = sum(len(t) for t in trucks)
    for name, index, countries in (
        ("sites_and_borders", FenceIndex(fences), world),
        ("sites_only", FenceIndex(fences), None),
        ("borders_only", FenceIndex([]), world),
    ):
        started = time.process_time()
        events = 0
        for fixes in trucks:
            events += len(Tracker(None, index, countries, Settings()).feed(fixes))
        seconds = time.process_time() - started
        figures[f"{name}_fixes_per_s"] = n / seconds
        figures[f"{name}_events"] = events
    return figures


def lookups(world: borders.Borders, naive: dict[str, Any], rng: random.Random) -> dict[str, float]:
    europe = [(rng.uniform(36, 60), rng.uniform(-10, 30)) for _ in range(100_000)]
    border = [(rng.uniform(50.8, 52.0), rng.uniform(5.8, 7.2)) for _ in range(100_000)]
    figures: dict[str, float] = {}
    for area, points in (("europe", europe), ("nl_de_border", border)):
        started = time.process_time()
        world.countries_of(points)
        figures[f"tiles_10m_batch_{area}_per_s"] = len(points) / (time.process_time() - started)
        started = time.process_time()
        for lat, lon in points[:20_000]:
            world.country(lat, lon)
        figures[f"tiles_10m_single_{area}_per_s"] = 20_000 / (time.process_time() - started)
        for scale, tree in naive.items():
            started = time.process_time()
            tree.query(shapely.points([(lon, lat) for lat, lon in points]), predicate="intersects")
            figures[f"naive_{scale}_batch_{area}_per_s"] = len(points) / (
                time.process_time() - started
            )
            started = time.process_time()
            for lat, lon in points[:5_000]:
                tree.query(shapely.Point(lon, lat), predicate="intersects")
            figures[f"naive_{scale}_single_{area}_per_s"] = 5_000 / (time.process_time() - started)
    return figures


def naive_trees(topology_10m: Path | None, *, fetch: bool) -> dict[str, Any]:
    """STRtrees over whole country polygons (prepared), at 1:50m and, if found, 1:10m."""
    data = resources.files("tagtrail_collector.journey") / "data"
    texts = {"50m": (data / "countries-50m.json").read_text("utf-8")}
    path = topology_10m or (_fetch_10m() if fetch else None)
    if path is not None:
        texts["10m"] = path.read_text("utf-8")
    trees = {}
    for scale, text in texts.items():
        shapes = [s for _, s in borders.read_topology(text)]
        shapely.prepare(shapes)
        trees[scale] = shapely.STRtree(shapes)
    return trees


def _fetch_10m() -> Path | None:
    folder = Path(tempfile.mkdtemp(prefix="world-atlas-"))
    try:
        subprocess.run(["npm", "pack", "world-atlas@2.0.2"], cwd=folder, check=True,
                       capture_output=True, timeout=120)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    with tarfile.open(folder / "world-atlas-2.0.2.tgz") as archive:
        archive.extract("package/countries-10m.json", folder, filter="data")
    return folder / "package" / "countries-10m.json"


def latency(rounds: int) -> list[float]:
    """Seconds from the fix that confirms a truck's exit to the departed milestone in the API."""
    found = []
    folder = Path(tempfile.mkdtemp(prefix="tagtrail-bench-geofence-"))
    with Broker() as broker, InfluxServer() as influx:
        sections = collector_sections(broker, influx, "bench_geofence", folder / "registry.db")
        collector = Collector(CollectorConfig(**{**sections, "ingest": {"tick_s": 0.2}}))
        collector.start()
        if not collector.subscriber.subscribed.wait(10):
            raise RuntimeError("the collector did not subscribe")
        registry = collector.registry
        port = (51.95, 4.05)
        registry.create_site("port", name="Port", kind=SiteKind.PORT, lat=port[0], lon=port[1],
                             radius_m=500.0)  # fmt: skip
        registry.create_carrier("c", "C")
        key = registry.create_key(Role.CARRIER, carrier_id="c")
        try:
            with (
                serve_api(collector) as base,
                httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as api,
            ):
                for n in range(rounds):
                    found.append(_one_round(n, registry, api, broker, port))
        finally:
            collector.stop()
    return found


def _one_round(
    n: int, registry: Registry, api: httpx.Client, broker: Broker, port: tuple[float, float]
) -> float:
    truck, gateway = f"truck-{n}", f"truck-{n}-gw"
    registry.create_site(truck, name=truck, kind=SiteKind.VEHICLE)
    registry.create_gateway(gateway, site_id=truck, mobile=True)
    registry.create_gateway(f"gate-{n}", site_id="port")
    epc = f"3034257BF7194E40{n:08X}"
    start = datetime.now(UTC) - timedelta(minutes=10)
    attached = int((start - timedelta(minutes=1)).timestamp() * 1e9)
    shipment = registry.create_shipment("c", reference=f"R{n}", epcs=[epc], attached_at=attached).id
    frame = Frame(*port)
    with FakeGateway("127.0.0.1", broker.port, site="port", gateway=f"gate-{n}") as gate, \
            FakeGateway("127.0.0.1", broker.port, site=truck, gateway=gateway) as gw:  # fmt: skip
        gate.send_observations([item(epc, at=start)])
        gw.send_observations([item(epc, at=start + timedelta(seconds=30))])
        for s in range(0, 60, 5):  # standing inside the fence
            gw.send_fixes([fix(*port, at=start + timedelta(seconds=s))])
        if not (gw.wait_acked(30) and gate.wait_acked(30)):
            raise RuntimeError("the collector did not acknowledge")
        time.sleep(1.0)
        seconds = 60
        distance = 0.0
        confirming = None
        while distance < 900:
            distance += 25 * 5
            seconds += 5
            lat, lon = frame.latlon(distance, 0.0)
            time.sleep(1.0)  # a fix a second, as a gateway publishes them
            sent = time.perf_counter()
            gw.send_fixes([fix(lat, lon, at=start + timedelta(seconds=seconds))])
            if distance > 500 + 40 and confirming is None:
                confirming = 0
            if confirming is not None:
                confirming += 1
                if confirming == 3:  # the third fix clearly outside confirms the exit
                    break
        while True:
            items = api.get(f"/v1/shipments/{shipment}/milestones").json()["items"]
            departed = [m for m in items if m["type"] == "departed"]
            if departed and departed[0]["source"] != "geofence":
                raise RuntimeError(f"departed by {departed[0]['source']}, not by the geofence")
            if departed:
                return time.perf_counter() - sent
            if time.perf_counter() - sent > 30:
                raise RuntimeError("no departed milestone within 30 s")
            time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--trucks", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--topology-10m", type=Path, default=None)
    parser.add_argument(
        "--skip-10m-reference",
        action="store_true",
        help="no whole-country index at 1:10m (it needs world-atlas from npm)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "geofence.json")
    args = parser.parse_args()
    rng = random.Random(11)
    started = time.perf_counter()
    world = borders.load()
    figures: dict[str, Any] = {
        "machine": machine(),
        "borders_load_s": time.perf_counter() - started,
    }
    fences = make_sites(rng, args.sites)
    trucks = tracks(rng, fences, args.trucks)
    figures["fixes"] = sum(len(t) for t in trucks)
    runs = [matching(fences, world, trucks) for _ in range(args.runs)]
    figures["matching"] = {k: summarise(runs, k) for k in runs[0]}
    naive = naive_trees(args.topology_10m, fetch=not args.skip_10m_reference)
    runs = [lookups(world, naive, random.Random(5)) for _ in range(args.runs)]
    figures["lookups"] = {k: summarise(runs, k) for k in runs[0]}
    seconds = latency(args.rounds)
    figures["milestone_latency_s"] = {
        "p50": percentile(seconds, 50),
        "p99": percentile(seconds, 99),
        "max": max(seconds),
        "n": len(seconds),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
