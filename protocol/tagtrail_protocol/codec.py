"""Bytes <-> messages: JSON, optionally zlib-compressed, with a size cap and a schema version.

Decoding either returns a whole, validated message or raises a DecodeError naming what is
wrong; nothing is ever half-decoded.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NoReturn
from uuid import UUID

from pydantic import ValidationError

from tagtrail_protocol.errors import (
    DecodeError,
    EncodeError,
    InvalidMessage,
    MalformedPayload,
    PayloadTooLarge,
    TopicMismatch,
    UnknownKind,
    UnsupportedVersion,
)
from tagtrail_protocol.ids import check_id
from tagtrail_protocol.models import IGNORE_UNKNOWN, MODELS, Message
from tagtrail_protocol.topics import Kind, Topic
from tagtrail_protocol.version import SCHEMA_MAJOR, SCHEMA_MINOR, SCHEMA_VERSION

DEFAULT_MAX_PAYLOAD: Final = 1024 * 1024
_ZLIB_FIRST_BYTE: Final = 0x78  # every zlib stream starts with it; a JSON payload never does
_VERSION = re.compile(r"(\d{1,4})\.(\d{1,4})")
_MAX_LISTED_ERRORS: Final = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class Codec:
    """Encoder/decoder with limits.

    ``max_payload_bytes`` caps the JSON size (after decompression) both ways.
    ``compress_above``: encode with zlib when the JSON is longer than this; None never compresses.
    """

    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD
    compress_above: int | None = None

    def encode(self, message: Message) -> bytes:
        return self.pack(message.model_dump_json(exclude_none=True).encode(), kind=message.kind)

    def pack(self, data: bytes, *, kind: str = "message") -> bytes:
        """Apply the size cap and compression to JSON encoded elsewhere (e.g. from stored items)."""
        if len(data) > self.max_payload_bytes:
            raise EncodeError(
                f"{kind} message is {len(data)} bytes of JSON (at most {self.max_payload_bytes})"
            )
        if self.compress_above is not None and len(data) > self.compress_above:
            return zlib.compress(data, 6)
        return data

    def pack_batch(
        self,
        kind: Kind,
        *,
        gateway: str,
        boot_id: str,
        seq: int,
        sent_at: datetime,
        bodies: Sequence[str],
    ) -> bytes:
        """The payload of a batch whose entries were encoded earlier (see ``batch_json``),
        with the size cap and compression of ``pack``."""
        data = batch_json(
            kind, gateway=gateway, boot_id=boot_id, seq=seq, sent_at=sent_at, bodies=bodies
        )
        return self.pack(data, kind=kind.value)

    def decode(self, data: bytes) -> Message:
        obj = _parse_json(self._inflate(data))
        major, minor = _check_version(obj)
        kind = obj.get("kind")
        model = MODELS.get(kind) if isinstance(kind, str) else None
        if model is None:
            _unknown_kind(kind)
        context = {IGNORE_UNKNOWN: major == SCHEMA_MAJOR and minor > SCHEMA_MINOR}
        try:
            return model.model_validate(obj, context=context)
        except ValidationError as exc:
            raise _invalid(str(kind), exc) from None

    def decode_for(self, topic: Topic, data: bytes) -> Message:
        """Decode a payload and check that it belongs on ``topic`` (kind and gateway)."""
        message = self.decode(data)
        if message.kind != topic.kind.value:
            raise TopicMismatch(
                f"a {message.kind} message arrived on {topic.kind.value} topic {topic}"
            )
        if message.gateway != topic.gateway:
            raise TopicMismatch(
                f"message from gateway {message.gateway!r} "
                f"arrived on gateway {topic.gateway!r}'s topic"
            )
        return message

    def peek(self, data: bytes) -> dict[str, Any]:
        """A payload's top-level JSON object however invalid for its schema (``{}`` if there is
        none), inflated within the same size cap: to read what a refused batch says it is."""
        try:
            obj = json.loads(self._inflate(data))
        except (DecodeError, ValueError, RecursionError):
            return {}
        return obj if isinstance(obj, dict) else {}

    def _inflate(self, data: bytes) -> bytes:
        if len(data) > self.max_payload_bytes:
            raise PayloadTooLarge(
                f"payload is {len(data)} bytes (at most {self.max_payload_bytes})"
            )
        if not data or data[0] != _ZLIB_FIRST_BYTE:
            return data
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(data, self.max_payload_bytes + 1)
        except zlib.error as exc:
            raise MalformedPayload(f"payload is not valid zlib data: {exc}") from None
        if len(out) > self.max_payload_bytes or inflater.unconsumed_tail:
            raise PayloadTooLarge(f"payload inflates to more than {self.max_payload_bytes} bytes")
        if not inflater.eof or inflater.unused_data:
            raise MalformedPayload("compressed payload is truncated or has trailing bytes")
        return out


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not allowed")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        keys = [key for key, _ in pairs]
        dup = next(key for key in keys if keys.count(key) > 1)
        raise ValueError(f"key {dup!r} appears twice in one object")
    return obj


def _parse_json(data: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(data, parse_constant=_reject_constant)
        if _keys_written(data) != _keys_kept(obj):
            # Some object repeats a key (or the text is not plain UTF-8 without escapes): parse
            # again, slowly, with the hook that names the repeated key.
            obj = json.loads(
                data, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant
            )
    except RecursionError:
        raise MalformedPayload("payload JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, our hooks
        raise MalformedPayload(f"payload is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MalformedPayload(f"payload is a JSON {type(obj).__name__}, expected an object")
    return obj


_KEY_END_AFTER_SPACE: Final = re.compile(rb'"[ \t\n\r]+:')


def _keys_written(data: bytes) -> int | None:
    """How many object keys valid JSON text has, or None when it cannot be counted cheaply.

    Without any backslash every ``"`` delimits a string, so a ``"`` followed by a colon (after
    optional whitespace) ends a key and nothing else. Payloads with escapes, or not in UTF-8,
    are left to the slow check.
    """
    if b"\\" in data or json.detect_encoding(data) != "utf-8":
        return None
    return data.count(b'":') + len(_KEY_END_AFTER_SPACE.findall(data))


def _keys_kept(obj: object) -> int:
    """How many keys the parsed objects hold (a repeated key is kept once)."""
    kept = 0
    pending = [obj]
    while pending:
        value = pending.pop()
        if type(value) is dict:
            kept += len(value)
            pending.extend(v for v in value.values() if type(v) in _CONTAINERS)
        elif type(value) is list:
            pending.extend(v for v in value if type(v) in _CONTAINERS)
    return kept


_CONTAINERS: Final = (dict, list)


def _check_version(obj: dict[str, Any]) -> tuple[int, int]:
    version = obj.get("v")
    if version is None:
        raise UnsupportedVersion(
            f'payload has no schema version "v" (this code speaks {SCHEMA_VERSION})'
        )
    match = _VERSION.fullmatch(version) if isinstance(version, str) else None
    if match is None:
        raise UnsupportedVersion(f'schema version "v" {version!r} is not of the form "MAJOR.MINOR"')
    major, minor = int(match.group(1)), int(match.group(2))
    if major != SCHEMA_MAJOR:
        raise UnsupportedVersion(
            f"schema major version {major} is not supported (this code speaks {SCHEMA_VERSION})"
        )
    return major, minor


def _unknown_kind(kind: object) -> NoReturn:
    if kind is None:
        raise UnknownKind('payload has no "kind"')
    if kind == "cmd":
        raise UnknownKind(f'kind "cmd" is reserved and has no schema in {SCHEMA_VERSION}')
    raise UnknownKind(f"kind {kind!r} is not one of {', '.join(MODELS)}")


def _invalid(kind: str, exc: ValidationError) -> InvalidMessage:
    raw = exc.errors()
    # A list whose items failed also reports "too short after validation": noise, the items say why.
    failing_parents = {err["loc"][:-2] for err in raw if len(err["loc"]) >= 2}
    errors = tuple(
        (".".join(str(part) for part in err["loc"]) or "(message)", err["msg"])
        for err in raw
        if not (err["type"] == "too_short" and err["loc"] in failing_parents)
    )
    listed = "; ".join(f"{loc}: {msg}" for loc, msg in errors[:_MAX_LISTED_ERRORS])
    more = len(errors) - _MAX_LISTED_ERRORS
    suffix = f" (and {more} more)" if more > 0 else ""
    return InvalidMessage(f"invalid {kind} message: {listed}{suffix}", errors=errors)


_DEFAULT = Codec()


def encode(message: Message) -> bytes:
    """Encode with the default limits (1 MiB, no compression)."""
    return _DEFAULT.encode(message)


def decode(data: bytes) -> Message:
    """Decode with the default limits (1 MiB)."""
    return _DEFAULT.decode(data)


__all__ = ["DEFAULT_MAX_PAYLOAD", "Codec", "DecodeError", "decode", "encode"]


BATCH_ITEMS: Final = {Kind.OBS: "items", Kind.POS: "fixes"}
"""The field that holds a batch's entries, by kind (ObservationBatch.items, PositionBatch.fixes)."""


def batch_json(
    kind: Kind, *, gateway: str, boot_id: str, seq: int, sent_at: datetime, bodies: Sequence[str]
) -> bytes:
    """A batch's JSON around entries encoded earlier (the gateway's outbox keeps each entry's
    JSON as it was validated): the same document as the batch model's, without decoding the
    entries again. ``gateway`` and ``boot_id`` are checked (they are spliced in as text)."""
    if kind not in BATCH_ITEMS:
        raise EncodeError(f"a batch is of kind obs or pos, not {kind}")
    check_id(gateway, what="gateway id")
    boot = str(UUID(boot_id))
    stamp = sent_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    head = (
        f'{{"v":"{SCHEMA_VERSION}","kind":"{kind.value}","gateway":"{gateway}",'
        f'"boot_id":"{boot}","seq":{int(seq)},"sent_at":"{stamp}","{BATCH_ITEMS[kind]}":['
    )
    return (head + ",".join(bodies) + "]}").encode()
