"""Operations endpoints (no key): ``/healthz`` and Prometheus ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from tagtrail_collector.api.deps import ServicesDep
from tagtrail_collector.api.schemas import HealthOut
from tagtrail_collector.errors import CollectorError

router = APIRouter(tags=["operations"])


@router.get("/healthz", responses={503: {"model": HealthOut}})
def healthz(svc: ServicesDep) -> JSONResponse:
    """Checks the broker link, InfluxDB and the registry; 503 when any of them fails."""
    checks = {"broker": "ok", "influxdb": "ok", "registry": "ok"}
    problem = svc.broker_status()
    if problem is not None:
        checks["broker"] = problem
    try:
        svc.influx.ping()
    except CollectorError as exc:
        checks["influxdb"] = str(exc)
    try:
        with svc.registry.reader.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 (any driver error means unhealthy)
        checks["registry"] = f"{type(exc).__name__}: {exc}"
    healthy = all(value == "ok" for value in checks.values())
    body = HealthOut(status="ok" if healthy else "degraded", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


@router.get("/metrics", response_class=Response)
def metrics(svc: ServicesDep) -> Response:
    """Prometheus text format: received, stored, rejected, dead-lettered per gateway; ingest
    lag; write latency."""
    return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)
