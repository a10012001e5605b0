"""Admin endpoints (admin key only): carriers and their keys, gateways, read points, dead
letters, rebuilding a shipment's projections. Sites and geofences are in ``sites.py``."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from tagtrail_collector.api.deps import Admin, ServicesDep
from tagtrail_collector.api.pagination import (
    Cursor,
    Limit,
    decode_cursor,
    keyset_page,
    string_cursor,
)
from tagtrail_collector.api.problems import responses
from tagtrail_collector.api.schemas import (
    CarrierIn,
    CarrierOut,
    DeadLetterOut,
    GatewayIn,
    GatewayOut,
    KeyOut,
    NewKeyOut,
    Page,
    PurgedOut,
    ReadPointIn,
    ReadPointOut,
    RebuiltOut,
)
from tagtrail_collector.api.views import dead_letter_out, dt, instant_ns
from tagtrail_collector.errors import BadCursor, NotFound
from tagtrail_collector.store.registry import keys as api_keys
from tagtrail_collector.store.registry.records import Carrier, Gateway, KeyInfo, Role

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=responses(400, 401, 403, 422, 503))
Antenna = Annotated[int, Path(ge=0, le=255)]


@router.post("/carriers", status_code=status.HTTP_201_CREATED, responses=responses(409))
def create_carrier(body: CarrierIn, svc: ServicesDep, _admin: Admin) -> CarrierOut:
    return _carrier_out(svc.registry.create_carrier(body.id, body.name))


@router.get("/carriers")
def list_carriers(
    svc: ServicesDep, _admin: Admin, cursor: Cursor = None, limit: Limit = None
) -> Page[CarrierOut]:
    size = limit or svc.settings.page_size
    found = svc.registry.carriers(after=string_cursor(cursor), limit=size + 1)
    return keyset_page(found, size, _carrier_out)


@router.post(
    "/carriers/{carrier_id}/keys", status_code=status.HTTP_201_CREATED, responses=responses(404)
)
def rotate_carrier_key(carrier_id: str, svc: ServicesDep, _admin: Admin) -> NewKeyOut:
    """Issue a new key for a carrier and revoke its previous ones (key rotation)."""
    key = svc.registry.rotate_carrier_keys(carrier_id)
    return NewKeyOut(key_id=api_keys.key_id(key) or "", key=key)


@router.post("/keys", status_code=status.HTTP_201_CREATED, responses=responses(404))
def create_admin_key(svc: ServicesDep, _admin: Admin, label: str = "") -> NewKeyOut:
    """Issue another admin key (the first one comes from ``tagtrail-collector admin key``)."""
    key = svc.registry.create_key(Role.ADMIN, label=label)
    return NewKeyOut(key_id=api_keys.key_id(key) or "", key=key)


@router.get("/keys")
def list_keys(
    svc: ServicesDep, _admin: Admin, cursor: Cursor = None, limit: Limit = None
) -> Page[KeyOut]:
    size = limit or svc.settings.page_size
    found = svc.registry.keys(after=string_cursor(cursor), limit=size + 1)
    return keyset_page(found, size, _key_out)


@router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(404))
def revoke_key(key_id: str, svc: ServicesDep, _admin: Admin) -> None:
    svc.registry.revoke_key(key_id)


@router.post("/gateways", status_code=status.HTTP_201_CREATED, responses=responses(404, 409))
def create_gateway(body: GatewayIn, svc: ServicesDep, _admin: Admin) -> GatewayOut:
    gateway = svc.registry.create_gateway(
        body.id, site_id=body.site_id, mobile=body.mobile, description=body.description
    )
    return _gateway_out(gateway)


@router.get("/gateways")
def list_gateways(
    svc: ServicesDep, _admin: Admin, cursor: Cursor = None, limit: Limit = None
) -> Page[GatewayOut]:
    size = limit or svc.settings.page_size
    found = svc.registry.gateways(after=string_cursor(cursor), limit=size + 1)
    return keyset_page(found, size, _gateway_out)


@router.put("/gateways/{gateway_id}/read-points/{antenna}", responses=responses(404))
def set_read_point(
    gateway_id: str, antenna: Antenna, body: ReadPointIn, svc: ServicesDep, _admin: Admin
) -> ReadPointOut:
    """Name the read point at a gateway's antenna (and its zone)."""
    point = svc.registry.set_read_point(gateway_id, antenna, name=body.name, zone=body.zone)
    return ReadPointOut(
        gateway_id=point.gateway_id, antenna=point.antenna, name=point.name, zone=point.zone
    )


@router.get("/gateways/{gateway_id}/read-points", responses=responses(404))
def list_read_points(gateway_id: str, svc: ServicesDep, _admin: Admin) -> list[ReadPointOut]:
    return [
        ReadPointOut(gateway_id=p.gateway_id, antenna=p.antenna, name=p.name, zone=p.zone)
        for p in svc.registry.read_points(gateway_id)
    ]


@router.get("/dead-letters")
def list_dead_letters(
    svc: ServicesDep,
    _admin: Admin,
    cursor: Cursor = None,
    limit: Limit = None,
    reason: Annotated[str | None, Query(max_length=32, examples=["clock_ahead"])] = None,
    gateway: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[DeadLetterOut]:
    """Payloads and points that could not be stored or applied, with the reason, oldest first;
    of one reason and/or gateway if asked (e.g. ``?reason=clock_ahead&gateway=truck-17``)."""
    after = decode_cursor(cursor)
    if after is not None and not isinstance(after, int):
        raise BadCursor("the cursor is not valid for this list")
    size = limit or svc.settings.page_size
    found = svc.dead_letters.list(after=after, limit=size + 1, reason=reason, gateway=gateway)
    return keyset_page(found, size, dead_letter_out)


@router.delete(
    "/dead-letters/{letter_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(404)
)
def delete_dead_letter(
    letter_id: Annotated[int, Path(ge=1, lt=2**63)], svc: ServicesDep, _admin: Admin
) -> None:
    """Delete one dead letter (once it has been looked at, or its cause fixed)."""
    if not svc.dead_letters.delete(letter_id):
        raise NotFound(f"no dead letter {letter_id}")


@router.delete("/dead-letters")
def purge_dead_letters(
    svc: ServicesDep,
    _admin: Admin,
    before: Annotated[datetime, Query(description="received before this time (zoned)")],
    reason: Annotated[str | None, Query(max_length=32)] = None,
    gateway: Annotated[str | None, Query(max_length=64)] = None,
) -> PurgedOut:
    """Delete the dead letters received before a time (of one reason and/or gateway)."""
    deleted = svc.dead_letters.purge(
        before_ns=instant_ns("before", before), reason=reason, gateway=gateway
    )
    return PurgedOut(deleted=deleted)


@router.post("/shipments/{shipment_id}/rebuild", responses=responses(404))
def rebuild_shipment(shipment_id: str, svc: ServicesDep, _admin: Admin) -> RebuiltOut:
    """Derive a shipment's current location, visits and milestones again from the stored
    series, after a correction (points deleted from InfluxDB, a gateway's clock put right).
    What is stamped further ahead of now than ingest accepts (``max_clock_ahead_s``) is left
    out. Other shipments' tags are not touched."""
    svc.registry.shipment(shipment_id, carrier_id=None)
    attached = svc.registry.attachments(shipment_id)
    epcs = svc.lookups.linked_epcs(
        [a.epc for a in attached if a.epc is not None],
        [a.sscc for a in attached if a.sscc is not None],
    )
    until_ns = time.time_ns() + int(svc.max_clock_ahead_s * 1e9)
    done = svc.tags.rebuild_from_series(epcs, until_ns)
    svc.rebuild_journey(shipment_id)
    return RebuiltOut(epcs=done.epcs, located=done.located, visits=done.visits)


def _carrier_out(c: Carrier) -> CarrierOut:
    return CarrierOut(id=c.id, name=c.name, created_at=dt(c.created_at))


def _key_out(k: KeyInfo) -> KeyOut:
    return KeyOut(
        id=k.id,
        role=k.role.value,
        carrier_id=k.carrier_id,
        label=k.label,
        created_at=dt(k.created_at),
        revoked_at=dt(k.revoked_at) if k.revoked_at is not None else None,
    )


def _gateway_out(g: Gateway) -> GatewayOut:
    return GatewayOut(
        id=g.id,
        site_id=g.site_id,
        mobile=g.mobile,
        description=g.description,
        created_at=dt(g.created_at),
    )
