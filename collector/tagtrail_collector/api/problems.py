"""Errors as ``application/problem+json`` (RFC 9457), each with a clear ``detail``."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tagtrail_collector.errors import AuthError, CollectorError, Conflict, NotFound

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"


class Forbidden(CollectorError):
    """A valid key without the right to this endpoint (a carrier key on an admin endpoint)."""


def problem(status: int, detail: str, **extra: Any) -> JSONResponse:  # noqa: ANN401
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    headers = {"WWW-Authenticate": 'ApiKey header="X-API-Key"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    """Map every error the API can meet to a problem response."""

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail))

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


_STATUS: Final = ((AuthError, 401), (Forbidden, 403), (NotFound, 404), (Conflict, 409))


def _status(exc: CollectorError) -> int:
    for kind, code in _STATUS:
        if isinstance(exc, kind):
            return code
    if isinstance(exc, ValueError):
        return 400
    log.warning("api: a store failed: %s", exc)
    return 503
