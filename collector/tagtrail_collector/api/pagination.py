"""Cursor pagination: an opaque, URL-safe token for "after this key"."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Query

from tagtrail_collector.api.schemas import Page
from tagtrail_collector.errors import BadCursor

T = TypeVar("T")
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
Limit = Annotated[int | None, Query(ge=1, le=1000, description="page size")]


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


class _Keyed(Protocol):
    @property
    def id(self) -> Any: ...  # noqa: ANN401 (str or int keys)


R = TypeVar("R", bound=_Keyed)


def keyset_page(found: Sequence[R], size: int, out: Callable[[R], T]) -> Page[T]:
    """A page from ``size + 1`` records fetched after the cursor's key: the extra one says
    whether there is more, and the last shown record's ``id`` is the next cursor."""
    shown = found[:size]
    key = shown[-1].id if shown else None
    return page([out(record) for record in shown], key, more=len(found) > size)


def string_cursor(cursor: str | None) -> str | None:
    key = decode_cursor(cursor)
    if key is not None and not isinstance(key, str):
        raise BadCursor("the cursor is not valid for this list")
    return key
