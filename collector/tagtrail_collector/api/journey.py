"""Carriers' endpoints for a shipment's journey: its milestones and its status history.

The milestones are derived from sightings and from the geofence entries, exits and border
crossings of the vehicles it was aboard (``projections/journey.py``); late data rebuilds them.
Another carrier's shipment answers 404, as everywhere.
"""

from __future__ import annotations

from fastapi import APIRouter

from tagtrail_collector.api.deps import CarrierId, ServicesDep
from tagtrail_collector.api.pagination import Cursor, Limit, decode_cursor, page
from tagtrail_collector.api.problems import responses
from tagtrail_collector.api.schemas import MilestoneOut, Page, StatusChangeOut
from tagtrail_collector.api.views import dt, milestone_out
from tagtrail_collector.errors import BadCursor
from tagtrail_collector.store.registry.records import ShipmentStatus

router = APIRouter(prefix="/v1", tags=["carriers"], responses=responses(400, 401, 403, 422, 503))


@router.get("/shipments/{shipment_id}/milestones", responses=responses(404))
def get_milestones(
    shipment_id: str,
    *,
    svc: ServicesDep,
    carrier: CarrierId,
    cursor: Cursor = None,
    limit: Limit = None,
) -> Page[MilestoneOut]:
    """The shipment's milestones in time order: arrived/departed (by sighting or by a vehicle's
    geofence), loaded/unloaded, crossed_border, customs_hold/customs_released, delivered and
    exceptions, each with its CBV 2.0 bizStep and disposition."""
    shipment = svc.registry.shipment(shipment_id, carrier_id=carrier)
    after = decode_cursor(cursor)
    if after is not None and not (
        isinstance(after, list) and len(after) == 2
        and all(isinstance(x, int) and 0 <= x < 2**63 for x in after)
    ):  # fmt: skip
        raise BadCursor("the cursor is not valid for this list")
    size = limit or svc.settings.page_size
    found = svc.journey.milestones(
        shipment.id, after=None if after is None else (after[0], after[1]), limit=size + 1
    )
    shown = found[:size]
    key = [shown[-1].time_ns, shown[-1].seq] if shown else None
    return page([milestone_out(svc, m) for m in shown], key, more=len(found) > size)


@router.get("/shipments/{shipment_id}/status-history", responses=responses(404))
def get_status_history(
    shipment_id: str, *, svc: ServicesDep, carrier: CarrierId
) -> list[StatusChangeOut]:
    """Every status change in time order: derived from a milestone (the cause names it), or
    made by the carrier (manual)."""
    shipment = svc.registry.shipment(shipment_id, carrier_id=carrier)
    return [
        StatusChangeOut(
            time=dt(c.time_ns),
            from_status=ShipmentStatus(c.from_status),
            to_status=ShipmentStatus(c.to_status),
            cause=c.cause,
            manual=c.manual,
        )
        for c in svc.journey.history(shipment.id)
    ]
