"""What the routes depend on: the services, and who is calling (API key in ``X-API-Key``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader

from tagtrail_collector.api.directory import Directory
from tagtrail_collector.config import ApiSection
from tagtrail_collector.errors import Forbidden
from tagtrail_collector.metrics import Metrics
from tagtrail_collector.projections.tags import TagProjection
from tagtrail_collector.store.registry.dead_letters import DeadLetters
from tagtrail_collector.store.registry.journey import JourneyReads
from tagtrail_collector.store.registry.reads import Lookups, ShipmentReads
from tagtrail_collector.store.registry.records import Principal, Role
from tagtrail_collector.store.registry.registry import Registry
from tagtrail_collector.store.series.influx import Influx
from tagtrail_collector.store.series.queries import Series


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the API needs, built once by the wiring module."""

    registry: Registry
    directory: Directory
    """Sites and gateways for carriers' answers (cached, see directory.py)."""
    tags: TagProjection
    """For an operator's rebuild of tags' locations and visits from the series."""
    lookups: Lookups
    reads: ShipmentReads
    """Shipments' locations, visits and site inventories, within their attachments."""
    dead_letters: DeadLetters
    influx: Influx
    series: Series
    metrics: Metrics
    settings: ApiSection
    max_clock_ahead_s: float
    """How far ahead of this server's clock a timestamp may be (ingest's quarantine bound)."""
    broker_status: Callable[[], str | None]
    """None when the broker link is up, else why not."""
    journey: JourneyReads
    """Milestones, status history, lane durations."""
    rebuild_journey: Callable[[str], object]
    """Derive one shipment's milestones and status again (an operator's rebuild)."""


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="carrier or admin key")
ServicesDep = Annotated[Services, Depends(services)]


def principal(
    request: Request, svc: ServicesDep, key: Annotated[str | None, Depends(_api_key)]
) -> Principal:
    """Who calls: checked already by the request guard for writes, else here."""
    checked = getattr(request.state, "principal", None)
    if isinstance(checked, Principal):
        return checked
    return svc.registry.authenticate(key)


async def carrier_id(who: Annotated[Principal, Depends(principal)]) -> str:
    if who.role is not Role.CARRIER or who.carrier_id is None:
        raise Forbidden("this endpoint is for carriers: use a carrier's API key")
    return who.carrier_id


async def admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role is not Role.ADMIN:
        raise Forbidden("this endpoint needs an admin key")
    return who


CarrierId = Annotated[str, Depends(carrier_id)]
Admin = Annotated[Principal, Depends(admin)]


async def known_query(request: Request) -> None:
    """Refuse query parameters the endpoint does not take: a typo (``?limt=5``) would otherwise
    be silently ignored and the caller would never know why the answer is not what they asked.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    allowed = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "no query parameters"
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": f"unknown parameter (takes {takes})"}
                for name in unknown
            ]
        )


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names
