"""Benchmarks stay runnable: each runs once with tiny sizes (figures are not checked here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_edge_throughput_smoke(tmp_path: Path) -> None:
    out = tmp_path / "edge.json"
    subprocess.run(
        [sys.executable, str(BENCH / "edge_throughput.py"), "--reads", "3000", "--runs", "1",
         "--out", str(out)],
        check=True, timeout=300, capture_output=True,
    )  # fmt: skip
    figures = json.loads(out.read_text())
    for key in ("to_commit_reads_per_s", "to_ack_reads_per_s", "plain_sqlite_reads_per_s"):
        assert figures[key]["median"] > 0
    assert figures["agent_peak_rss_kib"]["median"] > 0
