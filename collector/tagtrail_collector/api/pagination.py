"""Cursor pagination: an opaque, URL-safe token for "after this key"."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, TypeVar

from fastapi import Query

from tagtrail_collector.api.schemas import Page
from tagtrail_collector.errors import CollectorError

T = TypeVar("T")
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
Limit = Annotated[int | None, Query(ge=1, le=1000, description="page size")]


class BadCursor(CollectorError, ValueError):
    """The cursor is not one this API handed out."""


def encode_cursor(key: Any) -> str:  # noqa: ANN401 (any JSON value)
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:  # noqa: ANN401
    if not cursor:  # absent or empty: the first page
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        raise BadCursor("the cursor is not valid: pass next_cursor from a previous page") from None


def page(items: list[T], key: object, *, more: bool) -> Page[T]:
    """A page whose ``next_cursor`` resumes after ``key`` (None when this is the last page)."""
    return Page[T](items=items, next_cursor=encode_cursor(key) if more and items else None)


def string_cursor(cursor: str | None) -> str | None:
    key = decode_cursor(cursor)
    if key is not None and not isinstance(key, str):
        raise BadCursor("the cursor is not valid for this list")
    return key
