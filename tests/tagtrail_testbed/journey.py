"""A whole journey as the gateways would send it: a pallet at the Venlo terminal gate, loaded on
a truck, across the Dutch-German border, unloaded at the Straelen distribution centre.

``batches()`` gives the journey's batches (observations of the fixed gate and dock readers and
of the truck's reader, and the truck's GPS fixes), each stamped with the event times it
carries, so a test can send them in order, shuffled, twice, or with the truck offline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from tagtrail_collector.store.registry.records import Role, SiteKind
from tagtrail_collector.store.registry.registry import Registry
from tagtrail_protocol import EventKind, ObservationItem, PositionFix
from tagtrail_testbed.gateway import FakeGateway, fix, item
from tagtrail_testbed.routes import STRAELEN_DC, VENLO_TERMINAL, VENLO_TO_STRAELEN, Drive, Leg

PORT, DC, TRUCK = "port-venlo", "dc-straelen", "truck-7"
GATE, DOCK, TRUCK_GW = "gate-2", "dock-1", "truck-7-gw"
CARRIER = "rhine-freight"
EPCS = ("3034257BF7194E4000000A01", "3034257BF7194E4000000A02")
LOADED_S, LEAVES_S, DOCK_S = 120.0, 180.0, 60.0  # truck: loaded, drives off; dock read after


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch a gateway sends: observations or fixes, in the order it would send them."""

    gateway: str
    site: str
    kind: Literal["obs", "pos"]
    at_s: float  # the time of its first event, seconds after the journey's start
    items: tuple[ObservationItem, ...] = ()
    fixes: tuple[PositionFix, ...] = ()


def drive() -> Drive:
    """Stand at the terminal gate, drive to the distribution centre at 25 m/s, stand there."""
    return Drive(
        (
            Leg((VENLO_TERMINAL,), stop_s=LEAVES_S),
            Leg(VENLO_TO_STRAELEN, speed_mps=25.0),
            Leg((STRAELEN_DC,), stop_s=300.0),
        )
    )


def arrival_s() -> float:
    """When the truck stands at the distribution centre."""
    route = drive()
    return route.legs[0].duration_s + route.legs[1].duration_s


def register(registry: Registry, *, attached_at_ns: int) -> tuple[str, str]:
    """Sites (with geofences), gateways, the carrier and the shipment: (carrier key, id)."""
    registry.create_site(
        PORT,
        name="Venlo terminal, gate 2",
        kind=SiteKind.PORT,
        lat=VENLO_TERMINAL[0],
        lon=VENLO_TERMINAL[1],
        radius_m=400.0,
        country="NL",
        unlocode="NLVEN",
    )
    registry.create_site(
        DC,
        name="Straelen distribution centre",
        kind=SiteKind.DISTRIBUTION_CENTRE,
        lat=STRAELEN_DC[0],
        lon=STRAELEN_DC[1],
        radius_m=300.0,
        country="DE",
    )
    registry.create_site(TRUCK, name="Truck 7", kind=SiteKind.VEHICLE)
    registry.create_gateway(GATE, site_id=PORT)
    registry.create_gateway(DOCK, site_id=DC)
    registry.create_gateway(TRUCK_GW, site_id=TRUCK, mobile=True)
    registry.create_carrier(CARRIER, "Rhine Freight")
    key = registry.create_key(Role.CARRIER, carrier_id=CARRIER)
    shipment = registry.create_shipment(
        CARRIER,
        reference="PAL-VENLO-1",
        epcs=EPCS,
        origin_site=PORT,
        destination_site=DC,
        attached_at=attached_at_ns,
    )
    return key, shipment.id


def batches(
    t0: datetime,
    *,
    gps_off: tuple[float, float] | None = None,
    fix_every_s: float = 5.0,
    epcs: Sequence[str] = EPCS,
) -> list[Batch]:
    """The journey's batches in the order the gateways produce them. ``gps_off``: a span of
    seconds with no fixes at all (the truck's gateway was off)."""

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    found: list[Batch] = []
    found.append(
        Batch(
            GATE,
            PORT,
            "obs",
            0.0,
            items=tuple(item(epc, at=at(0.0), read_point="gate-2-in") for epc in epcs),
        )
    )
    found.append(
        Batch(
            GATE,
            PORT,
            "obs",
            90.0,
            items=tuple(
                item(epc, at=at(90.0), event=EventKind.DEPART, read_point="gate-2-in")
                for epc in epcs
            ),
        )
    )
    aboard_until = arrival_s() + 60.0
    t = LOADED_S
    while t <= aboard_until:
        kind = EventKind.ARRIVE if t == LOADED_S else EventKind.OBSERVE
        found.append(
            Batch(
                TRUCK_GW,
                TRUCK,
                "obs",
                t,
                items=tuple(
                    item(epc, at=at(t), event=kind, read_point="truck-7-cargo") for epc in epcs
                ),
            )
        )
        t += 60.0
    unloaded = aboard_until + DOCK_S
    found.append(
        Batch(
            DOCK,
            DC,
            "obs",
            unloaded,
            items=tuple(item(epc, at=at(unloaded), read_point="dock-1-door") for epc in epcs),
        )
    )
    route = drive()
    chunk: list[PositionFix] = []
    t = 0.0
    while t <= route.duration_s:
        if gps_off is None or not gps_off[0] <= t < gps_off[1]:
            lat, lon, _, _ = route.state(t)
            chunk.append(fix(lat, lon, at=at(t)))
        if len(chunk) == 6:
            found.append(_fixes(chunk, t0))
            chunk = []
        t += fix_every_s
    if chunk:
        found.append(_fixes(chunk, t0))
    found.sort(key=lambda b: b.at_s)
    return found


def _fixes(chunk: Sequence[PositionFix], t0: datetime) -> Batch:
    first = (chunk[0].time - t0).total_seconds()
    return Batch(TRUCK_GW, TRUCK, "pos", first, fixes=tuple(chunk))


class Fleet:
    """One fake gateway per gateway of the journey, on a broker."""

    def __init__(self, host: str, port: int) -> None:
        sites = {GATE: PORT, DOCK: DC, TRUCK_GW: TRUCK}
        self.gateways = {g: FakeGateway(host, port, site=s, gateway=g) for g, s in sites.items()}

    def send(self, sends: Iterable[Batch]) -> None:
        for batch in sends:
            gateway = self.gateways[batch.gateway]
            if batch.kind == "obs":
                gateway.send_observations(list(batch.items))
            else:
                gateway.send_fixes(list(batch.fixes))

    def wait_acked(self, timeout: float = 60.0) -> bool:
        return all(g.wait_acked(timeout) for g in self.gateways.values())

    def close(self) -> None:
        for gateway in self.gateways.values():
            gateway.close()
