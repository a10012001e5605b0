"""Admin endpoints for sites and their geofences (admin key only).

A geofence is a polygon (GeoJSON Polygon or MultiPolygon, ``[lon, lat]``) or a circle (the
site's coordinates and ``radius_m``); ``GET /v1/admin/geofences`` gives them all as one GeoJSON
FeatureCollection, a circle as a Point feature with its ``radius_m``. Mobile gateways' fixes are
matched against them (``projections/geofences.py``); a change applies to fixes from then on.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, status

from tagtrail_collector.api.deps import Admin, ServicesDep
from tagtrail_collector.api.pagination import Cursor, Limit, keyset_page, string_cursor
from tagtrail_collector.api.problems import responses
from tagtrail_collector.api.schemas import GeoJson, Page, SiteIn, SiteOut, SitePatch
from tagtrail_collector.api.views import dt
from tagtrail_collector.errors import InvalidRequest
from tagtrail_collector.journey import borders
from tagtrail_collector.journey.fences import FenceError, polygon_of
from tagtrail_collector.store.registry.records import Site, SiteKind

router = APIRouter(
    prefix="/v1/admin", tags=["admin: sites"], responses=responses(400, 401, 403, 422, 503)
)


@router.post("/sites", status_code=status.HTTP_201_CREATED, responses=responses(409))
def create_site(body: SiteIn, svc: ServicesDep, _admin: Admin) -> SiteOut:
    """A site: where goods are handed over, or a vehicle. With coordinates and ``radius_m``, or
    a ``geofence`` polygon, mobile gateways' fixes yield its arrivals and departures; its
    ``country`` is found from them when left out."""
    fields = body.model_dump(exclude={"id", "name", "kind", "lat", "lon", "radius_m"})
    fence = _fence_text(body.geofence)
    fields["geofence"] = fence
    if body.country is None:
        fields["country"] = _country_of(body.lat, body.lon, fence)
    site = svc.registry.create_site(
        body.id, name=body.name, kind=body.kind, lat=body.lat, lon=body.lon,
        radius_m=body.radius_m, **fields,
    )  # fmt: skip
    return site_out(site)


@router.get("/sites")
def list_sites(
    svc: ServicesDep, _admin: Admin, cursor: Cursor = None, limit: Limit = None
) -> Page[SiteOut]:
    size = limit or svc.settings.page_size
    found = svc.registry.sites(after=string_cursor(cursor), limit=size + 1)
    return keyset_page(found, size, site_out)


@router.get("/sites/{site_id}", responses=responses(404))
def get_site(site_id: str, svc: ServicesDep, _admin: Admin) -> SiteOut:
    return site_out(svc.registry.site(site_id))


@router.patch("/sites/{site_id}", responses=responses(404))
def update_site(site_id: str, body: SitePatch, svc: ServicesDep, _admin: Admin) -> SiteOut:
    """Change a site's fields; a field sent as null is cleared (its geofence has its own
    endpoint)."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidRequest("nothing to change: send the fields to change")
    current = svc.registry.site(site_id)
    merged = {**{k: getattr(current, k) for k in ("lat", "lon", "radius_m")}, **changes}
    if (merged["lat"] is None) != (merged["lon"] is None):
        raise InvalidRequest("lat and lon go together: give both or neither")
    if merged["radius_m"] is not None and merged["lat"] is None:
        raise InvalidRequest("radius_m needs the site's coordinates (lat and lon)")
    if "kind" in changes and changes["kind"] is None:
        raise InvalidRequest("kind cannot be cleared")
    if "name" in changes and changes["name"] is None:
        raise InvalidRequest("name cannot be cleared")
    return site_out(svc.registry.update_site(site_id, **changes))


@router.put("/sites/{site_id}/geofence", responses=responses(404))
def set_geofence(
    site_id: str,
    body: Annotated[GeoJson, Body()],
    svc: ServicesDep,
    _admin: Admin,
) -> dict[str, Any]:
    """Set the site's geofence: a GeoJSON Polygon or MultiPolygon (or a Feature of one), or a
    Feature with a Point geometry and ``properties.radius_m`` for a circle."""
    site = svc.registry.site(site_id)
    if site.kind is SiteKind.VEHICLE:
        raise InvalidRequest("a vehicle moves: it has no geofence")
    circle = _circle(body)
    if circle is not None:
        lat, lon, radius = circle
        site = svc.registry.update_site(site_id, lat=lat, lon=lon, radius_m=radius, geofence=None)
    else:
        site = svc.registry.update_site(site_id, geofence=_fence_text(body))
    return feature(site)


@router.get("/sites/{site_id}/geofence", responses=responses(404))
def get_geofence(site_id: str, svc: ServicesDep, _admin: Admin) -> dict[str, Any]:
    """The site's geofence as a GeoJSON Feature (a Point with ``radius_m`` for a circle)."""
    site = svc.registry.site(site_id)
    if not site.fenced:
        raise InvalidRequest(f"site {site_id} has no geofence")
    return feature(site)


@router.delete(
    "/sites/{site_id}/geofence", status_code=status.HTTP_204_NO_CONTENT, responses=responses(404)
)
def delete_geofence(site_id: str, svc: ServicesDep, _admin: Admin) -> None:
    """Remove the site's geofence (polygon and radius; its coordinates stay)."""
    svc.registry.update_site(site_id, geofence=None, radius_m=None)


@router.get("/geofences")
def list_geofences(svc: ServicesDep, _admin: Admin) -> dict[str, Any]:
    """Every site's geofence, as one GeoJSON FeatureCollection."""
    features = []
    after: str | None = None
    while True:
        sites = svc.registry.sites(after=after, limit=1000)
        features += [feature(site) for site in sites if site.fenced]
        if len(sites) < 1000:
            break
        after = sites[-1].id
    return {"type": "FeatureCollection", "features": features}


def feature(site: Site) -> dict[str, Any]:
    properties = {
        "site_id": site.id, "name": site.name, "kind": site.kind.value,
        "unlocode": site.unlocode, "gln": site.gln, "country": site.country,
    }  # fmt: skip
    if site.geofence is not None:
        return {"type": "Feature", "geometry": json.loads(site.geofence), "properties": properties}
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [site.lon, site.lat]},
        "properties": {**properties, "radius_m": site.radius_m},
    }


def site_out(site: Site) -> SiteOut:
    return SiteOut(
        id=site.id, name=site.name, kind=site.kind, lat=site.lat, lon=site.lon,
        radius_m=site.radius_m,
        geofence=None if site.geofence is None else json.loads(site.geofence),
        unlocode=site.unlocode, gln=site.gln, country=site.country,
        confirm_fixes=site.confirm_fixes, confirm_s=site.confirm_s, margin_m=site.margin_m,
        created_at=dt(site.created_at),
    )  # fmt: skip


def _fence_text(geojson: dict[str, Any] | None) -> str | None:
    """The polygon as stored: its geometry, checked (and repaired if self-touching)."""
    if geojson is None:
        return None
    try:
        polygon = polygon_of(geojson)
    except FenceError as exc:
        raise InvalidRequest(f"geofence: {exc}") from None
    return json.dumps(polygon.__geo_interface__, separators=(",", ":"))


def _circle(geojson: dict[str, Any]) -> tuple[float, float, float] | None:
    """A Point Feature with ``properties.radius_m``: (lat, lon, radius); else None."""
    geometry = geojson.get("geometry") if geojson.get("type") == "Feature" else geojson
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return None
    coordinates = geometry.get("coordinates")
    radius = (geojson.get("properties") or {}).get("radius_m")
    if not isinstance(coordinates, list) or len(coordinates) != 2:
        raise InvalidRequest("geofence: a Point needs coordinates [lon, lat]")
    if not all(isinstance(c, int | float) for c in coordinates):
        raise InvalidRequest("geofence: a Point needs coordinates [lon, lat]")
    if not isinstance(radius, int | float) or not 0 < radius <= 100_000:
        raise InvalidRequest("geofence: a circle needs properties.radius_m in (0, 100000]")
    lon, lat = float(coordinates[0]), float(coordinates[1])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidRequest("geofence: coordinates must be [longitude, latitude] in degrees")
    return lat, lon, float(radius)


def _country_of(lat: float | None, lon: float | None, fence: str | None) -> str | None:
    if fence is not None:
        centre = polygon_of(json.loads(fence)).representative_point()
        lat, lon = centre.y, centre.x
    if lat is None or lon is None:
        return None
    found = borders.load().country(lat, lon)
    return None if found is None else found.code
