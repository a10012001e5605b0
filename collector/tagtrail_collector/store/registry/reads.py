"""What the API reads about one shipment, through the identifiers attached to it.

A sighting is the shipment's only while the identifier that links it was attached: from the
registration (``attached_at``) to the shipment's closing (``released_at``). A carrier never sees
what a tag did before it was theirs, nor after they gave it up. A tag links to a shipment by its
EPC, or by the SSCC its EPC encodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, Select, and_, func, or_, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from tagtrail_collector.store.registry import schema
from tagtrail_collector.store.registry.db import reader, translated
from tagtrail_collector.store.registry.records import GatewayPosition, Sighting, Visit, row_dict

_T = schema.tag_locations
_I = schema.shipment_identifiers
_V = schema.tag_visits


class ShipmentReads:
    """Read-only queries (deferred transactions: they never wait for ingest's writes)."""

    def __init__(self, engine: Engine) -> None:
        self.reader = reader(engine)

    def location(self, shipment_id: str) -> Sighting | None:
        """The latest sighting within the attachments; for a closed shipment whose tags have
        been seen since, the end of its last visit before the closing."""
        order = (_T.c.event_time.desc(), _T.c.gateway_id.desc(), _T.c.read_point.desc())
        within = _covers(_T.c.event_time)
        found: list[Sighting] = []
        with translated(), self.reader.connect() as conn:
            for link in (_I.c.epc == _T.c.epc, _I.c.sscc == _T.c.sscc):
                query = (
                    select(_T)
                    .join(_I, link)
                    .where(_I.c.shipment_id == shipment_id, within)
                    .order_by(*order)
                    .limit(1)
                )
                row = conn.execute(query).first()
                if row is not None:
                    found.append(_sighting(row_dict(row)))
        best = max(found, key=lambda s: s.order, default=None)
        if best is not None:
            return best
        visits = self.visits(shipment_id)
        if not visits:
            return None
        last = max(visits, key=lambda v: (v.last_seen, v.site))
        return Sighting(last.epc, last.last_seen, last.site, last.gateway, "", "observe")

    def visits(self, shipment_id: str) -> list[Visit]:
        """Visits of the shipment's tags, cut to the attachments, in time order."""
        overlap = and_(
            _V.c.last_seen >= _I.c.attached_at,
            or_(_I.c.released_at.is_(None), _V.c.arrived <= _I.c.released_at),
        )
        columns = (*_V.c, _I.c.attached_at, _I.c.released_at)
        direct = select(*columns).join(_I, _I.c.epc == _V.c.epc)
        by_sscc = select(*columns).join(_T, _T.c.epc == _V.c.epc).join(_I, _I.c.sscc == _T.c.sscc)
        both = union_all(
            *(q.where(_I.c.shipment_id == shipment_id, overlap) for q in (direct, by_sscc))
        )
        seen: dict[tuple[int, int], Visit] = {}
        with translated(), self.reader.connect() as conn:
            for row in conn.execute(both):
                r = row_dict(row)
                low = max(r["arrived"], r["attached_at"])
                high = r["last_seen"] if r["released_at"] is None else r["released_at"]
                visit = Visit(
                    r["epc"], r["site_id"], r["gateway_id"], low, min(r["last_seen"], high), r["id"]
                )
                seen[(r["id"], low)] = visit
        return sorted(seen.values(), key=lambda v: (v.arrived, v.id or 0))

    def shipments_at(
        self, site_id: str, carrier_id: str | None, *, after: str | None, limit: int
    ) -> list[str]:
        """Ids of open shipments (of one carrier, or all) whose latest sighting is here.

        One query: the candidates are shipments with any attached tag last seen here; each
        candidate's tags are ranked by the same order as ``location`` and only those whose best
        is here are kept, so a page is never short because of shipments that have moved on.
        """
        s = schema.shipments
        rows = union_all(*_attached_sightings()).subquery()
        keep: list[ColumnElement[bool]] = [
            s.c.id.in_(select(rows.c.sid).where(rows.c.site_id == site_id))
        ]
        if carrier_id is not None:
            keep.append(s.c.carrier_id == carrier_id)
        if after is not None:
            keep.append(s.c.id > after)
        chosen = select(s.c.id).where(*keep)
        rank = (
            func.row_number()
            .over(
                partition_by=rows.c.sid,
                order_by=(
                    rows.c.event_time.desc(),
                    rows.c.gateway_id.desc(),
                    rows.c.read_point.desc(),
                    rows.c.event.desc(),
                ),
            )
            .label("rank")
        )
        ranked = select(rows.c.sid, rows.c.site_id, rank).where(rows.c.sid.in_(chosen)).subquery()
        query = (
            select(ranked.c.sid)
            .where(ranked.c.rank == 1, ranked.c.site_id == site_id)
            .order_by(ranked.c.sid)
            .limit(limit)
        )
        with translated(), self.reader.connect() as conn:
            return list(conn.scalars(query))


def _covers(time: Any) -> ColumnElement[bool]:  # noqa: ANN401 (a column)
    return and_(time >= _I.c.attached_at, or_(_I.c.released_at.is_(None), time <= _I.c.released_at))


def _attached_sightings() -> tuple[Select[Any], Select[Any]]:
    """Each open shipment's tags' latest sightings since attachment, by EPC and by SSCC."""
    columns = (
        _I.c.shipment_id.label("sid"), _T.c.site_id, _T.c.event_time, _T.c.gateway_id,
        _T.c.read_point, _T.c.event,
    )  # fmt: skip
    attached = and_(_I.c.released_at.is_(None), _T.c.event_time >= _I.c.attached_at)
    return (
        select(*columns).join(_T, _T.c.epc == _I.c.epc).where(attached),
        select(*columns).join(_T, _T.c.sscc == _I.c.sscc).where(attached),
    )


def _sighting(row: dict[str, Any]) -> Sighting:
    return Sighting(
        epc=row["epc"],
        time_ns=row["event_time"],
        site=row["site_id"],
        gateway=row["gateway_id"],
        read_point=row["read_point"],
        event=row["event"],
        lat=row["lat"],
        lon=row["lon"],
        fix_age_s=row["fix_age_s"],
        sscc=row["sscc"],
    )


class Lookups:
    """Read-only lookups of the projections that are not one shipment's."""

    def __init__(self, engine: Engine) -> None:
        self.reader = reader(engine)

    def linked_epcs(self, epcs: Sequence[str], ssccs: Sequence[str]) -> list[str]:
        """The EPCs themselves and every EPC seen carrying one of the SSCCs."""
        t = schema.tag_locations
        found = set(epcs)
        if ssccs:
            with translated(), self.reader.connect() as conn:
                found |= set(conn.scalars(select(t.c.epc).where(t.c.sscc.in_(list(ssccs)))))
        return sorted(found)

    def gateway_position(self, gateway_id: str) -> GatewayPosition | None:
        table = schema.gateway_positions
        with translated(), self.reader.connect() as conn:
            row = conn.execute(select(table).where(table.c.gateway_id == gateway_id)).first()
        return None if row is None else GatewayPosition(**row_dict(row))
