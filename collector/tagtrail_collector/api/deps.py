"""What the routes depend on: the services, and who is calling (API key in ``X-API-Key``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from tagtrail_collector.api.problems import Forbidden
from tagtrail_collector.config import ApiSection
from tagtrail_collector.metrics import Metrics
from tagtrail_collector.store.influx import Influx
from tagtrail_collector.store.records import Principal, Role
from tagtrail_collector.store.registry import Registry
from tagtrail_collector.store.series import Series
from tagtrail_collector.store.state import State


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the API needs, built once by the wiring module."""

    registry: Registry
    state: State
    influx: Influx
    series: Series
    metrics: Metrics
    settings: ApiSection
    broker_status: Callable[[], str | None]
    """None when the broker link is up, else why not."""


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="carrier or admin key")
ServicesDep = Annotated[Services, Depends(services)]


def principal(svc: ServicesDep, key: Annotated[str | None, Depends(_api_key)]) -> Principal:
    return svc.registry.authenticate(key)


def carrier_id(who: Annotated[Principal, Depends(principal)]) -> str:
    if who.role is not Role.CARRIER or who.carrier_id is None:
        raise Forbidden("this endpoint is for carriers: use a carrier's API key")
    return who.carrier_id


def admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role is not Role.ADMIN:
        raise Forbidden("this endpoint needs an admin key")
    return who


CarrierId = Annotated[str, Depends(carrier_id)]
Admin = Annotated[Principal, Depends(admin)]
