"""The live commands against simulators on ptys: ``watch`` (in tmux), ``gps status``, and the
outbox's ``export`` and ``purge``."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tagtrail_edge.cli import app
from tagtrail_edge.cli.outbox import inspect
from tagtrail_edge.config import load_config
from tagtrail_edge.pipeline.outbox import Outbox
from tagtrail_hardware.nmea import NmeaSimulator, Route
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_protocol import Kind
from tagtrail_testbed.field import tags_in_field
from tagtrail_testbed.waiting import wait_for

runner = CliRunner()
SGTIN = "3074257BF7194E4000001A85"  # GTIN 80614141123458
OTHER = "E2801160600002054E4E8F2B"  # a chip's factory EPC: not GS1
EDGE = str(Path(sys.executable).parent / "tagtrail-edge")


GPS_ONLY = '[gps]\nsource = "gpsd"\n'  # something to read: a config needs it


def write_config(folder: Path, body: str) -> Path:
    config = folder / "edge.toml"
    config.write_text(
        f'[gateway]\nid = "gate-1"\nsite = "port-a"\n[outbox]\npath = "{folder / "ob.db"}"\n'
        f"{body or GPS_ONLY}"
    )
    return config


def reader_config(folder: Path, port: VirtualSerialPort) -> Path:
    return write_config(
        folder,
        f'[[readers]]\nname = "dock"\ndriver = "ascii"\npath = "{port.device_path}"\n'
        '[[read_points]]\nname = "dock-door"\nreader = "dock"\nantenna = 1\nlost_s = 1.0\n',
    )


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A tmux server of our own (its socket in tmp_path) and a session name; killed after."""
    program = shutil.which("tmux")
    assert program, "tmux is missing (deploy/test.sh installs it)"
    socket = str(tmp_path / "tmux.sock")
    yield program, socket
    subprocess.run([program, "-S", socket, "kill-server"], check=False, capture_output=True)


def test_watch_shows_the_tags_in_a_live_table(tmux: tuple[str, str], tmp_path: Path) -> None:
    program, socket = tmux
    with VirtualSerialPort() as port, tags_in_field(port, [SGTIN, OTHER], rssi_dbm=-48.5):
        config = reader_config(tmp_path, port)
        # The table is as wide as the pane: the test run's own COLUMNS/LINES must not leak in.
        command = f"env -u COLUMNS -u LINES {shlex.quote(EDGE)} watch -c {shlex.quote(str(config))}"
        subprocess.run(
            [program, "-S", socket, "new-session", "-d", "-s", "w", "-x", "150", "-y", "30",
             command],
            check=True,
        )  # fmt: skip

        def screen() -> str:
            done = subprocess.run(
                [program, "-S", socket, "capture-pane", "-p", "-t", "w"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            return done.stdout

        assert wait_for(lambda: SGTIN in screen() and OTHER in screen(), 20), screen()
        first = screen()
        assert wait_for(lambda: _reads_total(screen()) > _reads_total(first), 10)  # live
        shown = screen()
        row = next(line for line in shown.splitlines() if SGTIN in line)
        cells = [cell.strip() for cell in row.strip("│ ").split("│")]
        assert cells[1:5] == ["sgtin-96 80614141123458", "dock-door", "1", "-48.5"]
        assert float(cells[6]) > 0  # reads/s
        other = next(line for line in shown.splitlines() if OTHER in line)
        assert "not GS1" in other
        assert "dock-a" not in row
        assert shown.count(SGTIN) == 1  # updated in place, not scrolled
        subprocess.run([program, "-S", socket, "send-keys", "-t", "w", "C-c"], check=True)


def _reads_total(screen: str) -> int:
    marker = "reads total "
    at = screen.find(marker)
    return int(screen[at + len(marker) :].split(")", maxsplit=1)[0]) if at >= 0 else -1


def test_watch_json_streams_arrive_then_depart(tmp_path: Path) -> None:
    with VirtualSerialPort() as port:
        config = reader_config(tmp_path, port)
        watcher = subprocess.Popen(
            [EDGE, "watch", "--config", str(config), "--json", "--duration", "6"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            time.sleep(1.0)
            with tags_in_field(port, [SGTIN]):
                time.sleep(2.0)
            out, _ = watcher.communicate(timeout=30)
        finally:
            watcher.kill()
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["event"], e["epc"], e["read_point"]) for e in events] == [
        ("arrive", SGTIN, "dock-door"),
        ("depart", SGTIN, "dock-door"),
    ]
    assert events[1]["count"] >= 10
    assert events[0]["identity"] == "sgtin-96 80614141123458"
    assert events[1]["last_seen"].endswith("Z")
    assert watcher.returncode == 0


def test_watch_names_the_readers_it_knows(tmp_path: Path) -> None:
    with VirtualSerialPort() as port:
        config = reader_config(tmp_path, port)
        result = runner.invoke(app, ["watch", "-c", str(config), "--reader", "gate"])
    assert result.exit_code == 2
    assert "readers: dock" in result.output


def test_gps_status_reports_the_fix_and_the_clock_offset(tmp_path: Path) -> None:
    with VirtualSerialPort() as port:
        config = write_config(tmp_path, f'[gps]\nsource = "nmea"\npath = "{port.device_path}"\n')
        sim = NmeaSimulator(port, Route(((51.95, 4.05), (51.90, 4.50))), period_s=0.2).start()
        try:
            result = runner.invoke(app, ["gps", "status", "-c", str(config), "--json"])
            sim.has_fix.clear()
            lost = runner.invoke(app, ["gps", "status", "-c", str(config), "--wait", "2"])
        finally:
            sim.stop()
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert status["fix"] is True
    assert (status["source"], status["device"]) == ("nmea", port.device_path)
    assert 51.89 < status["lat"] < 51.96
    assert 4.04 < status["lon"] < 4.51
    assert status["satellites"] >= 4
    assert status["hdop"] is not None
    assert abs(status["clock_offset_s"]) < 1.5  # the simulator stamps with this machine's clock
    assert lost.exit_code == 1
    assert "no fix within 2 s" in lost.output


def _outbox_with_items(tmp_path: Path) -> tuple[Path, list[float]]:
    config = write_config(tmp_path, "")
    outbox = Outbox.open(load_config(config).outbox)
    created = []
    try:
        for i in range(30):
            when = 1_790_000_000.0 + i * 3600  # one an hour
            outbox.commit([(Kind.OBS, json.dumps({"n": i, "clock_synced": i % 3 != 0}))], now=when)
            created.append(when)
        outbox.form_batches("boot", 0, max_items=10)
    finally:
        outbox.close()
    return config, created


def test_outbox_export_copies_the_unsent_items_in_order(tmp_path: Path) -> None:
    config, created = _outbox_with_items(tmp_path)
    target = tmp_path / "backlog.jsonl"
    result = runner.invoke(app, ["outbox", "export", str(target), "-c", str(config)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["item"]["n"] for r in rows] == list(range(30))
    assert [r["batch_seq"] for r in rows] == [0] * 10 + [1] * 10 + [2] * 10
    assert rows[0]["created"] == datetime.fromtimestamp(created[0], UTC).isoformat().replace(
        "+00:00", "Z"
    )
    since = datetime.fromtimestamp(created[25], UTC).isoformat()
    recent = runner.invoke(app, ["outbox", "export", "-", "--since", since, "-c", str(config)])
    assert [json.loads(line)["item"]["n"] for line in recent.stdout.splitlines()] == [
        25, 26, 27, 28, 29,
    ]  # fmt: skip
    bad = runner.invoke(app, ["outbox", "export", "-", "--since", "yesterday", "-c", str(config)])
    assert bad.exit_code == 2
    assert "neither an ISO 8601 time nor an age" in bad.output


def test_outbox_purge_asks_first_and_counts_what_it_deletes(tmp_path: Path) -> None:
    config, created = _outbox_with_items(tmp_path)
    settings = load_config(config).outbox
    status = json.loads(
        runner.invoke(app, ["outbox", "status", "-c", str(config), "--json"]).stdout
    )
    assert status["backlog_items_unsynced_clock"] == 10
    assert isinstance(status["clock_synced"], bool)

    before = datetime.fromtimestamp(created[20], UTC).isoformat()
    declined = runner.invoke(
        app, ["outbox", "purge", "--before", before, "-c", str(config)], input="n\n"
    )
    assert declined.exit_code == 1  # aborted
    assert "delete 20 unsent item(s)" in declined.output
    assert inspect(settings).backlog_items == 30

    purged = runner.invoke(
        app, ["outbox", "purge", "--before", before, "-c", str(config)], input="y\n"
    )
    assert purged.exit_code == 0, purged.output
    after = inspect(settings)
    assert after.backlog_items == 10
    assert after.drops == {"purged": 20}
    assert after.backlog_batches == 1  # emptied batches are gone
    everything = runner.invoke(app, ["outbox", "purge", "--yes", "-c", str(config)])
    assert everything.exit_code == 0
    assert inspect(settings).drops == {"purged": 30}
    assert runner.invoke(app, ["outbox", "purge", "--yes", "-c", str(config)]).stdout == (
        "nothing to purge\n"
    )
