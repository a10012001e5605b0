"""The quickstart's simulated devices: readers and a GPS on pty pairs, as real gateways see them.

Usage: python devices.py SCENARIO_JSON

Each device is a pty pair whose device side is linked as ``<dev_dir>/<name>``; the gateway agents
open those links with pyserial exactly as they would open ``/dev/ttyUSB0``:

- ``gate-reader``: an ASCII line reader at the terminal gate in Venlo. The scenario's dwelling
  tags are read continuously on antenna 1; every ``pass_every_s`` an unregistered tag drives
  through on antenna 2 for a few seconds (an arrive and a depart).
- ``truck-reader``: a ThingMagic Mercury module in the truck, reading the cargo's tags.
- ``truck-gps``: an NMEA receiver on the truck.
- ``dock-reader``: an ASCII line reader at the dock door of the distribution centre in Straelen.

The journey, over again: a pallet stands at the gate (``gate_s``), is loaded on the truck
(``load_s``), the truck drives the Venlo-Straelen road across the Dutch-German border at
``speed_mps``, stands at the dock (``unload_s``: the truck's reader sees the pallet for the first
half, the dock door's for the second) and drives back empty. One pallet of ``pallets`` per round;
after the last, the truck goes on driving empty.

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
from tagtrail_hardware.nmea.simulator import (
    STRAELEN_DC,
    VENLO_TERMINAL,
    VENLO_TO_STRAELEN,
    Drive,
    Leg,
    NmeaSimulator,
)
from tagtrail_hardware.reads import TagRead
from tagtrail_hardware.virtual import VirtualSerialPort

READ_PERIOD_S = 0.5
PASS_DURATION_S = 4.0
DEVICES = ("gate-reader", "truck-reader", "truck-gps", "dock-reader")


@dataclass(frozen=True, slots=True)
class Scenario:
    dev_dir: Path
    gate_tags: tuple[str, ...]
    pallets: tuple[tuple[str, ...], ...]
    speed_mps: float
    gate_s: float
    load_s: float
    unload_s: float
    pass_every_s: float

    @classmethod
    def load(cls, path: Path) -> Scenario:
        raw = json.loads(path.read_text())
        return cls(
            dev_dir=Path(raw["dev_dir"]),
            gate_tags=tuple(raw["gate_tags"]),
            pallets=tuple(tuple(p) for p in raw["pallets"]),
            speed_mps=float(raw["speed_mps"]),
            gate_s=float(raw["gate_s"]),
            load_s=float(raw["load_s"]),
            unload_s=float(raw["unload_s"]),
            pass_every_s=float(raw["pass_every_s"]),
        )

    def drive(self) -> Drive:
        """The truck's round: at the gate, to the dock, at the dock, back; over again."""
        return Drive(
            (
                Leg((VENLO_TERMINAL,), stop_s=self.gate_s + self.load_s),
                Leg(VENLO_TO_STRAELEN, speed_mps=self.speed_mps),
                Leg((STRAELEN_DC,), stop_s=self.unload_s),
                Leg(tuple(reversed(VENLO_TO_STRAELEN)), speed_mps=self.speed_mps),
            ),
            cycle=True,
        )

    def who_reads(self, elapsed_s: float) -> tuple[str | None, tuple[str, ...]]:
        """Which reader sees the round's pallet now ("gate", "truck", "dock" or None)."""
        drive = self.drive()
        round_, t = divmod(elapsed_s, drive.duration_s)
        if round_ >= len(self.pallets):
            return None, ()
        pallet = self.pallets[int(round_)]
        at_dock = drive.starts[2]
        if t < self.gate_s:
            return "gate", pallet
        if t < at_dock + self.unload_s / 2:
            return "truck", pallet
        if t < at_dock + self.unload_s:
            return "dock", pallet
        return None, ()


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
    ports = {name: VirtualSerialPort() for name in DEVICES}
    for name, port in ports.items():
        _link(port, scenario.dev_dir / name)
    gate = AsciiReaderSimulator(ports["gate-reader"])
    dock = AsciiReaderSimulator(ports["dock-reader"])
    truck = MercurySimulator(ports["truck-reader"]).start()
    started = time.monotonic()
    gps = NmeaSimulator(ports["truck-gps"], scenario.drive(), period_s=1.0).start()
    (scenario.dev_dir / "ready").write_text("\n".join(DEVICES) + "\n")
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
            reader, pallet = scenario.who_reads(now - started)
            at_gate = [_read(epc, 1, rng) for epc in scenario.gate_tags]
            if reader == "gate":
                at_gate += [_read(epc, 1, rng) for epc in pallet]
            if passing is not None:
                at_gate.append(_read(passing[0], 2, rng))
            gate.send(at_gate)
            if reader == "truck":
                truck.emit(_read(epc, 1, rng) for epc in pallet)
            if reader == "dock":
                dock.send([_read(epc, 1, rng) for epc in pallet])
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
