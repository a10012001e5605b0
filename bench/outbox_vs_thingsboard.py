"""Edge outbox against ThingsBoard IoT Gateway's SQLite storage: durable put, drain, SIGKILL loss.

Method (one command: ``python bench/outbox_vs_thingsboard.py``):

1. The peer, PyPI ``thingsboard-gateway`` (pinned below), is installed into a virtual
   environment of its own (created once, under ``~/.cache/tagtrail-bench``), with the same
   Python. Its ``SQLiteEventStorage`` is driven standalone, with its default settings, by
   ``outbox_driver.py``; tagtrail's outbox by the same driver in tagtrail's environment.
2. Same payloads for both: N observation events as the edge agent stores them (decoded SGTIN,
   about 400 bytes of JSON each), written to a file both drivers read.
3. For each batch size (10, 100, 1,000), each in a fresh folder and process:
   - *durable put*: events/s when each batch counts only once it is committed to the file;
   - *stream* (peer only): every put without waiting, until the last one is committed;
   - *drain*: events/s taking batches out and confirming them, from a store holding N events;
   - *SIGKILL*: a process puts batches and reports each put that returned; it is killed right
     after the ``--kill-after``-th event's put returns. Lost = accepted by put, not in the file.
4. Each rate is the median of ``--runs`` runs (min and max shown) after a warm-up run; the
   ratio is tagtrail's median over the peer's, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import venv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import RESULTS, machine, summarise

from tagtrail_edge.pipeline.enrich import decode_epc
from tagtrail_protocol import EventKind, ObservationItem

PEER: str = "thingsboard-gateway==3.8.5"
PEER_VENV = Path.home() / ".cache" / "tagtrail-bench" / PEER.replace("==", "-")
DRIVER = Path(__file__).parent / "outbox_driver.py"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def peer_python(folder: Path) -> Path:
    """The peer's interpreter, installing the peer the first time (pip, from the registry)."""
    python = folder / "bin" / "python"
    probe = "import thingsboard_gateway.storage.sqlite.sqlite_event_storage"
    if python.exists() and subprocess.run([python, "-c", probe], check=False).returncode == 0:
        return python
    venv.create(folder, with_pip=True, clear=True)
    done = subprocess.run(
        [python, "-m", "pip", "install", "-q", PEER], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"cannot install {PEER} into {folder}:\n{done.stderr}")
    return python


def payloads(n: int, folder: Path) -> Path:
    """N events as the agent commits them: arrive/depart of 96-bit SGTINs, decoded."""
    bodies = []
    for i in range(n):
        epc = f"3074257BF7194E40{i:08X}"
        at = T0 + timedelta(milliseconds=37 * i)
        event = EventKind.ARRIVE if i % 2 == 0 else EventKind.DEPART
        body = ObservationItem(
            epc=epc, read_point="dock-1", antenna=1 + i % 4, event=event, first_seen=at,
            last_seen=at + timedelta(seconds=30), count=60 + i % 50, peak_rssi_dbm=-58.5,
            mono_ns=37_000_000 * i, clock_synced=True, identity=decode_epc(epc).identity,
        )  # fmt: skip
        bodies.append(body.model_dump_json(exclude_none=True))
    path = folder / "payloads.json"
    path.write_text(json.dumps(bodies))
    return path


def command(python: Path, store: str, mode: str, batch: int, data: Path) -> list[str]:
    """The driver's command line; its store's folder (fresh, to be removed) is the last word."""
    folder = Path(tempfile.mkdtemp(prefix=f"tagtrail-bench-{store}-{mode}-"))
    return [str(python), str(DRIVER), "--store", store, "--mode", mode, "--batch", str(batch),
            "--payloads", str(data), "--folder", str(folder)]  # fmt: skip


def drive(
    python: Path, store: str, mode: str, batch: int, data: Path, *, budget_s: float
) -> dict[str, Any]:
    args = command(python, store, mode, batch, data)
    folder = args[-1]
    try:
        done = subprocess.run(
            [*args, "--budget-s", str(budget_s)],
            check=True, capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def killed(python: Path, store: str, batch: int, data: Path, after: int) -> dict[str, int]:
    """Put until ``after`` events were accepted, SIGKILL at once, count what the file holds."""
    args = command(python, store, "kill", batch, data)
    folder = Path(args[-1])
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    accepted = 0
    for line in child.stdout or ():
        accepted = int(line)
        if accepted >= after:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    name = "outbox.db" if store == "tagtrail" else "data.db"
    table = "items" if store == "tagtrail" else "messages"
    conn = sqlite3.connect(folder / name)
    try:
        (stored,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    finally:
        conn.close()
        shutil.rmtree(folder, ignore_errors=True)
    # The child goes on putting between its last report and the kill, so the file may hold
    # more than was reported accepted: nothing lost then, not a negative loss.
    return {"accepted": accepted, "stored": int(stored), "lost": max(0, accepted - int(stored))}


def compare(
    python: dict[str, Path], batch: int, data: Path, runs: int, budget_s: float
) -> dict[str, Any]:
    def rate(store: str, mode: str) -> dict[str, float]:
        py = python[store]
        measured = [drive(py, store, mode, batch, data, budget_s=budget_s) for _ in range(runs)]
        return summarise(measured, "events_per_s")

    out: dict[str, Any] = {}
    for store in ("tagtrail", "thingsboard"):
        drive(python[store], store, "put", batch, data, budget_s=budget_s)  # warm-up
        out[store] = {"put": rate(store, "put"), "drain": rate(store, "drain")}
    out["thingsboard"]["stream"] = rate("thingsboard", "stream")
    out["put_ratio"] = out["tagtrail"]["put"]["median"] / out["thingsboard"]["put"]["median"]
    out["put_ratio_vs_peer_stream"] = (
        out["tagtrail"]["put"]["median"] / out["thingsboard"]["stream"]["median"]
    )
    out["drain_ratio"] = out["tagtrail"]["drain"]["median"] / out["thingsboard"]["drain"]["median"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batches", type=lambda s: [int(x) for x in s.split(",")],
                        default=[10, 100, 1000])  # fmt: skip
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kills", type=int, default=5, help="SIGKILL trials per store and size")
    parser.add_argument("--kill-after", type=int, default=2_000)
    parser.add_argument("--budget-s", type=float, default=15.0,
                        help="time limit of one durable-put run (a slow store is measured on"
                        " the events it managed)")  # fmt: skip
    parser.add_argument("--peer-venv", type=Path, default=PEER_VENV)
    parser.add_argument("--out", type=Path, default=RESULTS / "outbox_vs_thingsboard.json")
    args = parser.parse_args()
    python = {"tagtrail": Path(sys.executable), "thingsboard": peer_python(args.peer_venv)}
    scratch = Path(tempfile.mkdtemp(prefix="tagtrail-bench-"))
    data = payloads(max(args.events, args.kill_after), scratch)
    figures: dict[str, Any] = {"machine": machine(), "peer": PEER, "events": args.events,
                               "runs": args.runs, "batches": {}}  # fmt: skip
    for batch in args.batches:
        result = compare(python, batch, data, args.runs, args.budget_s)
        result["sigkill"] = {
            store: [killed(python[store], store, batch, data, args.kill_after)
                    for _ in range(args.kills)]
            for store in ("tagtrail", "thingsboard")
        }  # fmt: skip
        figures["batches"][str(batch)] = result
        report(batch, result)
    shutil.rmtree(scratch, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2))


def report(batch: int, result: dict[str, Any]) -> None:
    def line(name: str, f: dict[str, float]) -> str:
        figures = "  ".join(f"{key} {f[key]:>10.0f}" for key in ("median", "min", "max"))
        return f"  {name:28} {figures}"

    print(f"batch size {batch}: events/s")
    print(line("tagtrail durable put", result["tagtrail"]["put"]))
    print(line("thingsboard durable put", result["thingsboard"]["put"]))
    print(line("thingsboard stream", result["thingsboard"]["stream"]))
    print(line("tagtrail drain", result["tagtrail"]["drain"]))
    print(line("thingsboard drain", result["thingsboard"]["drain"]))
    print(f"  put ratio {result['put_ratio']:.1f}x"
          f" (vs peer stream {result['put_ratio_vs_peer_stream']:.1f}x),"
          f" drain ratio {result['drain_ratio']:.2f}x")  # fmt: skip
    for store, trials in result["sigkill"].items():
        lost = [t["lost"] for t in trials]
        print(f"  SIGKILL after put returned, {store}: lost {lost} of {trials[0]['accepted']}+")


if __name__ == "__main__":
    main()
