"""Collector ingest: observations/s from MQTT to acknowledged, beside a raw batched InfluxDB write.

Method (one command: ``python bench/collector_ingest.py``):

1. A real Mosquitto and InfluxDB, and ``tagtrail-collector serve`` in its own process with the
   default batching (up to 5,000 points or 0.2 s per InfluxDB write) and a SQLite registry.
2. Four gateways (two sites) publish N observations of 10,000 tags in batches of 500, encoded
   beforehand, each gateway keeping at most 8 batches unacknowledged, as the edge agent does.
   The clock runs from the first publish to the last ack: by then every point is in InfluxDB and
   every projection (latest location, site visits) is committed in the registry.
3. Reference, same run: the same points, encoded as line protocol beforehand, written to a fresh
   database with one ``/write`` of 5,000 points after another, as fast as InfluxDB answers.
   That is the store's own limit on this machine; the ratio is ingest / raw.

Each figure is the median of ``--runs`` runs (min and max shown), after a warm-up run; every run
uses a fresh database, registry and collector process.

CPU per observation, from /proc (user + system time over the timed part of each run, divided by
the observations): the collector, influxd, Mosquitto, and this process (the gateways in the
ingest run, the HTTP client in the raw one). On a machine of few cores these add up to the
whole machine, which is what bounds the ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from common import RESULTS, machine, summarise, tree_cpu_s

from tagtrail_collector.ingest.decode import BatchWork, decode
from tagtrail_collector.ingest.subscriber import Received
from tagtrail_collector.store.series.points import batch_lines
from tagtrail_protocol import Codec, Kind, ObservationBatch
from tagtrail_testbed.collector import CollectorProcess, collector_sections
from tagtrail_testbed.gateway import T0, FakeGateway, item
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker

GATEWAYS = (("port-a", "gate-1"), ("port-a", "gate-2"), ("wh-b", "dock-1"), ("wh-b", "dock-2"))
TAGS = 10_000
PER_BATCH = 500
WINDOW = 8
WRITE_POINTS = 5_000


class Cpu:
    """CPU seconds used by named processes (with their children) and by this process."""

    def __init__(self, **pids: int) -> None:
        self.pids = pids
        self.start = {name: tree_cpu_s(pid) for name, pid in pids.items()}
        self.own = time.process_time()

    def per_observation(self, n: int) -> dict[str, float]:
        """Microseconds of CPU per observation since creation, per process and in total."""
        used = {name: tree_cpu_s(pid) - self.start[name] for name, pid in self.pids.items()}
        used["bench"] = time.process_time() - self.own
        out = {f"cpu_us_per_obs_{name}": 1e6 * s / n for name, s in used.items()}
        out["cpu_us_per_obs_total"] = 1e6 * sum(used.values()) / n
        return out


def plan(n: int) -> list[list[Any]]:
    """Per gateway, its observation items in time order."""
    out: list[list[Any]] = [[] for _ in GATEWAYS]
    for i in range(n):
        g = i % len(GATEWAYS)
        out[g].append(
            item(
                f"3034{i % TAGS:020X}",
                at=T0 + timedelta(milliseconds=i),
                read_point=f"{GATEWAYS[g][1]}-in",
            )
        )
    return out


def encode(gw: FakeGateway, items: list[Any]) -> list[tuple[int, bytes]]:
    codec = Codec()
    out = []
    for at in range(0, len(items), PER_BATCH):
        seq = gw.next_seq()
        batch = ObservationBatch(
            gateway=gw.topic.gateway, boot_id=gw.boot_id, seq=seq, sent_at=T0,
            items=tuple(items[at : at + PER_BATCH]),
        )  # fmt: skip
        out.append((seq, codec.encode(batch)))
    return out


def publish_all(gw: FakeGateway, payloads: list[tuple[int, bytes]]) -> None:
    for seq, payload in payloads:
        while gw.in_flight >= WINDOW:
            gw.resend_due()
            time.sleep(0.001)
        gw.send_payload(seq, Kind.OBS, payload)


def ingest_run(broker: Broker, influx: InfluxServer, n: int, run: int) -> dict[str, Any]:
    db = f"bench_ingest_{run}"
    folder = Path(tempfile.mkdtemp(prefix="tagtrail-bench-"))
    sections = collector_sections(
        broker, influx, db, folder / "registry.db", ingest={"batch_max_delay_s": 0.2}
    )
    collector = CollectorProcess(sections)
    gateways = [FakeGateway("127.0.0.1", broker.port, site=s, gateway=g) for s, g in GATEWAYS]
    try:
        time.sleep(1.0)  # the collector subscribes and creates its database
        payloads = [encode(gw, items) for gw, items in zip(gateways, plan(n), strict=True)]
        cpu = Cpu(collector=collector.process.pid, influxd=influx.process.pid,
                  mosquitto=broker.process.pid)  # fmt: skip
        started = time.perf_counter()
        threads = [
            threading.Thread(target=publish_all, args=(gw, p))
            for gw, p in zip(gateways, payloads, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        while any(gw.in_flight for gw in gateways):
            for gw in gateways:
                gw.resend_due()
            time.sleep(0.002)
        elapsed = time.perf_counter() - started
        used = cpu.per_observation(n)
        stored = influx.count(db)
        if stored != n:
            raise SystemExit(f"run {run}: {stored} of {n} observations stored")
        return {"observations": n, "seconds": elapsed, "obs_per_s": n / elapsed, **used}
    finally:
        for gw in gateways:
            gw.close()
        collector.close()
        influx.drop_database(db)


def line_bodies(n: int) -> list[bytes]:
    """The same observations as the collector stores them, as /write bodies of 5,000 points."""
    codec = Codec()
    gw_items = plan(n)
    lines: list[str] = []
    for (site, gateway), items in zip(GATEWAYS, gw_items, strict=True):
        for at in range(0, len(items), PER_BATCH):
            batch = ObservationBatch(
                gateway=gateway, boot_id=uuid.UUID(int=1), seq=at + 1,
                sent_at=T0, items=tuple(items[at : at + PER_BATCH]),
            )  # fmt: skip
            received = Received(
                f"tagtrail/v1/{site}/{gateway}/obs", codec.encode(batch), time.time_ns()
            )
            work = decode(received, codec, lambda _g, _a: None, max_ahead_ns=300 * 10**9)
            if not isinstance(work, BatchWork):
                raise SystemExit(f"the benchmark's own batch does not decode: {work}")
            lines.extend(batch_lines(site, work.batch))
    return [
        "\n".join(lines[at : at + WRITE_POINTS]).encode()
        for at in range(0, len(lines), WRITE_POINTS)
    ]


def raw_run(influx: InfluxServer, bodies: list[bytes], n: int, run: int) -> dict[str, Any]:
    db = f"bench_raw_{run}"
    influx.create_database(db)
    try:
        with httpx.Client(base_url=influx.url, timeout=60) as client:
            cpu = Cpu(influxd=influx.process.pid)
            started = time.perf_counter()
            for body in bodies:
                response = client.post("/write", params={"db": db, "precision": "ns"}, content=body)
                response.raise_for_status()
            elapsed = time.perf_counter() - started
            used = cpu.per_observation(n)
        stored = influx.count(db)
        if stored != n:
            raise SystemExit(f"raw run {run}: {stored} of {n} points stored")
        return {"observations": n, "seconds": elapsed, "obs_per_s": n / elapsed, **used}
    finally:
        influx.drop_database(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "collector_ingest.json")
    args = parser.parse_args()
    n = args.observations
    figures: dict[str, Any] = {"machine": machine(), "observations": n, "runs": args.runs}
    with Broker(max_queued_messages=100_000) as broker, InfluxServer() as influx:
        bodies = line_bodies(n)
        ingest_run(broker, influx, min(n, 20_000), 0)  # warm-up
        raw_run(influx, line_bodies(min(n, 20_000)), min(n, 20_000), 0)
        ingest, raw = [], []
        for run in range(1, args.runs + 1):  # interleaved, so drift hits both alike
            ingest.append(ingest_run(broker, influx, n, run))
            raw.append(raw_run(influx, bodies, n, run))
    figures["ingest_obs_per_s"] = summarise(ingest, "obs_per_s")
    figures["raw_write_obs_per_s"] = summarise(raw, "obs_per_s")
    ratios = [{"ratio": i["obs_per_s"] / r["obs_per_s"]} for i, r in zip(ingest, raw, strict=True)]
    figures["ingest_to_raw_ratio"] = summarise(ratios, "ratio")
    figures["runs_detail"] = {"ingest": ingest, "raw": raw}
    for name, runs in (("ingest", ingest), ("raw", raw)):
        for key in sorted(k for k in runs[0] if k.startswith("cpu_us_per_obs_")):
            figures[f"{name}_{key}"] = summarise(runs, key)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2))
    for key in [k for k in figures if k.endswith(("_per_s", "_ratio")) or "cpu_us" in k]:
        f = figures[key]
        print(f"{key:34} median {f['median']:>10.3f}  min {f['min']:>10.3f}  max {f['max']:>10.3f}")


if __name__ == "__main__":
    main()
