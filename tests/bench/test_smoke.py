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
         "--outage-reads", "2000", "--out", str(out)],
        check=True, timeout=300, capture_output=True,
    )  # fmt: skip
    figures = json.loads(out.read_text())
    for key in ("to_commit_reads_per_s", "to_ack_reads_per_s", "plain_sqlite_reads_per_s",
                "mosquitto_qos1_events_per_s", "outage_drain_events_per_s",
                "cpu_ms_per_1000_reads"):  # fmt: skip
        assert figures[key]["median"] > 0
    assert figures["runs_detail"]["outage"][0]["backlog_events"] == 400  # 200 tags, in and out
    assert figures["agent_peak_rss_kib"]["median"] > 0


def test_collector_ingest_smoke(tmp_path: Path) -> None:
    out = tmp_path / "ingest.json"
    subprocess.run(
        [sys.executable, str(BENCH / "collector_ingest.py"), "--observations", "2000",
         "--runs", "1", "--out", str(out)],
        check=True, timeout=300, capture_output=True,
    )  # fmt: skip
    figures = json.loads(out.read_text())
    for key in ("ingest_obs_per_s", "raw_write_obs_per_s", "ingest_to_raw_ratio"):
        assert figures[key]["median"] > 0
    for key in ("ingest_cpu_us_per_obs_collector", "ingest_cpu_us_per_obs_influxd",
                "raw_cpu_us_per_obs_influxd"):  # fmt: skip
        assert figures[key]["median"] > 0
    parts = [v["median"] for k, v in figures.items() if k.startswith("ingest_cpu_us_per_obs_")]
    assert abs(sum(parts) - 2 * figures["ingest_cpu_us_per_obs_total"]["median"]) < 0.01


def test_collector_queries_smoke(tmp_path: Path) -> None:
    out = tmp_path / "queries.json"
    subprocess.run(
        [sys.executable, str(BENCH / "collector_queries.py"), "--shipments", "300",
         "--observations", "3000", "--requests", "60", "--out", str(out)],
        check=True, timeout=300, capture_output=True,
    )  # fmt: skip
    figures = json.loads(out.read_text())
    assert figures["observations"] == 3000
    for kind in ("http_floor", "location", "events", "track_30_days", "inventory"):
        assert 0 < figures["api"][kind]["p50_ms"] <= figures["api"][kind]["p99_ms"]
    assert figures["naive_influxql"]["location"]["p50_ms"] > 0


def test_outbox_vs_thingsboard_smoke(tmp_path: Path) -> None:
    out = tmp_path / "outbox.json"
    subprocess.run(
        [sys.executable, str(BENCH / "outbox_vs_thingsboard.py"), "--events", "200",
         "--batches", "10,100", "--runs", "1", "--kills", "1", "--kill-after", "100",
         "--budget-s", "1", "--out", str(out)],
        check=True, timeout=600, capture_output=True,
    )  # fmt: skip
    figures = json.loads(out.read_text())
    for size in ("10", "100"):
        result = figures["batches"][size]
        for store in ("tagtrail", "thingsboard"):
            assert result[store]["put"]["median"] > 0
            assert result[store]["drain"]["median"] > 0
            assert result["sigkill"][store][0]["accepted"] >= 100
        assert result["sigkill"]["tagtrail"][0]["lost"] == 0  # put returns after the commit


def test_edge_footprint_smoke(tmp_path: Path) -> None:
    out = tmp_path / "footprint.json"
    subprocess.run(
        [sys.executable, str(BENCH / "edge_footprint.py"), "--minutes", "0.05", "--runs", "2",
         "--warmup-s", "2", "--out", str(out)],
        check=True, timeout=300, capture_output=True,
    )  # fmt: skip
    figures = json.loads(out.read_text())
    assert len(figures["runs_detail"]) == 2
    assert 0 < figures["rss_kib_median"]["median"] <= figures["rss_kib_peak"]["max"]
    assert figures["cpu_percent"]["median"] >= 0


def test_geofence_smoke(tmp_path: Path) -> None:
    out = tmp_path / "geofence.json"
    subprocess.run(
        [sys.executable, str(BENCH / "geofence.py"), "--sites", "200", "--trucks", "2",
         "--runs", "1", "--rounds", "2", "--skip-10m-reference", "--out", str(out)],
        check=True, timeout=300, capture_output=True,
    )  # fmt: skip
    figures = json.loads(out.read_text())
    assert figures["matching"]["sites_and_borders_fixes_per_s"]["median"] > 0
    assert figures["lookups"]["tiles_10m_single_europe_per_s"]["median"] > 0
    assert figures["lookups"]["naive_50m_single_europe_per_s"]["median"] > 0
    latency = figures["milestone_latency_s"]
    assert latency["n"] == 2
    assert 0 < latency["p50"] <= latency["max"] < 30
