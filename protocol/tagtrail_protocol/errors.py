"""Errors of the wire contract, the MQTT link and the shared settings.

Every failure to parse a topic or a payload, to read a settings file or to use the broker link
raises one of these, never anything else::

    ProtocolError                 base class; ``reason`` is a short stable code for counters
    ├── TopicError                malformed topic or identifier           reason "bad_topic"
    ├── EncodeError               a model that cannot be sent             reason "too_large"
    └── DecodeError               bytes that are not a valid message
        ├── PayloadTooLarge       over the size cap, before or after
        │                         decompression                           reason "too_large"
        ├── MalformedPayload      not JSON, not an object, bad zlib       reason "malformed"
        ├── UnsupportedVersion    missing/garbled "v" or unknown major    reason "bad_version"
        ├── UnknownKind           "kind" missing, unknown or reserved     reason "unknown_kind"
        ├── InvalidMessage        fields that fail validation; ``errors``
        │                         lists each field path and why           reason "invalid"
        └── TopicMismatch         payload kind/gateway differ from the
                                  topic it arrived on                     reason "topic_mismatch"
    SettingsError                 a settings file that cannot be read     reason "bad_settings"
    LinkError                     the MQTT link failed; ``rc`` is paho's
    │                             error code where there is one           reason "link"
    └── LinkRefused               the broker refused CONNECT/SUBSCRIBE    reason "refused"

``str(error)`` is a one-line explanation fit for a log line or a dead-letter row.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base class of every tagtrail_protocol error."""

    reason: str = "protocol"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TopicError(ProtocolError, ValueError):
    """A topic string or an identifier in it is not valid."""

    reason = "bad_topic"


class EncodeError(ProtocolError):
    """A message could not be encoded within the codec's limits."""

    reason = "too_large"


class DecodeError(ProtocolError):
    """Bytes could not be decoded into a message; nothing of them was applied."""


class PayloadTooLarge(DecodeError):
    """The payload exceeds the size cap (raw, or once decompressed)."""

    reason = "too_large"


class MalformedPayload(DecodeError):
    """The payload is not a JSON object (or not valid compressed JSON)."""

    reason = "malformed"


class UnsupportedVersion(DecodeError):
    """The schema version is missing, garbled, or of a major version this code does not know."""

    reason = "bad_version"


class UnknownKind(DecodeError):
    """The payload's ``kind`` is missing, unknown, or reserved without a schema."""

    reason = "unknown_kind"


class InvalidMessage(DecodeError):
    """One or more fields fail validation."""

    reason = "invalid"

    def __init__(self, detail: str, *, errors: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(detail)
        self.errors = errors


class TopicMismatch(DecodeError):
    """The payload does not belong to the topic it was published on."""

    reason = "topic_mismatch"


class SettingsError(ProtocolError):
    """A settings file cannot be read, is not UTF-8 or not TOML (the message says which)."""

    reason = "bad_settings"


class LinkError(ProtocolError):
    """The MQTT link cannot be set up or used; ``rc`` is paho's error code, if any."""

    reason = "link"

    def __init__(self, detail: str, *, rc: int | None = None) -> None:
        super().__init__(detail)
        self.rc = rc


class LinkRefused(LinkError):
    """The broker answered, and refused (bad credentials, not authorised, ACL)."""

    reason = "refused"
