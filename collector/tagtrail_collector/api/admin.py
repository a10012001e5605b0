"""Admin endpoints (admin key only): carriers and their keys, sites, gateways, read points,
dead letters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

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
    ReadPointIn,
    ReadPointOut,
    SiteIn,
    SiteOut,
)
from tagtrail_collector.api.views import dead_letter_out, dt
from tagtrail_collector.errors import BadCursor
from tagtrail_collector.store import keys as api_keys
from tagtrail_collector.store.records import Carrier, Gateway, KeyInfo, Role, Site

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


@router.post("/sites", status_code=status.HTTP_201_CREATED, responses=responses(409))
def create_site(body: SiteIn, svc: ServicesDep, _admin: Admin) -> SiteOut:
    site = svc.registry.create_site(
        body.id, name=body.name, kind=body.kind, lat=body.lat, lon=body.lon, radius_m=body.radius_m
    )
    return _site_out(site)


@router.get("/sites")
def list_sites(
    svc: ServicesDep, _admin: Admin, cursor: Cursor = None, limit: Limit = None
) -> Page[SiteOut]:
    size = limit or svc.settings.page_size
    found = svc.registry.sites(after=string_cursor(cursor), limit=size + 1)
    return keyset_page(found, size, _site_out)


@router.get("/sites/{site_id}", responses=responses(404))
def get_site(site_id: str, svc: ServicesDep, _admin: Admin) -> SiteOut:
    return _site_out(svc.registry.site(site_id))


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
    svc: ServicesDep, _admin: Admin, cursor: Cursor = None, limit: Limit = None
) -> Page[DeadLetterOut]:
    """Payloads and points that could not be stored, with the reason, oldest first."""
    after = decode_cursor(cursor)
    if after is not None and not isinstance(after, int):
        raise BadCursor("the cursor is not valid for this list")
    size = limit or svc.settings.page_size
    found = svc.state.dead_letters(after=after, limit=size + 1)
    return keyset_page(found, size, dead_letter_out)


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


def _site_out(site: Site) -> SiteOut:
    return SiteOut(
        id=site.id,
        name=site.name,
        kind=site.kind,
        lat=site.lat,
        lon=site.lon,
        radius_m=site.radius_m,
        created_at=dt(site.created_at),
    )


def _gateway_out(g: Gateway) -> GatewayOut:
    return GatewayOut(
        id=g.id,
        site_id=g.site_id,
        mobile=g.mobile,
        description=g.description,
        created_at=dt(g.created_at),
    )
