"""Reference data: carriers and their API keys, sites, gateways, read points, shipments.

Every list is keyset-paginated on its primary key: ``after`` is the last id of the previous page.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from tagtrail_collector.errors import AuthError, Conflict, NotFound
from tagtrail_collector.store.registry import keys, schema
from tagtrail_collector.store.registry.db import reader, translated
from tagtrail_collector.store.registry.identity import ShipmentIdentifier, identifiers
from tagtrail_collector.store.registry.records import (
    Attachment,
    Carrier,
    Gateway,
    KeyInfo,
    Principal,
    ReadPoint,
    Role,
    Shipment,
    ShipmentStatus,
    Site,
    SiteKind,
    row_dict,
)

MAX_PAGE: Final = 1000
_SHIPMENT_ID_RANDOM_BYTES: Final = 7


class Registry:
    """Reference data in the registry database. Thread-safe (one engine, short transactions)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader = reader(engine)

    # carriers and keys

    def create_carrier(self, carrier_id: str, name: str) -> Carrier:
        carrier = Carrier(carrier_id, name, time.time_ns())
        self._insert(schema.carriers, _fields(carrier), what=f"carrier {carrier_id!r}")
        return carrier

    def carriers(self, *, after: str | None = None, limit: int = 100) -> list[Carrier]:
        rows = self._page(schema.carriers, schema.carriers.c.id, after, limit)
        return [Carrier(**row) for row in rows]

    def create_key(self, role: Role, *, carrier_id: str | None = None, label: str = "") -> str:
        """Make an API key and return it; only its hash is stored, so this is the one chance."""
        if (role is Role.CARRIER) != (carrier_id is not None):
            raise ValueError("a carrier key names its carrier; an admin key names none")
        if carrier_id is not None:
            self.carrier(carrier_id)
        made = keys.new_key()
        values = {
            "id": made.id,
            "hash": made.hash,
            "role": role.value,
            "carrier_id": carrier_id,
            "label": label,
            "created_at": time.time_ns(),
        }
        self._insert(schema.api_keys, values, what=f"key {made.id}")
        return made.key

    def rotate_carrier_keys(self, carrier_id: str, *, label: str = "rotated") -> str:
        """Revoke every key of a carrier and make a new one (returned, shown once)."""
        self.carrier(carrier_id)
        new = self.create_key(Role.CARRIER, carrier_id=carrier_id, label=label)
        new_id = keys.key_id(new)
        with translated(), self.engine.begin() as conn:
            conn.execute(
                update(schema.api_keys)
                .where(
                    schema.api_keys.c.carrier_id == carrier_id,
                    schema.api_keys.c.id != new_id,
                    schema.api_keys.c.revoked_at.is_(None),
                )
                .values(revoked_at=time.time_ns())
            )
        return new

    def revoke_key(self, key_id: str) -> None:
        with translated(), self.engine.begin() as conn:
            result = conn.execute(
                update(schema.api_keys)
                .where(schema.api_keys.c.id == key_id, schema.api_keys.c.revoked_at.is_(None))
                .values(revoked_at=time.time_ns())
            )
        if result.rowcount == 0:
            raise NotFound(f"no active key {key_id!r}")

    def keys(self, *, after: str | None = None, limit: int = 100) -> list[KeyInfo]:
        rows = self._page(schema.api_keys, schema.api_keys.c.id, after, limit)
        return [
            KeyInfo(
                row["id"],
                Role(row["role"]),
                row["carrier_id"],
                row["label"],
                row["created_at"],
                row["revoked_at"],
            )
            for row in rows
        ]

    def authenticate(self, key: str | None) -> Principal:
        """The principal behind ``key``; AuthError if it is missing, unknown or revoked."""
        if not key:
            raise AuthError("no API key: send it in the X-API-Key header")
        key_id = keys.key_id(key)
        if key_id is None:
            raise AuthError("the API key is not well-formed")
        with translated(), self.reader.connect() as conn:
            row = conn.execute(
                select(schema.api_keys).where(schema.api_keys.c.id == key_id)
            ).first()
        if row is None or not keys.matches(key, row.hash):
            raise AuthError("the API key is not valid")
        if row.revoked_at is not None:
            raise AuthError("the API key has been revoked")
        return Principal(Role(row.role), key_id, row.carrier_id)

    def carrier(self, carrier_id: str) -> Carrier:
        row = self._get(schema.carriers, schema.carriers.c.id, carrier_id, what="carrier")
        return Carrier(**row)

    # sites, gateways, read points

    def create_site(
        self,
        site_id: str,
        *,
        name: str,
        kind: SiteKind,
        lat: float | None = None,
        lon: float | None = None,
        radius_m: float | None = None,
        **more: Any,  # noqa: ANN401 (Site's optional fields: geofence, unlocode, gln, ...)
    ) -> Site:
        """A site; ``more`` sets Site's optional fields (``geofence`` as GeoJSON text)."""
        now = time.time_ns()
        site = Site(site_id, name, kind, lat, lon, radius_m, now, **{**more, "updated_at": now})
        self._insert(schema.sites, _fields(site), what=f"site {site_id!r}")
        return site

    def update_site(self, site_id: str, **changes: Any) -> Site:  # noqa: ANN401
        """Change a site's fields (``None`` clears an optional one); the id stays."""
        unknown = set(changes) - set(Site.__slots__) - {"id", "created_at", "updated_at"}
        if unknown or not changes:
            raise ValueError(f"not site fields: {sorted(unknown)}")
        table = schema.sites
        with translated(), self.engine.begin() as conn:
            done = conn.execute(
                update(table)
                .where(table.c.id == site_id)
                .values(**changes, updated_at=time.time_ns())
            )
        if not done.rowcount:
            raise NotFound(f"no site {site_id!r}")
        return self.site(site_id)

    def site(self, site_id: str) -> Site:
        return _site(self._get(schema.sites, schema.sites.c.id, site_id, what="site"))

    def sites(self, *, after: str | None = None, limit: int = 100) -> list[Site]:
        return [_site(row) for row in self._page(schema.sites, schema.sites.c.id, after, limit)]

    def create_gateway(
        self, gateway_id: str, *, site_id: str, mobile: bool = False, description: str = ""
    ) -> Gateway:
        self.site(site_id)
        gateway = Gateway(gateway_id, site_id, mobile, description, time.time_ns())
        self._insert(schema.gateways, _fields(gateway), what=f"gateway {gateway_id!r}")
        return gateway

    def gateway(self, gateway_id: str) -> Gateway:
        row = self._get(schema.gateways, schema.gateways.c.id, gateway_id, what="gateway")
        return Gateway(**row)

    def gateways(self, *, after: str | None = None, limit: int = 100) -> list[Gateway]:
        rows = self._page(schema.gateways, schema.gateways.c.id, after, limit)
        return [Gateway(**row) for row in rows]

    def set_read_point(
        self, gateway_id: str, antenna: int, *, name: str, zone: str = ""
    ) -> ReadPoint:
        self.gateway(gateway_id)
        point = ReadPoint(gateway_id, antenna, name, zone)
        key = (schema.read_points.c.gateway_id == gateway_id) & (
            schema.read_points.c.antenna == antenna
        )
        with translated(), self.engine.begin() as conn:
            conn.execute(delete(schema.read_points).where(key))
            conn.execute(insert(schema.read_points).values(_fields(point)))
        return point

    def read_points(self, gateway_id: str) -> list[ReadPoint]:
        self.gateway(gateway_id)
        query = (
            select(schema.read_points)
            .where(schema.read_points.c.gateway_id == gateway_id)
            .order_by(schema.read_points.c.antenna)
        )
        with translated(), self.reader.connect() as conn:
            return [ReadPoint(**row_dict(row)) for row in conn.execute(query)]

    def read_point_names(self) -> dict[tuple[str, int], str]:
        """Every registered read point: (gateway, antenna) -> name."""
        t = schema.read_points
        with translated(), self.reader.connect() as conn:
            rows = conn.execute(select(t.c.gateway_id, t.c.antenna, t.c.name))
            return {(row.gateway_id, row.antenna): row.name for row in rows}

    # shipments

    def create_shipment(
        self,
        carrier_id: str,
        *,
        reference: str,
        epcs: Iterable[str] = (),
        sscc: str | None = None,
        origin_site: str | None = None,
        destination_site: str | None = None,
        attached_at: int | None = None,
    ) -> Shipment:
        """Register a shipment and attach its identifiers (from now on: it never sees what its
        tags did before). An identifier another open shipment holds is refused, without saying
        whose it is. ``attached_at`` (ns) backdates the attachment, for an operator importing
        shipments from another system; carriers' registrations attach from the moment."""
        for site_id in (origin_site, destination_site):
            if site_id is not None:
                self.site(site_id)
        now = time.time_ns()
        attach = now if attached_at is None else attached_at
        shipment = Shipment(
            id=_new_shipment_id(now),
            carrier_id=carrier_id,
            reference=reference,
            status=ShipmentStatus.REGISTERED,
            origin_site=origin_site,
            destination_site=destination_site,
            sscc=sscc,
            created_at=now,
            epcs=tuple(sorted({epc.upper() for epc in epcs})),
        )
        attached = identifiers(list(shipment.epcs), sscc)
        values = _fields(shipment)
        del values["epcs"]
        try:
            with self.engine.begin() as conn:
                _refuse_reference_taken(conn, carrier_id, reference)
                _refuse_held(conn, attached)
                conn.execute(insert(schema.shipments).values(values))
                conn.execute(
                    insert(schema.shipment_identifiers),
                    [_attachment_row(shipment.id, ident, attach) for ident in attached],
                )
        except IntegrityError as exc:
            raise Conflict(_shipment_conflict(exc, reference, attached)) from None
        return shipment

    def shipment(self, shipment_id: str, *, carrier_id: str | None) -> Shipment:
        """A shipment; NotFound also when it belongs to another carrier (no hint it exists)."""
        conditions = [schema.shipments.c.id == shipment_id]
        if carrier_id is not None:
            conditions.append(schema.shipments.c.carrier_id == carrier_id)
        i = schema.shipment_identifiers
        with translated(), self.reader.connect() as conn:
            row = conn.execute(select(schema.shipments).where(and_(*conditions))).first()
            if row is None:
                raise NotFound(f"no shipment {shipment_id!r}")
            epcs = conn.scalars(
                select(i.c.epc)
                .where(i.c.shipment_id == shipment_id, i.c.epc.is_not(None))
                .order_by(i.c.epc)
            ).all()
        return _shipment(row_dict(row), tuple(e for e in epcs if e is not None))

    def attachments(self, shipment_id: str) -> list[Attachment]:
        """The shipment's identifiers with the span each was attached for."""
        i = schema.shipment_identifiers
        query = select(i.c.epc, i.c.sscc, i.c.attached_at, i.c.released_at).where(
            i.c.shipment_id == shipment_id
        )
        with translated(), self.reader.connect() as conn:
            return [Attachment(*row) for row in conn.execute(query)]

    def shipments(
        self,
        carrier_id: str | None,
        *,
        after: str | None = None,
        limit: int = 100,
        filters: ShipmentFilter | None = None,
    ) -> list[tuple[Shipment, int]]:
        """A page of shipments (ids sort by creation), each with how many EPCs it has; only
        those matching every given filter."""
        s, i = schema.shipments, schema.shipment_identifiers
        epc_count = (
            select(func.count())
            .where(i.c.shipment_id == s.c.id, i.c.epc.is_not(None))
            .scalar_subquery()
        )
        query = select(s, epc_count.label("epc_count")).order_by(s.c.id).limit(_limit(limit))
        if carrier_id is not None:
            query = query.where(s.c.carrier_id == carrier_id)
        if after is not None:
            query = query.where(s.c.id > after)
        if filters is not None:
            query = query.where(*filters.conditions())
        with translated(), self.reader.connect() as conn:
            rows = [row_dict(row) for row in conn.execute(query)]
        return [(_shipment({k: v for k, v in r.items() if k != "epc_count"}, ()), r["epc_count"])
                for r in rows]  # fmt: skip

    def set_shipment_status(
        self, shipment_id: str, status: ShipmentStatus, *, carrier_id: str | None
    ) -> Shipment:
        """A carrier's status change, recorded as manual in the status history. Delivered and
        cancelled close the shipment: its identifiers are released, and a closed shipment stays
        closed (its tags may belong to another shipment by now)."""
        current = self.shipment(shipment_id, carrier_id=carrier_id)
        if current.closed_at is not None:
            if status is current.status:
                return current
            raise Conflict(
                f"shipment {shipment_id} is closed ({current.status}): its identifiers were"
                " released; register a new shipment"
            )
        now = time.time_ns()
        i, s = schema.shipment_identifiers, schema.shipments
        with translated(), self.engine.begin() as conn:
            closing = {"closed_at": now} if status.closed else {}
            conn.execute(
                update(s).where(s.c.id == shipment_id).values(status=status.value, **closing)
            )
            if status.closed:
                conn.execute(
                    update(i)
                    .where(i.c.shipment_id == shipment_id, i.c.released_at.is_(None))
                    .values(released_at=now)
                )
            if status is not current.status:
                conn.execute(
                    insert(schema.status_history).values(
                        shipment_id=shipment_id, time_ns=now, from_status=current.status.value,
                        to_status=status.value, cause="manual", manual=True, recorded_at=now,
                    )
                )  # fmt: skip
        return self.shipment(shipment_id, carrier_id=carrier_id)

    # helpers

    def _insert(self, table: Any, values: dict[str, Any], *, what: str) -> None:  # noqa: ANN401
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(table).values(values))
        except IntegrityError:
            raise Conflict(f"{what} already exists") from None

    def _get(self, table: Any, column: Any, key: str, *, what: str) -> dict[str, Any]:  # noqa: ANN401
        with translated(), self.reader.connect() as conn:
            row = conn.execute(select(table).where(column == key)).first()
        if row is None:
            raise NotFound(f"no {what} {key!r}")
        return row_dict(row)

    def _page(
        self,
        table: Any,  # noqa: ANN401
        column: Any,  # noqa: ANN401
        after: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        query = select(table).order_by(column).limit(_limit(limit))
        if after is not None:
            query = query.where(column > after)
        with translated(), self.reader.connect() as conn:
            return [row_dict(row) for row in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class ShipmentFilter:
    """What a list of shipments may be narrowed to (each None: not narrowed)."""

    status: ShipmentStatus | None = None
    reference: str | None = None  # exact
    sscc: str | None = None  # the shipment's SSCC, or one of its identifiers
    epc: str | None = None  # one of its identifiers (as registered)
    destination: str | None = None
    created_from: int | None = None
    created_to: int | None = None

    def conditions(self) -> list[Any]:
        s, i = schema.shipments, schema.shipment_identifiers
        found: list[Any] = []
        if self.status is not None:
            found.append(s.c.status == self.status.value)
        if self.reference is not None:
            found.append(s.c.reference == self.reference)
        if self.destination is not None:
            found.append(s.c.destination_site == self.destination)
        if self.created_from is not None:
            found.append(s.c.created_at >= self.created_from)
        if self.created_to is not None:
            found.append(s.c.created_at < self.created_to)
        if self.sscc is not None:
            held = select(i.c.shipment_id).where(i.c.sscc == self.sscc)
            found.append(or_(s.c.sscc == self.sscc, s.c.id.in_(held)))
        if self.epc is not None:
            found.append(s.c.id.in_(select(i.c.shipment_id).where(i.c.epc == self.epc.upper())))
        return found


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


def _fields(record: Any) -> dict[str, Any]:  # noqa: ANN401 (a slots dataclass)
    return {name: getattr(record, name) for name in record.__slots__}


def _site(row: dict[str, Any]) -> Site:
    return Site(**{**row, "kind": SiteKind(row["kind"])})


def _shipment(row: dict[str, Any], epcs: tuple[str, ...]) -> Shipment:
    return Shipment(**{**row, "status": ShipmentStatus(row["status"]), "epcs": epcs})


def _new_shipment_id(now_ns: int) -> str:
    """``shp_`` + 14 hex digits of creation time in µs (ids sort by creation) + 14 random ones
    (56 bits: not guessable, and another carrier's id answers 404 anyway): 32 characters."""
    return f"shp_{now_ns // 1000:014x}{secrets.token_hex(_SHIPMENT_ID_RANDOM_BYTES)}"


def _attachment_row(shipment_id: str, ident: ShipmentIdentifier, now: int) -> dict[str, Any]:
    return {
        "shipment_id": shipment_id, "key": ident.key, "epc": ident.epc, "sscc": ident.sscc,
        "attached_at": now, "released_at": None,
    }  # fmt: skip


def _refuse_reference_taken(conn: Connection, carrier_id: str, reference: str) -> None:
    s = schema.shipments
    taken = conn.scalar(
        select(s.c.id).where(s.c.carrier_id == carrier_id, s.c.reference == reference)
    )
    if taken is not None:
        raise Conflict(f"you have a shipment with reference {reference!r} already: {taken}")


def _refuse_held(conn: Connection, attached: list[ShipmentIdentifier]) -> None:
    i = schema.shipment_identifiers
    keys = [ident.key for ident in attached]
    held: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        held |= set(
            conn.scalars(select(i.c.key).where(i.c.key.in_(chunk), i.c.released_at.is_(None)))
        )
    if held:
        raise Conflict(_held_message(sorted(held)))


def _held_message(keys: list[str]) -> str:
    shown = ", ".join(k.split(":", 1)[1] for k in keys[:5])
    more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""
    return (
        f"identifier(s) already attached to an open shipment: {shown}{more}. An SSCC and every"
        " EPC that encodes it are one identifier; it can be attached again once that shipment"
        " is closed"
    )


def _shipment_conflict(
    exc: IntegrityError, reference: str, attached: list[ShipmentIdentifier]
) -> str:
    if "uq_shipment_reference" in str(exc.orig) or "reference" in str(exc.orig):
        return f"you have a shipment with reference {reference!r} already"
    # Two registrations raced for an identifier: the same answer as when one came first.
    return _held_message(sorted(ident.key for ident in attached))
