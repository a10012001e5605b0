"""Guarantee 1's liveness, with the real thing on both sides: delivery never stops by itself.

Real ``tagtrail-edge run`` agents read simulated readers on ptys and publish through a real
Mosquitto (without persistence) to a real ``tagtrail-collector serve`` writing to a real
InfluxDB. The faults are the ones that used to leave a connected gateway waiting forever for
acks that were never coming: the collector SIGKILLed while it holds the gateways' full windows
during an InfluxDB outage, and a broker restart after which the gateways reconnect before the
collector has subscribed again. Nobody restarts anything afterwards: every outbox must empty by
itself, within a stated bound, and every event the agents committed must be in InfluxDB once.

The bound: agents here re-send after ``resend_after_s`` = 5 s (doubling per try on one
connection, at most 16x), so after the last fault an outbox empties within 60 s.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tagtrail_collector.store.series.points import ns
from tagtrail_hardware.ascii import LineFormat
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_testbed.agent import AgentProcess
from tagtrail_testbed.collector import CollectorProcess, collector_sections
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker
from tagtrail_testbed.tagfield import ReadStream, plan, reads

DRAIN_BOUND_S = 60.0
RESEND_AFTER_S = 5.0
FORMAT = LineFormat(fields=("epc", "antenna", "rssi", "time_ms"))
Key = tuple[str, str, str, str, int, int]


@dataclass
class Site:
    """Broker, InfluxDB and collector, each its own process, and the agents reading into it."""

    broker: Broker
    influx: InfluxServer
    collector: CollectorProcess
    db: str
    agents: list[AgentProcess] = field(default_factory=list)
    streams: list[ReadStream] = field(default_factory=list)
    ports: list[VirtualSerialPort] = field(default_factory=list)

    def add_gateway(self, gateway: str, *, seconds: float, seed: int, window: int = 8) -> None:
        port = VirtualSerialPort()
        self.ports.append(port)
        start = time.time() + 1.0
        total = int(seconds * 150)
        for _ in range(3):  # as many reads as it takes for the readers to go on ``seconds``
            visits = plan(
                total_reads=total, start=start, rate=150.0, period_s=0.05, tags=40, seed=seed
            )
            lasted = max(v.last for v in visits) - start
            if lasted >= seconds:
                break
            total = int(total * seconds / max(lasted, 1.0)) + 10
        agent = AgentProcess(
            gateway=gateway, site="port-a", broker_port=self.broker.port, device=port.device_path,
            mqtt={"resend_after_s": RESEND_AFTER_S, "status_interval_s": 5.0, "window": window},
        )  # fmt: skip
        self.agents.append(agent)
        stream = ReadStream(port, reads(visits), FORMAT)
        self.streams.append(stream)
        stream.start()

    def wait_streams(self, timeout: float) -> None:
        for stream in self.streams:
            stream.join(timeout)
            assert stream.sent == len(stream.reads), "the reader simulator could not write"

    def drain_s(self, since: float) -> float:
        """Seconds from ``since`` until every outbox is empty; fails past the bound."""
        deadline = since + DRAIN_BOUND_S
        while time.monotonic() < deadline:
            if all(agent.backlog() == 0 for agent in self.agents):
                return time.monotonic() - since
            time.sleep(0.25)
        backlog = {a.gateway: (a.backlog(), a.unacked_sent()) for a in self.agents}
        logs = "\n".join(a.process.log_tail(15) for a in self.agents)
        raise AssertionError(
            f"outboxes not empty {DRAIN_BOUND_S:.0f} s after the last fault: {backlog}\n{logs}\n"
            + self.collector.process.log_tail(20)
        )

    def check_stored_once(self) -> int:
        """Every committed event is in InfluxDB, once; nothing else is. Returns the count.

        First the departs of the tags still in the field when the reads stopped: smoothing
        emits them ``lost_s`` (1 s) later, and they must be delivered too."""
        time.sleep(2.0)
        self.drain_s(time.monotonic())
        committed: Counter[Key] = Counter()
        for agent in self.agents:
            committed.update(_key(agent.gateway, item) for item in agent.committed())
        assert committed, "the agents committed nothing"
        assert [k for k, n in committed.items() if n > 1] == []  # no event committed twice
        stored = stored_keys(self.influx, self.db)
        assert len(stored) == sum(stored.values())
        missing = set(committed) - set(stored)
        invented = set(stored) - set(committed)
        assert (len(missing), len(invented)) == (0, 0), (sorted(missing)[:5], sorted(invented)[:5])
        return len(stored)

    def close(self) -> None:
        for stream in self.streams:
            stream.stop.set()
        for agent in self.agents:
            agent.close()
        for port in self.ports:
            port.close()


def _key(gateway: str, item: dict[str, Any]) -> Key:
    first = ns(datetime.fromisoformat(item["first_seen"]))
    last = ns(datetime.fromisoformat(item["last_seen"]))
    return (gateway, item["read_point"], item["event"], item["epc"], first, last)


def stored_keys(influx: InfluxServer, db: str) -> Counter[Key]:
    body = influx.query(
        'SELECT "first_seen_ns", "last_seen_ns" FROM "observation"'
        ' GROUP BY "gateway", "read_point", "event", "epc"',
        db=db,
    )
    keys: Counter[Key] = Counter()
    for series in body["results"][0].get("series", []):
        t = series["tags"]
        for _, first, last in series["values"]:
            keys[t["gateway"], t["read_point"], t["event"], t["epc"], first, last] += 1
    return keys


@pytest.fixture
def site(broker_factory: Callable[..., Broker], tmp_path: Path) -> Iterator[Site]:
    broker = broker_factory()
    with InfluxServer() as influx:
        db = "delivery"
        sections = collector_sections(
            broker, influx, db, tmp_path / "registry.db",
            mqtt={"keepalive_s": 5}, log={"level": "INFO"},
        )  # fmt: skip
        collector = CollectorProcess(sections)
        bed = Site(broker, influx, collector, db)
        try:
            yield bed
        finally:
            bed.close()
            collector.close()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.mark.timeout(180)
def test_collector_killed_holding_full_windows_during_an_influx_outage(site: Site) -> None:
    for n in range(2):
        site.add_gateway(f"gate-{n}", seconds=25.0, seed=n, window=4)
    time.sleep(4.0)
    site.influx.stop()
    # The collector takes the batches in and cannot store them: the windows fill, unacked.
    wait_for(lambda: all(a.unacked_sent() >= 4 for a in site.agents), 30, "full windows")
    site.collector.kill()  # what it held is gone; the broker delivered it, the agents wait
    site.influx.start()
    site.collector.start()
    site.wait_streams(60)
    took = site.drain_s(time.monotonic())
    stored = site.check_stored_once()
    print(f"drained {took:.1f} s after the reads ended; {stored} events stored once")  # noqa: T201


@pytest.mark.timeout(180)
def test_broker_restart_with_the_gateways_back_before_the_collector(site: Site) -> None:
    for n in range(2):
        site.add_gateway(f"gate-{n}", seconds=20.0, seed=10 + n, window=4)
    time.sleep(4.0)
    site.collector.stop()
    site.broker.restart()  # no persistence: every session, the collector's too, is gone
    # The agents reconnect and send their windows to a broker nobody subscribes to yet.
    wait_for(lambda: all(a.unacked_sent() >= 4 for a in site.agents), 30, "windows sent")
    time.sleep(2.0)
    site.collector.start()
    site.wait_streams(60)
    took = site.drain_s(time.monotonic())
    stored = site.check_stored_once()
    print(f"drained {took:.1f} s after the reads ended; {stored} events stored once")  # noqa: T201


@dataclass
class Schedule:
    """A seeded plan of faults over ``span_s`` seconds: (at, action), in time order."""

    seed: int
    span_s: float
    actions: list[tuple[float, str]] = field(default_factory=list)

    @classmethod
    def make(cls, seed: int, *, span_s: float, gateways: int) -> Schedule:
        rng = random.Random(seed)
        actions: list[tuple[float, str]] = []
        for gateway in range(gateways):
            actions += [(rng.uniform(2, span_s - 2), f"kill-agent:{gateway}") for _ in range(4)]
        # Two InfluxDB outages, each with a collector SIGKILL once the windows are full.
        for low, high in ((4.0, span_s * 0.3), (span_s * 0.55, span_s * 0.7)):
            start, length = rng.uniform(low, high), rng.uniform(8.0, 12.0)
            actions += [
                (start, "influx-stop"),
                (start + 5.0, "kill-collector"),
                (start + length, "influx-start"),
            ]
        actions += [(rng.uniform(2, span_s - 2), "kill-collector") for _ in range(4)]
        actions += [(rng.uniform(2, span_s - 2), "restart-broker") for _ in range(3)]
        return cls(seed, span_s, sorted(actions))


def run_schedule(site: Site, schedule: Schedule) -> list[str]:
    """Carry the faults out on time; returns what was done when (for the failure message)."""
    t0 = time.monotonic()
    done: list[str] = [f"seed {schedule.seed}"]
    influx_down = False
    for at, action in schedule.actions:
        time.sleep(max(0.0, t0 + at - time.monotonic()))
        what, _, arg = action.partition(":")
        if what == "kill-agent":
            agent = site.agents[int(arg)]
            agent.kill()
            time.sleep(random.Random(at).uniform(0.0, 1.0))
            agent.start()
        elif what == "kill-collector":
            site.collector.kill()
            site.collector.start()
        elif what == "restart-broker":
            site.broker.restart()
        elif what == "influx-stop":
            site.influx.stop()
            influx_down = True
        elif what == "influx-start":
            site.influx.start()
            influx_down = False
        done.append(f"{time.monotonic() - t0:6.1f} s {action}")
    assert not influx_down
    return done


SEEDS = [int(os.environ["TAGTRAIL_CHAOS_SEED"])] if "TAGTRAIL_CHAOS_SEED" in os.environ else [
    20261130, 7, 424242,
]  # fmt: skip


@pytest.mark.timeout(300)
@pytest.mark.parametrize("seed", SEEDS)
def test_chaos_with_real_agents_drains_by_itself(site: Site, seed: int, tmp_path: Path) -> None:
    """Per seed: 12 agent SIGKILLs, 6 collector SIGKILLs (2 holding full windows during the 2
    InfluxDB outages), 3 broker restarts, over 3 gateways reading for the whole run."""
    span_s = 50.0
    schedule = Schedule.make(seed, span_s=span_s, gateways=3)
    for n in range(3):  # the readers go on past the last fault: there is a backlog to drain
        site.add_gateway(f"gate-{n}", seconds=span_s + 5.0, seed=seed + n)
    done = run_schedule(site, schedule)
    last_fault = time.monotonic()
    site.wait_streams(60)
    reads_after_s = max(0.0, time.monotonic() - last_fault)
    kinds = Counter(a.partition(":")[0] for _, a in schedule.actions)
    assert kinds == {
        "kill-agent": 12, "kill-collector": 6, "restart-broker": 3, "influx-stop": 2,
        "influx-start": 2,
    }  # fmt: skip
    try:
        took = site.drain_s(last_fault + reads_after_s) + reads_after_s
    except AssertionError as exc:
        raise AssertionError("\n".join(done) + f"\n{exc}") from None
    stored = site.check_stored_once()
    report = (
        f"seed {seed}: {stored} events stored once; outboxes empty {took:.1f} s after the last"
        f" fault, {took - reads_after_s:.1f} s after the last read (the readers went on"
        f" {reads_after_s:.1f} s after the fault)"
    )
    print(report)  # noqa: T201 (the figures for the closing note)
    with (tmp_path.parent / "chaos-agents-report.txt").open("a") as out:
        out.write(report + "\n")
