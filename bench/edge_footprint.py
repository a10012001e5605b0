"""Edge agent footprint at rest: RSS and CPU with no tags in the field.

Method (one command: ``python bench/edge_footprint.py``):

1. A real Mosquitto and an acknowledging subscriber; ``--runs`` agents (``tagtrail-edge run``,
   default configuration apart from the broker and outbox paths), each with an ASCII reader on a
   pty of its own that stays silent: no tags in the field. They run side by side (an idle agent
   uses a small fraction of a core, so they do not disturb each other) for ``--minutes``.
2. After a start-up minute that is not counted (imports, outbox check, connection), each
   agent's RSS (VmRSS) is sampled every second, and its CPU time (user + system, from
   /proc/PID/stat) over the measured period is divided by the period: % of one core.
3. Figures: per agent, the median and peak of its RSS samples and its CPU share; reported as
   the median over agents, with min and max.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from common import RESULTS, cpu_s, machine, summarise
from edge_throughput import AGENT, rss_kib

from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_testbed.acker import AckingSubscriber
from tagtrail_testbed.mosquitto import Broker


def config(folder: Path, port: int, device: str) -> Path:
    path = folder / "edge.toml"
    path.write_text(
        f'[gateway]\nid = "{folder.name}"\nsite = "lab"\n[mqtt]\nport = {port}\n'
        f'[outbox]\npath = "{folder / "outbox.db"}"\n'
        f'[[readers]]\nname = "r"\ndriver = "ascii"\npath = "{device}"\n'
    )
    return path


def measure(broker: Broker, agents: int, warmup_s: float, seconds: float) -> list[dict[str, Any]]:
    folders = [Path(tempfile.mkdtemp(prefix="tagtrail-bench-idle-")) for _ in range(agents)]
    ports = [VirtualSerialPort() for _ in range(agents)]
    processes = [
        subprocess.Popen(
            [str(AGENT), "run", "--config", str(config(f, broker.port, p.device_path))]
        )
        for f, p in zip(folders, ports, strict=True)
    ]
    try:
        time.sleep(warmup_s)
        start = {p.pid: cpu_s(p.pid) for p in processes}
        samples: dict[int, list[int]] = {p.pid: [] for p in processes}
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            for p in processes:
                samples[p.pid].append(rss_kib(p.pid)["VmRSS"])
            time.sleep(1.0)
        elapsed = time.monotonic() - started
        return [
            {"rss_kib_median": statistics.median(samples[p.pid]),
             "rss_kib_peak": max(samples[p.pid]),
             "cpu_percent": 100 * (cpu_s(p.pid) - start[p.pid]) / elapsed,
             "seconds": elapsed}
            for p in processes
        ]  # fmt: skip
    finally:
        for p in processes:
            p.terminate()
            p.wait(timeout=30)
        for port in ports:
            port.close()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3, help="agents measured side by side")
    parser.add_argument("--warmup-s", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=RESULTS / "edge_footprint.json")
    args = parser.parse_args()
    figures: dict[str, Any] = {"machine": machine(), "minutes": args.minutes, "runs": args.runs}
    with Broker() as broker, AckingSubscriber("127.0.0.1", broker.port):
        runs = measure(broker, args.runs, args.warmup_s, args.minutes * 60)
    for key in ("rss_kib_median", "rss_kib_peak", "cpu_percent"):
        figures[key] = summarise(runs, key)
        f = figures[key]
        print(f"{key:16} median {f['median']:>10.2f}  min {f['min']:>10.2f}  max {f['max']:>10.2f}")
    figures["runs_detail"] = runs
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
