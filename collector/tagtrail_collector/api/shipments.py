"""Carriers' endpoints: their shipments, where they are, where they have been, site inventory.

A carrier sees only its own shipments; another carrier's shipment answers 404, as if it did not
exist. A shipment sees its tags' sightings only while they were attached to it.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, status

from tagtrail_collector.api.deps import CarrierId, ServicesDep
from tagtrail_collector.api.pagination import (
    Cursor,
    Limit,
    decode_cursor,
    page,
    string_cursor,
)
from tagtrail_collector.api.problems import responses
from tagtrail_collector.api.schemas import (
    InventoryItemOut,
    LocationOut,
    Page,
    ShipmentIn,
    ShipmentOut,
    ShipmentSummaryOut,
    StatusIn,
    TrackingEventOut,
    TrackPointOut,
)
from tagtrail_collector.api.views import (
    dt,
    instant_ns,
    location_out,
    shipment_out,
    shipment_summary_out,
    tracking_events,
)
from tagtrail_collector.errors import BadCursor, InvalidRequest, NotFound
from tagtrail_collector.store.registry.records import Shipment, ShipmentStatus
from tagtrail_collector.store.registry.registry import ShipmentFilter
from tagtrail_collector.store.series.queries import TrackPoint

router = APIRouter(prefix="/v1", tags=["carriers"], responses=responses(400, 401, 403, 422, 503))
MAX_TRACK_DAYS = 93
T = TypeVar("T")


@router.post("/shipments", status_code=status.HTTP_201_CREATED, responses=responses(404, 409))
def register_shipment(body: ShipmentIn, svc: ServicesDep, carrier: CarrierId) -> ShipmentOut:
    """Register a shipment with the EPCs of its tags (and/or the SSCC it travels under).

    A tag whose EPC encodes this SSCC links to the shipment without being listed. An SSCC and
    every EPC that encodes it are one identifier, attached to one open shipment at a time; the
    shipment sees its tags' sightings from now on, never from before.
    """
    shipment = svc.registry.create_shipment(
        carrier,
        reference=body.reference,
        epcs=[epc.upper() for epc in body.epcs],
        sscc=body.sscc,
        origin_site=body.origin_site,
        destination_site=body.destination_site,
    )
    return shipment_out(shipment)


@router.get("/shipments")
def list_shipments(  # noqa: PLR0917 (FastAPI passes query parameters by name)
    svc: ServicesDep,
    carrier: CarrierId,
    cursor: Cursor = None,
    limit: Limit = None,
    status: ShipmentStatus | None = None,
    reference: Annotated[str | None, Query(max_length=200)] = None,
    sscc: Annotated[str | None, Query(pattern=r"^\d{18}$")] = None,
    epc: Annotated[str | None, Query(pattern=r"^(?:[0-9A-Fa-f]{4}){1,31}$")] = None,
    destination: Annotated[str | None, Query(max_length=64)] = None,
    created_from: Annotated[datetime | None, Query(description="created at or after")] = None,
    created_to: Annotated[datetime | None, Query(description="created before")] = None,
) -> Page[ShipmentSummaryOut]:
    """The carrier's shipments, oldest first (ids sort by creation), with how many EPCs each
    has (``GET /v1/shipments/{id}`` lists them); narrowed by any of the filters: status,
    exact reference, SSCC, one of its EPCs, destination site, creation time range."""
    size = limit or svc.settings.page_size
    filters = ShipmentFilter(
        status=status, reference=reference, sscc=sscc, epc=epc, destination=destination,
        created_from=instant_ns("created_from", created_from) if created_from else None,
        created_to=instant_ns("created_to", created_to) if created_to else None,
    )  # fmt: skip
    found = svc.registry.shipments(
        carrier, after=string_cursor(cursor), limit=size + 1, filters=filters
    )
    shown = found[:size]
    items = [shipment_summary_out(shipment, count) for shipment, count in shown]
    return page(items, shown[-1][0].id if shown else None, more=len(found) > size)


@router.get("/shipments/{shipment_id}", responses=responses(404))
def get_shipment(shipment_id: str, svc: ServicesDep, carrier: CarrierId) -> ShipmentOut:
    return shipment_out(svc.registry.shipment(shipment_id, carrier_id=carrier))


@router.put("/shipments/{shipment_id}/status", responses=responses(404, 409))
def set_status(
    shipment_id: str, body: StatusIn, svc: ServicesDep, carrier: CarrierId
) -> ShipmentOut:
    """Set a shipment's status by hand; its history records the change as manual, and the
    milestones after it go on from there. Delivered and cancelled close it: its identifiers
    are released (a returnable asset's tag can then go with a new shipment) and it shows
    nothing its tags did afterwards. A closed shipment is not reopened."""
    return shipment_out(
        svc.registry.set_shipment_status(shipment_id, body.status, carrier_id=carrier)
    )


@router.get("/shipments/{shipment_id}/location", responses=responses(404))
def get_location(shipment_id: str, svc: ServicesDep, carrier: CarrierId) -> LocationOut:
    """Where the shipment is now: its latest sighting by event time (late data never moves it
    backwards); aboard a mobile gateway, where that gateway is now."""
    shipment = svc.registry.shipment(shipment_id, carrier_id=carrier)
    return location_out(svc, shipment)


@router.get("/shipments/{shipment_id}/events", responses=responses(404))
def get_events(
    shipment_id: str,
    *,
    svc: ServicesDep,
    carrier: CarrierId,
    cursor: Cursor = None,
    limit: Limit = None,
) -> Page[TrackingEventOut]:
    """Site visits as tracking events (arrived/departed), with the EPCIS 2.0 bizStep of each."""
    shipment = svc.registry.shipment(shipment_id, carrier_id=carrier)
    events = tracking_events(svc, svc.reads.visits(shipment.id))
    start = decode_cursor(cursor) or 0
    if not isinstance(start, int) or start < 0:
        raise BadCursor("the cursor is not valid for this list")
    size = limit or svc.settings.page_size
    end = start + size
    return page(events[start:end], end, more=end < len(events))


@router.get("/shipments/{shipment_id}/track", responses=responses(404))
def get_track(
    shipment_id: str,
    *,
    svc: ServicesDep,
    carrier: CarrierId,
    start: Annotated[datetime | None, Query(description="default: 30 days before end")] = None,
    end: Annotated[datetime | None, Query(description="default: now")] = None,
    cursor: Cursor = None,
    limit: Limit = None,
) -> Page[TrackPointOut]:
    """Sightings of the shipment's tags, and its mobile gateways' fixes while aboard, in a time
    range (at most 93 days), oldest first."""
    shipment = svc.registry.shipment(shipment_id, carrier_id=carrier)
    start_ns, end_ns = _track_range(start, end)
    start_ns, skip = _track_cursor(cursor, start_ns)
    size = limit or svc.settings.page_size
    fetched = _track(
        svc,
        shipment,
        start_ns=start_ns,
        end_ns=end_ns,
        limit=skip + size + 1,
    )
    consumed = fetched[: skip + size]
    shown = consumed[skip:]
    key = None
    if shown:
        last = shown[-1].time_ns
        key = [last, sum(1 for p in consumed if p.time_ns == last)]
    return page([_track_out(p) for p in shown], key, more=len(fetched) > skip + size)


def _track_range(start: datetime | None, end: datetime | None) -> tuple[int, int]:
    """[start, end) in ns, checked: zoned, in order, at most 93 days, where InfluxDB has time."""
    end_ns = instant_ns("end", end) if end else time.time_ns()
    start_ns = instant_ns("start", start) if start else end_ns - 30 * 86_400 * 10**9
    if not start_ns < end_ns or end_ns - start_ns > MAX_TRACK_DAYS * 86_400 * 10**9:
        raise InvalidRequest(
            f"the range must have start < end and span at most {MAX_TRACK_DAYS} days"
        )
    return start_ns, end_ns


def _track_cursor(cursor: str | None, start_ns: int) -> tuple[int, int]:
    """A track cursor is [time_ns, n]: resume at time_ns, skipping the n points already sent."""
    after = decode_cursor(cursor)
    if after is None:
        return start_ns, 0
    valid = isinstance(after, list) and len(after) == 2
    if not valid or not all(isinstance(x, int) and 0 <= x < 2**63 for x in after):
        raise BadCursor("the cursor is not valid for this list")
    if after[0] < start_ns:
        return start_ns, 0
    return after[0], after[1]


def _track(
    svc: ServicesDep, shipment: Shipment, *, start_ns: int, end_ns: int, limit: int
) -> list[TrackPoint]:
    """Sightings within the visits (which are cut to the attachments), and the fixes of the
    mobile gateways the shipment was aboard meanwhile."""
    visits = [v for v in svc.reads.visits(shipment.id) if v.arrived < end_ns]
    visits = [v for v in visits if v.last_seen >= start_ns]
    spans: dict[str, list[tuple[int, int]]] = {}
    for visit in visits:
        spans.setdefault(visit.epc, []).append((visit.arrived, visit.last_seen))
    points = [
        p
        for p in svc.series.sightings(spans, start_ns, end_ns, limit)
        if any(low <= p.time_ns <= high for low, high in spans[p.epc or ""])
    ]
    mobile = {gateway for gateway in {v.gateway for v in visits} if _is_mobile(svc, gateway)}
    for visit in visits:
        if visit.gateway in mobile:
            low, high = max(start_ns, visit.arrived), min(end_ns, visit.last_seen + 1)
            if low < high:
                points += svc.series.fixes(visit.gateway, low, high, limit)
    points.sort(key=lambda p: (p.time_ns, p.kind, p.epc or ""))
    return points[:limit]


def _is_mobile(svc: ServicesDep, gateway: str) -> bool:
    try:
        return svc.registry.gateway(gateway).mobile
    except NotFound:
        return False


def _track_out(p: TrackPoint) -> TrackPointOut:
    return TrackPointOut(
        time=dt(p.time_ns),
        kind=p.kind,  # type: ignore[arg-type]
        lat=p.lat,
        lon=p.lon,
        site=p.site,
        gateway=p.gateway,
        read_point=p.read_point,
        event=p.event,
        epc=p.epc,
    )


@router.get("/sites/{site_id}/inventory", responses=responses(404))
def get_inventory(
    site_id: str,
    *,
    svc: ServicesDep,
    carrier: CarrierId,
    cursor: Cursor = None,
    limit: Limit = None,
) -> Page[InventoryItemOut]:
    """The carrier's open shipments whose current location is this site."""
    svc.directory.require_site(site_id)
    size = limit or svc.settings.page_size
    ids = svc.reads.shipments_at(site_id, carrier, after=string_cursor(cursor), limit=size + 1)

    def item(shipment_id: str) -> InventoryItemOut:
        shipment = svc.registry.shipment(shipment_id, carrier_id=carrier)
        return InventoryItemOut(
            shipment=shipment_out(shipment), location=location_out(svc, shipment)
        )

    shown = ids[:size]
    return page([item(i) for i in shown], shown[-1] if shown else None, more=len(ids) > size)
