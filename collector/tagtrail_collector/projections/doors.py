"""The door projection: sightings at the two sides of a dock door, for the direction of a
passage (``door_sightings``).

A dock door's gateway has a read point facing out (its zone ``door-outside``) and one facing in
(``door-inside``). Every sighting at either is kept (once: the same EPC, gateway, side and time
is one row), so the journey finds a pallet's way through the door from all of them, whatever
order they arrived in: outside then inside is an unloading, inside then outside a loading.
"""

from __future__ import annotations

import time
from typing import Final

from sqlalchemy import Engine, select

from tagtrail_collector.projections import Change, Ingested
from tagtrail_collector.store.registry import schema
from tagtrail_collector.store.registry.db import insert_new, reader, translated

SIDES: Final = {"door-inside": "inside", "door-outside": "outside"}
_ZONES_TTL_S: Final = 2.0
_MISS_TTL_S: Final = 0.5


class DoorProjection:
    name = "doors"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader = reader(engine)
        self._zones: dict[tuple[str, str], str] = {}
        self._sites: dict[str, str] = {}
        self._read = float("-inf")

    def apply(self, batch: Ingested) -> list[Change]:
        if not batch.sightings:
            return []
        keys = {(s.gateway, s.read_point) for s in batch.sightings}
        self._refresh(missing=bool(keys - set(self._zones)))
        rows = [
            {"epc": s.epc, "gateway_id": s.gateway, "site_id": self._sites.get(s.gateway, s.site),
             "side": SIDES[zone], "time_ns": s.time_ns}
            for s in batch.sightings
            if (zone := self._zones.get((s.gateway, s.read_point))) in SIDES
        ]  # fmt: skip
        if rows:
            table = schema.door_sightings
            with translated(), self.engine.begin() as conn:
                conn.execute(insert_new(conn, table), rows)
        return []

    def _refresh(self, *, missing: bool) -> None:
        """Read points' zones, every 2 s, or at once (at most every 0.5 s) for an unknown one."""
        age = time.monotonic() - self._read
        if age < _ZONES_TTL_S and not (missing and age >= _MISS_TTL_S):
            return
        r, g = schema.read_points, schema.gateways
        with translated(), self.reader.connect() as conn:
            self._zones = {
                (gateway, name): zone
                for gateway, name, zone in conn.execute(select(r.c.gateway_id, r.c.name, r.c.zone))
            }
            self._sites = {
                str(gateway): str(site)
                for gateway, site in conn.execute(select(g.c.id, g.c.site_id))
            }
        self._read = time.monotonic()
