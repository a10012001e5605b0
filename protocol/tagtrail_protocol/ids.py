"""Identifiers used in topics and payloads: site, gateway and read-point ids."""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator

from tagtrail_protocol.errors import TopicError

MAX_ID_LENGTH: Final = 64
ALLOWED: Final = "lower-case letters a-z, digits 0-9, '-', '_' and '.'"
_ID = re.compile(r"[a-z0-9][a-z0-9._-]*")
_BAD_CHAR = re.compile(r"[^a-z0-9._-]")


def check_id(value: str, *, what: str = "identifier") -> str:
    """Return ``value`` if it is a valid identifier, else raise TopicError saying why.

    Identifiers end up in MQTT topics, broker ACLs and InfluxDB tags, so they are kept to a
    small charset: no wildcards (``+`` ``#``), separators (``/``), ``$``, spaces or upper case.
    """
    if not value:
        raise TopicError(f"{what} is empty")
    if len(value) > MAX_ID_LENGTH:
        raise TopicError(
            f"{what} {value[:20]!r}... is {len(value)} characters long (at most {MAX_ID_LENGTH})"
        )
    bad = _BAD_CHAR.search(value)
    if bad is not None:
        raise TopicError(
            f"{what} {value!r} has {bad.group()!r} at position {bad.start()} (allowed: {ALLOWED})"
        )
    if not _ID.fullmatch(value):
        raise TopicError(f"{what} {value!r} must start with a letter or a digit")
    return value


def _check_pydantic(value: str) -> str:
    try:
        return check_id(value)
    except TopicError as exc:
        raise ValueError(exc.detail) from None


Identifier = Annotated[str, AfterValidator(_check_pydantic)]
"""A str field holding a valid identifier (see ``check_id``)."""
