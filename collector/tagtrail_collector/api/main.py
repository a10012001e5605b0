"""The FastAPI application: its routers and error handlers."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from tagtrail_collector import __version__
from tagtrail_collector.api import admin, ops, problems, shipments
from tagtrail_collector.api.deps import Services, known_query


def create_app(services: Services) -> FastAPI:
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
    app.include_router(shipments.router)
    app.include_router(admin.router)
    app.include_router(ops.router)
    return app
