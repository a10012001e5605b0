"""What every request passes before a byte of its body is read: size, media type, API key.

FastAPI reads a request's body before it resolves the endpoint's dependencies, so without this
an anonymous client could make the collector hold any amount of JSON in memory before being
told its key is wrong. Here a body over ``max_body_bytes`` is refused from its Content-Length
(413) or as soon as it grows past the limit while streaming; a write to ``/v1`` without a valid
key is refused (401) before the body is read; a body that is not JSON is refused (415).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tagtrail_collector.errors import AuthError
from tagtrail_collector.store.registry.records import Principal

_WRITES: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PROBLEM: Final = b"application/problem+json"


class _TooLarge(HTTPException):
    """The body grew past the limit while it was being read (an HTTPException, so that FastAPI's
    body reading lets it through to the problem handlers instead of calling it bad JSON)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


class RequestGuard:
    """ASGI middleware; ``authenticate(key)`` raises AuthError (see Registry.authenticate)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        authenticate: Callable[[str | None], Principal],
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refused = await self._refusal(scope, headers)
        if refused is not None:
            await _problem(send, *refused)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, self._counted(receive), sending)
        except _TooLarge as exc:
            if not started:
                await _problem(send, 413, str(exc.detail))

    async def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            return 413, _too_large(self.max_body_bytes)
        if scope["method"] not in _WRITES or not scope["path"].startswith("/v1/"):
            return None
        try:
            principal = await run_in_threadpool(self.authenticate, headers.get("x-api-key"))
        except AuthError as exc:
            return 401, str(exc)
        scope.setdefault("state", {})["principal"] = principal
        has_body = (length is not None and length != "0") or "transfer-encoding" in headers
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if has_body and media != "application/json" and not media.endswith("+json"):
            return 415, f"send JSON (Content-Type: application/json), not {media or 'no type'}"
        return None

    def _counted(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise _TooLarge(self.max_body_bytes)
            return message

        return counted


def _too_large(limit: int) -> str:
    return f"the request body is over {limit} bytes"


async def _problem(send: Send, status: int, detail: str) -> None:
    body: dict[str, Any] = {
        "type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
        "detail": detail,
    }  # fmt: skip
    payload = json.dumps(body).encode()
    headers = [(b"content-type", _PROBLEM), (b"content-length", str(len(payload)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'ApiKey header="X-API-Key"'))
    if status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
