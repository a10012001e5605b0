"""The FastAPI application: its routers and error handlers."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from tagtrail_collector import __version__
from tagtrail_collector.api import admin, journey, ops, problems, shipments, sites
from tagtrail_collector.api.deps import Services, known_query
from tagtrail_collector.api.guard import RequestGuard


def create_app(services: Services, *, operations: bool = True) -> FastAPI:
    """The carriers' and admins' API; with ``operations`` also ``/healthz`` and ``/metrics``
    (off when they are served on a port of their own, see ``ops_app``)."""
    app = FastAPI(
        title="tagtrail",
        version=__version__,
        summary="Where carriers' shipments are: current location, tracking events, tracks.",
        description=(
            "Carriers authenticate with their API key in the `X-API-Key` header and see only "
            "their own shipments. Errors are `application/problem+json`. Lists are paginated: "
            "pass `next_cursor` back as `?cursor=`. Unknown query parameters are refused."
        ),
        dependencies=[Depends(known_query)],
    )
    app.state.services = services
    problems.install(app)
    app.state.routers = [
        shipments.router,
        journey.router,
        admin.router,
        sites.router,
        *([ops.router] if operations else []),
    ]
    for router in app.state.routers:
        app.include_router(router)
    app.add_middleware(
        RequestGuard,
        max_body_bytes=services.settings.max_body_bytes,
        authenticate=services.registry.authenticate,
    )
    return app


def ops_app(services: Services) -> FastAPI:
    """``/healthz`` and ``/metrics`` alone, for a port the carriers' entry point does not reach."""
    app = FastAPI(title="tagtrail operations", version=__version__, docs_url=None,
                  redoc_url=None, openapi_url=None)  # fmt: skip
    app.state.services = services
    app.state.routers = [ops.router]
    problems.install(app)
    app.include_router(ops.router)
    return app
