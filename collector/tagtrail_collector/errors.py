"""Errors of the collector.

::

    CollectorError               base class
    ├── ConfigError              the configuration file or environment is invalid (names the key)
    ├── StoreError               InfluxDB refused or failed a request
    │   ├── StoreUnavailable     retryable: timeout, connection refused, 5xx (``retry_after_s``)
    │   └── PointsRejected       InfluxDB rejected points for good (400); ``reason`` says why
    ├── RegistryError            the registry database failed
    │   ├── NotFound             no such row, or not visible to the caller
    │   └── Conflict             a unique key is already taken
    ├── AuthError                a missing, wrong or revoked API key
    ├── Forbidden                a valid key without the right to this endpoint
    ├── InvalidRequest           a request value that cannot be used (also a ValueError)
    │   └── BadCursor            a pagination cursor this API did not hand out
    ├── ProvisionError           a broker, PKI or deployment file cannot be read or written
    └── StageStopped             an ingest stage's thread has ended (stopped while a store failed)

httpx and SQLAlchemy errors are translated into these where they are caught; the API turns them
into problem+json responses, the CLI into one-line messages with exit status 2.
"""


class CollectorError(Exception):
    """Base class of every tagtrail_collector error."""


class ConfigError(CollectorError):
    """Invalid configuration; the message names each bad key, its value and what is allowed."""


class StoreError(CollectorError):
    """InfluxDB refused or failed a request."""


class StoreUnavailable(StoreError):
    """InfluxDB cannot be reached or answered 5xx; the same request may succeed later."""

    def __init__(self, detail: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class PointsRejected(StoreError):
    """InfluxDB rejected points for good; retrying the same points cannot succeed."""

    def __init__(self, reason: str, *, partial: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial


class RegistryError(CollectorError):
    """The registry database failed."""


class NotFound(RegistryError):
    """No such row, or a row the caller may not see (answered as 404 either way)."""


class Conflict(RegistryError):
    """A unique key is already taken (the message says which)."""


class AuthError(CollectorError):
    """A missing, wrong or revoked API key."""


class Forbidden(CollectorError):
    """A valid key without the right to this endpoint (a carrier key on an admin endpoint)."""


class InvalidRequest(CollectorError, ValueError):
    """A request value that passed the schema but cannot be used (answered as 400)."""


class BadCursor(InvalidRequest):
    """The cursor is not one this API handed out."""


class ProvisionError(CollectorError):
    """A broker, PKI or deployment file cannot be read, parsed or written."""


class StageStopped(CollectorError):
    """An ingest stage's thread has ended (stopped while a store was failing, or failed)."""
