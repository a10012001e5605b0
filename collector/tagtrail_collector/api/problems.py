"""Errors as ``application/problem+json`` (RFC 9457), each with a clear ``detail``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from tagtrail_collector.api.schemas import Problem
from tagtrail_collector.errors import AuthError, CollectorError, Conflict, Forbidden, NotFound

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"


_MEANING: Final = {
    400: "a body that is not JSON, or a query value that cannot be used (e.g. a stale cursor)",
    401: "no API key, or one that is unknown or revoked",
    403: "the key may not use this endpoint (carrier and admin keys are separate)",
    404: "no such resource, or it belongs to another carrier",
    409: "it exists already, or an identifier is attached to another open shipment",
    413: "the request body is over the collector's limit (api.max_body_bytes)",
    415: "the request body is not JSON",
    422: "the request does not match the schema; `errors` lists each field",
    503: "the registry or InfluxDB is not reachable; try again",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses an endpoint can give."""
    return {code: {"model": Problem, "description": _MEANING[code]} for code in codes}


def problem(
    status: int,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,  # noqa: ANN401
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    sent = dict(headers or {})
    if status == 401:
        sent["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=sent or None)


def install(app: FastAPI) -> None:
    """Map every error the API can meet to a problem response, and document it so."""
    _document_media_type(app)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        detail = str(exc.detail)
        if exc.status_code == 400 and "parsing the body" in detail:  # FastAPI's own wording
            detail = "the request body is not valid JSON"
        headers = exc.headers
        if exc.status_code == 405:
            allow = _allowed(request)
            headers = {"Allow": allow}
            detail = f"{detail}: this path takes {allow}"
        return problem(exc.status_code, detail, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        listed = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, f"invalid request: {listed}", errors=errors)

    @app.exception_handler(CollectorError)
    async def _domain(_request: Request, exc: CollectorError) -> JSONResponse:
        return problem(_status(exc), str(exc))


def _allowed(request: Request) -> str:
    """Every method the request's path takes (Starlette names only the first route's)."""
    path = request.scope["path"]
    methods: set[str] = set()
    for router in request.app.state.routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.path_regex.match(path):
                methods |= route.methods or set()
    return ", ".join(sorted(methods))


_STATUS: Final = ((AuthError, 401), (Forbidden, 403), (NotFound, 404), (Conflict, 409))


def _status(exc: CollectorError) -> int:
    for kind, code in _STATUS:
        if isinstance(exc, kind):
            return code
    if isinstance(exc, ValueError):
        return 400
    log.warning("api: a store failed: %s", exc)
    return 503


def _document_media_type(app: FastAPI) -> None:
    """Declare error bodies as ``application/problem+json`` (FastAPI writes application/json)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            for operation in (op for path in spec["paths"].values() for op in path.values()):
                for code, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(code) >= 400 and "application/json" in content:
                        content[MEDIA_TYPE] = content.pop("application/json")
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
