"""Edge agent throughput: raw reads/s from a pty to the outbox commit and to the collector's ack.

Method (one command: ``python bench/edge_throughput.py``):

1. A real Mosquitto, an acking subscriber (the collector's part) and ``tagtrail-edge run`` in its
   own process, pinned to one core; the reader simulator writes on a pty from another core.
2. *To commit*: N reads of 1,000 tags that stay in the field are written as fast as the pty takes
   them; the clock stops when the outbox's smoothing state (committed in the same transaction as
   the events) accounts for all N reads. Reads/s = N / elapsed.
3. *To ack*: N host-stamped reads, 100 in a row per tag (each tag arrives, dwells, departs);
   the clock stops when every depart is acknowledged, minus ``lost_s`` (smoothing must wait that
   long after a tag's last read to call it departed).
4. Agent RSS: peak (VmHWM) and current (VmRSS) from /proc after each run; CPU per 1,000 reads:
   the agent's user + system time (/proc/PID/stat) over the run, per 1,000 reads.
5. *Outage drain*: the broker is stopped, ``--outage-reads`` reads (10 in a row per tag, so
   each tag arrives and departs) go through the agent into its outbox; then the broker starts
   again and the clock runs until every event is acknowledged. Events/s of backlog drained.
   The benchmark's agents reconnect with a backoff capped at 1 s (the default cap is 60 s), so
   that the figure measures draining rather than the wait for the next reconnection attempt.
6. References, same run and machine: a plain SQLite batched insert of the same N reads
   (executemany in transactions of 1,000, WAL, synchronous=FULL), the storage path's own limit;
   and Mosquitto's QoS 1 publish rate for batches of 1,000 events as the agent sends them (one
   paho client, 32 in flight), the network path's own limit.

Each figure is the median of ``--runs`` runs (min and max shown), after a warm-up run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from common import cpu_s, machine, summarise
from paho.mqtt.enums import CallbackAPIVersion

from tagtrail_edge.pipeline.enrich import decode_epc
from tagtrail_hardware.ascii import LineFormat, format_line
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_protocol import Codec, EventKind, ObservationBatch, ObservationItem
from tagtrail_testbed.acker import AckingSubscriber
from tagtrail_testbed.mosquitto import Broker

AGENT = Path(sys.executable).parent / "tagtrail-edge"
LOST_S = 1.0


def agent_config(folder: Path, port: int, device: str, lost_s: float, fields: str) -> Path:
    path = folder / "edge.toml"
    path.write_text(
        f'[gateway]\nid = "bench"\nsite = "lab"\n'
        f"[mqtt]\nport = {port}\nwindow = 32\nbatch_max_items = 1000\nbackoff_cap_s = 1.0\n"
        f'[outbox]\npath = "{folder / "outbox.db"}"\ncap_mb = 2048\n'
        f"[smoothing]\nobserve_count = 2\nobserve_s = 0.5\nlost_s = {lost_s}\n"
        f'[[readers]]\nname = "r"\ndriver = "ascii"\npath = "{device}"\n'
        f'fields = {fields}\n[log]\nlevel = "WARNING"\n'
    )
    return path


def rss_kib(pid: int) -> dict[str, int]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def read_only_count(db: Path, query: str) -> int:
    """One count from the agent's outbox, read beside the running agent (0 before it exists)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(conn.execute(query).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def committed_reads(db: Path) -> int:
    return read_only_count(db, "SELECT coalesce(sum(count), 0) FROM tracks")


def dwelling_stream(n: int) -> bytes:
    fmt = LineFormat(fields=("epc", "antenna", "rssi", "time_ms"))
    now = time.time()
    return b"".join(
        format_line(TagRead(f"3074{i % 1000:020X}", 1, now + i * 1e-5, 0, -60.0), fmt)
        for i in range(n)
    )


class Run:
    """One agent process on a fresh outbox, with a pty, a broker and an acker."""

    def __init__(self, broker: Broker, lost_s: float, *, reader_clock: bool) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="tagtrail-bench-"))
        self.port = VirtualSerialPort()
        self.acker = AckingSubscriber("127.0.0.1", broker.port)
        fields = '["epc", "antenna", "rssi", "time_ms"]' if reader_clock else '["epc", "antenna"]'
        cfg = agent_config(self.folder, broker.port, self.port.device_path, lost_s, fields)
        self.agent = subprocess.Popen([str(AGENT), "run", "--config", str(cfg)])
        os.sched_setaffinity(self.agent.pid, {0})
        time.sleep(1.5)  # start-up: imports, outbox check, broker connection
        self.cpu_at_start = cpu_s(self.agent.pid)

    def close(self) -> dict[str, float]:
        memory: dict[str, float] = {**rss_kib(self.agent.pid)}
        memory["cpu_s"] = cpu_s(self.agent.pid) - self.cpu_at_start
        self.agent.terminate()
        self.agent.wait(timeout=30)
        self.acker.close()
        self.port.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        return memory


def to_commit(broker: Broker, n: int) -> dict[str, Any]:
    run = Run(broker, lost_s=600.0, reader_clock=True)
    data = dwelling_stream(n)
    started = time.perf_counter()
    writer = threading.Thread(target=run.port.write, args=(data,))
    writer.start()
    while committed_reads(run.folder / "outbox.db") < n:
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    writer.join()
    memory = run.close()
    return {"reads": n, "seconds": elapsed, "reads_per_s": n / elapsed,
            "cpu_ms_per_1000_reads": memory["cpu_s"] * 1e6 / n, **memory}  # fmt: skip


def to_ack(broker: Broker, n: int) -> dict[str, Any]:
    run = Run(broker, lost_s=LOST_S, reader_clock=False)
    per_tag = 100  # each tag read 100 times in a row, then never again: one visit per tag
    tags = max(1, n // per_tag)
    data = b"".join(f"3074{t:020X},1\r\n".encode() * per_tag for t in range(tags))
    started = time.perf_counter()
    writer = threading.Thread(target=run.port.write, args=(data,))
    writer.start()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if sum(1 for i in run.acker.items() if i.event.value == "depart") >= tags:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started - LOST_S  # smoothing waits lost_s by design
    writer.join()
    memory = run.close()
    total = tags * per_tag
    return {"reads": total, "visits": tags, "seconds": elapsed, "reads_per_s": total / elapsed,
            "cpu_ms_per_1000_reads": memory["cpu_s"] * 1e6 / total, **memory}  # fmt: skip


def outage_drain(broker: Broker, n: int) -> dict[str, Any]:
    """Reads taken while the broker is down, then the backlog's drain once it is back."""
    run = Run(broker, lost_s=LOST_S, reader_clock=False)
    broker.stop()
    per_tag = 10
    tags = max(1, n // per_tag)
    run.port.write(b"".join(f"3074{t:020X},1\r\n".encode() * per_tag for t in range(tags)))
    outbox = run.folder / "outbox.db"
    deadline = time.monotonic() + 1200
    while time.monotonic() < deadline and stored_items(outbox) < 2 * tags:
        time.sleep(0.2)  # every arrive and depart committed: the backlog is complete
    backlog = stored_items(outbox)
    broker.start()
    started = time.perf_counter()
    while time.monotonic() < deadline:
        if sum(1 for i in run.acker.items() if i.event.value == "depart") >= tags:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    memory = run.close()
    return {"reads": tags * per_tag, "backlog_events": backlog, "seconds": elapsed,
            "events_per_s": backlog / elapsed, **memory}  # fmt: skip


def stored_items(db: Path) -> int:
    return read_only_count(db, "SELECT count(*) FROM items")


def mosquitto_reference(broker: Broker, batches: int) -> dict[str, Any]:
    """QoS 1 publishes of 1,000-event batches as the agent encodes them, 32 in flight."""
    payload = event_batch(1000)
    done = threading.Semaphore(0)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.max_inflight_messages_set(32)
    client.on_publish = lambda *_: done.release()
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        started = time.perf_counter()
        for _ in range(batches):
            client.publish("tagtrail/v1/lab/bench-ref/obs", payload, qos=1)
        for _ in range(batches):
            if not done.acquire(timeout=60):
                raise RuntimeError("the broker did not acknowledge every publish")
        elapsed = time.perf_counter() - started
    finally:
        client.loop_stop()
        client.disconnect()
    return {"batches": batches, "bytes": len(payload), "seconds": elapsed,
            "events_per_s": batches * 1000 / elapsed}  # fmt: skip


def event_batch(items: int) -> bytes:
    """A batch of ``items`` observation events, encoded as the agent publishes them."""
    at = datetime(2026, 3, 1, tzinfo=UTC)
    batch = ObservationBatch(
        gateway="bench-ref", boot_id=uuid.uuid4(), seq=0, sent_at=at,
        items=tuple(
            ObservationItem(
                epc=f"3074257BF7194E40{i:08X}", read_point="r", antenna=1,
                event=EventKind.DEPART, first_seen=at, last_seen=at + timedelta(seconds=1),
                count=100, mono_ns=i, clock_synced=True,
                identity=decode_epc(f"3074257BF7194E40{i:08X}").identity,
            )
            for i in range(items)
        ),
    )  # fmt: skip
    return Codec().encode(batch)


def sqlite_reference(n: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="tagtrail-bench-"))
    conn = sqlite3.connect(folder / "plain.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE reads (epc TEXT, antenna INTEGER, rssi REAL, time REAL)")
    rows = [(f"3074{i % 1000:020X}", 1, -60.0, i * 1e-5) for i in range(n)]
    started = time.perf_counter()
    for at in range(0, n, 1000):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO reads VALUES (?, ?, ?, ?)", rows[at : at + 1000])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    shutil.rmtree(folder, ignore_errors=True)
    return {"reads": n, "seconds": elapsed, "reads_per_s": n / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--outage-reads", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "edge.json")
    args = parser.parse_args()
    figures: dict[str, Any] = {"machine": machine(), "reads": args.reads, "runs": args.runs}
    with Broker() as broker:
        to_commit(broker, min(args.reads, 20_000))  # warm-up (page cache, first imports)
        commit_runs = [to_commit(broker, args.reads) for _ in range(args.runs)]
        ack_runs = [to_ack(broker, args.reads) for _ in range(args.runs)]
        reference = [sqlite_reference(args.reads) for _ in range(args.runs)]
        publish = [mosquitto_reference(broker, max(10, args.reads // 1000))
                   for _ in range(args.runs)]  # fmt: skip
        outage = [outage_drain(broker, args.outage_reads) for _ in range(args.runs)]
    figures["to_commit_reads_per_s"] = summarise(commit_runs, "reads_per_s")
    figures["to_ack_reads_per_s"] = summarise(ack_runs, "reads_per_s")
    figures["plain_sqlite_reads_per_s"] = summarise(reference, "reads_per_s")
    figures["mosquitto_qos1_events_per_s"] = summarise(publish, "events_per_s")
    figures["outage_drain_events_per_s"] = summarise(outage, "events_per_s")
    figures["cpu_ms_per_1000_reads"] = summarise(commit_runs + ack_runs, "cpu_ms_per_1000_reads")
    figures["agent_peak_rss_kib"] = summarise(commit_runs + ack_runs, "VmHWM")
    figures["agent_rss_kib"] = summarise(commit_runs + ack_runs, "VmRSS")
    figures["runs_detail"] = {"to_commit": commit_runs, "to_ack": ack_runs, "sqlite": reference,
                              "mosquitto": publish, "outage": outage}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2))
    for key in ("to_commit_reads_per_s", "to_ack_reads_per_s", "plain_sqlite_reads_per_s",
                "mosquitto_qos1_events_per_s", "outage_drain_events_per_s",
                "cpu_ms_per_1000_reads", "agent_peak_rss_kib", "agent_rss_kib"):  # fmt: skip
        f = figures[key]
        print(f"{key:28} median {f['median']:>10.0f}  min {f['min']:>10.0f}  max {f['max']:>10.0f}")


if __name__ == "__main__":
    main()
