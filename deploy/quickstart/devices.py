"""The quickstart's simulated devices: readers and a GPS on pty pairs, as real gateways see them.

Usage: python devices.py SCENARIO_JSON

Each device is a pty pair whose device side is linked as ``<dev_dir>/<name>``; the gateway agents
open those links with pyserial exactly as they would open ``/dev/ttyUSB0``:

- ``gate-reader``: an ASCII line reader at the port gate. The scenario's dwelling tags are read
  continuously on antenna 1; every ``pass_every_s`` an unregistered tag drives through on
  antenna 2 for a few seconds (an arrive and a depart).
- ``truck-reader``: a ThingMagic Mercury module in the truck, reading the cargo's tags.
- ``truck-gps``: an NMEA receiver whose position drives the scenario's route back and forth.

Runs until SIGTERM or SIGINT, then removes its links.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from tagtrail_hardware.ascii import AsciiReaderSimulator
from tagtrail_hardware.mercury import MercurySimulator
from tagtrail_hardware.nmea.simulator import NmeaSimulator, Route
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.virtual import VirtualSerialPort

READ_PERIOD_S = 0.5
PASS_DURATION_S = 4.0


@dataclass(frozen=True, slots=True)
class Scenario:
    dev_dir: Path
    gate_tags: tuple[str, ...]
    truck_tags: tuple[str, ...]
    route: tuple[tuple[float, float], ...]
    speed_mps: float
    pass_every_s: float

    @classmethod
    def load(cls, path: Path) -> Scenario:
        raw = json.loads(path.read_text())
        return cls(
            dev_dir=Path(raw["dev_dir"]),
            gate_tags=tuple(raw["gate_tags"]),
            truck_tags=tuple(raw["truck_tags"]),
            route=tuple((float(lat), float(lon)) for lat, lon in raw["route"]),
            speed_mps=float(raw["speed_mps"]),
            pass_every_s=float(raw["pass_every_s"]),
        )


def _read(epc: str, antenna: int, rng: random.Random) -> TagRead:
    return TagRead(
        epc=epc,
        antenna=antenna,
        time=time.time(),
        mono_ns=time.monotonic_ns(),
        rssi_dbm=round(rng.uniform(-68.0, -52.0), 1),
    )


def _link(port: VirtualSerialPort, link: Path) -> None:
    link.unlink(missing_ok=True)
    link.symlink_to(port.device_path)


def run(scenario: Scenario, stop: threading.Event) -> None:
    rng = random.Random()
    scenario.dev_dir.mkdir(parents=True, exist_ok=True)
    names = ("gate-reader", "truck-reader", "truck-gps")
    ports = {name: VirtualSerialPort() for name in names}
    for name, port in ports.items():
        _link(port, scenario.dev_dir / name)
    gate = AsciiReaderSimulator(ports["gate-reader"])
    truck = MercurySimulator(ports["truck-reader"]).start()
    gps = NmeaSimulator(
        ports["truck-gps"], Route(scenario.route, speed_mps=scenario.speed_mps), period_s=1.0
    ).start()
    (scenario.dev_dir / "ready").write_text("\n".join(names) + "\n")
    next_pass = time.monotonic() + 5.0
    passing: tuple[str, float] | None = None
    try:
        while not stop.wait(READ_PERIOD_S):
            now = time.monotonic()
            if passing is None and now >= next_pass:
                passing = (f"3074{rng.getrandbits(80):020X}", now + PASS_DURATION_S)
                next_pass = now + scenario.pass_every_s
            if passing is not None and now > passing[1]:
                passing = None
            reads = [_read(epc, 1, rng) for epc in scenario.gate_tags]
            if passing is not None:
                reads.append(_read(passing[0], 2, rng))
            gate.send(reads)
            truck.emit(_read(epc, 1, rng) for epc in scenario.truck_tags)
    finally:
        gps.stop()
        truck.stop()
        for name, port in ports.items():
            (scenario.dev_dir / name).unlink(missing_ok=True)
            port.close()
        (scenario.dev_dir / "ready").unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    run(Scenario.load(Path(argv[0])), stop)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
